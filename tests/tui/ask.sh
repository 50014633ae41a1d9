#!/usr/bin/env bash
# Defect 10 of issue 16, keys that could destroy work without a word, and keys offered that do
# nothing: e (export) into a folder that exists asks first (n keeps it as it is, y overwrites it);
# a change in the middle of the history asks before it drops the steps ahead (n keeps them), and
# once made says in the log that it replaced them; a
# session reopened without its policy does not offer s and a, and s names the policy to load.
# usage: ask.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

mkdir -p "$TUI_TMP/out"
echo keep >"$TUI_TMP/out/marker"
tui_start 120 40 xterm-256color "$AXF" tui "$MODEL" "$DATA" --autosave "$TUI_TMP/a.json"
tui_wait "head 0 of layer 3" 120
tui_keys e
tui_wait "export compacted model to folder:" 10
tui_keys C-u "$TUI_TMP/out" Enter
tui_wait "out exists." 10
tui_keys n
tui_wait "not exported" 10
[ -f "$TUI_TMP/out/marker" ] && [ ! -f "$TUI_TMP/out/config.json" ] || tui_fail "n changed the folder"
tui_keys e
tui_wait "export compacted model to folder:" 10
tui_keys C-u "$TUI_TMP/out" Enter
tui_wait "out exists." 10
tui_keys y
tui_wait "exported the compacted model to" 120
[ -f "$TUI_TMP/out/config.json" ] || tui_fail "y did not export"
# a new folder is written without a question
tui_keys e
tui_wait "export compacted model to folder:" 10
tui_keys C-u "$TUI_TMP/new" Enter
s=$(date +%s)
until [ -f "$TUI_TMP/new/config.json" ]; do
    tui_screen | grep -q "new exists" && tui_fail "asked about a folder that did not exist"
    [ $(( $(date +%s) - s )) -lt 120 ] || tui_fail "no export into a new folder"
    sleep 0.2
done
tui_keys q
tui_wait "AXF-EXIT-0" 30

# a change in the middle of the history asks before it drops the steps ahead (the redo tail): n
# keeps them (redo still reaches them), y makes the change, and the log says what it replaced
tui_start 200 50 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --autosave "$TUI_TMP/c.json"
tui_wait "head 0 of layer 3" 120
tui_keys p
tui_wait "step 1/1" 120
tui_keys Right p
tui_wait "step 2/2" 120
tui_keys u u
tui_wait "step 0/2" 60
tui_keys Right p
tui_wait "this drops the 2 redo steps after step 0." 10
tui_keys n
tui_wait "kept the 2 redo steps after step 0: nothing changed" 10
tui_screen | grep -q "step 0/2" || tui_fail "n changed the history"
tui_keys r r
tui_wait "step 2/2" 60                  # the tail is still there
tui_keys u
tui_wait "step 1/2" 60
tui_keys t                              # any change asks, not only p
tui_wait "this drops the 1 redo step after step 1." 10
tui_keys Escape
tui_wait "kept the 1 redo step after step 1" 10
tui_keys Right p
tui_wait "this drops the 1 redo step after step 1." 10
tui_keys y
tui_wait "step 2/2" 120
tui_wait "the 1 step after step 1 (the redo tail) was replaced by step 2" 30
[ "$(json_get "$TUI_TMP/c.json" cursor)" = 2 ] || tui_fail "the autosave is not at step 2"
tui_quit_unsaved

# a session made by a policy, reopened without it
"$AXF" search "$MODEL" "$DATA" --policy "$SCRIPTS/axformer.lua" --set stages=A --out "$TUI_TMP/s.json" \
    >"$TUI_TMP/search.log" 2>&1 || { cat "$TUI_TMP/search.log"; echo "FAIL: search"; exit 1; }
tui_start 120 40 xterm-256color "$AXF" tui --session "$TUI_TMP/s.json" --autosave "$TUI_TMP/b.json"
tui_wait "head 0 of layer 3" 120
tui_wait " q quit" 10
tui_screen | tail -1 | grep -qE " s step| a run" && tui_fail "s and a are offered without a policy"
tui_keys s
tui_wait "this session was made by" 10
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
