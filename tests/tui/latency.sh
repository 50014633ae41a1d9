#!/usr/bin/env bash
# Latency of the cursor keys (issue 16): 50 presses of Left / Right over the heads of the top
# layer, idle and while a policy runs; each is the time from `tmux send-keys` until the pane shows
# the new cursor position (the details line), measured through one tmux control-mode client
# (keylat.py: no process started per press). Prints median and p90 of both and fails when the
# p90 during the run exceeds AXF_TUI_LATENCY_MS (default 100).
# usage: latency.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
LIMIT=${AXF_TUI_LATENCY_MS:-100}

# presses N FILE: N presses alternating Right (to head 1) and Left (to head 0); microseconds to FILE
presses() {
    python3 "$(dirname "$0")/keylat.py" "$TUI_SOCK" "$1" Right "head 1 of layer 3" Left "head 0 of layer 3" \
        > "$2" || tui_fail "a cursor key was not answered"
}

# stats FILE: "median X ms, p90 Y ms" (microseconds in the file)
stats() {
    sort -n "$1" | awk '{v[NR] = $1} END {
        m = v[int((NR + 1) / 2)]; p = v[int(0.9 * NR + 0.999)];
        printf "median %.0f ms, p90 %.0f ms, max %.0f ms\n", m / 1000, p / 1000, v[NR] / 1000 }'
}
p90_ms() {
    sort -n "$1" | awk '{v[NR] = $1} END { printf "%d\n", v[int(0.9 * NR + 0.999)] / 1000 }'
}

tui_start 100 30 xterm-256color "$AXF" tui "$MODEL" "$DATA" --policy "$(dirname "$0")/slow.lua" \
    --autosave "$TUI_TMP/auto.json"
tui_wait "slow.lua ready" 120
tui_wait "head 0 of layer 3"
tui_wait "s " 120                # the importance sweep has finished (its duration shows)
presses 50 "$TUI_TMP/idle"
echo "cursor keys, idle:          $(stats "$TUI_TMP/idle")"

tui_keys a
tui_wait "running" 30
presses 50 "$TUI_TMP/run"
echo "cursor keys, policy running: $(stats "$TUI_TMP/run")"
tui_screen | grep -q "running" || tui_fail "the run stopped during the measurement"
[ "$(p90_ms "$TUI_TMP/run")" -le "$LIMIT" ] || tui_fail "p90 latency during a run above $LIMIT ms"
tui_wait "busy work" 120        # one try has finished (a slow build may not have one yet)
tui_keys a
tui_wait "paused" 60
tui_keys q
tui_wait "Unsaved changes"      # the policy's trials are in the session
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
