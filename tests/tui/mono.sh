#!/usr/bin/env bash
# Monochrome and plain ASCII: TERM=vt100 in the C locale. The state glyphs still read (x marks a
# removed element), the keys work, the Lua console answers in the log.
# usage: mono.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

TUI_ENV="LANG=C LC_ALL=C"
tui_start 80 24 vt100 "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --autosave "$TUI_TMP/auto.json"
tui_wait "step 0/0" 120
tui_wait "metrics"
tui_wait "zero"             # the legend
# nothing but ASCII on the screen
tui_screen | LC_ALL=C grep -q '[^ -~]' && tui_fail "non-ASCII output in the C locale"
# remove the selected head (top layer, head 0): an x in its cell
tui_keys p
tui_wait "step 1/1"
tui_wait "removed (p restores)"
tui_screen | grep -E '^. L3 +xx' >/dev/null || tui_fail "the removed head is not marked with x"
# hard attention on the layer: its label shows
tui_keys t
tui_wait "step 2/2"
tui_wait "k30"
tui_keys -- -
tui_wait "k24"
# the Lua console evaluates in the session's sandbox
tui_keys :
tui_wait "lua>"
tui_keys "return 6*7" Enter
tui_wait "> 42 "
tui_keys :
tui_keys "return s:cursor()" Enter
tui_wait "> return s:cursor()"
tui_keys u
tui_wait "step 2/3"
tui_keys q
tui_wait "Unsaved changes"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
