#!/usr/bin/env bash
# The student views of issue 16: the glossary (n) explains the words the screen uses; the
# trade-off plot (o) draws accuracy against parameters kept and against measured speed-up for
# every step, counting the steps whose speed was measured. Any other key closes them. The teaching
# panel names the policy's acceptance rule.
# usage: views.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

for size in "100 30" "160 45"; do
    echo "== $size"
    tui_start $size xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --holdout "$HOLD" --autosave "$TUI_TMP/auto.json"
    tui_wait "head 0 of layer 3" 120
    tui_keys n
    tui_wait "─ glossary ─" 30
    for term in "Search split and held-out split" "No worse" "Acceptance rule"; do
        tui_wait "$term" 10
    done
    for term in "Why search accuracy can fall" "Neuron group" "Hard attention (top-K)" "Importance" "Speed"; do
        n=0                                      # j scrolls one line; each press is waited for
        until tui_screen | grep -qF -- "$term"; do
            n=$((n + 1))
            [ $n -gt 80 ] && tui_fail "the glossary has no '$term'"
            before=$(tui_screen | md5sum)
            tui_keys j
            s=$(date +%s)
            while [ "$(tui_screen | md5sum)" = "$before" ] && [ $(( $(date +%s) - s )) -lt 5 ]; do sleep 0.05; done
        done
    done
    tui_keys n
    tui_gone "─ glossary ─" 30

    tui_keys p                                   # head 0 of layer 3
    tui_wait "step 1/1" 120
    tui_wait "–" 180                             # its speed-up range: measured
    tui_keys o
    tui_wait "─ trade-off" 30
    tui_wait "parameters kept" 10
    tui_wait "1 of 1 steps measured" 10
    tui_keys Escape
    tui_gone "─ trade-off" 30
    tui_quit_unsaved
done

# the teaching panel names the rule the policy runs with (defect 9: it said "under the reference
# rule" with rule=loss)
tui_start 160 45 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --policy "$SCRIPTS/axformer.lua" --set rule=loss \
    --autosave "$TUI_TMP/auto.json"
tui_wait "axformer.lua ready" 120
tui_wait "its rule: loss" 30
tui_screen | grep -q "reference" && tui_fail "the teaching panel speaks of the reference rule under rule=loss"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
