# Approximation core: plans, actions, accounting and compaction (label approx).
foreach(t approx_plan approx_compact)
  add_executable(test_${t} ${CMAKE_SOURCE_DIR}/tests/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE axf_core)
  target_include_directories(test_${t} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  add_test(NAME ${t} COMMAND test_${t})
endforeach()
set_tests_properties(approx_plan PROPERTIES LABELS "approx;unit;badinput")
set_tests_properties(approx_compact PROPERTIES LABELS "approx;badinput")
