# Engine tests. The engine's element-wise kernels are written for GCC's loop vectoriser, which
# only runs in full at -O3 (at -O2 GCC 12 uses its "very cheap" model and skips most loops), and
# on polynomials that want fused multiply-adds, which ISO C mode (-std=c11) turns off.
file(GLOB AXF_ENGINE_KERNEL_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/engine/*.c)
set_source_files_properties(${AXF_ENGINE_KERNEL_SRC} TARGET_DIRECTORY axf_core PROPERTIES COMPILE_OPTIONS "-O3;-ffp-contract=fast")

foreach(t engine_kernels engine_forward)
  add_executable(test_${t} ${CMAKE_SOURCE_DIR}/tests/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE axf_core)
  target_include_directories(test_${t} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  add_test(NAME ${t} COMMAND test_${t})
endforeach()
set_tests_properties(engine_kernels PROPERTIES LABELS "unit")
set_tests_properties(engine_forward PROPERTIES LABELS "unit;badinput")
