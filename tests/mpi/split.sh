#!/usr/bin/env bash
# The candidate split (axf search / replay --mpi-split, dist.h): under `mpirun -np NP` the ranks
# share a batch of trials out whole, and the session is still the one-process session byte for
# byte (times aside): greedy.lua (every element of a round in one s:try_batch) and axformer.lua
# batch=true (a layer's neuron groups per batch, the kept one's followers tried again); replay
# splits the trials made on one plan the same way. Each run says how many batches it split, so a
# mode that quietly fell back to the example split fails, and --mpi-split examples splits none.
# usage: split.sh AXF MPIEXEC DEMO_DIR SCRIPTS_DIR NP
set -u
AXF=$1 MPIEXEC=$2 D=$3 SCRIPTS=$4 NP=$5
M=$D/model S=$D/search.tsv
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SAME="python3 $(dirname "$0")/same_output.py"
MPI="$MPIEXEC --allow-run-as-root --oversubscribe -np $NP"
fail() { echo "FAIL: $*"; exit 1; }
splits() { # FILE: the batches the run split by candidate, from its summary line
  grep -oE '[0-9]+ batches \([0-9]+ trials\) split by candidate' "$1" | cut -d' ' -f1
}
one() { # NAME ARGS...: the one-process reference
  local name=$1; shift
  "$AXF" search "$M" "$S" "$@" --threads 1 --quiet --out "$T/$name.one.json" >"$T/$name.one.txt" 2>&1 \
    || { cat "$T/$name.one.txt"; fail "$name: one process failed"; }
}
np() { # NAME MODE ARGS...: -np NP with --mpi-split MODE, the same session as one process
  local name=$1 mode=$2; shift 2
  $MPI "$AXF" search "$M" "$S" "$@" --threads 1 --quiet --mpi-split "$mode" --out "$T/$name.$mode.json" \
    >"$T/$name.$mode.txt" 2>"$T/$name.$mode.err" || { cat "$T/$name.$mode.err"; fail "$name: -np $NP --mpi-split $mode failed"; }
  $SAME session "$T/$name.one.json" "$T/$name.$mode.json" || fail "$name: -np $NP --mpi-split $mode: sessions differ"
}

greedy=(--policy "$SCRIPTS/greedy.lua" --set kinds=attn,ffn,heads --set max_steps=3 --batch 50)
one greedy "${greedy[@]}"
np greedy candidates "${greedy[@]}"
n=$(splits "$T/greedy.candidates.txt")
[ "${n:-0}" -ge 3 ] || { cat "$T/greedy.candidates.txt"; fail "greedy: $n batches split by candidate, 3 rounds expected"; }
np greedy examples "${greedy[@]}"
[ "$(splits "$T/greedy.examples.txt")" = 0 ] || fail "greedy: --mpi-split examples split a batch by candidate"

# batches of 24 neuron groups; rule=loss keeps several, so later batches hold fewer candidates
ax=(--policy "$SCRIPTS/axformer.lua" --set batch=true --set groups=24 --set near_miss=100 --set rule=loss
    --max-examples 500)
one ax "${ax[@]}"
np ax candidates "${ax[@]}"
n=$(splits "$T/ax.candidates.txt")
[ "${n:-0}" -ge 3 ] || { cat "$T/ax.candidates.txt"; fail "axformer batch=true: $n batches split by candidate"; }
[ "$(grep -c '"actions"' "$T/ax.candidates.json")" -ge 40 ] || fail "axformer batch=true: too few trials to mean much"

# replay (greedy's session: a round's trials on one plan): the same verdicts and numbers; the
# layer counter depends on which rank's cache served which trial, so it is left out
"$AXF" replay "$T/greedy.one.json" --threads 1 >"$T/replay.one.txt" 2>"$T/replay.one.err" \
  || { cat "$T/replay.one.txt" "$T/replay.one.err"; fail "replay: one process"; }
$MPI "$AXF" replay "$T/greedy.one.json" --threads 1 --mpi-split candidates >"$T/replay.np.txt" 2>"$T/replay.np.err" \
  || { cat "$T/replay.np.txt" "$T/replay.np.err"; fail "replay: -np $NP"; }
grep -v '^layer-evaluations ' "$T/replay.one.txt" >"$T/replay.one.cut"
grep -v '^layer-evaluations ' "$T/replay.np.txt" >"$T/replay.np.cut"
$SAME text "$T/replay.one.cut" "$T/replay.np.cut" || fail "replay: outputs differ"
n=$(splits "$T/replay.np.err")
[ "${n:-0}" -ge 3 ] || { cat "$T/replay.np.err"; fail "replay: $n plans' trials split by candidate"; }
echo "ok: -np $NP, batches split by candidate: the sessions and replay of one process"
