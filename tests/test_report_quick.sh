#!/usr/bin/env bash
# scripts/experiment.sh --quick end to end on the demo task and model (a few minutes): every policy
# runs, exports and is evaluated, the results sidecar and the reports are written, and a second
# run finds every step up to date (make-like). Exit 77 (skipped) when a command is not built yet.
# usage: test_report_quick.sh AXF REPO_DIR DATA_DIR OUT_DIR
set -u
axf=$1 repo=$2 data=$3 out=$4
py=/usr/bin/python3
bash "$repo/scripts/experiment.sh" --quick --clean --skip-if-missing --axf "$axf" --data "$data" --out "$out" \
    2>"$out.log"
st=$?
[ $st = 77 ] && exit 77
if [ $st != 0 ]; then
    tail -30 "$out.log" >&2
    echo "FAIL: experiment.sh --quick exited $st" >&2
    exit 1
fi
fail=0
$py - "$out" <<'PY' || fail=1
import json, os, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
r = json.load(open(os.path.join(out, "results-heldout.json")))
labels = {x["label"] for x in r["runs"]}
want = {"axformer (reference rule)", "axformer (loss rule)", "heads_gradient", "drop_layers",
        "hard attention only (stage A)"}
assert want <= labels, ("policies missing", want - labels)
# recovery: the axformer variants and their random controls, distilled and distilled + int8
for base in ("axformer (loss rule)", "random, size of axformer (loss rule)"):
    for v in (" + distill", " + distill + int8"):
        assert base + v in labels, ("recovery variant missing", base + v, sorted(labels))
for x in r["runs"]:
    if x["label"].endswith(" + int8"):
        plain = [y for y in r["runs"] if y["label"] == x["label"][:-len(" + int8")] and y["seed"] == x["seed"]]
        assert plain and x["file_bytes"]["export"] < plain[0]["file_bytes"]["export"], (x, plain)
assert {x["seed"] for x in r["runs"]} == {42, 43}, "two fine-tuning seeds"
for x in r["runs"]:
    assert 0 <= x["report"]["baseline"] <= 1 and 0 <= x["report"]["export"] <= 1, x
    assert x["speed"]["baseline_tok_s"] > 0 and x["speed"]["export_tok_s"] > 0, x
    assert x["file_bytes"]["export"] <= x["file_bytes"]["baseline"], x
    assert x["search"]["layer_evals"] >= 0, x
    # the search's time is its process CPU time (one thread): other jobs do not inflate it
    assert x["search"]["seconds_basis"] == "cpu" and x["search"]["seconds"] >= 0, x
root = ET.parse(os.path.join(out, "report", "demo-tiny-heldout.svg")).getroot()
pts = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "pt" and g.get("data-kind") == "size"]
assert len(pts) == len(r["runs"]), (len(pts), len(r["runs"]))
md = open(os.path.join(out, "README.fragment.md")).read()
assert "| demo/tiny | drop_layers |" in md and "Mean ± sample standard deviation" in md, md[:400]
PY
# rerun: nothing to recompute
bash "$repo/scripts/experiment.sh" --quick --axf "$axf" --data "$data" --out "$out" 2>"$out.rerun.log" || fail=1
grep -q "done: 0 steps run" "$out.rerun.log" || { echo "FAIL: rerun recomputed: $(grep 'run:' "$out.rerun.log" | head)" >&2; fail=1; }
# one seed alone (parallel invocations share a results folder): nothing to recompute, no report
bash "$repo/scripts/experiment.sh" --quick --axf "$axf" --data "$data" --out "$out" --only-seeds 43 2>"$out.seed.log" || fail=1
grep -q "seeds \[43\]: 0 steps run, [1-9][0-9]* up to date; no report" "$out.seed.log" ||
    { echo "FAIL: --only-seeds 43: $(tail -1 "$out.seed.log")" >&2; fail=1; }
grep -q "demo-tiny-s42" "$out/runs/manifest-seeds-43.tsv" && { echo "FAIL: --only-seeds 43 touched seed 42" >&2; fail=1; }
# --peers and --later-seed-peers: the peers left out are left out of the report
bash "$repo/scripts/experiment.sh" --quick --axf "$axf" --data "$data" --out "$out" --report-only --later-seed-peers "" \
    --peers "heads_gradient drop_layers" \
    2>"$out.peers.log" || fail=1
$py - "$out" <<'PY' || fail=1
import json, os, sys
r = json.load(open(os.path.join(sys.argv[1], "results-heldout.json")))
runs = {(x["label"], x["seed"]) for x in r["runs"]}
assert ("heads_gradient", 42) in runs and ("heads_gradient", 43) not in runs, sorted(runs)
assert ("axformer (loss rule)", 43) in runs, sorted(runs)
assert not any(l.startswith("hard attention") for l, _ in runs), sorted(runs)
assert ("drop_layers", 42) in runs, sorted(runs)
PY
# --report-only: computes nothing and leaves out what is not up to date
ev=$out/runs/demo-tiny-s43/drop_layers/eval-heldout.json
mv "$ev" "$ev.aside"
bash "$repo/scripts/experiment.sh" --quick --axf "$axf" --data "$data" --out "$out" --report-only 2>"$out.report.log" || fail=1
grep -q "done: 0 steps run" "$out.report.log" || { echo "FAIL: --report-only ran steps" >&2; fail=1; }
grep -q "not computed (left out of the report): runs/demo-tiny-s43/drop_layers/eval-heldout.json" "$out.report.log" ||
    { echo "FAIL: --report-only did not name the missing step" >&2; fail=1; }
[ ! -e "$ev" ] || { echo "FAIL: --report-only computed $ev" >&2; fail=1; }
$py - "$out" <<'PY' || fail=1
import json, os, sys
r = json.load(open(os.path.join(sys.argv[1], "results-heldout.json")))
runs = {(x["label"], x["seed"]) for x in r["runs"]}
assert ("drop_layers", 43) not in runs and ("drop_layers", 42) in runs, sorted(runs)
PY
mv "$ev.aside" "$ev"
# --baseline-once: the original is evaluated once per model and report split (its own step), and
# every run's evaluation takes its metric and speed from there
bash "$repo/scripts/experiment.sh" --quick --axf "$axf" --data "$data" --out "$out" --only-seeds 42 --recover "" \
    --baseline-once 2>"$out.base.log" || { tail -5 "$out.base.log" >&2; fail=1; }
[ "$(grep -c "run: models/demo-tiny-s42.base-heldout$" "$out.base.log")" = 1 ] ||
    { echo "FAIL: --baseline-once did not evaluate the original exactly once" >&2; fail=1; }
$py - "$out" <<'PY' || fail=1
import glob, json, os, re, sys
out = sys.argv[1]
base = open(os.path.join(out, "models", "demo-tiny-s42.base-heldout", "base1.out")).read()
acc = float(re.search(r"^accuracy=([0-9.]+)", base, re.M).group(1))
evs = glob.glob(os.path.join(out, "runs", "demo-tiny-s42", "*", "eval-heldout.json"))
assert len(evs) >= 5, evs
for f in evs:
    e = json.load(open(f))
    assert abs(e["baseline"] - acc) < 1e-9 and e["baseline_tok_s"] > 0, (f, e, acc)
PY
[ $fail = 0 ] && echo "experiment --quick: ok ($(grep -o 'done: .*' "$out.log"))" >&2
exit $fail
