# The int8 product (src/engine/qgemm.c): every kernel against a scalar reference and each other,
# and a microbenchmark of int8 against float32 on BERT shapes (bench_qgemm, not a test).
add_executable(test_qgemm ${CMAKE_SOURCE_DIR}/tests/test_qgemm.c)
target_link_libraries(test_qgemm PRIVATE axf_core)
target_include_directories(test_qgemm PRIVATE ${CMAKE_SOURCE_DIR}/tests)
add_test(NAME qgemm COMMAND test_qgemm)
set_tests_properties(qgemm PROPERTIES LABELS "unit")

add_executable(bench_qgemm ${CMAKE_SOURCE_DIR}/tests/bench_qgemm.c ${CMAKE_SOURCE_DIR}/tests/bench_time.c)
target_link_libraries(bench_qgemm PRIVATE axf_core)
