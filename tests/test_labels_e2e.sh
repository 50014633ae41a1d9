#!/bin/sh
# Issue 13, any label set: a 3-class model and a plain single-sentence file (header
# sentence<TAB>label, no task in its name) through predict -> eval -> search -> replay -> export ->
# eval. The model is fine-tuned here on 600 real sentences (SST-2 phrases labelled by length:
# short / medium / long) and its classes are then named in config.json; the data names a class by
# that name, by "LABEL_i" or by number. predict reads no labels; eval and search refuse a label
# outside the model's classes with one line naming the file, the line and the classes; a missing
# held-out file is a warning on stderr.
# usage: test_labels_e2e.sh AXF DATA_DIR
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
[ $# -eq 2 ] || fail "usage: test_labels_e2e.sh AXF DATA_DIR"
AXF=$1 DATA=$2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/axf-labels-XXXXXX")
trap 'rm -rf "$DIR"' EXIT
# expect_bad NEEDLE CMD...: exit 1 and one stderr line holding NEEDLE
expect_bad() {
    needle=$1; shift
    "$@" > "$DIR/out.txt" 2> "$DIR/err.txt"
    rc=$?
    [ $rc -eq 1 ] || { cat "$DIR/err.txt" >&2; fail "exit $rc (want 1): $*"; }
    [ "$(grep -c . "$DIR/err.txt")" -eq 1 ] || { cat "$DIR/err.txt" >&2; fail "not one line: $*"; }
    grep -qF -- "$needle" "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "message lacks '$needle': $*"; }
}

# The data lives in a folder whose name names no task (the file name is read for one).
mkdir -p "$DIR/d"
awk -F'\t' 'NR > 1 && NR <= 601 { n = split($1, w, " "); print $1 "\t" (n < 8 ? 0 : n < 16 ? 1 : 2) }' \
    "$DATA/sst2_glue/alps_dev.tsv" > "$DIR/body.tsv"
[ "$(cut -f2 "$DIR/body.tsv" | sort -u | tr -d '\n')" = "012" ] || fail "the generated file lacks a class"
{ printf 'sentence\tlabel\n'; cat "$DIR/body.tsv"; } > "$DIR/d/train.tsv"

"$AXF" finetune --train "$DIR/d/train.tsv" --vocab "$DATA/bert_base_uncased_vocab/vocab.txt" --out "$DIR/m" \
    --layers 2 --hidden 32 --heads 2 --ffn 64 --epochs 20 --batch 16 --lr 2e-3 --threads 1 \
    --dev-split 0.2 --dev-split-out "$DIR/d/split.tsv" > "$DIR/ft.txt" 2>&1 || { cat "$DIR/ft.txt" >&2; fail "finetune of a 3-class file"; }
python3 - "$DIR/m/config.json" <<'PY' || fail "config.json"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["num_labels"] == 3 if "num_labels" in c else len(c["id2label"]) == 3, c.get("id2label")
names = ["short", "medium", "long"]
c["id2label"] = {str(i): n for i, n in enumerate(names)}
c["label2id"] = {n: i for i, n in enumerate(names)}
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY

# The search split three ways: by number (as written), by name and LABEL_i, and with labels
# predict must not look at.
S=$DIR/d/split.tsv
awk -F'\t' 'BEGIN { OFS = "\t"; split("short medium long", nm, " ") }
    NR == 1 { print; next } { l = $2 } NR % 3 == 0 { l = nm[$2 + 1] } NR % 3 == 1 { l = "LABEL_" $2 } { print $1, l }' \
    "$S" > "$DIR/d/named.tsv"
grep -q "	medium$" "$DIR/d/named.tsv" && grep -q "	LABEL_" "$DIR/d/named.tsv" || fail "named file"
awk -F'\t' 'BEGIN { OFS = "\t" } NR == 1 { print; next } { print $1, "?" NR }' "$S" > "$DIR/d/nolabels.tsv"
n=$(($(wc -l < "$S") - 1))

# predict: one line per example, 3 logits, no labels needed
"$AXF" predict "$DIR/m" "$DIR/d/named.tsv" --threads 1 > "$DIR/p1.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "predict"; }
"$AXF" predict "$DIR/m" "$DIR/d/nolabels.tsv" --threads 1 > "$DIR/p2.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "predict with labels that name no class"; }
[ "$(wc -l < "$DIR/p1.txt")" -eq "$n" ] || fail "predict: $(wc -l < "$DIR/p1.txt") lines for $n examples"
awk -F'\t' 'NF != 5 || $2 < 0 || $2 > 2 { exit 1 }' "$DIR/p1.txt" || fail "predict: not index, class 0..2 and 3 logits"
cmp -s "$DIR/p1.txt" "$DIR/p2.txt" || fail "predict depends on the label column"

# eval: names and numbers read alike
"$AXF" eval "$DIR/m" "$S" --threads 1 > "$DIR/e1.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "eval"; }
"$AXF" eval "$DIR/m" "$DIR/d/named.tsv" --threads 1 > "$DIR/e2.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "eval of named labels"; }
grep -q "^task=single$" "$DIR/e1.txt" && grep -q "^examples=$n$" "$DIR/e1.txt" || { cat "$DIR/e1.txt" >&2; fail "eval output"; }
[ "$(grep -E '^(accuracy|loss)=' "$DIR/e1.txt")" = "$(grep -E '^(accuracy|loss)=' "$DIR/e2.txt")" ] || fail "names and numbers differ"

# a label outside the model's classes: one line naming file, line and classes
{ head -4 "$S"; printf 'a sentence of another class\t3\n'; } > "$DIR/d/bad.tsv"
classes="is not one of the model's 3 classes: 0..2 (short, medium, long)"
expect_bad "bad.tsv:5: label '3' $classes" "$AXF" eval "$DIR/m" "$DIR/d/bad.tsv"
{ head -2 "$S"; printf 'x\tneutral\n'; } > "$DIR/d/bad2.tsv"
expect_bad "bad2.tsv:3: label 'neutral' $classes" "$AXF" eval "$DIR/m" "$DIR/d/bad2.tsv"
expect_bad "bad.tsv:5: label '3' $classes" "$AXF" search "$DIR/m" "$DIR/d/bad.tsv" \
    --policy "$(dirname "$0")/../scripts/axformer.lua" --out "$DIR/bad.json"
expect_bad "bad.tsv:5: label '3' $classes" "$AXF" search "$DIR/m" "$S" --holdout "$DIR/d/bad.tsv" \
    --policy "$(dirname "$0")/../scripts/axformer.lua" --out "$DIR/bad.json"

# search -> replay -> export -> eval
"$AXF" search "$DIR/m" "$DIR/d/named.tsv" --holdout "$S" --policy "$(dirname "$0")/../scripts/axformer.lua" \
    --threads 1 --quiet --out "$DIR/s.json" > "$DIR/search.txt" 2>&1 || { cat "$DIR/search.txt" >&2; fail "search"; }
"$AXF" replay "$DIR/s.json" > "$DIR/replay.txt" 2>&1 || { cat "$DIR/replay.txt" >&2; fail "replay"; }
"$AXF" export "$DIR/s.json" --out "$DIR/exp" > "$DIR/export.txt" 2>&1 || { cat "$DIR/export.txt" >&2; fail "export"; }
grep -q '"2":[[:space:]]*"long"' "$DIR/exp/config.json" || fail "export lost the class names"
# A session whose held-out file is gone still loads, and says so on stderr (the library's one
# warning reached nobody before the CLI installed a log callback, issue 15 item 8).
mv "$S" "$S.away"
"$AXF" export "$DIR/s.json" --out "$DIR/exp2" > "$DIR/out.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "export without the held-out file"; }
mv "$S.away" "$S"
grep -q "^axf: warning: .*held-out data .*split.tsv not found; continuing without it" "$DIR/err.txt" ||
    { cat "$DIR/err.txt" >&2; fail "no warning for the missing held-out file"; }
"$AXF" eval "$DIR/exp" "$DIR/d/named.tsv" --threads 1 > "$DIR/e3.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "eval of the export"; }
python3 - "$DIR/s.json" "$DIR/e3.txt" <<'PY' || fail "the export does not reproduce the session"
import json, sys
s = json.load(open(sys.argv[1]))
final = s["history"][s["cursor"] - 1]["after"] if s["cursor"] else s["baseline"]
got = dict(l.strip().split("=", 1) for l in open(sys.argv[2]) if "=" in l)
assert s["data"]["task"] == "single", s["data"]["task"]
assert abs(float(got["loss"]) - final["loss"]) < 1e-5, (got["loss"], final["loss"])
assert abs(float(got["accuracy"]) - final["accuracy"]) < 1e-6, (got["accuracy"], final["accuracy"])  # eval prints 6 decimals
print("3 classes, %d steps: eval of the export loss %s accuracy %s = the session's" % (s["cursor"], got["loss"], got["accuracy"]))
PY
expect_bad "bad.tsv:5: label '3' $classes" "$AXF" eval "$DIR/exp" "$DIR/d/bad.tsv"
echo "labels e2e: ok"
