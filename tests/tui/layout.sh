#!/usr/bin/env bash
# Defect 8 of issue 16: at every supported size (80 x 24 and up) the heatmap's legend and the line
# about the selected element are whole (wrapped by item, never cut with "…"), the metrics table is
# not cut, and wide terminals give the heatmap the width its legend needs (at 120 x 45 it was
# squeezed into 58 columns beside a half-empty metrics pane: "k30 hard at…", "acc -0.0…").
# usage: layout.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4
. "$(dirname "$0")/lib.sh"

# the heatmap's box: from its top border (the line naming the importance measure) to its bottom
# border, the heatmap's columns only (it is always at the left edge)
heat_box() {
    tui_screen | awk '/importance:/ && !on { on = 1; w = index($0, "┐") }
                      on { print substr($0, 1, w) }
                      on && /^└/ { exit }'
}

for size in "80 24" "100 30" "120 45" "160 45" "200 50"; do
    set -- $size
    echo "== $1 x $2"
    tui_start "$1" "$2" xterm-256color "$AXF" tui "$MODEL" "$DATA" --holdout "$HOLD" --max-examples 300 \
        --autosave "$TUI_TMP/auto.json"
    tui_wait "head 0 of layer 3" 120
    tui_wait_re "removing it: loss [-+]0\.[0-9]+, acc [-+][0-9.]+%" 180   # the exact measure is in
    tui_wait "same model" 180                                            # the speed: known
    box=$(heat_box)
    [ -n "$box" ] || tui_fail "no heatmap box"
    # every legend item, whole
    for item in " zero" "/10 a shade" " helps" " removed" "k30 hard" "i8 int8" " not measured"; do
        printf '%s\n' "$box" | grep -qF -- "$item" || tui_fail "$1x$2: the legend lacks '$item'"
    done
    # nothing cut below the title line (which may say "measuring…")
    if printf '%s\n' "$box" | tail -n +2 | grep -q "…"; then
        tui_fail "$1x$2: the heatmap cuts a line with …"
    fi
    tui_screen | grep -E "held-out|search loss|parameters|FLOPs|speed" | grep -q "…" &&
        tui_fail "$1x$2: a metrics row is cut"
    # the width: from 120 columns on, the legend fits on one row (the heatmap gets its width)
    if [ "$1" -ge 120 ]; then
        printf '%s\n' "$box" | grep -q " zero.*not measured" ||
            tui_fail "$1x$2: the heatmap is too narrow for its legend on one row"
        w=$(printf '%s\n' "$box" | head -1 | python3 -c 'import sys; print(len(sys.stdin.readline().rstrip("\n")))')
        [ "$w" -ge 100 ] || tui_fail "$1x$2: the heatmap is $w columns wide"
        tui_screen | grep -q "ffn groups" || tui_fail "$1x$2: the FFN groups are not shown beside the heads"
    fi
    tui_keys q                                                           # nothing changed: quits
    tui_wait "AXF-EXIT-0" 30
done
echo ok
