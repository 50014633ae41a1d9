#!/usr/bin/env bash
# Keys held down (issue 16, defect 7): eight quick '-' on a layer with top-30 hard attention end
# at the K eight steps down (30 -> 24 16 12 8 6 4 3 2), whatever the machine's speed: presses made
# while an evaluation runs adjust the setting asked for last, a waiting one is replaced by the
# latest, and none is refused as "already uses this attention". t names the K it applies (the
# session default, 30), never "k=0" (defect 10).
# usage: hold.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
A=$TUI_TMP/auto.json

# hard_of LAYER: the hard-attention label of that heatmap row
hard_of() { tui_screen | grep -E "^│ L$1 " | head -1 | grep -oE ' (k[0-9]+r?|p[0-9.]+) ' | tr -d ' '; }

wait_hard() {
    local start
    start=$(date +%s)
    until [ "$(hard_of "$1")" = "$2" ]; do
        [ $(( $(date +%s) - start )) -ge 120 ] && tui_fail "layer $1 never showed hard attention $2 (shows '$(hard_of "$1")')"
        sleep 0.1
    done
}

tui_start 100 30 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --autosave "$A"
tui_wait "head 0 of layer 3" 120
tui_keys t
tui_wait "k=30" 30                    # the message names the K it applies
wait_hard 3 k30
tui_screen | grep -q "k=0" && tui_fail "t announced k=0"
tui_keys - - - - - - - -
wait_hard 3 k2
S=$(tui_screen)
printf %s "$S" | grep -q "already uses" && tui_fail "a press was refused as a repeat"
# nothing else waits: the autosave's last step sets k=2
start=$(date +%s)
until python3 - "$A" 2>/dev/null <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
acts = s["history"][s["cursor"] - 1]["actions"]
sys.exit(0 if acts[-1].get("k") == 2 else 1)
PY
do
    [ $(( $(date +%s) - start )) -ge 60 ] && tui_fail "the autosave's last step is not k=2"
    sleep 0.2
done
tui_quit_unsaved
echo ok
