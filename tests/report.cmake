# `axf report`: the hand-written sessions of tests/report/ through the real command (SVG parsed as
# XML, Markdown numbers, bad input). scripts/experiment.sh --quick runs the whole pipeline (slow).
add_test(NAME report_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/test_report.sh $<TARGET_FILE:axf>
         ${CMAKE_CURRENT_SOURCE_DIR}/tests/report)
set_tests_properties(report_cli PROPERTIES LABELS "unit;badinput")
