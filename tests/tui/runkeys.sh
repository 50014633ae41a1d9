#!/usr/bin/env bash
# Keys during a run (issue 16, defects 2 and 3): Esc pauses the policy instead of cancelling it
# (a carries on from where it stopped, with the steps it made), and save-and-quit during a run
# (a, q, w) lets the policy finish its current step, saves and quits.
# usage: runkeys.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
S=$TUI_TMP/s.json A=$TUI_TMP/auto.json

# slow.lua commits a step every 5 tries (it never runs out of steps: see slow.lua)
tui_start 100 30 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --policy "$(dirname "$0")/slow.lua" \
    --set every=5 --session "$S" --autosave "$A"
tui_wait "slow.lua ready" 120
tui_keys a
tui_wait_re "step [1-9][0-9]*/" 120

# Esc pauses: the policy stays loaded with its steps, and a carries on
tui_keys Escape
tui_wait "policy paused" 60
tui_wait "paused │"
tui_screen | grep -q "cancelled" && tui_fail "Esc cancelled the policy"
n=$(tui_screen | grep -oE "step [0-9]+/" | head -1 | tr -dc 0-9)
[ -n "$n" ] || tui_fail "no step count on the paused screen"
tui_keys a
tui_wait "running" 30
# a step made after the pause
for _ in $(seq 1 1200); do
    m=$(tui_screen | grep -oE "step [0-9]+/" | head -1 | tr -dc 0-9)
    [ "${m:-0}" -gt "$n" ] && break
    sleep 0.1
done
[ "${m:-0}" -gt "$n" ] || tui_fail "no step after the pause at step $n (120 s)"

# save and quit while it runs: the current step ends, the session is saved, the screen closes
tui_keys q
tui_wait "Unsaved changes"
tui_keys w
tui_wait "AXF-EXIT-0" 120
[ -s "$S" ] || tui_fail "no session file after save and quit"
python3 - "$S" "$A" <<'PY' || tui_fail "the saved session does not end on a committed step"
import json, sys
s, a = (json.load(open(p)) for p in sys.argv[1:3])
n = len(s["history"])
print("saved", n, "steps, cursor", s["cursor"], "; autosave", len(a["history"]), "steps")
sys.exit(0 if n >= 2 and s["cursor"] == n and len(a["history"]) == n else 1)
PY
echo ok
