#!/usr/bin/env bash
# Builds and runs the whole test suite twice: a Release build, then an ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --test
ctest --test-dir build --output-on-failure -j2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAXF_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 -LE slow
