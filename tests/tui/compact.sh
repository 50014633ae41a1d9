#!/usr/bin/env bash
# 80x24 with 8 colours (TERM=xterm): the stacked layout shows the heatmap, the metrics and a
# bottom pane that Tab cycles (log, plot, teaching); a step works; the screen follows a resize to
# a large terminal (side-by-side layout) and back; below 80x24 it asks for 80x24 (issue 16, defect 8).
# usage: compact.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

tui_start 80 24 xterm "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --policy "$SCRIPTS/random.lua" \
    --set target=elements --set elements=2 --autosave "$TUI_TMP/auto.json"
tui_wait "step 0/0" 120
tui_wait "─ metrics"
tui_wait "─ log"
tui_wait "? help"
[ "$(tui_plan_rows | wc -l)" -eq 4 ] || tui_fail "four layer rows expected"
# every line fits in 80 columns
[ "$(tui_max_cols)" -le 80 ] || tui_fail "a line is wider than 80 columns"

tui_keys s
tui_wait "step 1/1" 120
tui_keys Tab
tui_wait "over steps"           # the plot pane
tui_keys Tab
tui_wait "what just happened"   # the teaching pane
tui_wait "Step 1 of 1"
tui_keys Tab
tui_wait "─ log"

# resize: large, then back
tmux -L "$TUI_SOCK" resize-window -x 200 -y 50
tui_wait "over steps"           # side by side: plot and teaching panel both shown
tui_wait "what just happened"
tmux -L "$TUI_SOCK" resize-window -x 80 -y 24
tui_gone "over steps"           # stacked again, with the log at the bottom
tui_wait "─ metrics"
[ "$(tui_max_cols)" -le 80 ] || tui_fail "a line is wider than 80 columns after resizing"

# below the one stated minimum (80x24): the message asking for it, no cut layout; back at 80x24
# the layout returns
tmux -L "$TUI_SOCK" resize-window -x 60 -y 20
tui_wait "too small (60x20); 80x24 or more"
tui_gone "─ metrics"
tmux -L "$TUI_SOCK" resize-window -x 80 -y 23
tui_wait "too small (80x23); 80x24 or more"
tmux -L "$TUI_SOCK" resize-window -x 80 -y 24
tui_wait "─ metrics"

# quitting with unsaved changes asks first
tui_keys q
tui_wait "Unsaved changes"
tui_keys Escape
tui_gone "Unsaved changes"
tui_keys q
tui_wait "Unsaved changes"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
