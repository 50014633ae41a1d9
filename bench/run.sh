#!/usr/bin/env bash
# Inference benchmark: axf against ONNX Runtime, PyTorch (tuned and eager) and the sgemm-only floor,
# float32 and int8 (axf with every block int8; PyTorch's and ONNX Runtime's quantize_dynamic), with
# the machine's FMA peak (bench/fma_peak.c), on the same random weights (written once as
# config.json + model.safetensors + vocab.txt; the
# peers read that same file or its ONNX export), at 1 and 2 threads. Not a test: it prints a
# Markdown table and writes bench/out/{raw/*.json,results.json,table.md}.
#
# usage: bench/run.sh [--quick] [--threads "1 2"] [--runs N] [--sst2-n N] [--axf PATH] [--no-axf]
#   --quick     2 threads only, 3 runs, 64 SST-2 sentences, 320 training sequences
#   --no-train  skip the training benchmark (masked-LM steps, PyTorch against axf)
#   --no-archs  skip DistilBERT and RoBERTa against ONNX Runtime (bench/arch_run.py, arch_table.md)
#   --sst2-n N  time the first N SST-2 dev sentences (default 128; 0 = all 872, much longer)
#   --axf PATH  use this axf binary (and the libaxf_core.a beside it) instead of building build-bench/
#   --data DIR  the shared data folder (default ../shared/data beside the repository)
#   --peers P   the driver's peers (default all: ort,torch_eager,torch_jit,torch_bt,axf,ort_i8,torch_dq,axf_i8)
#   --no-small  skip the small 4 x 256 model;  --runs-b1 N  timed runs at batch 1 (default 4 x --runs)
#   --no-cli    skip the `axf bench` cross-check and the `axf eval` / `axf predict` end-to-end rows
#   --keep-models  reuse bench/out's models, ONNX exports and inputs of an earlier run (same --sst2-n)
#   env BENCH_WAIT_BUDGET=S: seconds the driver may wait in all, per model and thread count, for
#   other users' CPU share to drop before a pass (default 120; 0 on a machine that stays busy)
# Needs /usr/bin/python3 with Debian's python3-torch and the project's Python environment .venv
# (made here by scripts/venv.sh when missing: PyPI's onnxruntime, pinned in scripts/requirements.txt).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$HERE/out"
PY=/usr/bin/python3
THREADS="1 2"
RUNS=5
SST2_N=128
AXF=""
BUILD_AXF=1
QUICK=0
TRAIN=1
ARCHS=1
KEEP=0
PEERS=ort,torch_eager,torch_jit,torch_bt,axf,ort_i8,torch_dq,axf_i8
SMALL=1
CLI=1
RUNS_B1=""
TRAIN_N=1280
DATA="$ROOT/../shared/data"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; THREADS="2"; RUNS=3; SST2_N=64; TRAIN_N=320 ;;
        --no-train) TRAIN=0 ;;
        --no-archs) ARCHS=0 ;;
        --keep-models) KEEP=1 ;;
        --peers) PEERS="$2"; shift ;;
        --no-small) SMALL=0 ;;
        --no-cli) CLI=0 ;;
        --runs-b1) RUNS_B1="$2"; shift ;;
        --threads) THREADS="$2"; shift ;;
        --runs) RUNS="$2"; shift ;;
        --sst2-n) SST2_N="$2"; shift ;;
        --axf) AXF="$2"; BUILD_AXF=0; shift ;;
        --no-axf) BUILD_AXF=0 ;;
        --data) DATA="$2"; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

"$PY" -c 'import torch, numpy' 2>/dev/null || { echo "bench: $PY lacks torch/numpy (apt-get install python3-torch python3-numpy)" >&2; exit 1; }
ORT_PY="$(bash "$ROOT/scripts/venv.sh" --print-python)" ||
    { echo "bench: scripts/venv.sh could not make the Python environment with onnxruntime" >&2; exit 1; }

mkdir -p "$OUT"
AXF_CASE=""
AXF_TRAIN=""
if [ "$BUILD_AXF" = 1 ]; then
    log "building axf (Release) in build-bench/"
    if cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        make -C "$ROOT/build-bench" -j2 axf bench_qgemm >/dev/null; then
        AXF="$ROOT/build-bench/axf"
    else
        log "axf did not build: peers only"
    fi
