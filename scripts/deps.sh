#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs, only those that are missing.
# Usage: scripts/deps.sh [--test] [--mpi] [--fuzz]   (--test adds what the test suite uses: tmux,
#   python3-torch, python3-numpy and python3-venv, over which scripts/venv.sh makes .venv with the
#   pinned PyPI packages; --mpi adds Open MPI for the -DAXF_MPI=ON build and its tests: openmpi-bin,
#   libopenmpi-dev; --fuzz adds clang with its libFuzzer and sanitizer runtimes for scripts/fuzz.sh)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-dev liblua5.4-dev libcjson-dev libncurses-dev
      protobuf-c-compiler libprotobuf-c-dev)
for a in "$@"; do
  case "$a" in
    --test) pkgs+=(tmux python3-torch python3-numpy python3-venv) ;;
    --mpi) pkgs+=(openmpi-bin libopenmpi-dev) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "deps.sh: unknown option $a (--test, --mpi, --fuzz)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
