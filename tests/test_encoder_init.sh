#!/bin/sh
# Checkpoints users have that are not sequence classifiers: a bare BertModel (names without
# "bert.", no classifier, with or without a pooler) and a BertForPreTraining-like one ("bert."
# names, MLM head, no classifier). axf eval refuses them with one line that points at fine-tuning;
# axf finetune --init starts from them; usage: test_encoder_init.sh AXF FIXTURE_MODEL_DIR TMP
axf=$1 fx=$2 tmp=$3
py=$(command -v python3)
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
{ printf 'sentence\tlabel\n'; for i in 1 2 3 4 5 6 7 8; do
    printf 'the movie was good\t1\nthe film was bad\t0\n'; done; } >"$tmp/train.tsv"
for variant in bare bare-nopool pretraining; do
    d=$tmp/$variant
    mkdir -p "$d"
    cp "$fx/config.json" "$fx/vocab.txt" "$d/"
    case $variant in
    bare) "$py" "$(dirname "$0")/st_rewrite.py" "$fx/model.safetensors" "$d/model.safetensors" \
              --strip-prefix bert. --drop classifier. ;;
    bare-nopool) "$py" "$(dirname "$0")/st_rewrite.py" "$fx/model.safetensors" "$d/model.safetensors" \
              --strip-prefix bert. --drop classifier. --drop pooler. ;;
    pretraining) "$py" "$(dirname "$0")/st_rewrite.py" "$fx/model.safetensors" "$d/model.safetensors" \
              --drop classifier. ;;
    esac || { bad "$variant: could not write the checkpoint"; continue; }
    "$axf" eval "$d" "$tmp/train.tsv" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "model.safetensors: no classifier.weight.*axf finetune --init" "$tmp/err" ||
        bad "$variant: axf eval gave exit $rc and '$(cat "$tmp/err")'"
    "$axf" finetune --init "$d" --train "$tmp/train.tsv" --dev "$tmp/train.tsv" --out "$tmp/ft-$variant" \
        --steps 4 --batch 4 --threads 1 >"$tmp/out" 2>"$tmp/err" || { bad "$variant: finetune failed: $(tail -2 "$tmp/err")"; continue; }
    grep -q "pre-trained" "$tmp/err" || bad "$variant: finetune did not start from the checkpoint: $(head -3 "$tmp/err")"
    "$axf" eval "$tmp/ft-$variant" "$tmp/train.tsv" >"$tmp/out" 2>"$tmp/err" && grep -q "^accuracy=" "$tmp/out" ||
        bad "$variant: the fine-tuned model does not evaluate: $(cat "$tmp/err")"
done
# The encoder was taken from the checkpoint: fine-tuning for 0 learning rate keeps the word
# embeddings of the fixture bit for bit.
"$axf" finetune --init "$tmp/bare" --train "$tmp/train.tsv" --dev "$tmp/train.tsv" --out "$tmp/ft-lr0" \
    --steps 1 --batch 4 --threads 1 --lr 1e-30 --weight-decay 0 >/dev/null 2>"$tmp/err" || bad "lr0: $(tail -1 "$tmp/err")"
"$py" - "$fx/model.safetensors" "$tmp/ft-lr0/model.safetensors" <<'PY' || fail=1
import json, struct, sys
def tensor(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        base = 8 + n
        for k in (name, "bert." + name):
            if k in h:
                a, b = h[k]["data_offsets"]
                f.seek(base + a)
                return f.read(b - a)
    sys.exit("FAIL: no %s in %s" % (name, path))
for name in ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight"):
    x, y = tensor(sys.argv[1], name), tensor(sys.argv[2], name)
    # lr 1e-30: AdamW moves every weight by at most ~1e-30, below float resolution of these values
    if x != y:
        sys.exit("FAIL: %s differs from the checkpoint's" % name)
PY
[ $fail = 0 ] && echo "encoder checkpoints: all checks passed"
exit $fail
