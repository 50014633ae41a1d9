#!/usr/bin/env bash
# The end-to-end experiment of issue 7: does accuracy-driven approximation make fine-tuned models
# more accurate, faster and smaller, on real data, against honest controls?
#
# For each task (SST-2 and the pair task), model size (small, big) and fine-tuning seed (3 for the
# main configuration, big on SST-2; 1 elsewhere):
#   1. model   build the fine-tuned model with the task's recipe (scripts/recipe_<task>.sh; the
#              recipe caches the pre-trained checkpoint, shared by every seed) — it also writes the
#              search split (held out of the training data) the approximation search scores on;
#   2. search  run every policy with `axf search` on the search split only: axformer.lua with each
#              acceptance rule, heads_gradient.lua, drop_layers.lua, hard attention only (the
#              method's stage A alone, and hard_attention_sweep.lua when present), and
#              random.lua pruned to the size each axformer variant
#              reached (the control); wall time and layer-evaluations, and for the main
#              configuration the same search again with the layer cache off;
#   3. export  `axf export` the compacted model;
#   4. eval    `axf eval` of the original and of the exported model on each untouched report split,
#              in the same step (metric, tokens/s best of EVAL_REPEATS, file size);
#   4b. recover (--recover, on the axformer variants and their random controls, which get exactly
#              the same recovery): `axf distill` of the export from the original model on the
#              training data minus the search split, selecting on the search split (distillation
#              seed = the fine-tuning seed), and the distilled model with every block in int8
#              (--int8-out); each evaluated like the export, reported as its own variant
#              ("… + distill", "… + distill + int8"), the speed and size against the original;
#   5. report  results/results-<split>.json (include/axf/resultsfile.h) and `axf report` per task and size:
#              results/report/<task>-<size>-<split>.{md,svg}, and results/README.fragment.md.
# Every step is make-like (scripts/experiment/lib.sh): it is skipped when its output exists and
# the content hash of its inputs (recipe, data, model, policy, parameters) matches its stamp, so a
# rerun only recomputes what changed.
#
# usage: scripts/experiment.sh [--quick] [options]
#   --quick            the whole pipeline in a few minutes: the synthetic demo task and model
#                      (`axf demo-model`, 2 seeds), two acceptance rules, 600 search
#                      examples; a test of the pipeline, not of the method
#   --out DIR          results folder (default: results/, or results/quick with --quick)
#   --axf PATH         the axf binary (default: build/axf, built with scripts/build.sh if missing)
#   --data DIR         the shared data folder (default: ../shared/data beside the repository)
#   --tasks "A B"      tasks (default: "sst2 PAIR", PAIR = the pair task a recipe exists for)
#   --sizes "A B"      model sizes given to the recipes (default: "small big"); "minilm" = the
#                      packaged all-MiniLM-L6-v2 fine-tuned by scripts/recipe_minilm.sh (TASK=the
#                      task; no pre-training stage, every seed fine-tunes the same encoder)
#   --search-examples N  score the search on N examples of the search split, drawn by the
#                      fine-tuning seed (measure.py subset: the rows at the indices
#                      random.Random(SEED).sample(range(rows), N), in file order; the whole split
#                      when it has N rows or fewer); the report splits are unchanged
#   --seeds N          fine-tuning seeds of the main configuration (default 3: 42, 43, 44; the
#                      others use 42, the recipes' default)
#   --rules "A B"      axformer acceptance rules (default: "reference loss tolerance accuracy")
#   --nocache WHICH    repeat searches with the layer cache off: main (axformer on the main
#                      configuration's first seed, default), all, none
#   --force PATTERN    rerun the steps whose output path contains PATTERN (repeatable)
#   --dry-run          list the steps that would run
#   --report-only      compute nothing: tables and plots from the steps already up to date (a
#                      run still in progress, or a partial one, reported as far as it got)
#   --main TASK/SIZE   the configuration that gets --seeds seeds (default sst2/big)
#   --recover "V.."    recovery variants: distill, distill-int8 (default both; "" = none)
#   --peers "P.."      the peer policies to run (default: heads_gradient drop_layers
#                      hard_attention hard_attention_sweep); the axformer variants and their random
#                      controls always run
#   --later-seed-peers "P.."  of those, the ones that also run on the seeds after the first
#                      (default: all; "" = none): the peers' spread over seeds may be left out
#                      to save compute
#   --only-peers       run only the peers (--peers), not the axformer variants and their random
#                      controls: a second invocation beside one run with --peers "" sharing the
#                      results folder (the two share only --baseline-once's steps, which they
#                      take in turns; never run two invocations on the same runs at once)
#   --only-seeds "S.." compute only these fine-tuning seeds (e.g. "43") and skip the report: lets
#                      several invocations share one results folder on a multi-core machine;
#                      afterwards one --report-only run writes the tables and plots
#   --models-only      build (or check) the fine-tuned models and stop
#   --reuse-models DIR reuse finished recipe outputs DIR/<task>-<size> (the recipes' default OUT,
#                      e.g. models/) for the first seed: the recipes are deterministic for a given
#                      SIZE, SEED and THREADS, and the first seed is the recipes' default (42), so
#                      the recipe then skips the stages marked done there. Later seeds from
#                      DIR/<task>-<size>-s<seed> when it exists (made by the recipe with that SEED
#                      and OUT, its pretrain/ the first seed's: checked). Size minilm: every
#                      seed, from DIR/minilm-<task> (seed 42) and DIR/minilm-<task>-s<seed>
#   --baseline-once    evaluate the original model once per model and report split (its own
#                      step, OUT/models/CFG.base-SPLIT/) instead of alternating it with every
#                      run's export: halves the evaluation compute; the speed-ups then compare
#                      measurements taken at different times (tokens per CPU-second of one
#                      thread, which other jobs change less than wall time, but not nothing)
#   --clean            delete the results folder first (everything is recomputed)
#   --skip-if-missing  exit 77 (ctest: skipped) when an axf command the run needs is not built
# Environment: RECIPE_DIR (where recipe_<task>.sh live, default scripts/), THREADS (OpenBLAS
#   threads of training and search, default 2), EVAL_REPEATS (original/export alternations,
#   default 3; quick 2), EVAL_PASSES (engine passes of each, default 5; quick 2),
#   RANDOM_SEEDS (random controls per axformer variant on the main configuration, default 3),
#   RANDOM_SEEDS_OTHERS (the same on the other configurations, default 1; controls r2, r3, ...
#   add to r1 without recomputing it),
#   DISTILL_ARGS (training options of axf distill; default "--epochs 2 --lr 1e-4 --eval-every 600
#   --patience 3", quick "--steps 120 --eval-every 40 --lr 3e-4").
# The full run takes hours on 2 cores (model training dominates); run it under nice.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/experiment/lib.sh"
PY=/usr/bin/python3
MEASURE=("$PY" "$ROOT/scripts/experiment/measure.py")
# recipe_of TASK [SIZE]: the recipe script (size minilm: one recipe for every task, TASK=task)
recipe_of() {
    if [ "${2:-}" = minilm ]; then echo "${RECIPE_DIR:-$ROOT/scripts}/recipe_minilm.sh"; else echo "${RECIPE_DIR:-$ROOT/scripts}/recipe_$1.sh"; fi
}

