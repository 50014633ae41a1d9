#!/usr/bin/env bash
# `mpirun -np NP axf search | replay | eval | predict | importance` gives what one process gives:
# session files byte for byte once their times are dropped, eval/predict/importance outputs the
# same apart from their timings. On the demo model, with uneven shards (--batch 50: 40 batches)
# and with fewer batches than ranks (--max-examples 100: 2 batches). What does not depend on the
# number of ranks (the comparison's own checks, try_batch against one-by-one trials, the screen's
# refusal) and the two longest comparisons (exact importance, a session's importance: trials as
# the searches make them) run only at -np 2, so that -np 3 adds a minute less to CI.
# usage: same_as_one.sh AXF MPIEXEC DEMO_DIR SCRIPTS_DIR NP
set -u
AXF=$1 MPIEXEC=$2 D=$3 SCRIPTS=$4 NP=$5
M=$D/model S=$D/search.tsv H=$D/heldout.tsv
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SAME="python3 $(dirname "$0")/same_output.py"
MPI="$MPIEXEC --allow-run-as-root --oversubscribe -np $NP"
fail() { echo "FAIL: $*"; exit 1; }

# both sides: CASE ARGS... -> $T/CASE.one.* and $T/CASE.np.*; {out} stands for the output file
both() {
  local name=$1; shift
  local one=() np=()
  for a in "$@"; do one+=("${a//\{out\}/$T/$name.one.json}"); np+=("${a//\{out\}/$T/$name.np.json}"); done
  "$AXF" "${one[@]}" >"$T/$name.one.txt" 2>"$T/$name.one.err" || { cat "$T/$name.one.err"; fail "$name: one process failed"; }
  $MPI "$AXF" "${np[@]}" >"$T/$name.np.txt" 2>"$T/$name.np.err" || { cat "$T/$name.np.err"; fail "$name: -np $NP failed"; }
}

# the comparison sees a one-digit change in a loss, and ignores a changed time
both search_ax search "$M" "$S" --policy "$SCRIPTS/axformer.lua" --holdout "$H" --batch 50 --threads 1 --quiet --out {out}
FULL=0; [ "$NP" = 2 ] && FULL=1
if [ $FULL = 1 ]; then
sed 's/"loss":\t0\.0/"loss":\t0.1/' "$T/search_ax.one.json" >"$T/edited.json"
$SAME session "$T/search_ax.one.json" "$T/edited.json" 2>/dev/null && fail "same_output.py missed an edited loss"
sed 's/"seconds":\t0\./"seconds":\t9./' "$T/search_ax.one.json" >"$T/edited.json"
$SAME session "$T/search_ax.one.json" "$T/edited.json" || fail "same_output.py did not ignore a time"
fi

$SAME session "$T/search_ax.one.json" "$T/search_ax.np.json" || fail "axformer search: sessions differ"
[ "$(grep -c '"actions"' "$T/search_ax.np.json")" -ge 10 ] || fail "axformer search: too few steps and trials to mean much"

both search_grad search "$M" "$S" --policy "$SCRIPTS/heads_gradient.lua" --set fraction=0.3 --threads 1 --quiet --out {out}
$SAME session "$T/search_grad.one.json" "$T/search_grad.np.json" || fail "gradient search: sessions differ"

both search_small search "$M" "$S" --policy "$SCRIPTS/axformer.lua" --set rule=loss --max-examples 100 --threads 1 --quiet --out {out}
$SAME session "$T/search_small.one.json" "$T/search_small.np.json" || fail "2-batch search: sessions differ"

# batched trials (s:try_batch): a round of every head and block on one plan; the
# sessions of -np NP and of one process are the same, and one process's is that of the policy
# trying them one by one (apart from the parameter saying so)
both search_batch search "$M" "$S" --policy "$SCRIPTS/greedy.lua" --set kinds=attn,ffn,heads --set max_steps=2 \
  --batch 50 --threads 1 --quiet --out {out}
$SAME session "$T/search_batch.one.json" "$T/search_batch.np.json" || fail "batched search: sessions differ"
[ "$(grep -c '"actions"' "$T/search_batch.np.json")" -ge 40 ] || fail "batched search: too few trials to mean much"
if [ $FULL = 1 ]; then
"$AXF" search "$M" "$S" --policy "$SCRIPTS/greedy.lua" --set kinds=attn,ffn,heads --set max_steps=2 \
  --set batch=false --batch 50 --threads 1 --quiet --out "$T/search_seq.json" >/dev/null || fail "one-by-one search failed"
sed 's/"batch":\t*false/"batch":\ttrue/' "$T/search_seq.json" >"$T/search_seq_as_batch.json"
$SAME session "$T/search_batch.one.json" "$T/search_seq_as_batch.json" || fail "try_batch: not the session of s:try one by one"
fi

# (the example split: its layer counter too is one process's; split.sh has the candidate split)
both replay replay "$T/search_ax.one.json" --threads 1 --mpi-split examples
$SAME text "$T/replay.one.txt" "$T/replay.np.txt" || fail "replay outputs differ"
grep -q "steps replayed" "$T/replay.np.txt" || fail "replay under mpirun printed no verdict"

both eval eval "$M" "$H" --batch 48 --threads 1
$SAME kv "$T/eval.one.txt" "$T/eval.np.txt" || fail "eval outputs differ"
grep -q '^accuracy=' "$T/eval.np.txt" || fail "eval printed no accuracy"

both predict predict "$M" "$H" --batch 48 --threads 1
$SAME text "$T/predict.one.txt" "$T/predict.np.txt" || fail "predict outputs differ"

kinds="gradient entropy"; [ $FULL = 1 ] && kinds="exact $kinds"
for k in $kinds; do
  both "imp_$k" importance "$M" "$S" --kind "$k" --threads 1 --json
  $SAME text "$T/imp_$k.one.txt" "$T/imp_$k.np.txt" || fail "importance $k differs"
done
[ $FULL = 1 ] || { echo "ok: -np $NP gives the sessions and outputs of one process"; exit 0; }
both imp_session importance --session "$T/search_ax.one.json" --threads 1 --json
$SAME text "$T/imp_session.one.txt" "$T/imp_session.np.txt" || fail "importance of a session's plan differs"

# the screen says why it cannot run over MPI, in one line, and nothing hangs
$MPI "$AXF" tui "$M" "$S" >"$T/tui.out" 2>"$T/tui.err" </dev/null && fail "tui ran under mpirun"
grep -q "the screen cannot run over MPI" "$T/tui.err" || { cat "$T/tui.err"; fail "tui: no reason given"; }
echo "ok: -np $NP gives the sessions and outputs of one process"
