#!/usr/bin/env bash
# `axf demo minilm`: without a fine-tuned MiniLM folder it exits 1 with one line saying how to make
# one; with one (here a folder laid out as scripts/recipe_minilm.sh writes it, holding the demo
# model) it opens the screen on the first 300 examples of its search split.
# usage: demo_minilm.sh AXF MODEL_DIR DATA HOLDOUT SCRIPTS_DIR
set -u
AXF=$1 MODEL=$2 DATA=$3 HOLD=$4 SCRIPTS=$5
. "$(dirname "$0")/lib.sh"
out=$(AXF_MINILM_DIR=$TUI_TMP/none "$AXF" demo minilm 2>&1); rc=$?
[ $rc -eq 1 ] || tui_fail "exit $rc without a MiniLM folder (1 expected)"
[ "$(printf %s "$out" | wc -l)" -le 1 ] && printf %s "$out" | grep -q "none: no fine-tuned MiniLM.*recipe_minilm.sh" \
    || tui_fail "message: $out"
mkdir -p "$TUI_TMP/mini"
ln -s "$(cd "$MODEL" && pwd)" "$TUI_TMP/mini/model"
cp "$DATA" "$TUI_TMP/mini/search.tsv"
TUI_ENV="AXF_MINILM_DIR=$TUI_TMP/mini" tui_start 120 40 xterm-256color "$AXF" demo minilm --holdout "$HOLD" \
    --autosave "$TUI_TMP/auto.json"
tui_wait "demo: MiniLM" 120
tui_wait "300 search examples" 120
tui_wait "axformer.lua ready" 120
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
