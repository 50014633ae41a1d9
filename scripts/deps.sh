#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs, only those that are missing.
# Usage: scripts/deps.sh [--test]   (--test adds what the test suite uses: tmux, python3-torch, python3-numpy and
#   python3-venv, over which scripts/venv.sh makes .venv with the pinned PyPI packages)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-dev liblua5.4-dev libcjson-dev libncurses-dev)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(tmux python3-torch python3-numpy python3-venv)
fi
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
