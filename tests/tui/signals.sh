#!/usr/bin/env bash
# Responsiveness and robustness: keys are answered while the policy runs (help opens, the run
# pauses and goes on, Esc pauses it too), and a SIGTERM ends the screen cleanly (exit 143) with every committed step
# already in the autosave file.
# usage: signals.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
A=$TUI_TMP/auto.json

tui_start 100 30 xterm-256color "$AXF" tui "$MODEL" "$DATA" --policy "$(dirname "$0")/slow.lua" --autosave "$A"
tui_wait "slow.lua ready" 120
tui_keys a
tui_wait "policy running" 30
# the screen answers while the worker is busy: the help opens at once
t0=$(date +%s%N)
tui_keys '?'
tui_wait "key closes" 10
t1=$(date +%s%N)
echo "help shown $(( (t1 - t0) / 1000000 )) ms after the key, with the policy running"
tui_keys Escape
tui_gone "key closes"
# pause, then carry on with one step
tui_keys a
tui_wait "policy paused" 60
tui_gone "policy running" 30
tui_keys p
tui_wait "step 1/1" 120
# run again and pause with Esc (never cancelled: issue 16), then load the policy again
tui_keys a
tui_wait "policy running" 30
tui_keys Escape
tui_gone "policy running" 60    # ("policy paused" is in the log from the first pause already)
tui_wait "slow.lua ready"
tui_screen | grep -q "cancelled" && tui_fail "Esc cancelled the policy"
tui_keys L
tui_wait "loaded again"
tui_wait "slow.lua ready"
[ "$(json_get "$A" cursor)" = 1 ] || tui_fail "the committed step is not in the autosave"
kill -TERM "$(tui_pid)"
tui_wait "AXF-EXIT-143" 30
[ "$(json_get "$A" cursor)" = 1 ] || tui_fail "the autosave lost the step"
echo ok
