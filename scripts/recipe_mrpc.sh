#!/usr/bin/env bash
# MRPC (sentence pairs), made the same way as the SST-2 recipe. MRPC rather than RTE: RTE has
# 2,490 training pairs and a 277-pair dev set, and small models trained from scratch sit near
# chance on it (nothing for the approximation search to improve, and +-3% noise in dev);
# MRPC has 3,668 pairs, a 408-pair dev set, F1 besides accuracy, and lexical overlap a small model
# can learn from.
#  1. masked-LM pre-training on the training sentences of MRPC, RTE and CoLA plus the SST-2 train
#     phrases and rt-polarity (no dev or test sentence of MRPC: every corpus line holding one,
#     normalised, is dropped); vocabulary: BERT's cut to the 10,000 pieces this corpus uses most;
#  2. fine-tuning on MRPC train minus a seeded 15% SEARCH split (OUT/search.tsv), selecting on it;
#  3. accuracy and F1 on MRPC dev (408), which no stage touched (MRPC's test.tsv has no labels).
#
# usage: scripts/recipe_mrpc.sh            (environment: SIZE=small|big, THREADS=2, SEED=42,
#        PT_STEPS / FT_STEPS (instead of epochs, for a quick smoke run), DATA=../shared/data, OUT=models/mrpc-SIZE, AXF=build/axf, PT_EPOCHS, FT_EPOCHS)
# Deterministic for a given SIZE, SEED and THREADS. Rerun after an interruption to resume.
set -euo pipefail
. "$(dirname "$0")/train/common.sh"
OUT=${OUT:-$ROOT/models/mrpc-$SIZE}
mkdir -p "$OUT"
case "$SIZE" in
small) PT_EPOCHS=${PT_EPOCHS:-8}; FT_EPOCHS=${FT_EPOCHS:-10} ;;
big)   PT_EPOCHS=${PT_EPOCHS:-3}; FT_EPOCHS=${FT_EPOCHS:-10} ;;
esac
M=$DATA/mrpc_glue
PT_LEN="--epochs $PT_EPOCHS"; [ -n "${PT_STEPS:-}" ] && PT_LEN="--steps $PT_STEPS"
FT_LEN="--epochs $FT_EPOCHS"; [ -n "${FT_STEPS:-}" ] && FT_LEN="--steps $FT_STEPS"

stage pretrain "$AXF" pretrain --out "$OUT/pretrain" \
    --tsv "$M/train.tsv" --tsv "$DATA/rte_glue_hf/train.tsv" --tsv "$DATA/cola_nlpdatasets/train.tsv" \
    --tsv "$DATA/sst2_glue/alps_train.tsv" --tsv "$DATA/sst2_glue/alps_dev.tsv" \
    --text-latin1 "$DATA/rt_polarity/rt-polarity.pos" --text-latin1 "$DATA/rt_polarity/rt-polarity.neg" \
    --exclude "$M/dev.tsv" --exclude "$M/test.tsv" \
    --vocab-size 10000 --vocab-from "$DATA/bert_base_uncased_vocab/vocab.txt" \
    $MODEL_ARGS --max-len 128 $PT_LEN --batch 64 --lr 5e-4 --warmup 0.06 \
    --eval-every 2000 --seed "$SEED" --threads "$THREADS" --resume

stage finetune "$AXF" finetune --init "$OUT/pretrain" --out "$OUT/model" \
    --train "$M/train.tsv" --dev-split 0.15 --dev-split-out "$OUT/search.tsv" \
    $FT_LEN --batch 32 --lr 1e-4 --warmup 0.1 --patience 4 \
    --max-len 128 --seed "$SEED" --threads "$THREADS" --resume \
    --test "$M/dev.tsv"

echo "== results ($OUT)"
grep -h "^exclude:" "$OUT/pretrain.log" | sort -u
grep -h "^training:\|^dev masked" "$OUT/pretrain.log" | tail -2
grep -h "^best dev\|^training:\|^test " "$OUT/finetune.log" | tail -3
echo "wall time: pre-training $(cat "$OUT/pretrain.done") s, fine-tuning $(cat "$OUT/finetune.done") s"
echo "model: $OUT/model   search split: $OUT/search.tsv"
