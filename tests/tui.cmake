# Screen tests (label tui): the real axf binary driven in tmux; see tests/tui/README.md.
# The policy lookup of `axf demo` falls back to the source tree's scripts/ folder.
set_source_files_properties(${CMAKE_SOURCE_DIR}/src/cli/cmd_tui.c PROPERTIES
  COMPILE_DEFINITIONS "AXF_SOURCE_DIR=\"${CMAKE_SOURCE_DIR}\"")
