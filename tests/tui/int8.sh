#!/usr/bin/env bash
# Int8 from the screen: key 8 on a head of a layer quantizes that layer's attention block (one
# step, "i8" in its attn cell and the details line says so), on the FFN column its FFN block; 8
# again dequantizes; on the layer label it asks for a block; undo brings the flag back; key E
# stores the word embeddings in int8 (the heatmap's title says so) and E again puts them back; the
# autosave records the actions with their block.
# usage: int8.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
A=$TUI_TMP/auto.json

tui_start 100 30 xterm-256color "$AXF" tui "$MODEL" "$DATA" --max-examples 300 --autosave "$A"
tui_wait "step 0/0" 120
tui_wait "head 0 of layer 3"
tui_screen | grep -q "i8 int8" || tui_fail "the legend does not explain i8"

tui_keys 8
tui_wait "step 1/1" 120
tui_wait "L3 int8 attn"
tui_screen | grep -qE '^│ L3 .*i8' || tui_fail "layer 3's attention block is not marked i8"
tui_screen | grep -qE '^│ L2 .*i8' && tui_fail "layer 2 is marked i8"
tui_keys End                       # the FFN column (or its last group)
tui_wait "of layer 3"
tui_keys 8
tui_wait "step 2/2" 120
tui_wait "L3 int8 attn+ffn"
tui_keys 8                         # again: float32 FFN
tui_wait "step 3/3" 120
tui_gone "L3 int8 attn+ffn"
tui_wait "L3 int8 attn"
tui_keys u
tui_wait "step 2/3"
tui_wait "L3 int8 attn+ffn"
tui_keys Home                      # the layer label: int8 is per block
tui_wait "layer 3"
tui_keys 8
tui_wait "int8 is per block"
tui_keys E                         # the word embeddings: one table for the model
tui_wait "drops the 1 redo step"
tui_keys y
tui_wait "step 3/3" 120
tui_wait "embeddings int8"
tui_keys E
tui_wait "step 4/4" 120
tui_gone "embeddings int8"
python3 - "$A" <<'PY' || tui_fail "the autosave does not hold the int8 steps"
import json, sys, time
for _ in range(50):  # the autosave follows the step
    h = json.load(open(sys.argv[1]))["history"]
    acts = [(a["op"], a["layer"], a["block"]) for e in h for a in e["actions"]]
    if len(acts) >= 4:
        break
    time.sleep(0.2)
assert acts == [("quantize", 3, "attn"), ("quantize", 3, "ffn"), ("quantize", 0, "embed"),
                ("dequantize", 0, "embed")], acts
PY
tui_keys q
tui_wait "Unsaved changes"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
