#!/usr/bin/env bash
# Faults over MPI: (1) a rank killed (SIGKILL) in the middle of a search ends the job (no hang)
# with a message, the session file holds the steps committed so far and replays; a resume under
# -np 3 then ends with the session an uninterrupted one-process run writes, byte for byte (times
# aside). (2) the same when mpirun itself is terminated (SIGTERM), resumed in one process. The
# policy tries neuron groups in batches (axformer.lua batch=true): (1) splits them by candidate
# (--mpi-split candidates, the resume too), (2) by example.
# usage: faults.sh AXF MPIEXEC DEMO_DIR SCRIPTS_DIR
set -u
AXF=$1 MPIEXEC=$2 D=$3 SCRIPTS=$4
T=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
SAME="python3 $(dirname "$0")/same_output.py"
MPI="$MPIEXEC --allow-run-as-root --oversubscribe"
fail() { echo "FAIL: $*"; exit 1; }
# many steps and trials: every neuron group of every layer is tried (rule=loss keeps many), in
# batches (1000 examples: 15 steps)
run_args() { echo "$D/model $D/search.tsv --policy $SCRIPTS/axformer.lua --set groups=24 --set near_miss=100 --set rule=loss --set batch=true --max-examples 1000 --threads 1 --quiet --out $1"; }
cursor() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['cursor'])" "$1" 2>/dev/null || echo 0; }
ranks() {        # FILE: the pids of the ranks writing FILE (not mpirun's)
  local p
  for p in $(pgrep -f "search .*$1"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q "^OMPI_COMM_WORLD_RANK=" && echo "$p"
  done
}
rank_pid() {     # FILE R: the pid of rank R
  local p
  for p in $(ranks "$1"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p"
  done
}
freeze_at() {    # FILE N PID: stops every rank (SIGSTOP) as soon as FILE has N steps, so that the
                 # fault lands there however fast the machine runs; fails when PID ends first
  local c
  for _ in $(seq 1 24000); do
    # the file is replaced atomically; its first "cursor" is the session's
    c=$(grep -m1 -oE '"cursor":[[:space:]]*[0-9]+' "$1" 2>/dev/null | tr -dc 0-9)
    if [ "${c:-0}" -ge "$2" ]; then
      kill -STOP $(ranks "$1") 2>/dev/null
      return 0
    fi
    kill -0 "$3" 2>/dev/null || fail "the run ended before $2 steps"
    sleep 0.005
  done
  fail "no $2 steps in 120 s"
}
thaw() { kill -CONT $(ranks "$1") 2>/dev/null; }
wait_end() {     # PID: its exit status; fails when it does not end within 60 s
  for _ in $(seq 1 600); do
    kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
    sleep 0.1
  done
  fail "the job did not end within 60 s of the fault (hang)"
}
intact() {       # FILE: parses as a session, and replays in one process
  $SAME session "$1" "$1" || fail "$1 is not an intact session"
  "$AXF" replay "$1" --threads 1 >"$T/replay.out" 2>&1 || { cat "$T/replay.out"; fail "$1 does not replay"; }
}

"$AXF" search $(run_args "$T/ref.json") >"$T/ref.out" 2>&1 || { cat "$T/ref.out"; fail "reference run"; }
total=$(cursor "$T/ref.json")
[ "$total" -ge 12 ] || fail "the reference run has only $total steps"

# (1) rank 1 killed
$MPI -np 2 "$AXF" search $(run_args "$T/a.json") --mpi-split candidates >"$T/a.out" 2>"$T/a.err" &
job=$!
freeze_at "$T/a.json" 4 $job
frozen=$(cursor "$T/a.json")
[ "$frozen" -lt "$total" ] || fail "the run had already ended when frozen at $frozen steps"
victim=$(rank_pid "$T/a.json" 1)
[ -n "$victim" ] || fail "rank 1 not found"
kill -9 "$victim"
thaw "$T/a.json"
wait_end $job
rc=$?
[ $rc -ne 0 ] || fail "mpirun exited 0 although rank 1 was killed"
grep -q "rank 1 .*signal 9" "$T/a.err" || { cat "$T/a.err"; fail "no message naming the rank that died"; }
grep -Eq "a.json holds the [0-9]+ steps committed so far \(continue with --resume\)" "$T/a.err" \
  || { cat "$T/a.err"; fail "no message saying where the session stands"; }
kept=$(cursor "$T/a.json")
[ "$kept" -ge 4 ] && [ "$kept" -lt "$total" ] || fail "the session holds $kept steps (4..$((total - 1)) expected)"
intact "$T/a.json"
$MPI -np 3 "$AXF" search $(run_args "$T/a.json") --resume --mpi-split candidates >"$T/a2.out" 2>&1 || { cat "$T/a2.out"; fail "resume under -np 3"; }
grep -q "resuming .*: $kept steps and" "$T/a2.out" || fail "the resume did not start from the $kept recorded steps"
grep -Eq " [1-9][0-9]* batches \([0-9]+ trials\) split by candidate" "$T/a2.out" || { cat "$T/a2.out"; fail "the resume split no batch by candidate"; }
$SAME session "$T/ref.json" "$T/a.json" || fail "rank killed, resumed under -np 3: not the uninterrupted run's session"
echo "rank 1 killed at step $kept of $total: mpirun exit $rc, session intact; resumed under -np 3: identical"

# (2) mpirun terminated
$MPI -np 2 "$AXF" search $(run_args "$T/b.json") --mpi-split examples >"$T/b.out" 2>"$T/b.err" &
job=$!
freeze_at "$T/b.json" 4 $job
frozen=$(cursor "$T/b.json")
[ "$frozen" -lt "$total" ] || fail "the run had already ended when frozen at $frozen steps"
# mpirun passes SIGTERM on to the ranks, which are stopped: they take it first thing when they
# go on, wherever the machine's speed had them
r0=$(rank_pid "$T/b.json" 0)
kill -TERM $job
for _ in $(seq 1 600); do
  pending=$(awk '$1 == "ShdPnd:" || $1 == "SigPnd:" {print $2}' "/proc/$r0/status" 2>/dev/null | tr '\n' ' ')
  for m in $pending; do [ $(( 0x$m & 0x4000 )) -ne 0 ] && break 2; done
  sleep 0.01
done
thaw "$T/b.json"
wait_end $job
rc=$?
[ $rc -ne 0 ] || fail "mpirun exited 0 although terminated"
grep -Eq "b.json holds the [0-9]+ steps committed so far \(continue with --resume\)|interrupted: .*session saved to .*b.json" "$T/b.err" \
  || { cat "$T/b.err"; fail "no message saying where the session stands"; }
kept=$(cursor "$T/b.json")
[ "$kept" -ge 4 ] && [ "$kept" -lt "$total" ] || cat "$T/b.err"
[ "$kept" -ge 4 ] && [ "$kept" -lt "$total" ] || fail "the session holds $kept steps (4..$((total - 1)) expected)"
intact "$T/b.json"
"$AXF" search $(run_args "$T/b.json") --resume >"$T/b2.out" 2>&1 || { cat "$T/b2.out"; fail "resume in one process"; }
$SAME session "$T/ref.json" "$T/b.json" || fail "mpirun terminated, resumed in one process: not the uninterrupted run's session"
echo "mpirun terminated at step $kept of $total: exit $rc, session intact; resumed in one process: identical"
echo "messages: $(grep -h 'axf:' "$T/a.err" "$T/b.err" | tr '\n' '|')"
