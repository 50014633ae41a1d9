#!/usr/bin/env bash
# Escape sequences (issue 16, defect 1): for each terminal type the tests use, Home and End move
# the cursor to the first / last column, and while a policy runs, Home, End and sequences the
# program does not know (F5, F12, Shift-Up, Insert, Ctrl-Home, made-up CSI and SS3) change
# nothing: the run goes on, no step is undone, the autosave holds the same step. (Alt + key is
# Esc followed by the key, and Esc pauses: not sent here.)
# usage: keys.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
A=$TUI_TMP/auto.json

# tui_wait_details REGEX: the heatmap's details line (text at column 2 of the pane) matches
tui_wait_details() {
    local re=$1 start
    start=$(date +%s)
    until tui_screen | grep -qE "^. $re"; do
        [ $(( $(date +%s) - start )) -ge 60 ] && tui_fail "timeout waiting for the details line '$re'"
        sleep 0.1
    done
}

for term in xterm-256color xterm linux vt100; do
    echo "== $term"
    rm -f "$A"
    tui_start 100 30 "$term" "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --policy "$(dirname "$0")/slow.lua" --autosave "$A"
    tui_wait "slow.lua ready" 120
    tui_wait "head 0 of layer 3"
    tui_keys p
    tui_wait "step 1/1" 120

    # idle: Home and End move the cursor and nothing else
    tui_keys End
    tui_wait_details "FFN (block|neuron group [0-9]+/[0-9]+) of layer 3"
    tui_keys Home
    tui_wait_details "layer 3( |$)"
    tui_keys Right
    tui_wait_details "head 0 of layer 3"
    tui_screen | grep -q "step 1/1" || tui_fail "$term: Home/End changed the step"

    # during a run: cursor keys and unknown sequences never touch the session
    tui_keys a
    tui_wait "running" 30
    tui_keys Home End F5 F12 S-Up Insert C-Home Up Down Left Right
    tui_keys -l $'\e[99~' $'\e[1;5H' $'\eOZ'
    tui_keys '?'                    # in order after all of the above: once help shows, they were read
    tui_wait "key closes" 30
    tui_keys Escape                 # closes the help only
    tui_gone "key closes" 30
    S=$(tui_screen)
    printf %s "$S" | grep -q "step 1/1" || tui_fail "$term: a key changed the step"
    printf %s "$S" | grep -q "running" || tui_fail "$term: a key stopped the run"
    printf %s "$S" | grep -qE "undo step|cancelled" && tui_fail "$term: a key undid or cancelled something"
    [ "$(json_get "$A" cursor)" = 1 ] || tui_fail "$term: the autosave no longer holds step 1"
    tui_keys a
    tui_wait "paused" 60
    tui_quit_unsaved
done
echo ok
