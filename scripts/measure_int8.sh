#!/bin/sh
# What int8 does to a model: quantizes every block and the word embeddings
# (scripts/quantize_all.lua; EMBED=0: the blocks only; the data only scores the steps, nothing is
# chosen), exports the int8 model, and compares it with the float32 one on DATA: the largest
# |logit difference|, the predictions that change, `axf eval` of both (metrics and, with
# REPEAT > 1, the engine's median time at THREADS threads).
# usage: scripts/measure_int8.sh MODEL_DIR DATA [WORK_DIR]
#   env: AXF (default build/axf), THREADS (1), REPEAT (3), EMBED (1)
set -eu
[ $# -ge 2 ] || { echo "usage: $0 MODEL_DIR DATA [WORK_DIR]" >&2; exit 2; }
MODEL=$1
DATA=$2
WORK=${3:-$(mktemp -d "${TMPDIR:-/tmp}/axf-int8-XXXXXX")}
AXF=${AXF:-$(dirname "$0")/../build/axf}
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-3}
EMBED=${EMBED:-1}
case "$EMBED" in 0) EMBED_SET=false ;; 1) EMBED_SET=true ;; *) echo "$0: EMBED must be 0 or 1" >&2; exit 2 ;; esac
POLICY=$(dirname "$0")/quantize_all.lua
mkdir -p "$WORK"

"$AXF" search "$MODEL" "$DATA" --policy "$POLICY" --set embed=$EMBED_SET --threads "$THREADS" --quiet --out "$WORK/int8.json" \
    > "$WORK/search.txt"
"$AXF" export "$WORK/int8.json" --out "$WORK/int8" > /dev/null
"$AXF" predict "$MODEL" "$DATA" --threads "$THREADS" > "$WORK/f32.tsv" 2> /dev/null
"$AXF" predict "$WORK/int8" "$DATA" --threads "$THREADS" > "$WORK/i8.tsv" 2> /dev/null
python3 - "$WORK/f32.tsv" "$WORK/i8.tsv" <<'PY'
import sys
f = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
q = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
assert len(f) == len(q) and f, "predictions differ in count"
d = max(abs(float(a) - float(b)) for x, y in zip(f, q) for a, b in zip(x[2:], y[2:]))
top = max(abs(float(a)) for x in f for a in x[2:])
flips = sum(x[1] != y[1] for x, y in zip(f, q))
print("examples=%d max_abs_logit_diff=%.6g max_abs_logit=%.6g predictions_changed=%d" % (len(f), d, top, flips))
PY
for m in "$MODEL" "$WORK/int8"; do
    echo "== $m ($(du -b "$m/model.safetensors" | cut -f1) bytes of model.safetensors)"
    "$AXF" eval "$m" "$DATA" --threads "$THREADS" --repeat "$REPEAT"
done
echo "work folder: $WORK"
