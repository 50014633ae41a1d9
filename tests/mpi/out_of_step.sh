#!/usr/bin/env bash
# A rank that fails where the others do not (here: rank 1 is given a data file that does not
# exist, through mpirun's MPMD form) ends the job at once with one line naming the rank and its
# error; nothing hangs in a collective. Then ranks that split a batch of trials differently
# (rank 0 by candidate, rank 1 by example) are stopped at that batch the same way.
# usage: out_of_step.sh AXF MPIEXEC DEMO_DIR SCRIPTS_DIR
set -u
AXF=$1 MPIEXEC=$2 D=$3 SCRIPTS=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; cat "$T/err" 2>/dev/null; exit 1; }
common=(--policy "$SCRIPTS/axformer.lua" --out "$T/s.json" --threads 1)
timeout 120 "$MPIEXEC" --allow-run-as-root --oversubscribe \
  -np 1 "$AXF" search "$D/model" "$D/search.tsv" "${common[@]}" : \
  -np 1 "$AXF" search "$D/model" "$T/missing.tsv" "${common[@]}" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 124 ] && fail "the job hung (killed by timeout)"
[ $rc -ne 0 ] || fail "the job succeeded although rank 1 failed"
grep -q "the MPI ranks are out of step: .*rank 1 at .*missing.tsv: cannot open" "$T/err" || fail "no line naming rank 1 and its error"
[ -e "$T/s.json" ] && fail "a session was written"
echo "ok: rank 1's failure ended the job (exit $rc) with: $(grep -o 'the MPI ranks are out of step.*' "$T/err")"

g=(search "$D/model" "$D/search.tsv" --policy "$SCRIPTS/greedy.lua" --out "$T/g.json" --threads 1 --quiet)
timeout 120 "$MPIEXEC" --allow-run-as-root --oversubscribe \
  -np 1 "$AXF" "${g[@]}" --mpi-split candidates : -np 1 "$AXF" "${g[@]}" --mpi-split examples >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 124 ] && fail "split modes: the job hung (killed by timeout)"
[ $rc -ne 0 ] || fail "the job succeeded although its ranks split a batch differently"
grep -q "the MPI ranks are out of step: rank 0 at .*deciding the candidate split (candidates).*rank 1 at .*evaluating" "$T/err" \
  || fail "split modes: no line naming the two ranks and what they were doing"
echo "ok: ranks splitting a batch differently: $(grep -o 'the MPI ranks are out of step.*' "$T/err")"
