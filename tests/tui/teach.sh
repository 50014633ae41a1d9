#!/usr/bin/env bash
# Defect 9 of issue 16, the teaching panel: the demo's task is named as what it is (a synthetic
# sentiment task, not the reader's "single" or "sst2"); a policy started over on the same plan
# ({ L a) does not list its trials twice; a step made by hand lists none of the policy's trials as
# if they were its own ("Tried first, then undone" / "Tried by the policy ..."); and (defect 10) the
# policy's end names the steps of this run apart from the history's.
# usage: teach.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR   (the demo folder is MODEL_DIR/..)
set -u
. "$(dirname "$0")/lib.sh"
AXF=$1 DEMO=$(dirname "$2")

tui_start 100 30 xterm-256color "$AXF" demo --demo-dir "$DEMO" --set stages=A --autosave "$TUI_TMP/auto.json"
tui_wait "axformer.lua ready" 120
title=$(tui_screen | head -1)
printf %s "$title" | grep -q "synthetic sentiment task" || tui_fail "the title does not name the synthetic task"
printf %s "$title" | grep -qE "· (single|sst2)" && tui_fail "the title names the synthetic task as a GLUE/reader task"

# stage A: the four top-30 trials on the original model, none kept
tui_keys s
tui_wait "axformer.lua done" 300
tui_wait "Tried since, not kept (4)" 30
# the same policy again on the same plan: the same four trials, listed once
tui_keys '{'
tui_keys L
tui_wait "axformer.lua ready" 60
tui_keys a
tui_wait "axformer.lua done" 300
tui_wait "Tried since, not kept (4)" 30
n=$(tui_screen | grep -c "set_hard L3")
[ "$n" -le 1 ] || tui_fail "a trial is listed $n times"

# a step by hand after the policy's trials: the panel does not pass them off as the step's
tui_keys p
tui_wait "Step 1 of 1: your change" 120
tui_wait "A change by hand is kept as it is" 30
tui_screen | grep -qE "Tried (first|by the policy)" && tui_fail "the hand step lists the policy's trials"
# defect 10: "done: 0 steps" from the host beside the policy's "done, 1 steps": one message, both named
tui_keys L
tui_wait "axformer.lua ready" 60
tui_keys s
tui_wait "0 steps in this run" 300
tui_quit_unsaved
echo ok
