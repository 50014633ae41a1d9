# Training tests: gradient checks against finite differences, engine agreement, determinism,
# the demo task, and the training commands' bad-input handling.

foreach(t grad engine determinism demo)
  add_executable(test_train_${t} tests/test_train_${t}.c)
  target_link_libraries(test_train_${t} PRIVATE axf_core)
endforeach()
add_test(NAME train_grad COMMAND test_train_grad)
set_tests_properties(train_grad PROPERTIES LABELS "train;unit")
add_test(NAME train_engine COMMAND test_train_engine)
set_tests_properties(train_engine PROPERTIES LABELS "train;unit;badinput")
add_test(NAME train_determinism COMMAND test_train_determinism)
set_tests_properties(train_determinism PROPERTIES LABELS "train;unit")
add_test(NAME train_demo COMMAND test_train_demo)
set_tests_properties(train_demo PROPERTIES LABELS "train;unit")
add_test(NAME train_cli COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_train_cli.sh $<TARGET_FILE:axf>)
set_tests_properties(train_cli PROPERTIES LABELS "train;badinput")

# Training speed against the sgemm-only floor (a tool, not a test).
add_executable(bench_train tests/bench_train.c)
target_link_libraries(bench_train PRIVATE axf_core)

# `axf distill` end to end on the demo model the screen tests train (fixture tui_model).
add_test(NAME train_distill COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_train_distill.sh $<TARGET_FILE:axf>
         ${CMAKE_CURRENT_BINARY_DIR}/tui-demo ${CMAKE_SOURCE_DIR})
set_tests_properties(train_distill PROPERTIES LABELS "train;badinput" FIXTURES_REQUIRED tui_model TIMEOUT 600)
