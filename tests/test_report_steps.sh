#!/usr/bin/env bash
# The experiment's plumbing without models: make-like steps (scripts/experiment/lib.sh) rerun
# exactly when an input or the command changes; measure.py reads `axf eval` / `axf search` output
# in the wordings it accepts, and its results sidecar is accepted by `axf report`.
# usage: test_report_steps.sh AXF REPO_DIR
set -u
axf=$1
repo=$2
py=/usr/bin/python3
measure="$repo/scripts/experiment/measure.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fail=$((fail + 1)); echo "FAIL: $*" >&2; }
cd "$tmp"

# ---- steps ----
. "$repo/scripts/experiment/lib.sh"
OUT=$tmp STEPS_RUN=0 STEPS_SKIPPED=0
echo a >in.txt
mkdir -p dir && echo x >dir/f
make_out() { cat in.txt dir/f >"$1"; echo ran >>runs.log; }
step out.txt in.txt dir -- make_out out.txt 2>/dev/null
[ -f out.txt ] && [ -f out.txt.stamp ] && [ "$STEPS_RUN" = 1 ] && ok || bad "first run"
step out.txt in.txt dir -- make_out out.txt 2>/dev/null
[ "$STEPS_RUN" = 1 ] && [ "$STEPS_SKIPPED" = 1 ] && ok || bad "second run not skipped"
touch in.txt
step out.txt in.txt dir -- make_out out.txt 2>/dev/null
[ "$STEPS_RUN" = 1 ] && ok || bad "a touch (same content) reran the step"
echo b >in.txt
step out.txt in.txt dir -- make_out out.txt 2>/dev/null
[ "$STEPS_RUN" = 2 ] && [ "$(head -1 out.txt)" = b ] && ok || bad "changed input not rerun"
echo y >dir/g
step out.txt in.txt dir -- make_out out.txt 2>/dev/null
[ "$STEPS_RUN" = 3 ] && ok || bad "new file in an input folder not rerun"
step out.txt in.txt dir -- make_out out.txt --flag 2>/dev/null
[ "$STEPS_RUN" = 4 ] && ok || bad "changed command not rerun"
FORCE="out.t" step out.txt in.txt dir -- make_out out.txt --flag 2>/dev/null
[ "$STEPS_RUN" = 5 ] && ok || bad "--force not rerun"
rm out.txt
step out.txt in.txt dir -- make_out out.txt --flag 2>/dev/null
[ "$STEPS_RUN" = 6 ] && ok || bad "missing output not rebuilt"
# a failing command: the step dies and leaves no output nor stamp
half() { echo partial >"$1"; return 3; }
(step bad.txt in.txt -- half bad.txt) 2>/dev/null
st=$?
[ $st != 0 ] && [ ! -e bad.txt ] && [ ! -e bad.txt.stamp ] && ok || bad "failed step left output (status $st)"
# a command that forgets its output
(step none.txt in.txt -- true) 2>/dev/null && bad "missing output accepted" || ok
# folder hash: location-independent, content-dependent
cp -r dir dir2
[ "$(content_hash dir)" = "$(content_hash dir2)" ] && ok || bad "hash depends on location"
echo z >dir2/f
[ "$(content_hash dir)" != "$(content_hash dir2)" ] && ok || bad "hash ignores content"
[ "$(content_hash nothere)" != "$(content_hash in.txt)" ] && ok || bad "missing input hashes like a file"
timed sec.txt sleep 0.2
awk '{ exit !($1 >= 0.15 && $1 < 5) }' sec.txt && ok || bad "timed: $(cat sec.txt)"

# ---- measure.py: axf eval output ----
printf 'task=sst2\nexamples=872\naccuracy=0.815367\nloss=0.41\nexamples_per_s=812.5\ntokens_per_s=20312.5\n' >b1.log
printf 'accuracy 81.5367%%  (872 examples)\n21,000 tokens/s, 820 examples/s\n' >b2.log
printf '{"accuracy": 0.823394, "tokens_per_s": 30500.25}\n' >e1.log
printf 'accuracy = 0.823394\ntok/s 29000\n' >e2.log
mkdir -p m e
head -c 1000 /dev/zero >m/model.safetensors
head -c 600 /dev/zero >e/model.safetensors
$py "$measure" eval-json --out ev.json --data dev.tsv --base-dir m --export-dir e \
    --base-log b1.log b2.log --export-log e1.log e2.log && ok || bad "eval-json failed"
