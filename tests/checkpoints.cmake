# Readers of the checkpoints and tokenizers other architectures bring: pytorch_model.bin, byte-level BPE.
# pytorch_model.bin: checkpoints written by Debian's torch (torch.save) against their safetensors
# copies, and hostile or malformed ones refused (skips, 77, where python3-torch is missing).
add_test(NAME io_torchbin COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/test_io_torchbin.py $<TARGET_FILE:axf>
         ${CMAKE_SOURCE_DIR}/tests/golden/fixture/gelu ${CMAKE_BINARY_DIR}/torchbin_tmp)
set_tests_properties(io_torchbin PROPERTIES LABELS "unit;badinput;golden" SKIP_RETURN_CODE 77)

# Byte-level BPE (RoBERTa's tokenizer): training and encoding against the plain-Python reference
# tests/bpe_ref.py, and Hugging Face's tokenizers when the project environment (.venv) has them.
add_executable(test_io_bpe_tool ${CMAKE_SOURCE_DIR}/tests/test_io_bpe_tool.c)
target_link_libraries(test_io_bpe_tool PRIVATE axf_core)
add_test(NAME io_bpe COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/test_io_bpe.py $<TARGET_FILE:test_io_bpe_tool>
         ${AXF_DATA_DIR} ${CMAKE_BINARY_DIR}/bpe_tmp ${CMAKE_SOURCE_DIR}/tests/venv_run.sh)
set_tests_properties(io_bpe PROPERTIES LABELS "unit;badinput")

# DistilBERT and RoBERTa classifiers made by Hugging Face transformers (safetensors and
# pytorch_model.bin): axf's token ids equal their tokenizers', axf predict's logits within 1e-5 of
# transformers' float64 forward. Runs in the project environment (tests/venv_run.sh).
add_executable(test_io_encode_tool ${CMAKE_SOURCE_DIR}/tests/test_io_encode_tool.c)
target_link_libraries(test_io_encode_tool PRIVATE axf_core)
add_test(NAME models_hf COMMAND sh ${CMAKE_SOURCE_DIR}/tests/venv_run.sh ${CMAKE_SOURCE_DIR}/tests/test_models_hf.py
         $<TARGET_FILE:axf> $<TARGET_FILE:test_io_encode_tool> ${AXF_DATA_DIR} ${CMAKE_BINARY_DIR}/models_hf_tmp)
set_tests_properties(models_hf PROPERTIES LABELS "golden" SKIP_RETURN_CODE 77)
# Every command on those models (issue 19 item 3): eval, importance, search, replay, export loaded
# back by transformers (pruned_heads) and reproduced by axf eval, finetune --init from the
# classifier and from a masked-LM checkpoint.
add_test(NAME models_pipeline COMMAND sh ${CMAKE_SOURCE_DIR}/tests/venv_run.sh
         ${CMAKE_SOURCE_DIR}/tests/test_models_pipeline.py $<TARGET_FILE:axf> $<TARGET_FILE:test_io_encode_tool>
         ${AXF_DATA_DIR} ${CMAKE_BINARY_DIR}/models_pipeline_tmp ${CMAKE_SOURCE_DIR}/scripts)
set_tests_properties(models_pipeline PROPERTIES LABELS "golden;session;train" SKIP_RETURN_CODE 77)
