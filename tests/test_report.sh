#!/usr/bin/env bash
# `axf report` on the hand-written sessions in tests/report/: the SVG parses as XML and holds the
# expected points, the Markdown table holds the expected numbers, and bad input gives one line
# naming the file and the field, exit 1 (usage errors exit 2).
# usage: test_report.sh AXF FIXTURE_DIR
set -u
axf=$1
fix=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# copy the fixtures so that the results sidecar's relative session paths resolve in $tmp too
cp "$fix"/*.json "$tmp"/
cd "$tmp"

# ---- a full report ----
if "$axf" report axformer.json random.json drop_layers.json --results results.json \
    --svg out.svg --md out.md 2>err.txt; then ok; else bad "report exited $?: $(cat err.txt)"; fi
[ -z "$(ls ./*.tmp 2>/dev/null)" ] && ok || bad "temporary files left behind"

# SVG: well-formed, the expected points (data-x/data-y carry the plotted values)
if $py - out.svg <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg", root.tag
pts = [(g.get("data-kind"), g.get("data-label"), float(g.get("data-x")), float(g.get("data-y")))
       for g in root.iter(ns + "g") if g.get("class") == "pt"]
def has(kind, label, x, y):
    return any(k == kind and (label is None or l == label) and abs(px - x) < 1e-3 and abs(py - y) < 1e-3
               for k, l, px, py in pts)
want = [("size", "axformer", 100 * 3810000 / 4400000, 82.34),   # report split, since all runs have it
        ("size", "random", 100 * 3810000 / 4400000, 79.00),
        ("size", "drop_layers", 100 * 3600000 / 4400000, 80.00),  # cursor 1: the undone step is not counted
        ("flops", "axformer", 10 / 8.0, 82.34),
        ("measured", "axformer", 6450 / 5000, 82.34),
        ("measured", "random", 6100 / 5000, 79.00),
        ("baseline", "original", 100, 81.54),
        ("baseline", "original", 1, 81.54),
        ("baseline", "original", 0, 90.0),
        ("step", None, 3, 90.7)]
for w in want:
    assert has(*w), ("missing point", w, pts)
assert not any(k == "measured" and l == "drop_layers" for k, l, _, _ in pts), "drop_layers has no measured speed"
assert sum(1 for k, *_ in pts if k == "baseline") == 3, "one baseline per plot for one model"
lines = {g.get("data-label"): g.get("data-steps") for g in root.iter(ns + "g") if g.get("class") == "line"}
assert lines == {"axformer": "3", "random": "2", "drop_layers": "1"}, lines
text = "".join(root.itertext())
for s in ("Accuracy against size", "Accuracy against speed", "Search progress", "axformer", "random"):
    assert s in text, s
EOF
then ok; else bad "SVG check"; fi

# Markdown: expected numbers
md_has() { if grep -qF -- "$1" out.md; then ok; else bad "out.md lacks: $1"; fi; }
md_has "| sst2/tiny | axformer | 1 | 90.00 → 90.70 (+0.70) | 81.54 → 82.34 (+0.80) | 3.81M (86.6%) | 8.00M (1.25×) | 15.29 MB (1.15×) | 1.29× | 12.5 s (20.2 s uncached) | 6 | 10 of 24 (42%) |"
md_has "| random | 1 | 90.00 → 86.00 (-4.00) | 81.54 → 79.00 (-2.54) |"
md_has "| drop_layers | 1 | 90.00 → 88.00 (-2.00) |"
md_has "1.22×"
# evaluations reconstructed from the session: random = baseline + 2 applies without trials
if grep -F "| random |" out.md | grep -qF "| 3 |"; then ok; else bad "random evals"; fi
if [ "$(grep -c '^| sst2/tiny' out.md)" = 3 ]; then ok; else bad "expected 3 rows"; fi

# ---- without sidecar: search split, session-only columns; labels; MD on stdout ----
if "$axf" report axformer.json random.json --labels "AX,RND" >stdout.md 2>err.txt; then ok; else bad "stdout report"; fi
grep -qF "| sst2 | AX |" stdout.md && grep -qF "| RND |" stdout.md && ok || bad "labels not used"
grep -qF "≥ 2.8 s" stdout.md && ok || bad "session seconds when no wall time: $(cat stdout.md)"

# ---- default labels: the policy and the parameters that differ between its sessions ----
$py - <<'EOF'
import json
s = json.load(open("axformer.json"))
s["policy"]["params"] = {"accept": "acc", "hard_k": 30, "near_miss": 1.1, "greedy": True, "ks": [1, 2]}
json.dump(s, open("axformer_acc.json", "w"))
EOF
if "$axf" report axformer.json axformer_acc.json random.json >labels.md 2>err.txt; then ok; else bad "labels report: $(cat err.txt)"; fi
grep -qF "| axformer (accept=loss) |" labels.md && ok || bad "label of axformer.json: $(cat labels.md)"
grep -qF "| axformer (accept=acc, greedy=true, ks=…) |" labels.md && ok || bad "label of axformer_acc.json: $(cat labels.md)"
grep -qF "| random |" labels.md && ok || bad "label of random.json: $(cat labels.md)"

# ---- mean ± sd over seeds: a second run of the same policy ----
$py - <<'EOF'
import json
s = json.load(open("axformer.json"))
s["history"][-1]["after"]["metric"] = 0.903
s["model"]["sha256"] = "d" * 64   # another fine-tuning seed: another original model
json.dump(s, open("axformer2.json", "w"))
r = json.load(open("results.json"))
e = dict(r["runs"][0]); e["session"] = "axformer2.json"; e["seed"] = 2
e["report"] = dict(e["report"]); e["report"]["export"] = 0.8334
r["runs"].append(e)
json.dump(r, open("results2.json", "w"))
EOF
if "$axf" report axformer.json axformer2.json random.json --results results2.json --md agg.md --svg agg.svg 2>err.txt; then ok; else bad "aggregate report: $(cat err.txt)"; fi
# report Δ: +0.80 and +1.80 -> mean +1.30, sd 0.71; search Δ: +0.70, +0.30 -> +0.50 ± 0.28
grep -qF "| sst2/tiny | axformer | 2 | 81.54 ± 0.00 | +1.30 ± 0.71 | +0.50 ± 0.28 | 86.59 ± 0.00% | 1.25 ± 0.00× | 1.29 ± 0.00× |" agg.md && ok || bad "aggregate row: $(tail -3 agg.md)"
grep -qF "axformer (2 runs)" agg.svg && ok || bad "legend run count"
# two original models: the plots show each run against its own (report Δ +0.80 and +1.80)
if $py - agg.svg <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
pts = [(g.get("data-kind"), g.get("data-label"), float(g.get("data-x")), float(g.get("data-y")))
       for g in ET.parse(sys.argv[1]).getroot().iter(ns + "g") if g.get("class") == "pt"]
ys = sorted(round(y, 6) for k, l, x, y in pts if k == "size" and l == "axformer")
assert ys == [0.8, 1.8], ys
assert [round(y, 6) for k, l, x, y in pts if k == "baseline"] == [0, 0, 0], pts
steps = [round(y, 6) for k, l, x, y in pts if k == "step" and x == 3]
assert sorted(steps) == [0.3, 0.7], steps
EOF
then ok; else bad "delta mode"; fi

# ---- one session given several times (a result, "+ distill", "+ distill + int8"): the k-th
# sidecar entry naming it belongs to the k-th of them, not all to the first ----
$py - <<'EOF'
import json
r = json.load(open("results.json"))
e = [x for x in r["runs"] if x["session"] == "axformer.json"][0]
runs = []
for label, acc, size in (("axformer", 0.8234, None), ("axformer + distill", 0.8411, None),
                         ("axformer + distill + int8", 0.8399, 1234567)):
    x = json.loads(json.dumps(e)); x["label"] = label; x["report"]["export"] = acc
    if size: x["file_bytes"] = {"baseline": 4400000 * 4, "export": size}
    runs.append(x)
r["runs"] = runs
json.dump(r, open("results3.json", "w"))
EOF
if "$axf" report axformer.json axformer.json axformer.json --results results3.json --md rep3.md 2>err.txt; then ok
else bad "repeated session: $(cat err.txt)"; fi
for want in "| axformer | " "| axformer + distill | " "| axformer + distill + int8 | "; do
    [ "$(grep -cF -- "$want" rep3.md)" -ge 1 ] && ok || bad "repeated session: no row '$want': $(cat rep3.md)"
done
grep -F "| axformer + distill | " rep3.md | grep -qF "→ 84.11" && ok || bad "distill row's accuracy: $(grep -F distill rep3.md)"
grep -F "| axformer + distill + int8 | " rep3.md | grep -qF "1.23 MB" && ok || bad "int8 row's size: $(grep -F int8 rep3.md)"

# ---- bad input: exit 1, one line naming file and field ----
expect_err() { # name expected_status expected_substring args...
    local name=$1 want=$2 sub=$3
    shift 3
    "$axf" report "$@" >/dev/null 2>err.txt
    local st=$?
    if [ "$st" != "$want" ]; then bad "$name: exit $st, want $want ($(cat err.txt))"; return; fi
    if [ "$want" = 1 ] && [ "$(wc -l <err.txt)" != 1 ]; then bad "$name: not one line: $(cat err.txt)"; return; fi
    if ! grep -qF -- "$sub" err.txt; then bad "$name: message lacks '$sub': $(cat err.txt)"; return; fi
    ok
}
mutate() { # out python-statement-on-s
    $py - "$1" "$2" <<'EOF'
import json, sys
s = json.load(open("axformer.json"))
exec(sys.argv[2])
json.dump(s, open(sys.argv[1], "w"))
EOF
}
head -c 700 axformer.json >trunc.json
expect_err truncated 1 "trunc.json: line" trunc.json
grep -q "truncated" <("$axf" report trunc.json 2>&1) && ok || bad "truncated not said"
: >empty.json
expect_err empty 1 "empty.json: empty file" empty.json
printf '{"format": "axf-session", "version": 1} garbage' >trail.json
expect_err trailing 1 "trail.json: line 1: trailing text after the JSON value" trail.json
printf '[1, 2]' >array.json
expect_err array 1 "array.json: not a session file" array.json
expect_err missing-file 1 "nope.json: No such file" nope.json
mutate f1.json 'del s["baseline"]["loss"]'
expect_err missing-field 1 "f1.json: baseline.loss: missing" f1.json
mutate f2.json 's["history"][1]["after"]["metric"] = "high"'
expect_err wrong-type 1 "f2.json: history[1].after.metric: expected a number" f2.json
mutate f3.json 's["version"] = 3'
expect_err newer 1 "f3.json: version: 3 is newer" f3.json
mutate f4.json 's["cursor"] = 9'
expect_err cursor 1 "f4.json: cursor: 9 is out of range" f4.json
mutate f5.json 's["format"] = "other"'
expect_err format 1 "f5.json: format: not" f5.json
mutate f6.json 's["trials"][2]["actions"] = []'
expect_err empty-actions 1 "f6.json: trials[2].actions: empty" f6.json
mutate f7.json 's["model"]["sha256"] = "xyz"'
expect_err sha 1 "f7.json: model.sha256: expected 64" f7.json
mutate f8.json 's["history"][0]["after"]["metric_name"] = "bleu"'
expect_err metric-name 1 "f8.json: history[0].after.metric_name" f8.json
mutate f9.json 's["history"][2]["actions"][0] = {"layer": 1}'
expect_err no-op 1 "f9.json: history[2].actions[0].op: missing" f9.json
mutate f10.json 's["baseline"]["n_no_worse"] = 5000'
expect_err no-worse-range 1 "f10.json: baseline.n_no_worse" f10.json
mutate f11.json 's["baseline"]["params"] = -3'
expect_err negative 1 "f11.json: baseline.params" f11.json
mutate f12.json 's["seed"] = "12x"'
expect_err seed 1 "f12.json: seed: expected a decimal" f12.json
printf '{"format":"axf-results","version":1,"runs":[{"session":"axformer.json","speed":{"baseline_tok_s":"fast"}}]}' >r1.json
expect_err results-type 1 "r1.json: runs[0].speed.baseline_tok_s: expected a number" axformer.json --results r1.json
printf '{"format":"axf-results","version":1,"runs":[{"session":"elsewhere.json","report":{"baseline":0.5}}]}' >r2.json
expect_err results-unmatched-checked 1 "r2.json: runs[0].report.export: missing" axformer.json --results r2.json
printf '{"format":"axf-results","version":1,"runs":[{"session":"axformer.json","report":{"baseline":0.5,"export":0.6,"metric_name":"f1"}}]}' >r3.json
expect_err results-metric 1 "r3.json: runs[0].report.metric_name: differs" axformer.json --results r3.json
expect_err results-missing 1 "none.json" axformer.json --results none.json
# every truncation and a sweep of byte flips: exit 1 with one line, never a crash
crashes=0
size=$(wc -c <axformer.json)
for cut in $(seq 1 97 "$size"); do
    head -c "$cut" axformer.json >cut.json
    "$axf" report cut.json >/dev/null 2>err.txt
    st=$?
    { [ $st = 1 ] && [ "$(wc -l <err.txt)" = 1 ]; } || { crashes=$((crashes + 1)); echo "cut at $cut: exit $st: $(cat err.txt)" >&2; }
done
[ $crashes = 0 ] && ok || bad "$crashes truncations not handled"
crashes=0
$py - <<'EOF'
import random
random.seed(7)
data = bytearray(open("axformer.json", "rb").read())
for i in range(30):
    d = bytearray(data)
    for _ in range(3):
        d[random.randrange(len(d))] = random.choice(b'0{}[]",:x- \x00\xff9e.')
    open("flip%d.json" % i, "wb").write(d)
EOF
for i in $(seq 0 29); do
    "$axf" report "flip$i.json" --svg flip.svg --md flip.md >/dev/null 2>err.txt
    st=$?
    { [ $st = 0 ] || { [ $st = 1 ] && [ "$(wc -l <err.txt)" = 1 ]; }; } || { crashes=$((crashes + 1)); echo "flip$i: exit $st: $(cat err.txt)" >&2; }
done
[ $crashes = 0 ] && ok || bad "$crashes garbled files not handled"

# usage
expect_err no-session 2 "at least one SESSION" --md x.md
expect_err unknown-option 2 "unknown option '--bogus'" axformer.json --bogus
expect_err no-value 2 "--svg needs a value" axformer.json --svg
expect_err labels-few 2 "fewer names" axformer.json random.json --labels A
expect_err labels-many 2 "more names" axformer.json --labels A,B
"$axf" report --help | grep -q "usage: axf report" && ok || bad "--help"
# nothing written on failure
"$axf" report axformer.json f2.json --svg fail.svg --md fail.md 2>/dev/null
[ ! -e fail.svg ] && [ ! -e fail.md ] && [ -z "$(ls ./*.tmp 2>/dev/null)" ] && ok ||
  bad "output written despite an error"
# unwritable output
expect_err unwritable 1 "nodir/x.svg" axformer.json --svg nodir/x.svg

echo "$checks checks, $fail failed" >&2
[ "$fail" = 0 ]