$py - <<'EOF' && ok || bad "eval-json values"
import json
e = json.load(open("ev.json"))
assert e["metric_name"] == "accuracy", e
assert abs(e["baseline"] - 0.815367) < 1e-9 and abs(e["export"] - 0.823394) < 1e-9, e
assert e["baseline_tok_s"] == 21000 and e["export_tok_s"] == 30500.25, e
assert e["baseline_bytes"] == 1000 and e["export_bytes"] == 600, e
EOF
printf 'accuracy: 0.80\ntokens/s: 100\n' >b3.log
$py "$measure" eval-json --out ev2.json --data d --base-dir m --export-dir e --base-log b1.log b3.log \
    --export-log e1.log 2>err.txt && bad "differing repeated metrics accepted" || ok
grep -q "differs" err.txt && ok || bad "message: $(cat err.txt)"
printf 'no numbers here\n' >x.log
$py "$measure" eval-json --out ev3.json --data d --base-dir m --export-dir e --base-log x.log \
    --export-log e1.log 2>/dev/null && bad "no metric accepted" || ok
printf 'f1: 0.81\naccuracy: 0.75\n12 tokens/s\n' >f1.log
$py "$measure" eval-json --out ev4.json --data d --base-dir m --export-dir e --base-log f1.log --export-log f1.log &&
    grep -q '"metric_name": "accuracy"' ev4.json && ok || bad "metric preference"

# ---- measure.py: axf search output ----
printf 'step 3: drop_ffn L3 kept\ntime      12.5 s search (+1.0 s open and baseline), 11.9 s evaluating\nevals     41 evaluations (3 answered from stored results); 90 layer-evaluations run, 74 saved by the cache (45%% of 164)\n' >s.log
printf '13.9\n' >s.sec
printf 'done: 41 evaluations, layer evaluations 164, 0 saved\n' >n.log
printf '30.25\n' >n.sec
$py "$measure" search-json --out sj.json --log s.log --seconds-file s.sec --nocache-log n.log \
    --nocache-seconds-file n.sec && ok || bad "search-json failed"
$py - <<'EOF' && ok || bad "search-json values: $(cat sj.json)"
import json
s = json.load(open("sj.json"))
assert s["seconds"] == 12.5 and s["layer_evals"] == 90 and s["layer_evals_saved"] == 74, s
assert s["seconds_nocache"] == 30.25 and s["layer_evals_nocache"] == 164, s
EOF
$py "$measure" search-json --out sj3.json --log s.log --seconds-file s.sec && $py - <<'EOF' && ok || bad "derived uncached layer count: $(cat sj3.json)"
import json
s = json.load(open("sj3.json"))
assert s["wall_seconds"] == 13.9 and s["seconds"] == 12.5 and s["evals"] == 41, s
assert s["layer_evals_nocache"] == 164 and s["seconds_nocache"] is None, s
EOF
printf '{"evals": 41, "layer_evals": 88, "layer_evals_saved": 70}\n' >sj2.log
$py "$measure" search-json --out sj2.json --log sj2.log --seconds-file s.sec &&
    grep -q '"layer_evals": 88' sj2.json && grep -q '"evals": 41' sj2.json && ok || bad "JSON search line"

# ---- measure.py subset: a seeded subset of a search split (experiment.sh --search-examples) ----
{ printf 'sentence\tlabel\n'; for i in $(seq 1 50); do printf 'row %d\t%d\n' "$i" $((i % 2)); done; } >split.tsv
$py "$measure" subset --in split.tsv --n 10 --seed 7 --out sub1.tsv && ok || bad "subset failed"
$py "$measure" subset --in split.tsv --n 10 --seed 7 --out sub2.tsv && cmp -s sub1.tsv sub2.tsv && ok || bad "subset not repeatable"
[ "$(wc -l <sub1.tsv)" = 11 ] && [ "$(head -1 sub1.tsv)" = "$(printf 'sentence\tlabel')" ] && ok || bad "subset: header and 10 rows: $(cat sub1.tsv)"
tail -n +2 sub1.tsv | sort -k2,2n | cmp -s - <(tail -n +2 sub1.tsv) && ok || bad "subset rows not in file order"
tail -n +2 sub1.tsv | while IFS= read -r l; do grep -qxF -- "$l" split.tsv || echo "$l"; done | grep -q . &&
    bad "subset row not from the split" || ok
