#!/usr/bin/env bash
# Copies what scripts/experiment.sh measured into docs/results/ (tracked; results/ is not): the
# generated tables (README.fragment.md, image links rewritten), the SVG plots and the per-split
# result JSON, so the README can show them and anyone can diff a rerun against them.
# usage: scripts/experiment/publish.sh RESULTS_DIR DEST   (e.g. results docs/results/sst2: one folder per run)
set -euo pipefail
[ $# = 2 ] || { echo "usage: publish.sh RESULTS_DIR DEST (e.g. results docs/results/sst2)" >&2; exit 2; }
SRC=$1
DEST=$2
[ -f "$SRC/README.fragment.md" ] || { echo "publish: $SRC/README.fragment.md not found (run scripts/experiment.sh)" >&2; exit 1; }
mkdir -p "$DEST"
rm -f "$DEST"/*.svg "$DEST"/*.md "$DEST"/results-*.json
cp "$SRC"/report/*.svg "$SRC"/report/*.md "$DEST"/
cp "$SRC"/results-*.json "$DEST"/
sed 's#](report/#](#' "$SRC/README.fragment.md" >"$DEST/README.md"
echo "published $(ls "$DEST"/*.svg | wc -l) plots and $(ls "$DEST"/results-*.json | wc -l) result files to $DEST"
