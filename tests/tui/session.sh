#!/usr/bin/env bash
# A whole session through the real screen (100x30, 256 colours): move, remove a head, undo, redo,
# step the policy, run it to the end, save, quit, then reopen the saved session and see the same
# plan and numbers. Also: the autosave holds every committed step.
# usage: session.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
S=$TUI_TMP/s.json

tui_start 100 30 xterm-256color "$AXF" tui "$MODEL" "$DATA" --holdout "$HOLD" \
    --policy "$SCRIPTS/random.lua" --set target=elements --set elements=3 --set kinds=heads,groups \
    --session "$S" --autosave "$TUI_TMP/auto.json"
tui_wait "step 0/0" 120
tui_wait "held acc" 120
tui_wait "head 0 of layer 3"            # the cursor starts on the top layer's first head

# move: one layer down, one head right
tui_keys j
tui_wait "head 0 of layer 2"
tui_keys l
tui_wait "head 1 of layer 2"

# remove it, undo, redo
tui_keys p
tui_wait "step 1/1"
tui_wait "removed (p restores)"
tui_wait "drop_head L2.h1"
[ "$(tui_plan_rows | sed -n 2p | cut -c6-9)" = "××" ] || [ "$(tui_plan_rows | sed -n 2p | grep -c ×)" -gt 0 ] ||
    tui_fail "head 1 of layer 2 is not drawn as removed"
tui_keys u
tui_wait "step 0/1"
tui_wait "undo step 1"
tui_gone "removed (p restores)"
tui_keys r
tui_wait "step 1/1"
tui_wait "redo 1"
tui_wait "removed (p restores)"

# one policy step, then run the policy to its end
tui_keys s
tui_wait "step 2/2" 120
tui_keys a
tui_wait "policy finished" 180
tui_wait "step 4/4"
[ -s "$TUI_TMP/auto.json" ] || tui_fail "no autosave file"
[ "$(json_get "$TUI_TMP/auto.json" cursor)" = 4 ] || tui_fail "the autosave does not hold step 4"

# the keys answer while nothing runs: help opens and closes
tui_keys '?'
tui_wait "key closes"
tui_keys Escape
tui_gone "key closes"

# save, remember the plan and the numbers, quit
tui_keys w
tui_wait "saved $S"
PLAN1=$(tui_plan_rows)
LOSS1=$(tui_screen | grep -oE '(search )?loss +[0-9.]+ +(→ )?[0-9.]+' | head -1)
[ -n "$PLAN1" ] || tui_fail "no heatmap rows"
[ -n "$LOSS1" ] || tui_fail "no loss row"
# export the compacted model through the prompt
tui_keys e
tui_wait "export compacted model to folder:"
tui_keys C-u "$TUI_TMP/export" Enter
tui_wait "exported the compacted model to" 60
[ -s "$TUI_TMP/export/config.json" ] && [ -s "$TUI_TMP/export/model.safetensors" ] || tui_fail "no exported model"
tui_keys q
tui_wait "AXF-EXIT-0" 30
[ -s "$S" ] || tui_fail "no session file"

# reopen: same plan, same numbers, the whole history (walk it back and forth)
tui_start 100 30 xterm-256color "$AXF" tui --session "$S"
tui_wait "step 4/4" 120
tui_wait "held loss"
PLAN2=$(tui_plan_rows)
LOSS2=$(tui_screen | grep -oE '(search )?loss +[0-9.]+ +(→ )?[0-9.]+' | head -1)
[ "$PLAN1" = "$PLAN2" ] || { echo "before:"; echo "$PLAN1"; echo "after:"; echo "$PLAN2"; tui_fail "plan differs after reopening"; }
[ "$LOSS1" = "$LOSS2" ] || tui_fail "loss differs after reopening: '$LOSS1' vs '$LOSS2'"
tui_keys '['
tui_wait "step 3/4"
tui_keys '{'
tui_wait "step 0/4"
tui_wait_plan '! printf %s "$ROWS" | grep -q ×'
tui_keys '}'
tui_wait "step 4/4"
[ "$(tui_plan_rows)" = "$PLAN1" ] || tui_fail "walking back and forth changed the plan"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo "ok"
