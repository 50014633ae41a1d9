# The layering check: every #include points down the layer order io -> engine -> approx -> train
# -> search -> lua -> ui -> cli, and no file reaches into another module's private header.
add_test(NAME layering COMMAND python3 ${CMAKE_SOURCE_DIR}/scripts/tools/check_layers.py ${CMAKE_SOURCE_DIR})
set_tests_properties(layering PROPERTIES LABELS "unit")
