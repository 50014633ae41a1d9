#!/usr/bin/env bash
# Distillation from the screen (issue 18): after pruning, ":distil" with a bad option says what is
# wrong in one line; a long one cancelled with Esc changes nothing; D (its line edited to a few
# steps) commits a new step whose metrics the log and the status line give (accuracy before →
# after), undo brings back the step before with its metrics, redo the distilled one; the autosave
# records the distil step (version 2) with its weights folder beside it.
# usage: distil.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR  (the demo's train.tsv beside DATA)
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
A=$TUI_TMP/auto.json

tui_start 120 36 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --holdout "$HOLD" --autosave "$A"
tui_wait "step 0/0" 120
tui_keys :
tui_keys -l 's:apply({{op="drop_layer", layer=0}, {op="drop_ffn", layer=1}})'
tui_keys Enter
tui_wait "step 1/1" 120
# bad options: one line each, nothing happens
tui_keys :
tui_keys -l 'distil alpha=7'
tui_keys Enter
tui_wait "alpha must be in 0..1" 60
tui_keys :
tui_keys -l 'distil bogus=1'
tui_keys Enter
tui_wait "unknown option 'bogus'" 60
# a long run, cancelled mid-way
tui_keys :
tui_keys -l 'distil steps=100000 eval_every=100000'
tui_keys Enter
tui_wait_re "distil [0-9]+/100000 loss" 120
tui_keys Escape
tui_wait "distil cancelled: nothing changed" 60
tui_screen | grep -q "step 1/1" || tui_fail "the cancelled run changed the history"
# D: the line with the defaults, edited to a short run
tui_keys D
tui_wait "distil epochs=1 alpha=0.5 T=2"
tui_keys -l ' steps=40 eval_every=20 lr=0.001'
tui_keys Enter
tui_wait "distilled: search accuracy" 300
tui_wait "step 2/2"
line=$(tui_screen | grep -o "distilled: search accuracy [0-9.]*% → [0-9.]*%" | head -1)
before=$(printf %s "$line" | sed -E 's/.*accuracy ([0-9.]+)% → ([0-9.]+)%/\1/')
after=$(printf %s "$line" | sed -E 's/.*accuracy ([0-9.]+)% → ([0-9.]+)%/\2/')
python3 -c "import sys; b, a = map(float, sys.argv[1:]); sys.exit(0 if a > b else 1)" "$before" "$after" ||
    tui_fail "distillation did not raise the search accuracy ($before% -> $after%)"
tui_wait "step 2: distil (alpha 0.5, T 2, 40 steps"
python3 - "$A" <<'PY' || tui_fail "the autosave does not hold the distil step"
import json, os, sys
f = json.load(open(sys.argv[1]))
assert f["version"] == 2, f["version"]
h = f["history"]
assert len(h) == 2 and h[1]["actions"] == [] and h[1]["distil"]["steps_run"] == 40, h[1]
d = os.path.join(os.path.dirname(sys.argv[1]), h[1]["distil"]["weights"])
assert os.path.exists(os.path.join(d, "model.safetensors")), d
PY
acc() { python3 - "$A" "$1" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print("%.2f" % (100 * f["history"][int(sys.argv[2])]["after"]["accuracy"]))
PY
}
[ "$(acc 0)" = "$before" ] && [ "$(acc 1)" = "$after" ] || tui_fail "the recorded accuracies differ from the screen's"
tui_wait_re "search accuracy +[0-9.]+% +$after%"
tui_keys u
tui_wait "step 1/2"
tui_wait "undo step 2: distil"
tui_wait_re "search accuracy +[0-9.]+% +$before%"     # the metrics pane: the pruned model's again
tui_keys r
tui_wait "step 2/2"
tui_wait "redo 2: distil"
tui_wait_re "search accuracy +[0-9.]+% +$after%"
tui_keys q
tui_wait "Unsaved changes"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