$py - <<'PY' && ok || bad "subset is not the documented draw"
import random
rows = ["row %d\t%d" % (i, i % 2) for i in range(1, 51)]
want = [rows[i] for i in sorted(random.Random(7).sample(range(50), 10))]
assert open("sub1.tsv").read().split("\n")[1:-1] == want
PY
$py "$measure" subset --in split.tsv --n 10 --seed 8 --out sub3.tsv && ! cmp -s sub1.tsv sub3.tsv && ok || bad "subset ignores the seed"
$py "$measure" subset --in split.tsv --n 500 --seed 7 --out sub4.tsv && cmp -s sub4.tsv split.tsv && ok || bad "N >= rows is not the whole split"
: >empty.tsv
$py "$measure" subset --in empty.tsv --n 5 --seed 1 --out sub5.tsv 2>err.txt && bad "empty split accepted" ||
    { grep -q "empty.tsv" err.txt && ok || bad "empty split message: $(cat err.txt)"; }

# ---- kept, collect, and axf report on the result ----
cp "$repo"/tests/report/axformer.json .
k=$($py "$measure" kept axformer.json)
[ "$k" = "0.865909" ] && ok || bad "kept = $k"
mkdir -p run1
cp ev.json run1/eval-dev.json
cp sj.json run1/search.json
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tmp/axformer.json" "axformer (loss rule)" sst2 big 2 "$tmp/run1" >manifest.tsv
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tmp/gone.json" "x" sst2 big 1 "$tmp/run1" >>manifest.tsv
mkdir -p res
$py "$measure" collect --manifest manifest.tsv --split dev --out res/results-dev.json && ok || bad "collect"
$py "$measure" collect --manifest manifest.tsv --split test --out res/results-test.json && ok || bad "collect test"
grep -q '"runs": \[\]' res/results-test.json && ok || bad "runs without that split not left out"
"$axf" report axformer.json --results res/results-dev.json --md rep.md 2>err.txt && ok || bad "report on collected results: $(cat err.txt)"
grep -qF "| sst2/big | axformer (loss rule) | 2 | 90.00 → 90.70 (+0.70) | 81.54 → 82.34 (+0.80) |" rep.md && ok || bad "collected numbers: $(tail -1 rep.md)"
grep -qF "1.45×" rep.md && grep -qF "12.5 s (30.2 s uncached)" rep.md && grep -qF "74 of 164 (45%)" rep.md &&
    ok || bad "speed/search columns: $(tail -1 rep.md)"

# ---- models through a recipe: pre-training once, reused by the other seeds; resumable ----
mkdir -p recipes
cat >recipes/recipe_fake.sh <<'EOF'
# A stand-in recipe with the real ones' contract (SIZE SEED THREADS DATA OUT AXF; OUT/NAME.done)
set -eu
mkdir -p "$OUT"
if [ ! -f "$OUT/pretrain.done" ]; then
    mkdir -p "$OUT/pretrain" && echo "pretrained $SIZE seed $SEED" >"$OUT/pretrain/ckpt"
    echo "$SEED" >>"$LOGDIR/pretrain-runs"
    echo 1 >"$OUT/pretrain.done"
fi
[ "${FAKE_FAIL:-}" = "$SEED" ] && exit 1
if [ ! -f "$OUT/finetune.done" ]; then
    mkdir -p "$OUT/model"
    { cat "$OUT/pretrain/ckpt"; echo "finetuned seed $SEED"; } >"$OUT/model/model.safetensors"
    echo "search split of seed $SEED" >"$OUT/search.tsv"
    echo 1 >"$OUT/finetune.done"
