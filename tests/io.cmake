# io module tests: safetensors, model files, tokenizer, data readers, metrics.
foreach(t safetensors model)
  add_executable(test_io_${t} tests/test_io_${t}.c)
  target_link_libraries(test_io_${t} PRIVATE axf_core)
endforeach()
add_test(NAME io_model COMMAND test_io_model ${AXF_DATA_DIR})
set_tests_properties(io_model PROPERTIES LABELS "unit;badinput")
add_test(NAME io_safetensors COMMAND test_io_safetensors)
set_tests_properties(io_safetensors PROPERTIES LABELS "unit;badinput")
