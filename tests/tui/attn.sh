#!/usr/bin/env bash
# Issue 16 item 1, hard attention made visible (v): for one sentence of the search split, the
# attention row of a query token in the head under the heatmap cursor, before and after top-K,
# computed by the worker through the session. With K >= the sentence's length it says that
# nothing changes; with K = 4 it shows the weights dropped; , . cycle through the split, j k choose
# the query token, the arrows the head; v closes.
# usage: attn.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3
. "$(dirname "$0")/lib.sh"

tui_start 120 40 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --autosave "$TUI_TMP/a.json"
tui_wait "head 0 of layer 3" 120
tui_keys v
tui_wait "─ hard attention on one sentence" 30
tui_wait "example 1 of 300" 30
tui_wait "layer 3, head 0" 10
tui_wait "Layer 3 has dense attention now" 10
tui_wait "so top-30 changes nothing here" 10
tui_keys .
tui_wait "example 2 of 300" 30
tui_keys j
tui_wait "the row of query token 1" 30
tui_keys Right
tui_wait "layer 3, head 1" 30
tui_keys v
tui_gone "─ hard attention on one sentence" 10

# top-4 on layer 3 (t, then - from 30: 24 16 12 8 6 4), then the same row: weights dropped
tui_keys Left t
tui_wait "k30" 120
for i in 1 2 3 4 5 6; do tui_keys -; done
tui_wait "k4 " 300
tui_keys v
tui_wait "─ hard attention on one sentence" 30
tui_wait_re "Top-4: each query keeps its 4 largest weights of [0-9]+: this query drops [0-9]+" 30
tui_wait "dropped" 10
tui_screen | grep -q "changes nothing" && tui_fail "K = 4 said to change nothing"
tui_keys Escape
tui_gone "─ hard attention on one sentence" 10
tui_quit_unsaved
echo ok
