# The engine's packed-weight GEMM (src/engine/gemm.c): correctness on odd shapes, and a
# microbenchmark against cblas_sgemm on the engine's shapes (bench_gemm, not a test).
add_executable(test_gemm ${CMAKE_SOURCE_DIR}/tests/test_gemm.c)
target_link_libraries(test_gemm PRIVATE axf_core)
target_include_directories(test_gemm PRIVATE ${CMAKE_SOURCE_DIR}/tests)
add_test(NAME gemm COMMAND test_gemm)
set_tests_properties(gemm PROPERTIES LABELS "unit")

add_executable(bench_gemm ${CMAKE_SOURCE_DIR}/tests/bench_gemm.c ${CMAKE_SOURCE_DIR}/tests/bench_time.c)
target_link_libraries(bench_gemm PRIVATE axf_core)

# The process pool behind training's parallel passes and axf_matmul (axf/parallel.h).
add_executable(test_parallel ${CMAKE_SOURCE_DIR}/tests/test_parallel.c)
target_link_libraries(test_parallel PRIVATE axf_core)
target_include_directories(test_parallel PRIVATE ${CMAKE_SOURCE_DIR}/tests)
add_test(NAME parallel COMMAND test_parallel)
set_tests_properties(parallel PROPERTIES LABELS "unit")
