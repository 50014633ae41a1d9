# `axf report`: the hand-written sessions of tests/report/ through the real command (SVG parsed as
# XML, Markdown numbers, bad input). scripts/experiment.sh --quick runs the whole pipeline (slow).
add_test(NAME report_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_report.sh $<TARGET_FILE:axf>
         ${CMAKE_CURRENT_SOURCE_DIR}/tests/report)
set_tests_properties(report_cli PROPERTIES LABELS "unit;badinput")

# The experiment's plumbing (make-like steps, output parsing, results sidecar) without models.
add_test(NAME report_steps COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_report_steps.sh $<TARGET_FILE:axf>
         ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(report_steps PROPERTIES LABELS "unit")

# The whole experiment pipeline on the demo task and model (a few minutes; not under ASan).
add_test(NAME report_experiment_quick
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_report_quick.sh $<TARGET_FILE:axf>
                 ${CMAKE_CURRENT_SOURCE_DIR} ${AXF_DATA_DIR} ${CMAKE_CURRENT_BINARY_DIR}/experiment-quick)
set_tests_properties(report_experiment_quick PROPERTIES LABELS "slow" SKIP_RETURN_CODE 77 TIMEOUT 1200)

# Sessions written by the real session module (format agreement between writer and reader).
add_executable(test_report_session tests/test_report_session.c)
target_link_libraries(test_report_session PRIVATE axf_core)
target_include_directories(test_report_session PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests)
add_test(NAME report_session COMMAND test_report_session $<TARGET_FILE:axf>)
set_tests_properties(report_session PROPERTIES LABELS "unit")

# The results-sidecar reader (axf/resultsfile.h) alone: the fixture's numbers, and bad files
# refused with one line naming the file and the field.
add_executable(test_results_file tests/test_results_file.c)
target_link_libraries(test_results_file PRIVATE axf_core)
target_include_directories(test_results_file PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests)
add_test(NAME report_results_file COMMAND test_results_file ${CMAKE_CURRENT_SOURCE_DIR}/tests/report)
set_tests_properties(report_results_file PROPERTIES LABELS "unit;badinput")
