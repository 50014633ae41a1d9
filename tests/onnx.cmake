# ONNX export (issue 20) against ONNX Runtime from the project's .venv (tests/venv_run.sh): each
# plan kind of tests/onnx/plans.lua on the golden fixture's model, exported with `axf export
# --onnx` (kinds "model*": the folder itself with `axf export-onnx`), run by ONNX Runtime at batch
# 1 and in padded batches, and compared with `axf predict` (tests/onnx/ort_check.py says the
# limits). Skips (77) only when PyPI is unreachable and .venv cannot be made.
set(AXF_ONNX_FIX ${CMAKE_SOURCE_DIR}/tests/golden/fixture)
set(AXF_ONNX_GROUPS
  "struct:model model-external dense heads neurons blocks layers pruned"
  "hard:topk topk_renorm threshold"
  "int8:int8 mixed int8@21")
foreach(g ${AXF_ONNX_GROUPS})
  string(REPLACE ":" ";" gl "${g}")
  list(GET gl 0 gname)
  list(GET gl 1 gkinds)
  separate_arguments(gkinds)
  add_test(NAME onnx_ort_${gname}
           COMMAND sh ${CMAKE_SOURCE_DIR}/tests/venv_run.sh ${CMAKE_SOURCE_DIR}/tests/onnx/ort_check.py
                   $<TARGET_FILE:axf> $<TARGET_FILE:test_io_encode_tool> ${AXF_ONNX_FIX}/gelu ${AXF_ONNX_FIX}/inputs.tsv
                   ${CMAKE_SOURCE_DIR}/tests/onnx/plans.lua ${CMAKE_BINARY_DIR}/onnx_ort/${gname} ${gkinds})
  set_tests_properties(onnx_ort_${gname} PROPERTIES LABELS "onnx;slow" SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
# A Hugging Face folder with pruned_heads (per-layer head counts from config.json) exported as it is.
add_test(NAME onnx_ort_pruned_fixture
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/venv_run.sh ${CMAKE_SOURCE_DIR}/tests/onnx/ort_check.py
                 $<TARGET_FILE:axf> $<TARGET_FILE:test_io_encode_tool> ${AXF_ONNX_FIX}/pruned ${AXF_ONNX_FIX}/inputs.tsv
                 ${CMAKE_SOURCE_DIR}/tests/onnx/plans.lua ${CMAKE_BINARY_DIR}/onnx_ort/pruned model)
set_tests_properties(onnx_ort_pruned_fixture PROPERTIES LABELS "onnx;slow" SKIP_RETURN_CODE 77 TIMEOUT 300)
# Bad input and the operators of each plan kind's graph, without ONNX Runtime (every configuration).
add_test(NAME onnx_cli
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/onnx/cli.sh $<TARGET_FILE:axf> ${AXF_ONNX_FIX}
                 ${CMAKE_SOURCE_DIR}/tests/onnx/plans.lua ${CMAKE_SOURCE_DIR}/bench/onnx_ops.py
                 ${CMAKE_BINARY_DIR}/onnx_cli)
set_tests_properties(onnx_cli PROPERTIES LABELS "onnx;badinput" TIMEOUT 300)
# The dense-compatible export read by Hugging Face from_pretrained and the plain-torch reference
# (bench/bert_ref.py): the pruned model's logits within 1e-4 (tests/onnx/dense_check.py).
add_test(NAME onnx_dense_compatible
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/venv_run.sh ${CMAKE_SOURCE_DIR}/tests/onnx/dense_check.py
                 $<TARGET_FILE:axf> $<TARGET_FILE:test_io_encode_tool> ${AXF_ONNX_FIX}/gelu ${AXF_ONNX_FIX}/inputs.tsv
                 ${CMAKE_SOURCE_DIR}/tests/onnx/plans.lua ${CMAKE_SOURCE_DIR}/bench
                 ${CMAKE_BINARY_DIR}/onnx_dense dense heads neurons blocks layers pruned)
set_tests_properties(onnx_dense_compatible PROPERTIES LABELS "onnx;slow" SKIP_RETURN_CODE 77 TIMEOUT 300)
# DistilBERT and RoBERTa (random classifiers made by transformers, tests/hf_models.py): the ONNX
# export of each plan kind on ONNX Runtime and the dense-compatible export through
# AutoModelForSequenceClassification.from_pretrained (tests/onnx/arch_check.py).
add_test(NAME onnx_archs
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/venv_run.sh ${CMAKE_SOURCE_DIR}/tests/onnx/arch_check.py
                 $<TARGET_FILE:axf> $<TARGET_FILE:test_io_encode_tool> ${AXF_DATA_DIR}
                 ${CMAKE_SOURCE_DIR}/tests/onnx/plans.lua ${CMAKE_BINARY_DIR}/onnx_archs
                 model heads blocks layers topk topk_renorm threshold int8)
set_tests_properties(onnx_archs PROPERTIES LABELS "onnx;slow" SKIP_RETURN_CODE 77 TIMEOUT 600)