fi
EOF
export LOGDIR=$tmp
mkdir -p fakedata && echo "corpus" >fakedata/text.txt
xp=(bash "$repo/scripts/experiment.sh" --axf "$axf" --data "$tmp/fakedata" --tasks fake --sizes small --main fake/small
    --seeds 3 --models-only --out "$tmp/xp")
RECIPE_DIR=$tmp/recipes FAKE_FAIL=43 "${xp[@]}" 2>xp.log && bad "a failing recipe was not an error" || ok
[ -d xp/models/fake-small-s42 ] && [ ! -e xp/models/fake-small-s43 ] && [ -d xp/models/fake-small-s43.tmp ] && ok ||
    bad "failed model left half-built or none kept to resume: $(ls xp/models)"
RECIPE_DIR=$tmp/recipes "${xp[@]}" 2>xp.log && ok || bad "models: $(tail -3 xp.log)"
[ ! -e xp/models/fake-small-s43.tmp ] && ok || bad "resume point left after success"
[ "$(cat pretrain-runs)" = 42 ] && ok || bad "pre-trained more than once: $(cat pretrain-runs | tr '\n' ' ')"
grep -q "pretrained small seed 42" xp/models/fake-small-s44/model/model.safetensors &&
    grep -q "finetuned seed 44" xp/models/fake-small-s44/model/model.safetensors && ok || bad "seed 44 not from seed 42's checkpoint"
RECIPE_DIR=$tmp/recipes "${xp[@]}" 2>xp.log
grep -q "models: 0 built, 3 up to date" xp.log && ok || bad "rerun rebuilt: $(tail -2 xp.log)"
# an interrupted build resumes only for the same inputs
mkdir -p xp/models/fake-small-s44.tmp && echo stale >xp/models/fake-small-s44.tmp/junk
echo "# changed" >>recipes/recipe_fake.sh
RECIPE_DIR=$tmp/recipes "${xp[@]}" 2>xp.log
grep -q "models: 3 built" xp.log && ok || bad "changed recipe not rebuilt: $(tail -2 xp.log)"
[ ! -e xp/models/fake-small-s44/junk ] && ok || bad "stale resume point reused"
echo "more" >>fakedata/text.txt
RECIPE_DIR=$tmp/recipes "${xp[@]}" 2>xp.log
grep -q "models: 3 built" xp.log && ok || bad "changed data not rebuilt: $(tail -2 xp.log)"

# --reuse-models: a finished recipe output of seed 42 is taken as it is (its stages are done)
mkdir -p reuse/fake-small/pretrain reuse/fake-small/model
echo "pretrained small seed 42 (reused)" >reuse/fake-small/pretrain/ckpt
echo "reused model" >reuse/fake-small/model/model.safetensors
echo "reused split" >reuse/fake-small/search.tsv
echo 1 >reuse/fake-small/pretrain.done
echo 1 >reuse/fake-small/finetune.done
: >pretrain-runs
RECIPE_DIR=$tmp/recipes "${xp[@]}" --out "$tmp/xr" --reuse-models "$tmp/reuse" 2>xr.log && ok || bad "reuse: $(tail -3 xr.log)"
grep -q "reused model" xr/models/fake-small-s42/model/model.safetensors && ok || bad "seed 42 not reused"
grep -q "pretrained small seed 42 (reused)" xr/models/fake-small-s43/model/model.safetensors && ok ||
    bad "seed 43 not fine-tuned from the reused checkpoint"
[ ! -s pretrain-runs ] && ok || bad "pre-trained although reused: $(cat pretrain-runs)"
rm -f reuse/fake-small/finetune.done
RECIPE_DIR=$tmp/recipes "${xp[@]}" --out "$tmp/xu" --reuse-models "$tmp/reuse" 2>xu.log && bad "unfinished reuse accepted" ||
    { grep -q "not finished" xu.log && ok || bad "unfinished reuse: $(tail -2 xu.log)"; }

