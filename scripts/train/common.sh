# Shared by the training recipes (sourced, not run). Sets AXF (building it when missing), DATA,
# THREADS, SEED and the model sizes of SIZE, and offers `stage NAME CMD...` which runs a stage once:
# a finished stage leaves OUT/NAME.done (with its wall time) and is skipped next time; an
# interrupted one resumes from its checkpoint (the training commands get --resume).

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
THREADS=${THREADS:-2}
SEED=${SEED:-42}
SIZE=${SIZE:-small}
AXF=${AXF:-$ROOT/build/axf}

if [ ! -x "$AXF" ]; then
    echo "building $AXF" >&2
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build" -j"$THREADS" --target axf >/dev/null
fi
[ -d "$DATA" ] || { echo "recipe: data folder $DATA not found (set DATA=...)" >&2; exit 1; }

case "$SIZE" in
small) LAYERS=4; HIDDEN=256; HEADS=4; FFN=1024 ;;
big)   LAYERS=8; HIDDEN=256; HEADS=4; FFN=1024 ;;
*) echo "recipe: SIZE must be small or big" >&2; exit 2 ;;
esac
MODEL_ARGS="--layers $LAYERS --hidden $HIDDEN --heads $HEADS --ffn $FFN"

# stage NAME CMD... : runs CMD (output to OUT/NAME.log and the terminal) unless OUT/NAME.done
stage() {
    name=$1; shift
    if [ -f "$OUT/$name.done" ]; then
        echo "== $name: done before ($(cat "$OUT/$name.done") s), skipped"
        return 0
    fi
    echo "== $name"
    t0=$(date +%s)
    if ! "$@" 2>&1 | tee -a "$OUT/$name.log"; then
        echo "recipe: stage $name failed; rerun to resume" >&2
        exit 1
    fi
    echo $(( $(date +%s) - t0 )) > "$OUT/$name.done"
}
