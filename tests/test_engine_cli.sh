#!/bin/sh
# `axf predict` / `axf eval` end to end on the golden fixture: logits of plain single sentences
# equal PyTorch's, metrics lines are printed, and bad input gives exit 1 (one line naming the
# file) or 2 (usage).
# usage: test_engine_cli.sh AXF FIXTURE_DIR TMP_DIR
axf=$1 fx=$2 tmp=$3
mkdir -p "$tmp" || exit 1
fail=0
check() { # name expected-status command...
    name=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
    if [ "$got" != "$want" ]; then echo "FAIL $name: exit $got, expected $want"; cat "$tmp/err"; fail=1; fi
}

# plain ASCII single sentences of the fixture as an SST-2 file, and their reference logits
printf 'sentence\tlabel\n' >"$tmp/sst.tsv"
: >"$tmp/want"
awk -F'\t' -v out="$tmp/sst.tsv" -v want="$tmp/want" -v lg="$fx/gelu/logits.tsv" '
    { getline l < lg }
    $1 == "text" && $2 ~ /^[ -~]+$/ && $2 ~ /[a-z]/ && $3 == "" { print $2 "\t0" >> out; print l >> want }' \
    "$fx/inputs.tsv"
n=$(wc -l <"$tmp/want")
[ "$n" -ge 5 ] || { echo "FAIL: only $n plain sentences in the fixture"; exit 1; }

check predict 0 "$axf" predict "$fx/gelu" "$tmp/sst.tsv" --batch 3 --threads 1
awk -F'\t' -v want="$tmp/want" '
    { getline w < want; split(w, r, "\t");
      for (c = 1; c <= 2; c++) { d = $(c + 2) - r[c]; if (d < 0) d = -d; m = r[c] < 0 ? -r[c] : r[c];
        if (m < 1) m = 1; if (d > 1e-4 * m) { print "FAIL predict line " NR ": " $(c + 2) " vs " r[c]; bad = 1 } }
      if ($1 != NR - 1 || ($2 != ($4 > $3)) ) { print "FAIL predict line " NR ": index/pred " $1 " " $2; bad = 1 } }
    END { if (NR != '"$n"') { print "FAIL predict: " NR " lines"; bad = 1 } exit bad }' "$tmp/out" || fail=1

check eval 0 "$axf" eval "$fx/gelu" "$tmp/sst.tsv"
for k in task=sst2 examples=$n accuracy= loss= examples_per_s= tokens_per_s=; do
    grep -q "^$k" "$tmp/out" || { echo "FAIL eval: no $k line"; fail=1; }
done

# repeated passes time the engine again and change nothing else
grep -v "_s=\|passes=" "$tmp/out" >"$tmp/once"
check eval-repeat 0 "$axf" eval "$fx/gelu" "$tmp/sst.tsv" --repeat 3 --threads 1
grep -q "^passes=3$" "$tmp/out" && grep -q "^engine_cpu_s=" "$tmp/out" && grep -q "^tokens_per_cpu_s=" "$tmp/out" ||
    { echo "FAIL eval-repeat: no passes=3 / CPU time lines"; fail=1; }
grep -v "_s=\|passes=" "$tmp/out" | cmp -s - "$tmp/once" || { echo "FAIL eval-repeat: metrics changed"; fail=1; }
check usage-repeat 2 "$axf" eval "$fx/gelu" "$tmp/sst.tsv" --repeat 0

check bad-model 1 "$axf" predict "$tmp/nowhere" "$tmp/sst.tsv"
grep -q "nowhere" "$tmp/err" || { echo "FAIL bad-model: message does not name the folder"; fail=1; }
printf 'sentence\tlabel\nfine\t9\n' >"$tmp/badlabel.tsv"
check bad-data 1 "$axf" eval "$fx/gelu" "$tmp/badlabel.tsv"
grep -q "badlabel.tsv:2" "$tmp/err" || { echo "FAIL bad-data: message does not name file and line"; fail=1; }
[ "$(wc -l <"$tmp/err")" = 1 ] || { echo "FAIL bad-data: more than one line"; fail=1; }
check missing-data 1 "$axf" eval "$fx/gelu" "$tmp/none.tsv"
printf 'just text\n' >"$tmp/text.txt"
check unlabelled 1 "$axf" eval "$fx/gelu" "$tmp/text.txt"
check predict-text 0 "$axf" predict "$fx/gelu" "$tmp/text.txt"
check usage 2 "$axf" predict "$fx/gelu"
check usage-opt 2 "$axf" eval "$fx/gelu" "$tmp/sst.tsv" --max-len 1
# --max-len 2 leaves no room for a token between [CLS] and [SEP]: a usage error in every command
# that takes it (it was accepted, then failed as "encode: max_len 2 too small", naming no file)
for c in predict eval; do
    check "$c-max-len-2" 2 "$axf" $c "$fx/gelu" "$tmp/sst.tsv" --max-len 2
done
check search-max-len-2 2 "$axf" search "$fx/gelu" "$tmp/sst.tsv" --policy "$fx/../../../scripts/axformer.lua" \
    --out "$tmp/s.json" --max-len 2
check importance-max-len-2 2 "$axf" importance "$fx/gelu" "$tmp/sst.tsv" --max-len 2
check max-len-3 0 "$axf" eval "$fx/gelu" "$tmp/sst.tsv" --max-len 3
# a model folder whose vocab.txt cannot encode (no [CLS]; CRLF line ends made every special token
# "[CLS]\r" before) is blamed, not the data file
mkdir -p "$tmp/novocab"
cp "$fx/gelu/config.json" "$fx/gelu/model.safetensors" "$fx/gelu/tokenizer_config.json" "$tmp/novocab/"
grep -v '^\[CLS\]$' "$fx/gelu/vocab.txt" >"$tmp/novocab/vocab.txt"
check vocab-no-cls 1 "$axf" eval "$tmp/novocab" "$tmp/sst.tsv"
grep -q "novocab/vocab.txt: no \[CLS\] token" "$tmp/err" || { echo "FAIL vocab-no-cls: not blamed on vocab.txt"; cat "$tmp/err"; fail=1; }
sed 's/$/\r/' "$fx/gelu/vocab.txt" >"$tmp/novocab/vocab.txt"
check vocab-crlf 0 "$axf" predict "$tmp/novocab" "$tmp/sst.tsv" --batch 3 --threads 1
"$axf" predict "$fx/gelu" "$tmp/sst.tsv" --batch 3 --threads 1 | cmp -s - "$tmp/out" || { echo "FAIL vocab-crlf: other ids than LF"; fail=1; }
check help 0 "$axf" eval --help
check bench-usage 2 "$axf" bench --heads 5
[ $fail = 0 ] && echo "cli: all checks passed"
exit $fail
