#!/usr/bin/env bash
# The same search three ways on one machine: one process with --threads 1, one process with
# --threads 2, and `mpirun -np 2 ... --threads 1`; RUNS interleaved rounds, then the median wall
# time and the median CPU time (every process of the run, MPI's busy waiting included) of each,
# with the 1-minute load average read before each run. Every session must be the same (times
# aside): the script checks it. README "Scaling out with MPI" has the figures.
# usage: scripts/measure_mpi.sh AXF MODEL_DIR DATA [RUNS] [extra axf search options...]
#   AXF is an -DAXF_MPI=ON build (e.g. build-mpi/axf).
set -u
[ $# -ge 3 ] || { echo "usage: $0 AXF MODEL_DIR DATA [RUNS] [search options...]" >&2; exit 2; }
AXF=$1 M=$2 DATA=$3 RUNS=${4:-5}
shift $(( $# >= 4 ? 4 : 3 ))
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MPI="mpirun --allow-run-as-root --oversubscribe"
SEARCH=(search "$M" "$DATA" --policy "$HERE/axformer.lua" --quiet "$@")
names=(one_t1 one_t2 np2_t1)
run() { # NAME ROUND
  local out=$T/$1.$2.json
  case $1 in
    one_t1) cmd=("$AXF" "${SEARCH[@]}" --threads 1 --out "$out") ;;
    one_t2) cmd=("$AXF" "${SEARCH[@]}" --threads 2 --out "$out") ;;
    np2_t1) cmd=($MPI -np 2 "$AXF" "${SEARCH[@]}" --threads 1 --out "$out") ;;
  esac
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%e %U %S" -o "$T/time" "${cmd[@]}" >"$T/$1.$2.txt" 2>"$T/$1.$2.err" \
    || { cat "$T/$1.$2.err"; echo "measure_mpi: $1 failed" >&2; exit 1; }
  read -r wall user sys <"$T/time"
  echo "$1 $2 $wall $(echo "$user + $sys" | bc) $load" | tee -a "$T/all"
}
for r in $(seq 1 "$RUNS"); do
  for n in "${names[@]}"; do run "$n" "$r"; done
done
for n in "${names[@]}"; do
  python3 "$HERE/../tests/mpi/same_output.py" session "$T/one_t1.1.json" "$T/$n.1.json" \
    || { echo "measure_mpi: $n gave another session" >&2; exit 1; }
done
grep -h '^evals\|^MPI ' "$T/np2_t1.1.txt"
python3 - "$T/all" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    n, r, wall, cpu, load = line.split()
    rows.setdefault(n, []).append((float(wall), float(cpu), float(load)))
base = statistics.median(w for w, _, _ in rows["one_t1"])
print(f"{'run':8} {'median wall s':>14} {'median CPU s':>13} {'speedup':>8}  load averages")
for n, v in rows.items():
    w = statistics.median(x[0] for x in v)
    c = statistics.median(x[1] for x in v)
    print(f"{n:8} {w:14.2f} {c:13.2f} {base / w:7.2f}x  {' '.join(str(x[2]) for x in v)}")
EOF