ONLY_PEERS=0 BASE_ONCE=0 SEARCH_N="" QUICK=0 CLEAN=0 MODELS_ONLY=0 MAIN="" REUSE="" SKIP_MISSING=0 OUT="" AXF="" DATA="" TASKS="" SIZES="" SEEDS="" RULES="" NOCACHE=main FORCE="" DRY_RUN=0 REPORT_ONLY=0 ONLY_SEEDS="" PEERS="heads_gradient drop_layers hard_attention hard_attention_sweep" LATER_PEERS=$PEERS RECOVER="distill distill-int8"
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    --axf) AXF=$2; shift ;;
    --data) DATA=$2; shift ;;
    --tasks) TASKS=$2; shift ;;
    --sizes) SIZES=$2; shift ;;
    --search-examples) SEARCH_N=$2; shift ;;
    --seeds) SEEDS=$2; shift ;;
    --rules) RULES=$2; shift ;;
    --nocache) NOCACHE=$2; shift ;;
    --force) FORCE="$FORCE $2"; shift ;;
    --dry-run) DRY_RUN=1 ;;
    --report-only) REPORT_ONLY=1 ;;
    --baseline-once) BASE_ONCE=1 ;;
    --only-peers) ONLY_PEERS=1 ;;
    --skip-if-missing) SKIP_MISSING=1 ;;
    --clean) CLEAN=1 ;;
    --models-only) MODELS_ONLY=1 ;;
    --reuse-models) REUSE=$2; shift ;;
    --main) MAIN=$2; shift ;;
    --only-seeds) ONLY_SEEDS=$2; shift ;;
    --later-seed-peers) LATER_PEERS=$2; shift ;;
    --peers) PEERS=$2; shift ;;
    --recover) RECOVER=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "experiment.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$NOCACHE" in main | all | none) ;; *) echo "experiment.sh: --nocache main|all|none" >&2; exit 2 ;; esac
case "$SEARCH_N" in "" | [1-9] | [1-9]*[0-9]) ;; *) echo "experiment.sh: --search-examples needs a positive number" >&2; exit 2 ;; esac

THREADS=${THREADS:-2}
DATA=${DATA:-$ROOT/../shared/data}
[ -d "$DATA" ] || die "data folder $DATA not found (--data DIR)"
DATA=$(cd "$DATA" && pwd)
if [ $QUICK = 1 ]; then
    OUT=${OUT:-$ROOT/results/quick}
    TASKS=${TASKS:-demo}
    SIZES=${SIZES:-tiny}
    SEEDS=${SEEDS:-2}
    RULES=${RULES:-"reference loss"}
    EVAL_REPEATS=${EVAL_REPEATS:-2}
    EVAL_PASSES=${EVAL_PASSES:-2}
    RANDOM_SEEDS=${RANDOM_SEEDS:-1}
    SEARCH_EXTRA=(--max-examples 600) # a test of the pipeline, not of the method
    MAIN_CFG=${MAIN:-demo/tiny}
    read -r -a DISTILL_OPTS <<<"${DISTILL_ARGS:---steps 120 --eval-every 40 --lr 3e-4}"
