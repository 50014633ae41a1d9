#!/usr/bin/env bash
# `axf demo` on a prebuilt demo folder: the teaching panel explains the original model, a policy
# step (stage A only: hard attention on each layer) and what was tried and undone.
# usage: demo.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR   (the demo folder is MODEL_DIR/..)
set -u
AXF=$1 MODEL=$2
. "$(dirname "$0")/lib.sh"
DEMO=$(dirname "$MODEL")

tui_start 100 30 xterm-256color "$AXF" demo --demo-dir "$DEMO" --set stages=A --autosave "$TUI_TMP/auto.json"
tui_wait "what just happened" 120
tui_wait "The original model"
tui_wait "axformer.lua ready"
tui_keys s
tui_wait "policy finished" 300
tui_wait "Tried since, not kept (4)"
tui_keys NPage
tui_wait "set_hard L3"
tui_keys q
tui_wait "Unsaved changes"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
