#!/usr/bin/env bash
# Issue 16, the trade-off plot (o) with the random-pruning control: a finished random.lua session
# of the same model and search split, given with --control, is drawn beside the session's steps
# and compared at the cursor's size; without one the plot says how to make one of that size; a
# control of another split is named and not drawn; a control file that cannot be read stops the
# program before the screen, naming the file.
# usage: control.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

"$AXF" search "$MODEL" "$DATA" --policy "$SCRIPTS/random.lua" --set keep=0.9 --out "$TUI_TMP/ctl.json" \
    >"$TUI_TMP/search.log" 2>&1 || { cat "$TUI_TMP/search.log"; echo "FAIL: the control search failed"; exit 1; }
"$AXF" search "$MODEL" "$HOLD" --policy "$SCRIPTS/random.lua" --set keep=0.9 --out "$TUI_TMP/other.json" \
    >"$TUI_TMP/search2.log" 2>&1 || { cat "$TUI_TMP/search2.log"; echo "FAIL: the second control search failed"; exit 1; }

# files that are not a control: refused before the screen, naming the file
out=$("$AXF" tui "$MODEL" "$DATA" --control "$TUI_TMP/none.json" 2>&1 </dev/null); rc=$?
[ $rc -eq 1 ] && printf %s "$out" | grep -q "none.json" || { echo "FAIL: missing control: rc $rc: $out"; exit 1; }
echo '{"format": "axf-session"}' >"$TUI_TMP/bad.json"
out=$("$AXF" tui "$MODEL" "$DATA" --control "$TUI_TMP/bad.json" 2>&1 </dev/null); rc=$?
[ $rc -eq 1 ] && printf %s "$out" | grep -q "bad.json" || { echo "FAIL: bad control: rc $rc: $out"; exit 1; }

# the control drawn and compared
tui_start 120 40 xterm-256color "$AXF" tui "$MODEL" "$DATA" --control "$TUI_TMP/ctl.json" --autosave "$TUI_TMP/a.json"
tui_wait "head 0 of layer 3" 120
tui_keys p
tui_wait "step 1/1" 120
tui_keys o
tui_wait "─ trade-off" 30
tui_wait "+ control: ctl.json (" 10
tui_wait_re "this session [0-9.]+% acc, the control" 10
tui_wait_re "\(its step [0-9]+, [0-9.]+%\)" 10
plus=$(tui_screen | sed -n '4,16p' | tr -cd '+' | wc -c)   # the first plot's rows
[ "$plus" -ge 2 ] || tui_fail "the control's points are not drawn ($plus '+' in the plot)"
tui_keys Escape
tui_gone "─ trade-off" 30
tui_quit_unsaved

# none given: how to make one of the session's size
tui_start 120 40 xterm-256color "$AXF" tui "$MODEL" "$DATA" --autosave "$TUI_TMP/b.json"
tui_wait "head 0 of layer 3" 120
tui_keys p
tui_wait "step 1/1" 120
tui_keys o
tui_wait "No random-pruning control" 30
tui_wait_re "keep=0\.9[0-9]" 10
tui_keys Escape
tui_gone "─ trade-off" 30
tui_quit_unsaved

# a control of another split: named, not drawn
tui_start 120 40 xterm-256color "$AXF" tui "$MODEL" "$DATA" --control "$TUI_TMP/other.json" --autosave "$TUI_TMP/c.json"
tui_wait "head 0 of layer 3" 120
tui_keys o
tui_wait "other.json is not of this model and search split" 30
tui_keys Escape
tui_gone "─ trade-off" 30
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
