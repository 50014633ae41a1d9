#!/usr/bin/env bash
# Bad input and usage of `axf finetune`, `axf pretrain` and `axf demo-model`: exit status 2 for
# usage errors, 1 with a one-line "axf: FILE: problem" for bad files, never a crash; plus one
# tiny successful fine-tune, pre-train and resume.
# usage: test_train_cli.sh AXF
set -u
AXF=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/axf_train_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0; n=0

# expect STATUS PATTERN CMD...: exit status and (for status 1/2) a one-line stderr matching PATTERN
expect() {
    want=$1 pat=$2; shift 2
    n=$((n + 1))
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    lines=$(grep -vc '^\(finetune\|pretrain\|eval\|vocabulary\|training demo\)' "$T/err")
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: exit $got, wanted $want: $*"; cat "$T/err"; fails=$((fails + 1)); return
    fi
    if [ "$want" -ne 0 ]; then
        if [ "$lines" -ne 1 ] || ! grep -q -- "$pat" "$T/err"; then
            echo "FAIL: wanted one stderr line matching '$pat': $*"; cat "$T/err"; fails=$((fails + 1))
        fi
    fi
}

printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nmovie\nwas\ngood\nbad\nnot\nfun\ndull\na\nfilm\n' > "$T/vocab.txt"
{ printf 'sentence\tlabel\n'; for i in $(seq 1 40); do
    printf 'the movie was good \t1\nthe film was bad \t0\na movie not fun \t0\na film was fun \t1\n'; done; } > "$T/train.tsv"
printf 'sentence\tlabel\nthe movie was good\tseven\n' > "$T/badlabel.tsv"
{ printf 'sentence1\tsentence2\tlabel\n'; for i in $(seq 1 20); do
    printf 'the movie was good\tthe film was fun\t1\nthe film was bad\ta movie was fun\t0\n'; done; } > "$T/pairs.tsv"
printf 'the movie was good\nthe film was bad\na dull film\n' > "$T/corpus.txt"
printf 'a caf\xe9 film\nthe movie\n' > "$T/latin1.txt"

expect 2 "usage\|required" "$AXF" finetune
expect 0 "" "$AXF" finetune --help
expect 2 "--lr needs" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/o" --lr abc
expect 2 "unknown option '--bogus'" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/o" --bogus
expect 2 "either --init" "$AXF" finetune --train "$T/train.tsv" --out "$T/o"
expect 2 "exclude each other" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/o" --dev "$T/train.tsv" --dev-split 0.1
expect 2 "multiple of --heads" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/o" --hidden 30 --heads 4
expect 1 "$T/missing.tsv" "$AXF" finetune --train "$T/missing.tsv" --vocab "$T/vocab.txt" --out "$T/o"
expect 1 "badlabel.tsv:2" "$AXF" finetune --train "$T/badlabel.tsv" --vocab "$T/vocab.txt" --out "$T/o"
expect 1 "missing_vocab" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/missing_vocab.txt" --out "$T/o"
expect 1 "$T/nomodel" "$AXF" finetune --train "$T/train.tsv" --init "$T/nomodel" --out "$T/o"

expect 2 "usage\|required" "$AXF" pretrain
expect 0 "" "$AXF" pretrain --help
expect 2 "either --vocab" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt"
expect 2 "either --vocab" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab "$T/vocab.txt" --vocab-size 50
expect 2 "--mlm-prob" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab "$T/vocab.txt" --mlm-prob 2
# the options both commands share (src/cli/cmd_train_util.c), through each of them
expect 2 "--threads needs an integer in 1..256, not '0'" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab "$T/vocab.txt" --threads 0
expect 2 "--act needs gelu" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab "$T/vocab.txt" --act tanh
expect 2 "--seed needs a value" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab "$T/vocab.txt" --seed
expect 2 "--max-len needs an integer in 3" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/o" --max-len 2
expect 2 "--patience needs" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/o" --patience -1
expect 2 "--warmup needs a number in 0..0.95" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/o" --warmup 1.5
expect 2 "unknown option '--patience'" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab "$T/vocab.txt" --patience 3
expect 2 "--max-len exceeds --max-pos" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab "$T/vocab.txt" --max-len 300 --max-pos 256
expect 1 "$T/nocorpus.txt" "$AXF" pretrain --out "$T/p" --text "$T/nocorpus.txt" --vocab "$T/vocab.txt"
expect 1 "vocabulary size" "$AXF" pretrain --out "$T/p" --text "$T/corpus.txt" --vocab-size 8
expect 1 "invalid UTF-8\|UTF-8" "$AXF" pretrain --out "$T/p" --text "$T/latin1.txt" --vocab "$T/vocab.txt"

