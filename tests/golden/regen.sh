#!/bin/sh
# Regenerates the golden fixture with PyTorch into OUT and runs the golden test on it, so that a
# change of the generator (or of PyTorch) is checked, not only the committed copy.
# usage: regen.sh PYTHON GEN_SCRIPT OUT_DIR TEST_EXE DATA_DIR
# Exits 77 (skipped) when PYTHON has no torch/numpy or DATA_DIR has no BERT vocabulary.
py=$1 gen=$2 out=$3 exe=$4 data=$5
"$py" -c "import torch, numpy" 2>/dev/null || { echo "skipped: $py has no torch/numpy"; exit 77; }
[ -f "$data/bert_base_uncased_vocab/vocab.txt" ] || { echo "skipped: no $data/bert_base_uncased_vocab/vocab.txt"; exit 77; }
rm -rf "$out" && "$py" "$gen" "$out" "$data" && "$exe" "$out"
