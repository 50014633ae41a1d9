#!/usr/bin/env bash
# A policy's batches of trials under `mpirun -np 2`, split by example and by candidate
# (--mpi-split, README "Scaling out with MPI"), and one process with one thread: RUNS interleaved
# rounds, then per way the median wall time, the median CPU time of all its processes and the
# runs' 1-minute load averages (read before each run). The sessions must be the same (times
# aside): checked.
# usage: [WAYS="examples candidates"] scripts/measure_split.sh AXF MODEL_DIR DATA RUNS --policy FILE ...
#   AXF is an -DAXF_MPI=ON build (e.g. build-mpi/axf); WAYS (default "one examples candidates")
#   picks the ways, the first one the reference of the ratios.
set -u
[ $# -ge 5 ] || { echo "usage: $0 AXF MODEL_DIR DATA RUNS --policy FILE [search options...]" >&2; exit 2; }
AXF=$1 M=$2 DATA=$3 RUNS=$4
shift 4
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SEARCH=(search "$M" "$DATA" --quiet --threads 1 "$@")
read -r -a ways <<<"${WAYS:-one examples candidates}"
for r in $(seq 1 "$RUNS"); do
  for w in "${ways[@]}"; do
    out=$T/$w.$r
    if [ "$w" = one ]; then cmd=("$AXF" "${SEARCH[@]}" --out "$out.json")
    else cmd=(mpirun --allow-run-as-root --oversubscribe -np 2 "$AXF" "${SEARCH[@]}" --mpi-split "$w" --out "$out.json")
    fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S" -o "$out.time" "${cmd[@]}" >"$out.txt" 2>"$out.err" \
      || { cat "$out.err"; echo "measure_split: $w failed" >&2; exit 1; }
    read -r wall user sys <"$out.time"
    echo "$w $r $wall $(echo "$user + $sys" | bc) $load" | tee -a "$T/all"
    python3 "$HERE/../tests/mpi/same_output.py" session "$T/${ways[0]}.1.json" "$out.json" \
      || { echo "measure_split: $w gave another session" >&2; exit 1; }
  done
done
for w in "${ways[@]}"; do echo "$w: $(grep -h '^evals\|^MPI ' "$T/$w.1.txt" | tr '\n' ' ')"; done
python3 - "$T/all" "${ways[0]}" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    w, _, wall, cpu, load = line.split()
    rows.setdefault(w, []).append((float(wall), float(cpu), load))
base = statistics.median(x[0] for x in rows[sys.argv[2]])
for w, v in rows.items():
    wall = statistics.median(x[0] for x in v)
    cpu = statistics.median(x[1] for x in v)
    print(f"{w:10} median wall {wall:7.2f} s  CPU {cpu:7.2f} s  {base / wall:5.2f}x {sys.argv[2]}  "
          f"loads {' '.join(x[2] for x in v)}")
EOF
