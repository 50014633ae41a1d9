#!/usr/bin/env bash
# Speed is measured as the bench measures it (issue 16, defect 5): interleaved one-thread runs,
# CPU time, the median speed-up with its range. The original plan is never shown faster or slower
# than itself: 1.00x, "same model", however often m asks again. A changed plan shows a range that
# holds its median, and m logs each measurement. Nothing here depends on how fast the machine is.
# usage: speed.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

# n_logged TEXT: how many log lines contain TEXT
n_logged() { tui_screen | grep -cF -- "$1"; }

# wait_logged TEXT N: until N log lines contain TEXT
wait_logged() {
    local start
    start=$(date +%s)
    until [ "$(n_logged "$1")" -ge "$2" ]; do
        [ $(( $(date +%s) - start )) -ge 120 ] && tui_fail "timeout waiting for $2 log lines '$1'"
        sleep 0.1
    done
}

# check_range: the speed row's median lies in the range row's [lo, hi]
check_range() {
    local S med range
    S=$(tui_screen)
    med=$(printf %s "$S" | grep -oE '(tok/CPU-s|speed-up)[) ].*' | grep -oE ' [0-9]+\.[0-9]{2}×' | head -1 | tr -d ' ×')
    range=$(printf %s "$S" | grep -oE '[0-9]+\.[0-9]{2}–[0-9]+\.[0-9]{2}×' | head -1)
    [ -n "$med" ] && [ -n "$range" ] || tui_fail "no speed-up with its range"
    python3 - "$med" "$range" <<'PY' || tui_fail "median $med outside '$range'"
import re, sys
med = float(sys.argv[1]); lo, hi = map(float, re.findall(r'[0-9]+\.[0-9]+', sys.argv[2]))
sys.exit(0 if 0 < lo <= med <= hi else 1)
PY
}

for size in "100 30" "160 45"; do
echo "== $size"
tui_start $size xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --autosave "$TUI_TMP/auto.json"
tui_wait "head 0 of layer 3" 120
tui_wait "same model" 180
tui_screen | grep -qE '(tok/CPU-s|speed-up)[) ].* 1\.00×' || tui_fail "the original model is not shown at 1.00x"
for i in 1 2 3; do
    tui_keys m
    wait_logged "speed: 1.00× (same model" "$i"
done
tui_screen | grep -qE '(tok/CPU-s|speed-up)[) ].* 1\.00×' || tui_fail "m changed the speed of the original model"

tui_keys p                              # head 0 of layer 3
tui_wait "step 1/1" 120
tui_wait "–" 180
check_range
tui_keys m
wait_logged "over 5 one-thread runs" 1
tui_gone "measuring speed" 120
check_range
tui_keys u
tui_wait "step 0/1" 60
tui_wait "same model" 120
tui_quit_unsaved
done
echo ok
