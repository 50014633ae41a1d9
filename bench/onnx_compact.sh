#!/usr/bin/env bash
# The speed-up a user gets outside our engine: compacted models exported with `axf export --onnx`
# against the original exported with `axf export-onnx`, both on ONNX Runtime (bench/onnx_speed.py:
# medians of interleaved passes, one thread by default, process CPU time).
# Model: random weights (speed does not depend on their values) of a given size, BERT vocabulary;
# plans: bench/onnx_plans.lua (half the heads, FFN of every other layer, half the neuron groups,
# the upper half of the layers, a mix). Data: the first N SST-2 dev sentences, batches of 32.
#   bench/onnx_compact.sh [--build DIR] [--size "LAYERS HIDDEN HEADS FFN"] [--n N] [--runs R]
#                         [--threads T] [--out DIR]
# Prints a Markdown table (and writes it to OUT/onnx_compact.md) with the CPU named.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build" SIZE="12 384 12 1536" N=256 RUNS=5 THREADS=1 OUT="$ROOT/bench/out/onnx"
DATA="$ROOT/../shared/data"
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --n) N=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
done
AXF="$BUILD/axf" TOOL="$BUILD/test_io_encode_tool"
[ -x "$AXF" ] && [ -x "$TOOL" ] || { echo "build axf and test_io_encode_tool in $BUILD first" >&2; exit 2; }
PY=$(bash "$ROOT/scripts/venv.sh" --print-python)
mkdir -p "$OUT"
read -r L H NH F <<<"$SIZE"
M="$OUT/model-${L}x${H}"
if [ ! -f "$M/model.safetensors" ]; then
  /usr/bin/python3 - "$ROOT/bench" "$M" "$DATA/bert_base_uncased_vocab/vocab.txt" "$L" "$H" "$NH" "$F" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import bert_ref
out, vocab, L, H, NH, F = sys.argv[2], sys.argv[3], *map(int, sys.argv[4:8])
tok = bert_ref.Tokenizer(vocab)
m = bert_ref.BertClassifier(bert_ref.make_config(len(tok.vocab), H, L, NH, F)).eval()
bert_ref.init_random(m, 20261203)
bert_ref.save_model_dir(m, out, vocab)
PY
fi
awk -v n="$N" 'NR == 1 { print "sentence\tlabel" } NR > 1 && NR <= n + 1' "$DATA/sst2_glue/dev.tsv" >"$OUT/data.tsv"
head -n 9 "$OUT/data.tsv" >"$OUT/search.tsv"  # the plans are fixed: the search only records them
"$AXF" export-onnx "$M" --out "$OUT/original.onnx" >/dev/null
graphs=("$OUT/original.onnx")
declare -A flops params
for k in heads ffn groups layers mixed; do
  "$AXF" search "$M" "$OUT/search.tsv" --policy "$ROOT/bench/onnx_plans.lua" --set "kind=$k" --out "$OUT/$k.json" \
    >/dev/null 2>&1
  line=$("$AXF" export "$OUT/$k.json" --onnx "$OUT/$k.onnx" | grep '^params')
  params[$k]=$(echo "$line" | sed -E 's/.*\(([0-9.]+)%\), FLOPs.*/\1/')
  flops[$k]=$(echo "$line" | sed -E 's/.*FLOPs\/token .* \(([0-9.]+)%\)/\1/')
  graphs+=("$OUT/$k.onnx")
done
"$PY" "$ROOT/bench/onnx_speed.py" "$TOOL" "$M" "$OUT/data.tsv" "$THREADS" "$RUNS" 32 "${graphs[@]}" >"$OUT/speed.jsonl"
cpu="$(grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //') (family $(grep -m1 "cpu family" /proc/cpuinfo | sed 's/.*: //') model $(grep -m1 "^model\s" /proc/cpuinfo | sed 's/.*: //'))"
ort=$("$PY" -c 'import onnxruntime; print(onnxruntime.__version__)')
{
  echo "ONNX Runtime $ort, $THREADS thread(s), $cpu ($(nproc) CPUs), $(date -u +%Y-%m-%d)"
  echo "model $L x $H, $NH heads, FFN $F (random weights), first $N SST-2 dev sentences in batches of 32;"
  echo "medians of $RUNS interleaved passes, process CPU time"
  echo
  echo "| plan | params kept | FLOPs/token kept | ORT CPU s per pass | speed-up on ORT |"
  echo "|---|---|---|---|---|"
  "$PY" - "$OUT/speed.jsonl" "${params[heads]}" "${flops[heads]}" "${params[ffn]}" "${flops[ffn]}" \
    "${params[groups]}" "${flops[groups]}" "${params[layers]}" "${flops[layers]}" "${params[mixed]}" "${flops[mixed]}" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
kept = {"original": ("100.0", "100.0")}
for i, k in enumerate(["heads", "ffn", "groups", "layers", "mixed"]):
    kept[k] = (sys.argv[2 + 2 * i], sys.argv[3 + 2 * i])
base = rows[0]["cpu_s"]
names = {"original": "original", "heads": "half the heads", "ffn": "FFN of every other layer",
         "groups": "half the neuron groups", "layers": "upper half of the layers",
         "mixed": "1/4 heads + 1/4 groups + top layer"}
for r in rows:
    k = os.path.basename(r["onnx"])[:-5]
    print("| %s | %s%% | %s%% | %.3f | %.2fx |" % (names[k], kept[k][0], kept[k][1], r["cpu_s"], base / r["cpu_s"]))
PY
} | tee "$OUT/onnx_compact.md"
