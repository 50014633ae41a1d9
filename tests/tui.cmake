# Screen tests (label tui): the real axf binary driven in tmux (tests/tui/lib.sh: send-keys, then
# poll capture-pane for a marker; no fixed sleeps). They skip (exit 77) only where tmux is missing.

# The demo model every screen test opens (and the example sessions were made on): trained from its
# seed (bit for bit the model `axf demo` caches) once per build of axf, so that a change to the
# engine or the trainer, which changes the model, is not hidden behind an old copy.
set(AXF_TUI_DEMO ${CMAKE_CURRENT_BINARY_DIR}/tui-demo)
add_test(NAME tui_demo_model
         COMMAND sh -c "[ '${AXF_TUI_DEMO}/complete' -nt '$<TARGET_FILE:axf>' ] || { rm -f '${AXF_TUI_DEMO}/complete' && '$<TARGET_FILE:axf>' demo-model --out '${AXF_TUI_DEMO}' --seed 2024 --threads 2 >/dev/null && touch '${AXF_TUI_DEMO}/complete'; }")
set_tests_properties(tui_demo_model PROPERTIES LABELS "tui" FIXTURES_SETUP tui_model TIMEOUT 900)

set(AXF_TUI_ARGS $<TARGET_FILE:axf> ${AXF_TUI_DEMO}/model ${AXF_TUI_DEMO}/search.tsv ${AXF_TUI_DEMO}/heldout.tsv
    ${CMAKE_SOURCE_DIR}/scripts)
foreach(t session compact mono demo signals keys latency runkeys int8 stale speed heat hold views demo_minilm
          layout teach control ask attn preempt distil)
  add_test(NAME tui_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/tui/${t}.sh ${AXF_TUI_ARGS})
  set_tests_properties(tui_${t} PROPERTIES LABELS "tui" FIXTURES_REQUIRED tui_model SKIP_RETURN_CODE 77
                       TIMEOUT 600 RESOURCE_LOCK tui_cpu)
endforeach()
# the two whose assertions are times (key and edit latency): label timing, left out of the sanitizer
# build (scripts/test.sh), where they would time the sanitizer rather than the screen
set_property(TEST tui_latency tui_preempt APPEND PROPERTY LABELS timing)

# DistilBERT and RoBERTa project models (pretrain --arch, finetune --init) in the screen: two steps,
# the autosave replays and exports in the architecture's naming (issue 19).
add_test(NAME tui_archs COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/tui/archs.sh $<TARGET_FILE:axf> ${AXF_DATA_DIR}
         ${CMAKE_SOURCE_DIR}/scripts)
set_tests_properties(tui_archs PROPERTIES LABELS "tui" SKIP_RETURN_CODE 77 TIMEOUT 600 RESOURCE_LOCK tui_cpu)

# `axf demo` from an empty cache: trains the model behind a progress screen (a minute or more).
add_test(NAME tui_demo_fresh COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/tui/demo_fresh.sh $<TARGET_FILE:axf>)
set_tests_properties(tui_demo_fresh PROPERTIES LABELS "tui;slow" SKIP_RETURN_CODE 77 TIMEOUT 1200
                     RESOURCE_LOCK tui_cpu)

# The example sessions of sessions/ replay bit for bit on the demo model built here, and open in
# the screen.
add_test(NAME tui_examples COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/tui/examples.sh $<TARGET_FILE:axf>
         ${AXF_TUI_DEMO} ${CMAKE_SOURCE_DIR}/sessions)
# (label repeat: the sanitizer build leaves it out: it would replay the same bits again, and the
# replay and the screen's history are run under the sanitizers by session_replay_demo and tui_session)
set_tests_properties(tui_examples PROPERTIES LABELS "tui;session;repeat" FIXTURES_REQUIRED tui_model SKIP_RETURN_CODE 77
                     TIMEOUT 600 RESOURCE_LOCK tui_cpu)

# The screen warns when an opened session's record disagrees with what it measures (issue 13).
add_test(NAME tui_record COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/tui/record.sh $<TARGET_FILE:axf>
         ${AXF_TUI_DEMO} ${CMAKE_SOURCE_DIR}/sessions)
set_tests_properties(tui_record PROPERTIES LABELS "tui;session" FIXTURES_REQUIRED tui_model SKIP_RETURN_CODE 77
                     TIMEOUT 600 RESOURCE_LOCK tui_cpu)

# `axf replay` of a copy of the demo example with each recorded field tampered in turn (issue 13):
# every one named, exit 1; the copy as is replays, bit for bit with --exact.
add_test(NAME session_replay_demo COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/replay_demo.sh $<TARGET_FILE:axf>
         ${AXF_TUI_DEMO} ${CMAKE_SOURCE_DIR}/sessions)
# (no screen: it runs beside the screen tests, not in their queue)
set_tests_properties(session_replay_demo PROPERTIES LABELS "session;badinput" FIXTURES_REQUIRED tui_model
                     TIMEOUT 900)
