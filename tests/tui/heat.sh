#!/usr/bin/env bash
# The heatmap's colours follow the scale its legend states (issue 16, defect 6): for the exact
# measures one scale for every cell, a shade per factor of 10 below the largest value, zero drawn
# as zero ("0"), a removal that helps as "−". Each cell of the screen is checked against
# `axf importance --json` on the same model and split: the loss change and the accuracy drop.
# usage: heat.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"

"$AXF" importance "$MODEL" "$DATA" --max-examples 300 --json > "$TUI_TMP/imp.json" 2>/dev/null || { echo "FAIL: axf importance"; exit 1; }

# wait_re REGEX: until the screen matches (the importance measured: its time in the title)
wait_re() {
    local start
    start=$(date +%s)
    until tui_screen | grep -qE -- "$1"; do
        [ $(( $(date +%s) - start )) -ge 300 ] && tui_fail "timeout waiting for /$1/"
        sleep 0.1
    done
}

# check MEASURE: every drawn cell against the values (loss: the loss change; acc: the accuracy drop)
check() {
    tui_screen > "$TUI_TMP/screen"
    python3 - "$1" "$TUI_TMP/imp.json" "$TUI_TMP/screen" <<'PY' || tui_fail "the $1 heatmap does not follow its scale"
import json, re, sys
measure, imp, screen = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3]).read().splitlines()
glyph = {"0": "zero", "−": "helps", "░": 1, "▒": 2, "▓": 3, "█": 4}
cells = []   # (name, value, glyph class)
for line in screen:
    m = re.match(r"^│ L(\d+) +(.*)│", line)
    if not m:
        continue
    L = imp["layers"][int(m.group(1))]
    tok = m.group(2).split()
    nh = len(L["heads"])
    val = lambda k: L[k + "_acc"] if measure == "acc" else L[k if k != "layer" else "layer_value"]
    vals = {"heads": L["heads_acc"] if measure == "acc" else L["heads"],
            "groups": L["groups_acc"] if measure == "acc" else L["groups"]}
    sgn = -1 if measure == "acc" else 1   # an accuracy drop is the importance
    for h in range(nh):
        cells.append((f"L{m.group(1)}.h{h}", sgn * vals["heads"][h], tok[h]))
    cells.append((f"L{m.group(1)}.attn", sgn * val("attn"), tok[nh]))
    cells.append((f"L{m.group(1)}.ffn", sgn * val("ffn"), tok[nh + 1]))
    g = tok[nh + 3]
    ng = len(vals["groups"]); gw = len(g) // ng
    for i in range(ng):
        cells.append((f"L{m.group(1)}.g{i}", sgn * vals["groups"][i], g[i * gw:(i + 1) * gw]))
if len(cells) < 20:
    print("only", len(cells), "cells read"); sys.exit(1)
top = max(v for _, v, _ in cells)
bad = 0
for name, v, t in cells:
    if len(set(t)) != 1 or t[0] not in glyph:
        print(name, "unreadable cell", repr(t)); bad += 1; continue
    got = glyph[t[0]]
    if v == 0:
        want = ["zero"]
    elif v < 0:
        want = ["helps"]
    else:
        want = [4 if v >= top / 10 else 3 if v >= top / 100 else 2 if v >= top / 1000 else 1]
        for f in (10, 100, 1000):   # values printed to 6 digits: either side of a boundary
            if abs(v - top / f) <= 1e-5 * top / f:
                want += [1 + {10: 3, 100: 2, 1000: 1}[f], {10: 3, 100: 2, 1000: 1}[f]]
    if got not in want:
        print(f"{name}: value {v:g} (top {top:g}) drawn {t!r}, the scale says {want[0]}"); bad += 1
sys.exit(1 if bad else 0)
PY
}

tui_start 100 30 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --autosave "$TUI_TMP/auto.json"
tui_wait "head 0 of layer 3" 120
tui_wait "/10 a shade" 120
wait_re "importance: loss change.* [0-9.]+s ─"
check loss
tui_keys i
tui_wait "accuracy drop" 30
wait_re "importance: accuracy drop.* [0-9.]+s ─"
check acc
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