# size minilm: one recipe (recipe_minilm.sh, TASK=the task, no SIZE), no pre-training shared
# between seeds; --reuse-models takes every seed from the recipe's own OUT (minilm-TASK[-sSEED])
cat >recipes/recipe_minilm.sh <<'EOF'
set -eu
mkdir -p "$OUT/model"
[ -f "$OUT/finetune.done" ] || {
    echo "minilm task $TASK size ${SIZE:-none} seed $SEED" >"$OUT/model/model.safetensors"
    printf 'sentence\tlabel\na\t1\nb\t0\nc\t1\n' >"$OUT/search.tsv"
    echo 1 >"$OUT/finetune.done"; }
EOF
for d in minilm-fake minilm-fake-s43; do
    mkdir -p reuse/$d/model && echo "reused $d" >reuse/$d/model/model.safetensors
    printf 'sentence\tlabel\nx\t1\n' >reuse/$d/search.tsv && echo 1 >reuse/$d/finetune.done
done
xm=(bash "$repo/scripts/experiment.sh" --axf "$axf" --data "$tmp/fakedata" --tasks fake --sizes minilm --main fake/minilm
    --out "$tmp/xm")
RECIPE_DIR=$tmp/recipes "${xm[@]}" --seeds 3 --models-only --reuse-models "$tmp/reuse" 2>xm.log && ok || bad "minilm: $(tail -3 xm.log)"
grep -qx "reused minilm-fake" xm/models/fake-minilm-s42/model/model.safetensors &&
    grep -qx "reused minilm-fake-s43" xm/models/fake-minilm-s43/model/model.safetensors && ok || bad "minilm seeds not reused"
grep -qx "minilm task fake size none seed 44" xm/models/fake-minilm-s44/model/model.safetensors && ok ||
    bad "minilm seed 44: $(cat xm/models/fake-minilm-s44/model/model.safetensors)"
[ ! -e xm/models/fake-minilm-s43/pretrain ] && ok || bad "minilm seed linked to a pre-training"
RECIPE_DIR=$tmp/recipes "${xm[@]}" --seeds 1 --search-examples 2 --dry-run 2>xmd.log
grep -q "would run: models/fake-minilm-s42.search-2.tsv" xmd.log && ok || bad "search subset step: $(cat xmd.log)"
grep -q "would run: runs/fake-minilm-s42/axformer-loss/session.json" xmd.log && ok || bad "dry run without the axformer runs"
# --only-peers: the peers only (another invocation runs the axformer variants and their controls)
RECIPE_DIR=$tmp/recipes "${xm[@]}" --seeds 1 --only-peers --dry-run 2>xmp.log
grep -q "would run: runs/fake-minilm-s42/drop_layers/session.json" xmp.log && ! grep -q "axformer-" xmp.log && ok ||
    bad "--only-peers: $(grep 'would run' xmp.log)"
bash "$repo/scripts/experiment.sh" --search-examples 0 2>err.txt
[ $? = 2 ] && grep -q "search-examples needs a positive number" err.txt && ok || bad "--search-examples 0: $(cat err.txt)"

# the full plan (default tasks: SST-2 and the pair task a recipe exists for), as a dry run
cp recipes/recipe_fake.sh recipes/recipe_sst2.sh
cp recipes/recipe_fake.sh recipes/recipe_mrpc.sh
RECIPE_DIR=$tmp/recipes bash "$repo/scripts/experiment.sh" --axf "$axf" --data "$tmp/fakedata" --dry-run \
    --out "$tmp/dry" 2>dry.log || bad "dry run failed: $(tail -3 dry.log)"
for m in sst2-small-s42 sst2-big-s42 sst2-big-s43 sst2-big-s44 mrpc-small-s42 mrpc-big-s42; do
    grep -q "would run: models/$m:" dry.log || { bad "dry run lacks $m: $(cat dry.log)"; break; }
done
ok
grep -q "would run: models/sst2-small-s43" dry.log && bad "extra seeds outside the main configuration" || ok

# ---- the script itself parses and documents itself ----
bash -n "$repo/scripts/experiment.sh" && ok || bad "experiment.sh syntax"
bash "$repo/scripts/experiment.sh" --help | grep -q -- "--quick" && ok || bad "experiment.sh --help"
bash "$repo/scripts/experiment.sh" --bogus 2>/dev/null
[ $? = 2 ] && ok || bad "unknown option not a usage error"

echo "$checks checks, $fail failed" >&2
[ "$fail" = 0 ]