fi
if [ -n "$AXF" ]; then
    lib="$(dirname "$AXF")/libaxf_core.a"
    # shellcheck disable=SC2046
    if cc -std=c11 -O2 -D_GNU_SOURCE -I"$ROOT/include" $(pkg-config --cflags openblas libcjson) \
        "$HERE/axf_case.c" "$lib" $(pkg-config --libs openblas libcjson) -lm -lpthread -o "$OUT/axf_case"; then
        AXF_CASE="$OUT/axf_case"
        cc -std=c11 -O2 -D_GNU_SOURCE -I"$ROOT/include" $(pkg-config --cflags openblas libcjson) \
            "$HERE/axf_train_case.c" "$lib" $(pkg-config --libs openblas libcjson) -lm -lpthread \
            -o "$OUT/axf_train_case" && AXF_TRAIN="$OUT/axf_train_case"
    else
        log "bench/axf_case.c did not build against $lib: peers only"
    fi
fi

rm -rf "$OUT/raw" "$OUT/peak"
mkdir -p "$OUT/raw" "$OUT/peak"
# The CPU (lscpu's model name and its vector flags) and the FMA peak of its widest vector unit at
# each thread count: every table names the CPU, every float32 case is also a fraction of the peak.
{ echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1) (family $(lscpu | sed -n 's/^CPU family: *//p' | head -1) model $(lscpu | sed -n 's/^Model: *//p' | head -1))"
  grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(sse4_2|avx|avx2|fma|f16c|avx512.*|amx.*|avx_vnni)$' | tr '\n' ' '
  echo
  # The kernel OpenBLAS chose (PyTorch's and the sgemm floor's products; the engine does not use
  # it): a DYNAMIC_ARCH build falls back to an SSE3 kernel on a CPU model it does not know
  # (Debian's 0.3.21 on an Intel family 6 model 207 chose Prescott), which makes those peers
  # several times slower than the machine allows. OPENBLAS_CORETYPE in the environment overrides.
  "$PY" - <<'PYEOF' 2>/dev/null || echo "OpenBLAS: kernel not known"
import ctypes, os
lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_corename.restype = ctypes.c_char_p
lib.openblas_get_config.restype = ctypes.c_char_p
core = lib.openblas_get_corename().decode()
ver = lib.openblas_get_config().decode().split(" ")[1]
flags = open("/proc/cpuinfo").read()
old = core.lower() in ("prescott", "core2", "penryn", "dunnington", "nehalem", "katmai", "atom", "opteron",
                       "barcelona", "athlon", "banias", "northwood", "coppermine")
warn = "; an SSE-era fallback on a CPU with AVX2: OpenBLAS does not know this CPU model" if old and " avx2" in flags else ""
print("OpenBLAS %s kernel %s, OPENBLAS_CORETYPE %s%s" % (ver, core, os.environ.get("OPENBLAS_CORETYPE") or "unset", warn))
PYEOF
} > "$OUT/peak/cpu.txt"
if cc -std=c11 -O2 -pthread "$HERE/fma_peak.c" -lm -o "$OUT/fma_peak"; then
    for t in $THREADS; do
        l0="$(load1)"
        "$OUT/fma_peak" "$t" 9 > "$OUT/peak/t$t.json.tmp" &&
            sed "s/}\$/,\"load_start\":$l0,\"load_end\":$(load1)}/" "$OUT/peak/t$t.json.tmp" > "$OUT/peak/t$t.json"
        rm -f "$OUT/peak/t$t.json.tmp"
        log "FMA peak, $t thread(s): $(cat "$OUT/peak/t$t.json" 2>/dev/null)"
    done
else
    log "bench/fma_peak.c did not build: no peak"
fi
if [ "$KEEP" = 1 ] && [ -f "$OUT/models/small/model.int8.onnx" ] && [ -f "$OUT/inputs/sst2_base.json" ]; then
    log "reusing the models, ONNX exports and inputs in $OUT"
else
    log "writing models, ONNX exports and inputs"
    "$PY" -W ignore "$HERE/prepare.py" --out "$OUT" --sst2-n "$SST2_N" --data "$DATA"
    "$ORT_PY" -W ignore "$HERE/ort_quantize.py" "$OUT/models/base" "$OUT/models/small" ||
        log "onnxruntime.quantization failed: no ONNX Runtime int8 rows"
fi
[ "$TRAIN" = 1 ] && "$PY" -W ignore "$HERE/train_prepare.py" --out "$OUT" --data "$DATA" --n-seq "$TRAIN_N"

LOAD_START="$(load1)"
for t in $THREADS; do
    # A batch-1 pass takes tens of milliseconds: more runs for the same confidence.
    "$PY" -W ignore "$HERE/driver.py" "$OUT" base_b1,base_b8,sst2_base "$t" "$RUNS" --runs-b1 "${RUNS_B1:-$((RUNS * 4))}" \
        --axf-case "$AXF_CASE" --ort-python "$ORT_PY" --peers "$PEERS"
    if [ "$SMALL" = 1 ]; then
        "$PY" -W ignore "$HERE/driver.py" "$OUT" small_b8 "$t" "$RUNS" --axf-case "$AXF_CASE" \
            --ort-python "$ORT_PY" --peers "$PEERS"
    fi