else
    OUT=${OUT:-$ROOT/results}
    if [ -z "$TASKS" ]; then
        PAIR=""
        for t in rte mrpc; do [ -f "$(recipe_of $t)" ] && PAIR=$t && break; done
        [ -n "$PAIR" ] || die "no pair-task recipe (scripts/recipe_rte.sh or recipe_mrpc.sh); give --tasks"
        TASKS="sst2 $PAIR"
    fi
    SIZES=${SIZES:-"small big"}
    SEEDS=${SEEDS:-3}
    RULES=${RULES:-"reference loss tolerance accuracy"}
    EVAL_REPEATS=${EVAL_REPEATS:-3}
    EVAL_PASSES=${EVAL_PASSES:-5}
    RANDOM_SEEDS=${RANDOM_SEEDS:-3}
    SEARCH_EXTRA=()
    MAIN_CFG=${MAIN:-sst2/big}
    read -r -a DISTILL_OPTS <<<"${DISTILL_ARGS:---epochs 2 --lr 1e-4 --eval-every 600 --patience 3}"
fi
[ $CLEAN = 1 ] && [ -d "$OUT" ] && rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -z "$AXF" ]; then
    AXF=$ROOT/build/axf
    [ -x "$AXF" ] || bash "$ROOT/scripts/build.sh"
fi
[ -x "$AXF" ] || die "axf binary $AXF not found (--axf PATH)"
AXF=$(cd "$(dirname "$AXF")" && pwd)/$(basename "$AXF")
export OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=PASSIVE
NICE=(nice -n 10)
STEPS_RUN=0 STEPS_SKIPPED=0
T_START=$(date +%s)

# ---- what the commands offer (the script is written against the documented interfaces; optional
# ---- features are probed so that a missing one is reported, not fatal) ----
need_cmd() {
    "$AXF" "$1" --help >/dev/null 2>&1 && return 0
    [ $SKIP_MISSING = 1 ] && { log "axf $1 is not available in $AXF: skipped"; exit 77; }
    die "axf $1 is not available in $AXF"
}
SEARCH_HELP=$("$AXF" search --help 2>&1 || true)
NOCACHE_FLAG=()
if grep -q -- '--no-cache' <<<"$SEARCH_HELP"; then
    NOCACHE_FLAG=(--no-cache)
elif grep -q -- '--cache-mb' <<<"$SEARCH_HELP"; then
    NOCACHE_FLAG=(--cache-mb 0)
fi
SEED_FLAG=0
grep -q -- '--seed' <<<"$SEARCH_HELP" && SEED_FLAG=1
THREADS_FLAG=()
grep -q -- '--threads' <<<"$SEARCH_HELP" && THREADS_FLAG=(--threads "$THREADS")
if [ $DRY_RUN = 0 ]; then
    for c in search export eval report; do need_cmd $c; done
    [ $QUICK = 1 ] && need_cmd demo-model
    [ -n "$RECOVER" ] && need_cmd distill
fi
for v in $RECOVER; do
    case "$v" in distill | distill-int8) ;; *) die "--recover: unknown variant '$v' (distill, distill-int8)" ;; esac
done
# random.lua: the parameter naming the share of parameters to keep, and its seed when axf search
# has no --seed (different seeds must give different random controls).
RANDOM_KEEP_PARAM=keep RANDOM_SEED_PARAM=""
if [ -f "$ROOT/scripts/random.lua" ]; then
    for k in keep keep_params params_kept budget target; do
        grep -Eq "(^|[{ ,])$k *=" "$ROOT/scripts/random.lua" && RANDOM_KEEP_PARAM=$k && break
    done
    grep -Eq '(^|[{ ,])seed *=' "$ROOT/scripts/random.lua" && RANDOM_SEED_PARAM=seed
fi
# The control removes the same kinds of elements the method does (blocks, heads, neuron groups).
RANDOM_KINDS=()
grep -Eq '(^|[{ ,])kinds *=' "$ROOT/scripts/random.lua" 2>/dev/null && RANDOM_KINDS=(--set "kinds=heads,groups,attn,ffn")
if [ $SEED_FLAG = 0 ] && [ -z "$RANDOM_SEED_PARAM" ]; then
    log "note: neither axf search --seed nor a random.lua seed parameter: one random control per variant"
fi
if [ "$NOCACHE" != none ] && [ ${#NOCACHE_FLAG[@]} = 0 ]; then
    log "note: axf search has no flag to turn the layer cache off; uncached searches are skipped"
    NOCACHE=none
fi

# ---- per task: recipe and report splits ----

# report_splits TASK MODEL_DIR: lines "name path" — the splits no stage of training or search saw.
report_splits() {
    case "$1" in
    sst2) echo "dev $DATA/sst2_glue/dev.tsv"
          echo "test $DATA/sst2_stsa_binary/stsa.binary.test" ;;
    rte) echo "dev $DATA/rte_glue_hf/dev.tsv" ;;
    mrpc) echo "dev $DATA/mrpc_glue/dev.tsv" ;;
    demo) echo "heldout $2/heldout.tsv" ;;
    *) die "no report split known for task $1" ;;
    esac
}

