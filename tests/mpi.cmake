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
  endforeach()
  add_test(NAME mpi_faults
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/mpi/faults.sh $<TARGET_FILE:axf> ${MPIEXEC_EXECUTABLE}
                   ${AXF_MPI_DEMO} ${CMAKE_SOURCE_DIR}/scripts)
  set_tests_properties(mpi_faults PROPERTIES LABELS "mpi" FIXTURES_REQUIRED tui_model TIMEOUT 900
                       RESOURCE_LOCK mpi_cpu)
  add_test(NAME mpi_out_of_step
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/mpi/out_of_step.sh $<TARGET_FILE:axf> ${MPIEXEC_EXECUTABLE}
                   ${AXF_MPI_DEMO} ${CMAKE_SOURCE_DIR}/scripts)
  set_tests_properties(mpi_out_of_step PROPERTIES LABELS "mpi" FIXTURES_REQUIRED tui_model TIMEOUT 300
                       RESOURCE_LOCK mpi_cpu)
endif()
