#!/usr/bin/env bash
# Makes the project's Python environment: .venv in the repository (gitignored), a venv over
# Debian's /usr/bin/python3 with --system-site-packages (torch and numpy stay Debian's
# python3-torch / python3-numpy) and the PyPI packages pinned in scripts/requirements.txt,
# installed with --no-deps (the file lists the whole closure). Idempotent: when .venv already
# matches the file (sha256 stamp) and imports, it only says so. Prints the time taken.
# usage: scripts/venv.sh [--print-python]   (AXF_VENV=DIR to put it elsewhere)
#   --print-python  print the venv's python path on stdout (messages go to stderr)
# Needs: python3-venv, python3-torch, python3-numpy (scripts/deps.sh --test installs them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AXF_VENV:-$ROOT/.venv}"
REQ="$ROOT/scripts/requirements.txt"
SYS_PY=/usr/bin/python3
print_py=0
case "${1:-}" in
  --print-python) print_py=1 ;;
  "") ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "scripts/venv.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
MODS="torch numpy transformers tokenizers safetensors onnxruntime onnx"
check() {  # full imports after an install; the quick path only looks the modules up
  if [ "${1:-}" = quick ]; then
    "$VENV/bin/python" -c 'import importlib.util as u, sys
sys.exit(any(u.find_spec(m) is None for m in sys.argv[1:]))' $MODS 2>/dev/null
  else
    "$VENV/bin/python" -c "import ${MODS// /, }" 2>/dev/null
  fi
}
# One maker at a time: tests that call this script may start together on a fresh machine.
exec 9>"$VENV.lock"
flock 9
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
stamp="$VENV/axf-requirements.sha256"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && check quick; then
  echo "venv: $VENV up to date ($(elapsed) s)" >&2
else
  echo "venv: making $VENV from $REQ" >&2
  "$SYS_PY" -c 'import torch, numpy' 2>/dev/null ||
    { echo "scripts/venv.sh: $SYS_PY has no torch/numpy (bash scripts/deps.sh --test)" >&2; exit 1; }
  if [ -e "$VENV" ]; then  # only ever remove a venv
    [ -f "$VENV/pyvenv.cfg" ] || { echo "scripts/venv.sh: $VENV exists and is not a venv (no pyvenv.cfg)" >&2; exit 1; }
    rm -rf "$VENV"
  fi
  "$SYS_PY" -m venv --system-site-packages "$VENV" ||
    { echo "scripts/venv.sh: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 1; }
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet --no-input --no-deps \
    --only-binary=:all: -r "$REQ" >&2
  check || { echo "scripts/venv.sh: $VENV does not import torch, numpy, transformers, tokenizers, safetensors and onnxruntime" >&2; exit 1; }
  echo "$want" > "$stamp"
  echo "venv: $VENV ready ($(elapsed) s; $("$VENV/bin/python" -c 'import torch, transformers, onnxruntime as o; print("torch", torch.__version__, "transformers", transformers.__version__, "onnxruntime", o.__version__)'))" >&2
fi
[ "$print_py" = 1 ] && echo "$VENV/bin/python"
exit 0