# train_files TASK MODEL_DIR: the training files the task's model was fine-tuned on (the recipe's
# --train files; distillation leaves the search split out of them itself).
train_files() {
    case "$1" in
    sst2) echo "$DATA/sst2_glue/alps_train.tsv"; echo "$DATA/sst2_glue/alps_dev.tsv" ;;
    mrpc) echo "$DATA/mrpc_glue/train.tsv" ;;
    rte) echo "$DATA/rte_glue_hf/train.tsv" ;;
    demo) echo "$2/train.tsv" ;;
    *) die "no training files known for task $1" ;;
    esac
}

# Every setting a step's result depends on is on the step's command line (its key): functions
# below take them as arguments rather than reading globals.

# build_model TASK SIZE SEED DIR THREADS [FIRST]: DIR/model/ (config.json, model.safetensors,
# vocab.txt) and DIR/search.tsv (the search split, held out of fine-tuning, seeded by SEED).
# FIRST: the model folder of the first seed (42), whose pre-trained checkpoint this seed fine-tunes from.
build_model() {
    local task=$1 size=$2 seed=$3 dir=$4 threads=$5 first=${6:-}
    # DIR.tmp is the resume point of an interrupted build, valid only for the same inputs
    [ "$(cat "$dir.tmp/.step-key" 2>/dev/null)" = "$STEP_KEY" ] || rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    echo "$STEP_KEY" >"$dir.tmp/.step-key"
    if [ "$task" = demo ]; then
        rm -rf "$dir.tmp"
        "${NICE[@]}" "$AXF" demo-model --out "$dir.tmp" --seed "$seed" --threads "$threads" \
            2>"$OUT/logs/model-$task-$size-s$seed.log" || return 1
    else
        # Recipes (scripts/recipe_<task>.sh, issue 3) take SIZE, SEED, THREADS, DATA, OUT and AXF,
        # run their stages once (OUT/<stage>.done marks a finished one; an interrupted one resumes
        # from OUT.tmp) and write OUT/pretrain/, OUT/model/ and OUT/search.tsv. Seeds after the
        # first reuse the first seed's pre-trained checkpoint: the pretrain stage is marked done
        # and the recipe only fine-tunes, with its own seed (and so its own search split).
        local reuse=${REUSE:+$REUSE/$task-$size}
        if [ "$size" = minilm ] && [ -n "$REUSE" ]; then
            reuse=$REUSE/minilm-$task
            [ "$seed" = 42 ] || reuse=$reuse-s$seed # recipe_minilm.sh's OUT for that seed
        fi
        # a later seed: DIR/<task>-<size>-s<seed>, fine-tuned (by the recipe, SEED=seed) from the
        # pre-trained checkpoint of DIR/<task>-<size>, which must be the first seed's
        [ -n "$first" ] && [ -n "$reuse" ] && [ "$size" != minilm ] && reuse=$reuse-s$seed
        if [ -n "$first" ] && [ -n "$reuse" ] && [ -d "$reuse" ] && [ "$size" != minilm ]; then
            [ -f "$reuse/finetune.done" ] || die "--reuse-models: $reuse is not finished (no finetune.done)"
            cmp -s "$reuse/pretrain/model.safetensors" "$first/pretrain/model.safetensors" ||
                die "--reuse-models: $reuse was fine-tuned from another pre-trained checkpoint than $first's"
            log "models/$task-$size-s$seed: reusing the recipe output $reuse"
            cp -a "$reuse/." "$dir.tmp/"
        elif [ -z "$first" ] && [ -n "$reuse" ] && [ -d "$reuse" ]; then
            [ "$seed" = 42 ] || [ "$size" = minilm ] ||
                die "--reuse-models: $reuse holds seed 42 (the recipes' default), not seed $seed"
            [ -f "$reuse/finetune.done" ] || die "--reuse-models: $reuse is not finished (no finetune.done)"
            log "models/$task-$size-s$seed: reusing the recipe output $reuse"
            cp -a "$reuse/." "$dir.tmp/"
        fi
        if [ -n "$first" ]; then
            rm -rf "$dir.tmp/pretrain"
            ln -sfn "$first/pretrain" "$dir.tmp/pretrain"
            cp "$first/pretrain.done" "$dir.tmp/pretrain.done"
            [ -f "$first/pretrain.log" ] && cp "$first/pretrain.log" "$dir.tmp/pretrain.log"
        fi
        local sizeenv=(SIZE="$size")
        [ "$size" = minilm ] && sizeenv=(TASK="$task") # recipe_minilm.sh has no SIZE
        env "${sizeenv[@]}" SEED="$seed" OUT="$dir.tmp" AXF="$AXF" DATA="$DATA" THREADS="$threads" \
            "${NICE[@]}" bash "$(recipe_of "$task" "$size")" >"$OUT/logs/model-$task-$size-s$seed.log" 2>&1 || return 1
    fi
    [ -f "$dir.tmp/model/model.safetensors" ] || { log "$task: no model/model.safetensors in the recipe output"; return 1; }
    [ -f "$dir.tmp/search.tsv" ] || { log "$task: no search.tsv in the recipe output"; return 1; }
    rm -f "$dir.tmp/.step-key"
    mv "$dir.tmp" "$dir"
}

