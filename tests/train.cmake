# Training tests: gradient checks against finite differences, engine agreement, determinism,
# the demo task, and the training commands' bad-input handling.
foreach(t grad)
  add_executable(test_train_${t} tests/test_train_${t}.c)
  target_link_libraries(test_train_${t} PRIVATE axf_core)
endforeach()
add_test(NAME train_grad COMMAND test_train_grad)
set_tests_properties(train_grad PROPERTIES LABELS "train;unit")
