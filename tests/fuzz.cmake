# Fuzz targets (tests/fuzz/fuzz_*.c), one per reader: safetensors, pytorch_model.bin, config.json, vocab.txt, task
# TSV, session JSON, Lua policy loading. With -DAXF_FUZZ=ON (scripts/fuzz.sh: clang, ASan+UBSan,
# coverage) each is also a libFuzzer binary fuzz_<target>. In every build each runs its committed
# inputs as a test (fuzz_replay_<target>: the seed corpus tests/fuzz/corpus/<target>/ and the
# inputs that once failed, tests/fuzz/regress/<target>/), so a fixed crash stays fixed (under
# ASan+UBSan in that configuration: regress/session/empty_keys_no_arena.json was undefined
# behaviour in io/json.c that only the sanitizers see).
option(AXF_FUZZ "Build the libFuzzer targets (clang; see scripts/fuzz.sh)" OFF)
set(AXF_FUZZ_TARGETS safetensors torchbin config vocab tsv session policy)
foreach(t ${AXF_FUZZ_TARGETS})
  set(libs axf_core)
  if(t STREQUAL "policy")
    set(libs axf_lua axf_core)
  endif()
  if(AXF_FUZZ)
    add_executable(fuzz_${t} tests/fuzz/fuzz_${t}.c)
    target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${t} PRIVATE ${libs})
  endif()
  add_executable(fuzz_replay_${t} tests/fuzz/fuzz_${t}.c tests/fuzz/replay_main.c)
  target_link_libraries(fuzz_replay_${t} PRIVATE ${libs})
  set(inputs ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${t})
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/fuzz/regress/${t})
    list(APPEND inputs ${CMAKE_SOURCE_DIR}/tests/fuzz/regress/${t})
  endif()
  add_test(NAME fuzz_${t} COMMAND fuzz_replay_${t} --expect-accepted ${inputs})
  set_tests_properties(fuzz_${t} PROPERTIES LABELS "fuzz;badinput")
endforeach()
# The generator of the seeds that need the fixture (tests/fuzz/make_seeds.c; scripts/fuzz.sh --seeds).
add_executable(fuzz_make_seeds tests/fuzz/make_seeds.c)
target_link_libraries(fuzz_make_seeds PRIVATE axf_core)
