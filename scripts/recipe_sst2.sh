#!/usr/bin/env bash
# SST-2, made the honest way at small scale (issue 3):
#  1. masked-LM pre-training on the SST-2 GLUE train phrases (alps_train + alps_dev) and the
#     rt-polarity sentences (Latin-1), after dropping every corpus line that contains, normalised,
#     a sentence of GLUE SST-2 dev or of the sentence-level test (SST was cut from those reviews);
#     vocabulary: BERT's cut to the 8,202 pieces this corpus uses most (as the PyTorch reference);
#  2. fine-tuning on SST-2 train minus a seeded 15% SEARCH split (written to OUT/search.tsv: the
#     split the approximation search scores on), selecting on that split;
#  3. accuracy on GLUE SST-2 dev (872) and stsa.binary.test (1,821), which no stage touched.
#
# usage: scripts/recipe_sst2.sh            (environment: SIZE=small|big, THREADS=2, SEED=42,
#        PT_STEPS / FT_STEPS (instead of epochs, for a quick smoke run), DATA=../shared/data, OUT=models/sst2-SIZE, AXF=build/axf, PT_EPOCHS, FT_EPOCHS)
# Deterministic for a given SIZE, SEED and THREADS. Rerun after an interruption to resume.
set -euo pipefail
. "$(dirname "$0")/train/common.sh"
OUT=${OUT:-$ROOT/models/sst2-$SIZE}
mkdir -p "$OUT"
case "$SIZE" in
small) PT_EPOCHS=${PT_EPOCHS:-12}; FT_EPOCHS=${FT_EPOCHS:-3} ;;
big)   PT_EPOCHS=${PT_EPOCHS:-6};  FT_EPOCHS=${FT_EPOCHS:-3} ;;
esac
S=$DATA/sst2_glue
PT_LEN="--epochs $PT_EPOCHS"; [ -n "${PT_STEPS:-}" ] && PT_LEN="--steps $PT_STEPS"
FT_LEN="--epochs $FT_EPOCHS"; [ -n "${FT_STEPS:-}" ] && FT_LEN="--steps $FT_STEPS"

stage pretrain "$AXF" pretrain --out "$OUT/pretrain" \
    --tsv "$S/alps_train.tsv" --tsv "$S/alps_dev.tsv" \
    --text-latin1 "$DATA/rt_polarity/rt-polarity.pos" --text-latin1 "$DATA/rt_polarity/rt-polarity.neg" \
    --exclude "$S/dev.tsv" --exclude "$DATA/sst2_stsa_binary/stsa.binary.test" \
    --vocab-size 8202 --vocab-from "$DATA/bert_base_uncased_vocab/vocab.txt" \
    $MODEL_ARGS --max-len 128 $PT_LEN --batch 64 --lr 5e-4 --warmup 0.06 \
    --eval-every 2000 --seed "$SEED" --threads "$THREADS" --resume

stage finetune "$AXF" finetune --init "$OUT/pretrain" --out "$OUT/model" \
    --train "$S/alps_train.tsv" --train "$S/alps_dev.tsv" \
    --dev-split 0.15 --dev-split-out "$OUT/search.tsv" \
    $FT_LEN --batch 32 --lr 1e-4 --warmup 0.1 --eval-every 600 --patience 6 \
    --max-len 128 --seed "$SEED" --threads "$THREADS" --resume \
    --test "$S/dev.tsv" --test "$DATA/sst2_stsa_binary/stsa.binary.test"

echo "== results ($OUT)"
grep -h "^exclude:" "$OUT/pretrain.log" | sort -u
grep -h "^training:\|^dev masked" "$OUT/pretrain.log" | tail -2
grep -h "^best dev\|^training:\|^test " "$OUT/finetune.log" | tail -4
echo "wall time: pre-training $(cat "$OUT/pretrain.done") s, fine-tuning $(cat "$OUT/finetune.done") s"
echo "model: $OUT/model   search split: $OUT/search.tsv"
