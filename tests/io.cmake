# io module tests: safetensors, model files, tokenizer, data readers, metrics.
foreach(t safetensors model tokenizer data metrics tokdump fileio json)
  add_executable(test_io_${t} tests/test_io_${t}.c)
  target_link_libraries(test_io_${t} PRIVATE axf_core)
endforeach()
add_test(NAME io_safetensors COMMAND test_io_safetensors)
add_test(NAME io_model COMMAND test_io_model ${AXF_DATA_DIR})
add_test(NAME io_tokenizer COMMAND test_io_tokenizer ${AXF_DATA_DIR})
add_test(NAME io_data COMMAND test_io_data ${AXF_DATA_DIR} ${CMAKE_SOURCE_DIR}/tests/badinput)
add_test(NAME io_metrics COMMAND test_io_metrics)
add_test(NAME io_fileio COMMAND test_io_fileio)
add_test(NAME io_json COMMAND test_io_json)
set_tests_properties(io_safetensors io_model io_data io_fileio io_json PROPERTIES LABELS "unit;badinput")
set_tests_properties(io_tokenizer io_metrics PROPERTIES LABELS "unit")
# The C tokenizer against a Python rendering of the reference algorithm (Python's own Unicode
# data) on real sentences and random Unicode; needs the system Python 3.
find_program(AXF_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(AXF_SYSTEM_PYTHON3)
  add_test(NAME io_tokenizer_reference
    COMMAND ${AXF_SYSTEM_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/tokref.py
      ${AXF_DATA_DIR}/bert_base_uncased_vocab/vocab.txt $<TARGET_FILE:test_io_tokdump>
      ${AXF_DATA_DIR}/sst2_glue/dev.tsv ${AXF_DATA_DIR}/cola_nlpdatasets/dev.tsv
      ${AXF_DATA_DIR}/mrpc_glue/dev.tsv ${AXF_DATA_DIR}/rte_glue_hf/dev.tsv
      ${AXF_DATA_DIR}/sst2_stsa_binary/stsa.binary.dev)
  set_tests_properties(io_tokenizer_reference PROPERTIES LABELS "unit")
endif()
# Encoder-only checkpoints (bare BertModel, BertForPreTraining-like): refused by eval, accepted by
# finetune --init (tests/st_rewrite.py makes them from the golden fixture, standard library only).
add_test(NAME io_encoder_init COMMAND sh ${CMAKE_SOURCE_DIR}/tests/test_encoder_init.sh $<TARGET_FILE:axf>
         ${CMAKE_SOURCE_DIR}/tests/golden/fixture/gelu ${CMAKE_BINARY_DIR}/encoder_init_tmp)
set_tests_properties(io_encoder_init PROPERTIES LABELS "unit;badinput;train")
# The tokenizer against Hugging Face's (BertTokenizer, BertTokenizerFast; the project's .venv) on
# every SST-2 sentence (GLUE train = alps_train + alps_dev, dev; the sentence-level train/dev/test)
# and every MRPC pair (train, dev, test) with BERT's uncased vocabulary: the same ids and token
# types, pairs truncated alike. Skips (77) only when PyPI is unreachable and .venv cannot be made.
set(AXF_HF_TOK_FILES
    ${AXF_DATA_DIR}/sst2_glue/alps_train.tsv ${AXF_DATA_DIR}/sst2_glue/alps_dev.tsv
    ${AXF_DATA_DIR}/sst2_glue/dev.tsv ${AXF_DATA_DIR}/sst2_stsa_binary/stsa.binary.train
    ${AXF_DATA_DIR}/sst2_stsa_binary/stsa.binary.dev ${AXF_DATA_DIR}/sst2_stsa_binary/stsa.binary.test
    ${AXF_DATA_DIR}/mrpc_glue/train.tsv ${AXF_DATA_DIR}/mrpc_glue/dev.tsv ${AXF_DATA_DIR}/mrpc_glue/test.tsv)
add_test(NAME io_tokenizer_hf
  COMMAND sh ${CMAKE_SOURCE_DIR}/tests/venv_run.sh ${CMAKE_SOURCE_DIR}/tests/hf_tokenizer.py
    $<TARGET_FILE:test_io_tokdump> ${AXF_DATA_DIR}/bert_base_uncased_vocab/vocab.txt
    ${CMAKE_BINARY_DIR}/tokenizer_hf_tmp ${AXF_HF_TOK_FILES})
set_tests_properties(io_tokenizer_hf PROPERTIES LABELS "golden;slow" SKIP_RETURN_CODE 77)
