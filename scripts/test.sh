#!/usr/bin/env bash
# Builds and runs the whole test suite on this machine in every configuration a user's machine
# may present, and exits non-zero when any of them fails:
#   1. the Release build as the environment is;
#   2. the Release build with the other OpenBLAS kernel: OPENBLAS_CORETYPE=Haswell, or, where the
#      environment already sets it, with it unset (so both of OpenBLAS's choices are covered);
#   3. the Release build with the kernels capped below the CPU's: on an AVX-512 CPU at AVX2
#      (AXF_ISA=avx2: what an AVX2-only CPU runs; on an AVX2-only CPU configuration 1 already is
#      that) for the tests whose assertions are numbers, and everywhere the portable C kernels
#      (AXF_ISA=generic) for the engine's, the products' and the trainer's tests;
#   4. an ASan+UBSan build of the whole suite (-O1: the checks are the same, the compute 2-3x faster);
#   5. the MPI build (build-mpi, -DAXF_MPI=ON): mpirun -np 2 and -np 3 give one process's sessions
#      (label mpi; Open MPI installed by scripts/deps.sh --mpi).
#   6. a fuzz smoke: every reader's libFuzzer target (scripts/fuzz.sh: clang, ASan+UBSan) for
#      30 s each (two at a time on two cores), from its seed corpus; any crash, sanitizer report,
#      leak or hang fails it.
# Configurations 2-4 leave out the tests labelled slow (they repeat what 1 already ran), the
# sanitizer build also those labelled timing (their assertions are latencies) or repeat (a
# bit-for-bit replay of what configuration 1 replayed), and with
# AXF_TEST_HF=0 the Hugging Face comparisons of the tokenizer tests (no floating point in them).
# The whole run is kept under 30 minutes on a 2-core machine; each configuration prints its time.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --test --mpi || exit 1
# The project's Python environment (.venv: transformers, tokenizers, onnxruntime, pinned in
# scripts/requirements.txt) for the tests against Hugging Face; they make it themselves too, and
# skip with a message only when PyPI is unreachable.
bash scripts/venv.sh || echo "=== scripts/venv.sh failed: the tests against Hugging Face will say why"
failed=()
run() {   # NAME, then the command
  local name=$1; shift
  local t0=$(date +%s)
  echo "=== $name"
  if "$@"; then
    echo "=== $name: passed in $(( $(date +%s) - t0 )) s"
  else
    echo "=== $name: FAILED after $(( $(date +%s) - t0 )) s"
    failed+=("$name")
  fi
}
run "release" ctest --test-dir build --output-on-failure -j2
# OpenBLAS computes no result any more (axf/matmul.h): the other core type reruns the tests of the
# engine, the products and training (their assertions are numbers), not the screen or bad input.
NUMERIC="unit|golden|train|approx|session"
ENGINE="unit|golden|train"
if [ "${OPENBLAS_CORETYPE:-}" = "Haswell" ]; then
  run "release, OPENBLAS_CORETYPE unset" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
      AXF_TEST_HF=0 ctest --test-dir build --output-on-failure -j2 -LE slow -L "$ENGINE"
else
  run "release, OPENBLAS_CORETYPE=Haswell" env OPENBLAS_CORETYPE=Haswell \
      AXF_TEST_HF=0 ctest --test-dir build --output-on-failure -j2 -LE slow -L "$ENGINE"
fi
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  run "release, AXF_ISA=avx2" env AXF_ISA=avx2 AXF_TEST_HF=0 \
      ctest --test-dir build --output-on-failure -j2 -LE slow -L "$NUMERIC"
else
  echo "=== no AVX-512 here: configuration 1 ran the AVX2 kernels"
fi
run "release, AXF_ISA=generic" env AXF_ISA=generic AXF_TEST_HF=0 ctest --test-dir build --output-on-failure -j2 \
    -R '^(engine_|gemm|qgemm|train_grad|train_determinism|approx_)'
# The demo model the screen tests open is the same bits in every build (README "Same results on every
# machine"; test_train_determinism checks a trained model's hash in each configuration), so the
# sanitised and MPI builds take the release build's copy instead of training it again (2-9 minutes).
reuse_demo() {
  [ -f build/tui-demo/complete ] || return 0
  rm -rf "$1/tui-demo" && cp -r build/tui-demo "$1/" && touch "$1/tui-demo/complete"
}
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DAXF_SANITIZE=ON >/dev/null && cmake --build build-asan -j"$(nproc)" >/dev/null \
  && reuse_demo build-asan || failed+=("asan build")
run "asan+ubsan" env AXF_TEST_HF=0 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2 -LE "slow|timing|repeat"
cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DAXF_MPI=ON >/dev/null && cmake --build build-mpi -j"$(nproc)" --target axf test_mpi_gather >/dev/null \
  && reuse_demo build-mpi || failed+=("mpi build")
run "mpi" ctest --test-dir build-mpi --output-on-failure -j2 -L mpi
run "fuzz smoke, 30 s per reader" bash scripts/fuzz.sh 30
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed configurations: ${failed[*]}"
  exit 1
fi
echo "all configurations passed"