# ---- policies: name -> script and parameters (the names the Lua policies declare) ----
POLICY_DIR=$ROOT/scripts
policy_script() {
    case "$1" in
    axformer-*) echo "$POLICY_DIR/axformer.lua" ;;
    heads_gradient) echo "$POLICY_DIR/heads_gradient.lua" ;;
    drop_layers) echo "$POLICY_DIR/drop_layers.lua" ;;
    hard_attention) echo "$POLICY_DIR/axformer.lua" ;;
    hard_attention_sweep) echo "$POLICY_DIR/hard_attention_sweep.lua" ;;
    random-*) echo "$POLICY_DIR/random.lua" ;;
    esac
}
policy_label() {
    case "$1" in
    axformer-*) echo "axformer ($(sed 's/^axformer-//' <<<"$1") rule)" ;;
    random-*) local v=${1#random-}; echo "random, size of axformer (${v%%-r*} rule)" ;;
    hard_attention) echo "hard attention only (stage A)" ;;
    hard_attention_sweep) echo "hard attention sweep" ;;
    *) echo "$1" ;;
    esac
}

# run_search RUN MODEL SEARCH_DATA NOCACHE(0/1) SEED SEARCH_ARGS...: RUN/session.json plus
# RUN/search.log, RUN/search.json (wall time, layer-evaluations; uncached ones when asked).
run_search() {
    local run=$1 model=$2 data=$3 nocache=$4 seed=$5
    shift 5
    local seedargs=()
    [ $SEED_FLAG = 1 ] && seedargs=(--seed "$seed")
    mkdir -p "$run"
    timed "$run/search.sec" "${NICE[@]}" "$AXF" search "$model" "$data" "$@" "${seedargs[@]}" \
        --quiet --out "$run/session.tmp.json" >"$run/search.log" 2>&1 ||
        { tail -5 "$run/search.log" >&2; return 1; }
    local nc=()
    if [ "$nocache" = 1 ]; then
        timed "$run/nocache.sec" "${NICE[@]}" "$AXF" search "$model" "$data" "$@" "${seedargs[@]}" \
            "${NOCACHE_FLAG[@]}" --quiet --out "$run/nocache.session.json" \
            >"$run/nocache.log" 2>&1 || { tail -5 "$run/nocache.log" >&2; return 1; }
        nc=(--nocache-log "$run/nocache.log" --nocache-seconds-file "$run/nocache.sec")
    fi
    "${MEASURE[@]}" search-json --out "$run/search.json" --log "$run/search.log" \
        --seconds-file "$run/search.sec" "${nc[@]}" || return 1
    mv "$run/session.tmp.json" "$run/session.json"
}

# run_export RUN: RUN/export/ from RUN/session.json (what axf export says goes to RUN/export.log).
run_export() {
    "${NICE[@]}" "$AXF" export "$1/session.json" --out "$1/export" "${THREADS_FLAG[@]}" >"$1/export.log" 2>&1 ||
        { cat "$1/export.log" >&2; return 1; }
}

# run_base_eval DIR MODEL DATA REPEATS EVAL_ARGS...: DIR/base1.out ... of the original alone
# (--baseline-once), for run_eval.
run_base_eval() {
    local dir=$1 model=$2 data=$3 repeats=$4 i
    shift 4
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    for i in $(seq 1 "$repeats"); do
        "${NICE[@]}" "$AXF" eval "$model" "$data" "$@" >"$dir.tmp/base$i.out" 2>&1 ||
            { cat "$dir.tmp/base$i.out" >&2; return 1; }
    done
    mv "$dir.tmp" "$dir"
}

# run_eval OUTFILE SESSION MODEL EXPORT DATA REPEATS BASE EVAL_ARGS...: the original and the export on
# DATA, alternated REPEATS times so that both see the same machine load (BASE = -), or the export
# alone against the original's outputs in the folder BASE (run_base_eval); the metric is the session's.
# Speed is tokens per CPU-second of one thread (median of the medians of EVAL_PASSES engine passes):
# the engine's own work, which other jobs on a shared machine do not change the way they change
# wall time.
run_eval() {
    local out=$1 session=$2 model=$3 export=$4 data=$5 repeats=$6 shared=$7 i base=() exp=()
    shift 7
    local logs=${out%.json}
    for i in $(seq 1 "$repeats"); do
        if [ "$shared" = - ]; then
            "${NICE[@]}" "$AXF" eval "$model" "$data" "$@" >"$logs.base$i.log" 2>&1 || { cat "$logs.base$i.log" >&2; return 1; }
            base+=("$logs.base$i.log")
        else
            base+=("$shared/base$i.out")
        fi
        "${NICE[@]}" "$AXF" eval "$export" "$data" "$@" >"$logs.export$i.log" 2>&1 || { cat "$logs.export$i.log" >&2; return 1; }
        exp+=("$logs.export$i.log")
    done
    "${MEASURE[@]}" eval-json --out "$out" --session "$session" --data "$data" --base-dir "$model" \
        --export-dir "$export" --base-log "${base[@]}" --export-log "${exp[@]}"
}

