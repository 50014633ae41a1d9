#!/usr/bin/env bash
# Numbers of an older plan are never shown as current (issue 16, defect 4): while a policy runs,
# the held-out metrics, the speed and the importance colours are of the plan measured before the
# run; each says the step it belongs to ("@step 0") until it is measured again once the run
# pauses, in the compact (100x30) and the wide (160x45) layout.
# usage: stale.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

for size in "100 30" "160 45"; do
    echo "== $size"
    tui_start $size xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --holdout "$HOLD" \
        --policy "$(dirname "$0")/slow.lua" --set every=5 --autosave "$TUI_TMP/auto.json"
    tui_wait "slow.lua ready" 120
    tui_wait "held" 120
    tui_wait "×" 120                # the speed has been measured
    tui_gone "measuring" 120
    tui_keys a
    tui_wait_re "step ([2-9]|[1-9][0-9]+)/" 120   # (a fast machine may be past step 2)
    S=$(tui_screen)
    for row in "held acc\|held-out acc" "held loss\|held-out loss" "tok/CPU-s\\|speed-up"; do
        line=$(printf %s "$S" | grep "$row" | head -1)
        printf %s "$line" | grep -q "@step 0" || tui_fail "'$line' shows an older plan's number as current"
    done
    printf %s "$S" | grep -q "importance.*@step 0" || tui_fail "the heatmap does not say its values are of step 0"
    tui_keys a
    tui_wait "paused" 60
    if [ "$size" = "100 30" ]; then
        tui_gone "@step" 180        # measured again for the committed plan
    fi
    tui_quit_unsaved
done
echo ok
