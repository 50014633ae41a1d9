#!/usr/bin/env bash
# The screen warns, in a visible line and without stopping, when it opens a session whose record
# disagrees with what it measures on opening (the baseline and the committed step, with the replay
# tolerance of session.h); the untampered example opens without the warning.
# usage: record.sh AXF DEMO_DIR SESSIONS_DIR
set -u
AXF=$1 DEMO=$2 SESSIONS=$3
. "$(dirname "$0")/lib.sh"
python3 - "$SESSIONS/demo-axformer.json" "$TUI_TMP/bad.json" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
s["history"][1]["after"]["loss"] *= 1.01
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
tui_start 100 30 xterm-256color "$AXF" tui --session "$TUI_TMP/bad.json" "$DEMO/model" "$DEMO/search.tsv"
tui_wait "step 2/2" 120
tui_wait "record disagrees with this model" 60
tui_wait "history[1].after.loss recorded" 10
tui_keys '{'
tui_wait "step 0/2"
tui_keys q
tui_wait "q quit without saving"
tui_keys q
tui_wait "AXF-EXIT-0" 30

cp "$SESSIONS/demo-axformer.json" "$TUI_TMP/good.json"
tui_start 100 30 xterm-256color "$AXF" tui --session "$TUI_TMP/good.json" "$DEMO/model" "$DEMO/search.tsv"
tui_wait "autosave:" 120
# the warning would come right after the autosave line; give it two seconds to show
for _ in $(seq 20); do
    tui_screen | grep -q "record disagrees" && tui_fail "a warning for the untampered example"
    sleep 0.1
done
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
