# pytorch_model.bin: checkpoints written by Debian's torch (torch.save) against their safetensors
# copies, and hostile or malformed ones refused (skips, 77, where python3-torch is missing).
add_test(NAME io_torchbin COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/test_io_torchbin.py $<TARGET_FILE:axf>
         ${CMAKE_SOURCE_DIR}/tests/golden/fixture/gelu ${CMAKE_BINARY_DIR}/torchbin_tmp)
set_tests_properties(io_torchbin PROPERTIES LABELS "unit;badinput;golden" SKIP_RETURN_CODE 77)
