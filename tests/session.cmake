# Search layer: evaluation cache, session API, session files, replay/export through the binary
# (label session).
foreach(t session_eval session_core session_file)
  add_executable(test_${t} ${CMAKE_SOURCE_DIR}/tests/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE axf_core)
  target_include_directories(test_${t} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  add_test(NAME ${t} COMMAND test_${t})
endforeach()
set_tests_properties(session_eval PROPERTIES LABELS "session;badinput")
set_tests_properties(session_core PROPERTIES LABELS "session;badinput")
add_test(NAME session_e2e COMMAND sh ${CMAKE_SOURCE_DIR}/tests/session_e2e.sh $<TARGET_FILE:axf> $<TARGET_FILE:test_session_file>)
set_tests_properties(session_file PROPERTIES LABELS "session;badinput")
set_tests_properties(session_e2e PROPERTIES LABELS "session;badinput")
# Any label set (issue 13): a 3-class model fine-tuned on real sentences through predict, eval,
# search, replay, export and eval again; labels by number or by the model's names.
add_test(NAME labels_e2e COMMAND sh ${CMAKE_SOURCE_DIR}/tests/test_labels_e2e.sh $<TARGET_FILE:axf> ${AXF_DATA_DIR})
set_tests_properties(labels_e2e PROPERTIES LABELS "session;badinput;train")
# `axf search --resume` after a cut at any step gives the uncut run's session (the demo model of
# the screen tests, tui.cmake).
add_test(NAME session_resume COMMAND bash ${CMAKE_SOURCE_DIR}/tests/session_resume.sh $<TARGET_FILE:axf>
         ${CMAKE_CURRENT_BINARY_DIR}/tui-demo ${CMAKE_SOURCE_DIR}/scripts)
set_tests_properties(session_resume PROPERTIES LABELS "session" FIXTURES_REQUIRED tui_model TIMEOUT 900)
# Distillation as a session step (issue 18): on the demo model, the step, undo/redo, cancel, bad
# options, save/load/replay, the weights folder missing (re-made, same sha256) or tampered (refused).
add_executable(test_session_distil ${CMAKE_SOURCE_DIR}/tests/test_session_distil.c)
target_link_libraries(test_session_distil PRIVATE axf_core)
target_include_directories(test_session_distil PRIVATE ${CMAKE_SOURCE_DIR}/tests)
add_test(NAME session_distil COMMAND sh ${CMAKE_SOURCE_DIR}/tests/session_distil.sh $<TARGET_FILE:axf>
         $<TARGET_FILE:test_session_distil> ${CMAKE_CURRENT_BINARY_DIR}/tui-demo ${CMAKE_CURRENT_BINARY_DIR}/session_distil)
set_tests_properties(session_distil PROPERTIES LABELS "session;badinput;train" FIXTURES_REQUIRED tui_model TIMEOUT 900
                     RESOURCE_LOCK tui_cpu)
