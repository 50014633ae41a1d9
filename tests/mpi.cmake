# MPI (label mpi), registered only in an MPI build (-DAXF_MPI=ON; scripts/test.sh builds build-mpi):
# `mpirun -np 2` and `-np 3` on this machine's loopback give the sessions and outputs of one
# process. They open the demo model the screen tests train (tui.cmake: fixture tui_model, in
# ${CMAKE_CURRENT_BINARY_DIR}/tui-demo).
if(AXF_MPI)
  set(AXF_MPI_DEMO ${CMAKE_CURRENT_BINARY_DIR}/tui-demo)
  foreach(np 2 3)
    add_test(NAME mpi_same_np${np}
             COMMAND bash ${CMAKE_SOURCE_DIR}/tests/mpi/same_as_one.sh $<TARGET_FILE:axf> ${MPIEXEC_EXECUTABLE}
                     ${AXF_MPI_DEMO} ${CMAKE_SOURCE_DIR}/scripts ${np})
    set_tests_properties(mpi_same_np${np} PROPERTIES LABELS "mpi" FIXTURES_REQUIRED tui_model TIMEOUT 900
                         RESOURCE_LOCK mpi_cpu)
    # batches of trials split by candidate (--mpi-split): the same sessions and replay
    add_test(NAME mpi_split_np${np}
             COMMAND bash ${CMAKE_SOURCE_DIR}/tests/mpi/split.sh $<TARGET_FILE:axf> ${MPIEXEC_EXECUTABLE}
                     ${AXF_MPI_DEMO} ${CMAKE_SOURCE_DIR}/scripts ${np})
    set_tests_properties(mpi_split_np${np} PROPERTIES LABELS "mpi" FIXTURES_REQUIRED tui_model TIMEOUT 600
                         RESOURCE_LOCK mpi_cpu)
  endforeach()
  add_test(NAME mpi_faults
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/mpi/faults.sh $<TARGET_FILE:axf> ${MPIEXEC_EXECUTABLE}
                   ${AXF_MPI_DEMO} ${CMAKE_SOURCE_DIR}/scripts)
  set_tests_properties(mpi_faults PROPERTIES LABELS "mpi" FIXTURES_REQUIRED tui_model TIMEOUT 900
                       RESOURCE_LOCK mpi_cpu)
  # the gather alone: every row right on every rank with uneven shares; also its micro-benchmark
  # (README "Scaling out with MPI": mpirun -np N test_mpi_gather 9815 16 2000)
  add_executable(test_mpi_gather ${CMAKE_SOURCE_DIR}/tests/mpi/gather_bench.c)
  target_link_libraries(test_mpi_gather PRIVATE axf_core)
  add_test(NAME mpi_gather
           COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe -np 3 $<TARGET_FILE:test_mpi_gather>
                   1001 16 20)
  set_tests_properties(mpi_gather PROPERTIES LABELS "mpi" TIMEOUT 120 RESOURCE_LOCK mpi_cpu)
  add_test(NAME mpi_out_of_step
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/mpi/out_of_step.sh $<TARGET_FILE:axf> ${MPIEXEC_EXECUTABLE}
                   ${AXF_MPI_DEMO} ${CMAKE_SOURCE_DIR}/scripts)
  set_tests_properties(mpi_out_of_step PROPERTIES LABELS "mpi" FIXTURES_REQUIRED tui_model TIMEOUT 300
                       RESOURCE_LOCK mpi_cpu)
endif()