# run_distill RUN MODEL_DIR SEED TRAIN_FILES...: RUN/distill/ (the distilled export, model files
# beside distill.log) and RUN/distill/int8/ (the same, every block int8).
run_distill() {
    local run=$1 mdir=$2 seed=$3 f tr=()
    shift 3
    for f in "$@"; do tr+=(--train "$f"); done
    rm -rf "$run/distill.tmp"
    timed "$run/distill.sec" "${NICE[@]}" "$AXF" distill --teacher "$mdir/model" --student "$run/export" "${tr[@]}" \
        --search "$mdir/search.tsv" --out "$run/distill.tmp" --int8-out "$run/distill.tmp/int8" --seed "$seed" \
        --threads "$THREADS" "${DISTILL_OPTS[@]}" >"$run/distill.log" 2>&1 || { tail -5 "$run/distill.log" >&2; return 1; }
    rm -rf "$run/distill.tmp/last"
    mv "$run/distill.log" "$run/distill.sec" "$run/distill.tmp/"
    mv "$run/distill.tmp" "$run/distill"
}

# base_eval MODEL_DIR SPLIT DATA: sets BASE_DIR (- unless --baseline-once) and BASE_INPUT (the
# inputs it adds to an evaluation step); with --baseline-once runs the original's step (once).
base_eval() {
    BASE_DIR=- BASE_INPUT=()
    [ $BASE_ONCE = 1 ] || return 0
    BASE_DIR=$1.base-$2 BASE_INPUT=("$1.base-$2")
    # shared by every run of the model: invocations beside each other (--only-peers) take turns
    local fd
    exec {fd}>"$BASE_DIR.lock"
    flock "$fd"
    step "$BASE_DIR" "$1/model" "$3" -- run_base_eval "$BASE_DIR" "$1/model" "$3" "$EVAL_REPEATS" \
        --threads 1 --repeat "$EVAL_PASSES"
    exec {fd}>&-
}

# peer POLICY SEED: whether peer POLICY runs on fine-tuning SEED (--peers, --later-seed-peers).
peer() { grep -qw -- "$1" <<<"$PEERS" && { [ "$2" = 42 ] || grep -qw -- "$1" <<<"$LATER_PEERS"; }; }

# one_run CFG_DIR NAME TASK SIZE SEED MODEL_DIR NOCACHE POLICY_SEED POLICY_ARGS...
one_run() {
    local cfgdir=$1 name=$2 task=$3 size=$4 seed=$5 mdir=$6 nocache=$7 pseed=$8
    shift 8
    local run=$cfgdir/$name script
    STEP_MISSING=0
    script=$(policy_script "$name")
    [ -f "$script" ] || { log "skipped $name on $(basename "$cfgdir"): $script does not exist"; return 0; }
    step "$run/session.json" "$mdir/model" "$SEARCH_DATA" "$script" \
        -- run_search "$run" "$mdir/model" "$SEARCH_DATA" "$nocache" "$pseed" --policy "$script" "$@" \
        "${SEARCH_EXTRA[@]}" "${THREADS_FLAG[@]}"
    step "$run/export" "$run/session.json" -- run_export "$run"
    local split path
    while read -r split path; do
        base_eval "$mdir" "$split" "$path" || continue
        step "$run/eval-$split.json" "$run/export" "$mdir/model" "$path" "${BASE_INPUT[@]}" \
            -- run_eval "$run/eval-$split.json" "$run/session.json" "$mdir/model" "$run/export" "$path" \
            "$EVAL_REPEATS" "$BASE_DIR" --threads 1 --repeat "$EVAL_PASSES"
    done < <(report_splits "$task" "$mdir")
    [ $STEP_MISSING = 1 ] && return 0
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run/session.json" "$(policy_label "$name")" "$task" "$size" "$seed" "$run" \
        >>"$MANIFEST"
    # recovery: the axformer variants and their random controls, all the same way
    case "$name" in axformer-* | random-*) ;; *) return 0 ;; esac
    [ -n "$RECOVER" ] || return 0
    local tf=()
    mapfile -t tf < <(train_files "$task" "$mdir")
    step "$run/distill" "$run/export" "$mdir/model" "$mdir/search.tsv" "${tf[@]}" \
        -- run_distill "$run" "$mdir" "$seed" "${tf[@]}"
    local v vdir model
    for v in $RECOVER; do
        vdir=$run/recovered-$v model=$run/distill # not inside the model folder: it is an input
        [ "$v" = distill-int8 ] && model=$run/distill/int8
        while read -r split path; do
            base_eval "$mdir" "$split" "$path" || continue
            step "$vdir/eval-$split.json" "$run/distill" "$mdir/model" "$path" "${BASE_INPUT[@]}" \
                -- run_eval "$vdir/eval-$split.json" "$run/session.json" "$mdir/model" "$model" "$path" \
                "$EVAL_REPEATS" "$BASE_DIR" --threads 1 --repeat "$EVAL_PASSES"
        done < <(report_splits "$task" "$mdir")
        [ $STEP_MISSING = 1 ] && return 0
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run/session.json" "$(policy_label "$name") + ${v/-int8/ + int8}" "$task" \
            "$size" "$seed" "$vdir" >>"$MANIFEST"
    done
}

