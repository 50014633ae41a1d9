#!/usr/bin/env bash
# `axf distill` end to end on the demo model: a fixed heavy pruning (tests/distill/prune.lua: a
# dropped layer, one head left, a removed attention block, a narrower FFN, top-k and threshold
# hard attention, an int8 FFN), exported, then distilled from the original. Asserts: held-out
# accuracy after >= before (axf eval of both folders), the written model keeps its hard attention
# and int8 block, the same command gives the same bytes, `axf finetune --init EXPORTED` keeps the
# hard attention, `axf finetune --structure SESSION` gives the same model as --init of the session's
# export; usage errors exit 2 and bad files 1 with one line.
# usage: test_train_distill.sh AXF DEMO_DIR SOURCE_DIR
set -u
AXF=$1 D=$2 SRC=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/axf_distill.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$AXF" search "$D/model" "$D/search.tsv" --policy "$SRC/tests/distill/prune.lua" --out "$T/p.json" \
    >"$T/log" 2>&1 || { cat "$T/log"; fail "search"; exit 1; }
"$AXF" export "$T/p.json" --out "$T/student" >>"$T/log" 2>&1 || { cat "$T/log"; fail "export"; exit 1; }
acc() { "$AXF" eval "$1" "$D/heldout.tsv" --threads 1 | sed -n 's/^accuracy=//p'; }
before=$(acc "$T/student")
# a search opened on the export runs it with its hard attention, as axf eval does: its baseline is the
# session's final loss (which the export reproduces), not the dense model's
"$AXF" search "$T/student" "$D/search.tsv" --policy "$SRC/tests/distill/noop.lua" --out "$T/n.json" >>"$T/log" 2>&1 ||
    fail "search on the export"
python3 - "$T/p.json" "$T/n.json" <<'EOF' || fail "search on the export: baseline differs from the session that made it"
import json, sys
a = json.load(open(sys.argv[1]))["history"][-1]["after"]
b = json.load(open(sys.argv[2]))["baseline"]
sys.exit(0 if (a["loss"], a["accuracy"]) == (b["loss"], b["accuracy"]) else 1)
EOF
run() {
    "$AXF" distill --teacher "$D/model" --student "$T/student" --train "$D/train.tsv" --search "$D/search.tsv" \
        --out "$1" --steps 150 --eval-every 50 --lr 3e-4 --seed 1 --match-hidden 0.1 "${@:2}"
}
run "$T/d1" --test "$D/heldout.tsv" --int8-out "$T/q1" >"$T/out1" 2>"$T/err1" || { cat "$T/err1"; fail "distill"; }
after=$(acc "$T/d1")
q8=$(acc "$T/q1")
echo "held-out accuracy: pruned $before, distilled $after, distilled + int8 $q8"
[ "$(stat -c %s "$T/q1/model.safetensors")" -lt "$(stat -c %s "$T/d1/model.safetensors")" ] ||
    fail "the int8 model is not smaller"
[ "$(grep -ac 'weight_scale' "$T/q1/model.safetensors")" -ge 1 ] && grep -q '"axf_hard_attention"' "$T/q1/config.json" ||
    fail "the int8 model lost its int8 matrices or its hard attention"
grep -aq 'word_embeddings.weight_scale' "$T/q1/model.safetensors" || fail "the int8 model's word embeddings are not int8"
awk -v a="$after" -v b="$before" 'BEGIN { exit !(a != "" && b != "" && a + 0 >= b + 0) }' ||
    fail "accuracy after distillation ($after) below before ($before)"
grep -q '^after ' "$T/out1" || fail "no before/after lines for --test"
grep -q '"axf_hard_attention"' "$T/d1/config.json" || fail "hard attention lost in the distilled model"
grep -q '"mode":.*"threshold"' "$T/d1/config.json" || fail "threshold attention lost"
grep -aq 'weight_scale' "$T/d1/model.safetensors" || fail "int8 block lost in the distilled model"
run "$T/d2" >/dev/null 2>&1 || fail "second distill"
cmp -s "$T/d1/model.safetensors" "$T/d2/model.safetensors" || fail "two identical runs wrote different models"
"$AXF" finetune --init "$T/student" --train "$D/train.tsv" --dev "$D/search.tsv" --out "$T/f" --steps 20 \
    --max-len 64 >/dev/null 2>"$T/errf" || { cat "$T/errf"; fail "finetune --init EXPORTED"; }
grep -q '"axf_hard_attention"' "$T/f/config.json" || fail "finetune --init dropped the hard attention"
# --structure: the session's plan cut out of --init's checkpoint in memory, then fine-tuned; from the
# searched model itself that is exactly `finetune --init EXPORTED` (same bytes), and it must also
# accept a checkpoint the session never saw (another seed of the same shape).
"$AXF" finetune --init "$D/model" --structure "$T/p.json" --train "$D/train.tsv" --dev "$D/search.tsv" \
    --out "$T/fs" --steps 20 --max-len 64 >/dev/null 2>"$T/errs" || { cat "$T/errs"; fail "finetune --structure"; }
cmp -s "$T/f/model.safetensors" "$T/fs/model.safetensors" && cmp -s "$T/f/config.json" "$T/fs/config.json" ||
    fail "finetune --structure SESSION differs from finetune --init EXPORT of the same session"
"$AXF" finetune --init "$T/f" --train "$D/train.tsv" --dev "$D/search.tsv" --out "$T/other" --steps 1 \
    --max-len 64 --seed 7 >/dev/null 2>&1 || fail "finetune of the compacted model"

# usage and bad input
expect() {
    want=$1 pat=$2; shift 2
    "$@" >"$T/o" 2>"$T/e"
    got=$?
    [ "$got" -eq "$want" ] || { fail "exit $got, wanted $want: $*"; cat "$T/e"; return; }
    [ "$(grep -vEc '^(distill|finetune)' "$T/e")" -eq 1 ] && grep -q -- "$pat" "$T/e" ||
        { fail "wanted one stderr line matching '$pat': $*"; cat "$T/e"; }
}
expect 2 "required" "$AXF" distill --teacher "$D/model" --student "$T/student" --train "$D/train.tsv" --out "$T/x"
expect 2 "come from --student" run "$T/x" --hidden 8
expect 2 "--alpha needs" run "$T/x" --alpha 2
expect 2 "--temperature needs" run "$T/x" --temperature 0
expect 1 "$T/none" "$AXF" distill --teacher "$D/model" --student "$T/none" --train "$D/train.tsv" \
    --search "$D/search.tsv" --out "$T/x"
ft() { "$AXF" finetune --train "$D/train.tsv" --dev "$D/search.tsv" --out "$T/x" --steps 1 --max-len 64 "$@"; }
expect 2 "needs --init" ft --vocab "$D/model/vocab.txt" --structure "$T/p.json"
expect 1 "p.json: the session.s model has 4 layers" ft --init "$T/f" --structure "$T/p.json"
expect 1 "none.json" ft --init "$D/model" --structure "$T/none.json"
printf 'sentence\tlabel\nfine words\tseven\n' > "$T/bad.tsv"
expect 1 "bad.tsv" run "$T/x" --train "$T/bad.tsv"
echo "$fails failure(s)"
[ "$fails" -eq 0 ]
