#!/usr/bin/env bash
# Installs missing packages and builds build/axf (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh "$@"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
