# Search layer: evaluation cache, session API, session files, replay/export through the binary
# (label session).
foreach(t session_eval session_core session_file)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/test_${t}.c)
    add_executable(test_${t} ${CMAKE_SOURCE_DIR}/tests/test_${t}.c)
    target_link_libraries(test_${t} PRIVATE axf_core)
    target_include_directories(test_${t} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
    add_test(NAME ${t} COMMAND test_${t})
  endif()
endforeach()
set_tests_properties(session_eval PROPERTIES LABELS "session;badinput")
set_tests_properties(session_core PROPERTIES LABELS "session;badinput")