expect 2 "--out" "$AXF" demo-model
expect 0 "" "$AXF" demo-model --help
expect 2 "--seed" "$AXF" demo-model --out "$T/d" --seed -3
expect 2 "--threads" "$AXF" demo-model --out "$T/d" --threads 0

# tiny successful runs
small="--layers 1 --hidden 16 --heads 2 --ffn 32 --max-len 16 --threads 1"
expect 0 "" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/ft" --dev-split 0.25 \
    --dev-split-out "$T/split.tsv" --epochs 2 --batch 8 --lr 1e-3 $small --test "$T/train.tsv"
for f in config.json model.safetensors vocab.txt last/optimizer.safetensors last/trainer_state.json train_log.tsv; do
    [ -f "$T/ft/$f" ] || { echo "FAIL: finetune did not write $f"; fails=$((fails + 1)); }
done
[ "$(wc -l < "$T/split.tsv")" -eq 41 ] || { echo "FAIL: split file should hold 40 examples + header"; fails=$((fails + 1)); }
grep -q "^test .*accuracy" "$T/out" || { echo "FAIL: no test accuracy printed"; fails=$((fails + 1)); }
# resume of a finished run does nothing more and says where it resumed from
expect 0 "" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/ft" --dev-split 0.25 \
    --epochs 2 --batch 8 --lr 1e-3 $small --resume
grep -q "resumed from step" "$T/out" || { echo "FAIL: resume not reported"; fails=$((fails + 1)); }
# a broken resume point is a bad-input error naming the file
echo '{"format": "axf-trainer-state", "version": 99}' > "$T/ft/last/trainer_state.json"
expect 1 "trainer_state.json" "$AXF" finetune --train "$T/train.tsv" --vocab "$T/vocab.txt" --out "$T/ft" \
    --epochs 2 --batch 8 $small --resume

expect 0 "" "$AXF" pretrain --out "$T/pt" --text "$T/corpus.txt" --text-latin1 "$T/latin1.txt" --vocab-size 60 \
    --exclude "$T/train.tsv" --steps 3 --batch 4 $small
grep -q "exclude: dropped 2 of 3 sentences of $T/corpus.txt" "$T/out" || { echo "FAIL: exclusion count"; cat "$T/out"; fails=$((fails + 1)); }
[ -f "$T/pt/model.safetensors" ] && [ -f "$T/pt/vocab.txt" ] || { echo "FAIL: pretrain wrote no model"; fails=$((fails + 1)); }
expect 1 "exceeds" "$AXF" finetune --init "$T/pt" --train "$T/train.tsv" --out "$T/o" --max-len 600
# sentence pairs, with their held-out split written and read back
expect 0 "" "$AXF" finetune --train "$T/pairs.tsv" --vocab "$T/vocab.txt" --out "$T/ftp" --dev-split 0.2 \
    --dev-split-out "$T/pairsplit.tsv" --steps 4 --batch 8 $small --test "$T/pairsplit.tsv"
head -1 "$T/pairsplit.tsv" | grep -q "^sentence1.sentence2.label$" || { echo "FAIL: pair split header"; fails=$((fails + 1)); }
grep -q "^test .*pairsplit.tsv: accuracy" "$T/out" || { echo "FAIL: pair split not evaluated"; fails=$((fails + 1)); }
# fine-tuning from that checkpoint
expect 0 "" "$AXF" finetune --init "$T/pt" --train "$T/train.tsv" --out "$T/ft2" --steps 4 --batch 8 --threads 1 --max-len 16

echo "$n cases, $fails failed"
[ "$fails" -eq 0 ]
