# Helpers for scripts/experiment.sh (sourced): logging, content hashes and make-like steps.
#
# A step is skipped when its output exists and the stamp file beside it (OUTPUT.stamp) holds the
# same key: the sha256 of the command line and of the content of every input file or folder.
# So a rerun recomputes exactly what changed (a new recipe, policy, parameter, model or data file)
# and everything downstream of it, because downstream steps take upstream outputs as inputs.
# The axf binary is deliberately not an input (a rebuild for an unrelated change must not retrain
# hours of models); after an engine change, rerun with --force STEP or delete the outputs.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Content hash of files and folders (a folder: its files, sorted, stamps and logs excluded; the
# path names inside count, the folder's own location does not).
# content_hash_set sets CONTENT_HASH in the calling shell, where a folder's file hashes are kept
# (HASH_MEMO) as long as its files' names, sizes and modification times stay the same: a study
# checks the same 90 MB model folder for every one of its steps. content_hash prints it.
declare -A HASH_MEMO=()
content_hash_set() {
    local p sig all=""
    for p in "$@"; do
        if [ -d "$p" ]; then
            sig="$(cd "$p" && pwd)|$(cd "$p" && find . -type f ! -name '*.stamp' ! -name '*.log' ! -name '*.tmp' \
                -printf '%P\t%s\t%T@\n' | LC_ALL=C sort | sha256sum)"
            if [ -z "${HASH_MEMO[$sig]+x}" ]; then
                HASH_MEMO[$sig]=$(cd "$p" && find . -type f ! -name '*.stamp' ! -name '*.log' ! -name '*.tmp' -print0 |
                    LC_ALL=C sort -z | xargs -0 -r sha256sum; echo .)
            fi
            all+=${HASH_MEMO[$sig]%.}
        elif [ -f "$p" ]; then
            all+=$(sha256sum <"$p")$'\n'
        else
            all+="missing $p"$'\n'
        fi
    done
    CONTENT_HASH=$(printf '%s' "$all" | sha256sum | cut -c1-64)
}
content_hash() {
    content_hash_set "$@"
    echo "$CONTENT_HASH"
}

# step OUTPUT INPUTS... -- COMMAND...
# Runs COMMAND unless OUTPUT exists with a matching stamp. COMMAND must create OUTPUT (a file or
# a folder); on failure OUTPUT is removed so that a half-written result is never reused.
# FORCE (space-separated substrings) forces steps whose OUTPUT path contains one of them.
# REPORT_ONLY=1: a step that is not up to date is not run; it sets STEP_MISSING=1 instead.
step() {
    local out=$1 inputs=() key f
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        inputs+=("$1")
        shift
    done
    [ "${1:-}" = "--" ] || die "step $out: no command"
    shift
    content_hash_set "${inputs[@]}" # here, not in a subshell: the folder hashes are kept
    key=$( { printf '%s\0' "$@"; echo "$CONTENT_HASH"; } | sha256sum | cut -c1-64)
    local forced=0
    for f in ${FORCE:-}; do
        case "$out" in *"$f"*) forced=1 ;; esac
    done
    if [ $forced = 0 ] && [ -e "$out" ] && [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$key" ]; then
        log "up to date: ${out#"$OUT"/}"
        STEPS_SKIPPED=$((STEPS_SKIPPED + 1))
        return 0
    fi
    if [ "${DRY_RUN:-0}" = 1 ]; then
        log "would run: ${out#"$OUT"/}: $*"
        return 0
    fi
    if [ "${REPORT_ONLY:-0}" = 1 ]; then
        log "not computed (left out of the report): ${out#"$OUT"/}"
        STEP_MISSING=1
        return 0
    fi
    log "run: ${out#"$OUT"/}"
    rm -rf "$out" "$out.stamp"
    mkdir -p "$(dirname "$out")"
    local t0
    t0=$(date +%s.%N)
    STEP_KEY=$key # for commands that keep resumable state of their own (build_model)
    if ! "$@"; then
        rm -rf "$out"
        die "step failed: ${out#"$OUT"/} (command: $*)"
    fi
    [ -e "$out" ] || die "step did not write ${out#"$OUT"/} (command: $*)"
    echo "$key" >"$out.stamp"
    # compute spent per output, for the write-up's total (the latest line of an output counts)
    awk -v a="$t0" -v b="$(date +%s.%N)" -v o="${out#"$OUT"/}" 'BEGIN { printf "%s\t%.1f\n", o, b - a }' \
        >>"$OUT/steps.tsv"
    STEPS_RUN=$((STEPS_RUN + 1))
}

# Wall-clock seconds of a command, written to FILE; the command's status is returned.
# usage: timed FILE COMMAND...
timed() {
    local file=$1 t0 t1 rc=0
    shift
    t0=$(date +%s.%N)
    "$@" || rc=$?
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$file"
    return $rc
}