mkdir -p "$OUT/logs" "$OUT/models" "$OUT/runs" "$OUT/report"
LOOP_RULES=$RULES
[ $ONLY_PEERS = 1 ] && LOOP_RULES="" # another invocation runs them
MANIFEST=$OUT/runs/manifest.tsv
[ -n "$ONLY_SEEDS" ] && MANIFEST=$OUT/runs/manifest-seeds-${ONLY_SEEDS// /-}.tsv # the shared one is the report's
: >"$MANIFEST"
log "experiment: tasks [$TASKS] sizes [$SIZES] rules [$RULES], main config $MAIN_CFG x $SEEDS seeds -> $OUT"

for task in $TASKS; do
    for size in $SIZES; do
        main=0
        [ "$task/$size" = "$MAIN_CFG" ] && main=1
        nseeds=1
        [ $main = 1 ] && nseeds=$SEEDS
        for seed in $(seq 42 $((41 + nseeds))); do
            if [ -n "$ONLY_SEEDS" ] && ! grep -qw -- "$seed" <<<"$ONLY_SEEDS"; then continue; fi
            cfg=$task-$size-s$seed
            mdir=$OUT/models/$cfg
            recipe_inputs=() first=()
            if [ "$task" != demo ]; then
                recipe=$(recipe_of "$task" "$size")
                [ -f "$recipe" ] || die "no recipe for $task: $recipe"
                recipe_inputs=("$recipe" "$ROOT/scripts/train/common.sh" "$DATA") # what the recipe runs, not its docs
                [ "$size" = minilm ] && recipe_inputs+=("$ROOT/scripts/models/fetch.sh")
                if [ "$seed" != 42 ] && [ "$size" != minilm ]; then
                    first=("$OUT/models/$task-$size-s42")
                    recipe_inputs+=("${first[0]}/pretrain")
                fi
            fi
            STEP_MISSING=0
            step "$mdir" "${recipe_inputs[@]}" -- build_model "$task" "$size" "$seed" "$mdir" "$THREADS" "${first[@]}"
            [ $STEP_MISSING = 1 ] && continue
            [ $MODELS_ONLY = 1 ] && continue
            [ $DRY_RUN = 1 ] && [ ! -d "$mdir" ] && continue
            cfgdir=$OUT/runs/$cfg
            SEARCH_DATA=$mdir/search.tsv
            if [ -n "$SEARCH_N" ]; then
                SEARCH_DATA=$OUT/models/$cfg.search-$SEARCH_N.tsv # beside the model folder, not in it
                step "$SEARCH_DATA" "$mdir/search.tsv" -- \
                    "${MEASURE[@]}" subset --in "$mdir/search.tsv" --n "$SEARCH_N" --seed "$seed" --out "$SEARCH_DATA"
                [ $STEP_MISSING = 1 ] && continue
            fi
            nc_axf=0
            { [ "$NOCACHE" = all ] || { [ "$NOCACHE" = main ] && [ $main = 1 ] && [ "$seed" = 42 ]; }; } && nc_axf=1
            nc_other=0
            [ "$NOCACHE" = all ] && nc_other=1
            for rule in $LOOP_RULES; do
                one_run "$cfgdir" "axformer-$rule" "$task" "$size" "$seed" "$mdir" $nc_axf 1 --set "rule=$rule"
            done
            # The control: random pruning to the size each axformer variant reached (several
            # random seeds on the main configuration, the spread of the control matters).
            nrand=${RANDOM_SEEDS_OTHERS:-1}
            [ $main = 1 ] && nrand=$RANDOM_SEEDS
            [ $SEED_FLAG = 0 ] && [ -z "$RANDOM_SEED_PARAM" ] && nrand=1
            for rule in $LOOP_RULES; do
                s=$cfgdir/axformer-$rule/session.json
                [ -f "$s" ] || continue
                kept=$("${MEASURE[@]}" kept "$s")
                if awk -v k="$kept" 'BEGIN { exit !(k >= 0.999999) }'; then
                    log "axformer ($rule) on $cfg removed no parameters: no random control"
                    continue
                fi
                for r in $(seq 1 "$nrand"); do
                    seedset=()
                    [ $SEED_FLAG = 0 ] && [ -n "$RANDOM_SEED_PARAM" ] && seedset=(--set "$RANDOM_SEED_PARAM=$r")
                    one_run "$cfgdir" "random-$rule-r$r" "$task" "$size" "$seed" "$mdir" 0 "$r" \
                        --set "$RANDOM_KEEP_PARAM=$kept" "${seedset[@]}" "${RANDOM_KINDS[@]}"
                done
            done
            # the peers, after the controls (the comparison that matters most is computed first)
            peer heads_gradient "$seed" && one_run "$cfgdir" heads_gradient "$task" "$size" "$seed" "$mdir" $nc_other 1
            peer drop_layers "$seed" && one_run "$cfgdir" drop_layers "$task" "$size" "$seed" "$mdir" $nc_other 1
            peer hard_attention "$seed" && one_run "$cfgdir" hard_attention "$task" "$size" "$seed" "$mdir" $nc_other 1 --set stages=A
            if [ -f "$POLICY_DIR/hard_attention_sweep.lua" ] && peer hard_attention_sweep "$seed"; then
                one_run "$cfgdir" hard_attention_sweep "$task" "$size" "$seed" "$mdir" $nc_other 1
            fi
        done
    done
done
[ $DRY_RUN = 1 ] && { log "dry run: $STEPS_SKIPPED steps up to date"; exit 0; }
[ $MODELS_ONLY = 1 ] && { log "models: $STEPS_RUN built, $STEPS_SKIPPED up to date"; exit 0; }
[ -n "$ONLY_SEEDS" ] && { log "seeds [$ONLY_SEEDS]: $STEPS_RUN steps run, $STEPS_SKIPPED up to date; no report (--report-only writes it)"; exit 0; }

# ---- results and reports ----
splits=$(for task in $TASKS; do report_splits "$task" "$OUT/models/x" | cut -d' ' -f1; done | sort -u)
for split in $splits; do
    "${MEASURE[@]}" collect --manifest "$MANIFEST" --split "$split" --out "$OUT/results-$split.json"
done
frag=$OUT/README.fragment.md
{
    echo "## Results (generated by scripts/experiment.sh$([ $QUICK = 1 ] && echo ' --quick'))"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), OpenBLAS threads $THREADS."
    echo "Command: \`scripts/experiment.sh$([ $QUICK = 1 ] && echo ' --quick')\` ($STEPS_RUN steps run, $STEPS_SKIPPED up to date, $(( $(date +%s) - T_START )) s this run)."
    # wall time of every step as last computed, for the outputs that exist: what a fresh clone spends
    [ -f "$OUT/steps.tsv" ] && awk -F'\t' '
        function t(x) { return all < 7200 ? sprintf("%.1f min", x / 60) : sprintf("%.2f h", x / 3600) }
        { sec[$1] = $2 }
        END {
            for (k in sec) {
                c = k ~ /^models\// ? "models" : k ~ /session.json$/ ? "searches" : k ~ /export$/ ? "exports" : "evaluations"
                s[c] += sec[k]; all += sec[k]
            }
            printf "Compute of all steps (what a fresh run spends): %s = models %s, searches %s, exports %s, evaluations %s.\n",
                   t(all), t(s["models"]), t(s["searches"]), t(s["exports"]), t(s["evaluations"])
        }' <(while IFS=$'\t' read -r o t; do [ -e "$OUT/$o" ] && printf '%s\t%s\n' "$o" "$t"; done <"$OUT/steps.tsv")
    # Training as the recipes timed their stages (STAGE.done holds its seconds; a model step that
    # reused a finished recipe output took seconds, the training it stands for did not). A later
    # seed's pre-training is the first seed's (a link), counted once.
    for m in "$OUT"/models/*/; do
        [ -f "$m/finetune.done" ] || continue
        printf '%s\t%s\t%s\n' "$(basename "$m")" "$(cat "$m/finetune.done")" \
            "$([ -L "${m}pretrain" ] || cat "$m/pretrain.done" 2>/dev/null)"
    done | awk -F'\t' '{ ft += $2; pt += $3; n++ }
        END { if (n) printf "Training of the %d models by their recipes: pre-training %.1f min, fine-tuning %.1f min.\n", n, pt / 60, ft / 60 }'
    echo
} >"$frag"
for task in $TASKS; do
    for size in $SIZES; do
        sessions=()
        while IFS=$'\t' read -r s _ t z _ _; do
            [ "$t" = "$task" ] && [ "$z" = "$size" ] && sessions+=("$s")
        done <"$MANIFEST"
        [ ${#sessions[@]} -gt 0 ] || continue
        while read -r split _; do
            base=$OUT/report/$task-$size-$split
            "$AXF" report "${sessions[@]}" --results "$OUT/results-$split.json" --svg "$base.svg" --md "$base.md" ||
                die "axf report failed for $task $size $split"
            {
                echo "### $task, $size model, report split: $split"
                echo
                echo "![$task $size $split](report/$task-$size-$split.svg)"
                echo
                cat "$base.md"
                echo
            } >>"$frag"
        done < <(report_splits "$task" "$OUT/models/x")
    done
done
{
    echo "### Search cost (axformer policy, cache on)"
    echo
    echo "The reference run of issue 7 (PyTorch, 4 x 256 model, lower layers cached) took 6.8 s per"
    echo "evaluation of 10,102 examples; only the 4 x 256 model compares directly."
    echo
    "${MEASURE[@]}" search-table --manifest "$MANIFEST"
    echo
} >>"$frag"
log "done: $STEPS_RUN steps run, $STEPS_SKIPPED up to date, $(( $(date +%s) - T_START )) s; see $frag"