done
if [ "$TRAIN" = 1 ]; then
    for t in $THREADS; do
        "$PY" -W ignore "$HERE/driver.py" "$OUT" train "$t" "$RUNS" --axf-train "$AXF_TRAIN"
    done
fi
if [ -n "$AXF" ] && [ "$CLI" = 1 ]; then
    # Cross-check with `axf bench` (random weights of the same shape, fixed-length batch).
    for t in $THREADS; do
        specs=("base_b1 768 12 12 3072 1" "base_b8 768 12 12 3072 8")
        if [ "$SMALL" = 1 ]; then specs+=("small_b8 256 4 4 1024 8"); fi
        for spec in "${specs[@]}"; do
            set -- $spec
            "$AXF" bench --hidden "$2" --layers "$3" --heads "$4" --ffn "$5" --batch "$6" --seq 128 \
                --threads "$t" --reps "$RUNS" > "$OUT/raw/$1.t$t.axf_bench.txt" || log "axf bench failed for $1"
        done
    done
fi
if [ -n "$AXF" ] && [ "$CLI" = 1 ]; then
    # End to end through the CLI: `axf eval` on all 872 SST-2 dev sentences (tokenization included,
    # reported apart), and `axf predict` logits on the timed SST-2 case against PyTorch's.
    for t in $THREADS; do
        "$AXF" eval "$OUT/models/base" "$DATA/sst2_glue/dev.tsv" --batch 32 --threads "$t" \
            > "$OUT/raw/sst2_full.t$t.axf_eval.txt" || log "axf eval failed"
    done
    "$AXF" predict "$OUT/models/base" "$OUT/inputs/sst2_base.tsv" --batch 32 > "$OUT/raw/sst2_base.axf_predict.tsv" ||
        log "axf predict failed"
fi
if [ -n "$AXF" ] && [ "$ARCHS" = 1 ]; then
    log "DistilBERT and RoBERTa (transformers' base-sized random models) against ONNX Runtime"
    rm -f "$OUT/arch_table.md"
    "$ORT_PY" -W ignore "$HERE/arch_run.py" "$AXF" "$OUT" "$DATA" --threads "$THREADS" --runs "$RUNS" \
        --n "$SST2_N" > "$OUT/raw/archs.txt" || log "arch_run.py failed"
fi
if [ -x "$(dirname "$AXF")/bench_qgemm" ]; then
    # The int8 product against the float32 one on BERT-base's shapes (tests/bench_qgemm.c: same
    # weights, the int8 time including the quantization of the inputs; CPU time at 1 thread, wall
    # time at more). Medians of 9 timings; the load average before and after beside it.
    mkdir -p "$OUT/qgemm"
    for t in $THREADS; do
        shapes=""
        for T in 1 128 1024; do shapes="$shapes --shape $T,768,768 --shape $T,3072,768 --shape $T,768,3072"; done
        l0="$(load1)"
        # shellcheck disable=SC2086
        "$(dirname "$AXF")/bench_qgemm" --threads "$t" --reps 9 $([ "$t" -gt 1 ] && echo --wall) $shapes \
            > "$OUT/qgemm/t$t.txt" || log "bench_qgemm failed at $t thread(s)"
        echo "# load $l0 $(load1)" >> "$OUT/qgemm/t$t.txt"
    done
fi
LOAD_END="$(load1)"

NOTE="Measured $(date -u +%Y-%m-%d) on $(head -1 "$OUT/peak/cpu.txt") ($(nproc) cores; flags: $(sed -n 2p "$OUT/peak/cpu.txt" | sed 's/ *$//')); \
load average $LOAD_START at start, $LOAD_END at end; medians of $RUNS interleaved runs after warm-up \
(${RUNS_B1:-$((RUNS * 4))} for batch 1); SST-2 = first $( [ "$SST2_N" = 0 ] && echo 872 || echo "$SST2_N") dev sentences in file order, \
batches of 32 (peers pad per batch, axf packs); onnxruntime $("$ORT_PY" -c 'import onnxruntime; print(onnxruntime.__version__)') (PyPI), \
torch $("$PY" -c 'import torch; print(torch.__version__)') (Debian); PyTorch's and the floor's products on $(sed -n 3p "$OUT/peak/cpu.txt")."
"$PY" "$HERE/report.py" "$OUT" --note "$NOTE"
[ -f "$OUT/arch_table.md" ] && [ "$ARCHS" = 1 ] && { echo; echo "DistilBERT and RoBERTa:"; cat "$OUT/arch_table.md"; }
exit 0
