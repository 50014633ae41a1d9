#!/bin/sh
# Long runs of `axf predict` / `axf eval` (issue 13: 200,000 lines ran 44 s without a sign of
# life): predict streams its rows as batches finish, and both draw a progress bar on stderr when it
# is a terminal, and only then.
# usage: test_cli_progress.sh AXF FIXTURE_DIR DATA_DIR
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
[ $# -eq 3 ] || fail "usage: test_cli_progress.sh AXF FIXTURE_DIR DATA_DIR"
AXF=$1 FX=$2 DATA=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/axf-progress-XXXXXX")
trap 'rm -rf "$T"' EXIT
now() { date +%s.%N; }

head -10001 "$DATA/sst2_glue/alps_train.tsv" > "$T/sst_10k.tsv"
n=10000

# Streaming: the first rows must be out while the run is far from done. --repeat 3 makes the
# engine pass over the data twice more after the rows are printed, so on any machine the end comes
# well after the first row; before, every row was printed at the very end.
t0=$(now)
"$AXF" predict "$FX/gelu" "$T/sst_10k.tsv" --threads 1 --batch 16 --repeat 3 > "$T/rows.txt" 2> "$T/err.txt" &
pid=$!
while [ ! -s "$T/rows.txt" ] && kill -0 "$pid" 2> /dev/null; do sleep 0.02; done
t1=$(now)
wait "$pid" || { cat "$T/err.txt" >&2; fail "predict"; }
t2=$(now)
[ "$(wc -l < "$T/rows.txt")" -eq $n ] || fail "predict: $(wc -l < "$T/rows.txt") rows for $n examples"
[ ! -s "$T/err.txt" ] || { cat "$T/err.txt" >&2; fail "predict wrote to stderr, which is not a terminal"; }
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    printf "first row after %.2f s of %.2f s\n", b - a, c - a; exit !(b - a < 0.6 * (c - a)) }' ||
    fail "predict printed its first row only at the end"

# The bar: on a terminal (script(1) gives the command one), not on a pipe or a file
"$AXF" eval "$FX/gelu" "$T/sst_10k.tsv" --threads 1 > "$T/eval.txt" 2> "$T/err.txt" || { cat "$T/err.txt" >&2; fail "eval"; }
[ ! -s "$T/err.txt" ] || { cat "$T/err.txt" >&2; fail "eval wrote to stderr, which is not a terminal"; }
if command -v script > /dev/null; then
    script -qec "'$AXF' eval '$FX/gelu' '$T/sst_10k.tsv' --threads 1" /dev/null > "$T/tty.txt" 2>&1 < /dev/null ||
        { cat "$T/tty.txt" >&2; fail "eval on a terminal"; }
    grep -q "eval \[#*\.*\] *100.0%" "$T/tty.txt" || { cat "$T/tty.txt" >&2; fail "no progress bar on a terminal"; }
    grep -q "^accuracy=" "$T/tty.txt" || fail "eval on a terminal: no metrics"
    # predict to a file from a terminal: the bar on stderr
    script -qec "'$AXF' predict '$FX/gelu' '$T/sst_10k.tsv' --threads 1 --batch 16 > '$T/rows2.txt'" /dev/null > "$T/tty.txt" 2>&1 < /dev/null ||
        fail "predict on a terminal"
    grep -q "predict \[" "$T/tty.txt" || { cat "$T/tty.txt" >&2; fail "predict to a file: no progress bar"; }
    cmp -s "$T/rows.txt" "$T/rows2.txt" || fail "predict rows differ with a bar"
else
    echo "script(1) missing: the terminal half is not tested"
fi
echo "progress: ok"
