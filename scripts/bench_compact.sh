#!/bin/sh
# Speed of compaction and of the layer cache (issue 4, item 6). Random weights: speed does not
# depend on the values; the search's accept/reject decisions do, so the cache numbers are for a
# search path on a random model (both runs make the same decisions, checked).
#   scripts/bench_compact.sh [BUILD_DIR]    (default build-approx; needs target test_approx_bench)
# Sizes can be changed with COMPACT_ARGS / SEARCH_ARGS, e.g.
#   COMPACT_ARGS="--layers 12 --hidden 768 --heads 12 --ffn 3072 --n 200" scripts/bench_compact.sh
# For a real model and session: axf export SESSION.json --out DIR --bench
# Timing uses CPU time when OpenBLAS runs single-threaded (the default here), so that other jobs
# on a shared machine do not distort the ratios; set OPENBLAS_NUM_THREADS=2 for wall time.
set -eu
: "${OPENBLAS_NUM_THREADS:=1}"
export OPENBLAS_NUM_THREADS
BUILD=${1:-build-approx}
BIN="$BUILD/test_approx_bench"
[ -x "$BIN" ] || { echo "build $BIN first: make -C $BUILD test_approx_bench" >&2; exit 2; }
: "${COMPACT_ARGS:=--layers 12 --hidden 384 --heads 12 --ffn 1536 --n 60 --reps 5}"
: "${SEARCH_ARGS:=--layers 12 --hidden 128 --heads 4 --ffn 512 --n 150 --groups 12}"
echo "== compaction: original vs masked vs compacted (OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-default})"
nice -n 10 "$BIN" compact $COMPACT_ARGS
echo "== stage-B top-down search with and without the layer cache (near-miss 1.1, the reference)"
nice -n 10 "$BIN" search $SEARCH_ARGS --near-miss 1.1
echo "== the same, refining every block into groups and heads (the most evaluations stage B can make)"
nice -n 10 "$BIN" search $SEARCH_ARGS --near-miss 1e9
