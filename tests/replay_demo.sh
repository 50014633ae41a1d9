#!/usr/bin/env bash
# `axf replay` checks every number a session records, on a copy of sessions/demo-axformer.json over
# the demo model built here: the untampered copy replays (exit 0, and bit for bit with --exact);
# each tampered field -- the baseline, a step's "before" and "after", a trial of the journal, every
# kind of metric, the policy's sha256 -- fails with exit 1 naming that field with both values; a
# loss moved by less than the derived tolerance passes by default and fails with --exact; a
# metric_name that contradicts the others is refused at load.
# usage: replay_demo.sh AXF DEMO_DIR SESSIONS_DIR
set -u
AXF=$1 DEMO=$2 SESSIONS=$3
DIR=$(mktemp -d "${TMPDIR:-/tmp}/axf-replay-XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
SRC="$SESSIONS/demo-axformer.json"
have=$(sha256sum "$DEMO/model/model.safetensors" | cut -d' ' -f1)
want=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"]["sha256"])' "$SRC")
[ "$have" = "$want" ] || fail "$SRC was made on a demo model with sha256 $want; this build trains $have"
replay() { "$AXF" replay "$@" --model "$DEMO/model" --data "$DEMO/search.tsv" --threads 2 > "$DIR/out.txt" 2> "$DIR/err.txt"; }

# tamper FILE EXPR...: a copy of the example with each python assignment applied to it (s = the JSON)
tamper() {
    local out=$1
    shift
    python3 - "$SRC" "$out" "$@" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
for e in sys.argv[3:]:
    exec(e)
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
}

cp "$SRC" "$DIR/good.json"
replay "$DIR/good.json" || { cat "$DIR/err.txt" >&2; fail "replay of the untampered example (exit $?)"; }
grep -q "2 steps replayed and 24 trials, every number within the tolerance" "$DIR/out.txt" || { cat "$DIR/out.txt" >&2; fail "replay output"; }
grep -q "axformer.lua: sha256 as recorded" "$DIR/out.txt" || { cat "$DIR/out.txt" >&2; fail "policy sha256 not checked"; }
cat "$DIR/out.txt"

# every kind of field, each in another kind of record, all in one file: each one is named
tamper "$DIR/all.json" \
    's["baseline"]["loss"] *= 1.01' \
    's["history"][0]["before"]["accuracy"] = 0.75' \
    's["history"][0]["after"]["metric"] = 0.5' \
    's["history"][1]["before"]["n_no_worse"] -= 300' \
    's["history"][1]["after"]["params"] += 1' \
    's["trials"][3]["metrics"]["flops_per_token"] += 1' \
    's["trials"][5]["metrics"]["size_bytes"] += 4' \
    's["trials"][8]["metrics"]["n"] += 1' \
    's["trials"][10]["metrics"]["loss"] *= 1.001' \
    's["trials"][17]["metrics"]["n_no_worse"] += 40' \
    's["trials"][21]["metrics"]["accuracy"] -= 0.01' \
    's["policy"]["sha256"] = "0" * 64'
replay "$DIR/all.json"
rc=$?
[ $rc -eq 1 ] || { cat "$DIR/err.txt" >&2; fail "tampered file: exit $rc (want 1)"; }
cat "$DIR/err.txt"
# (a warning line, e.g. the held-out file the copy's relative path no longer finds, is not an error)
[ "$(grep -v '^axf: warning:' "$DIR/err.txt" | grep -c '^axf:')" -eq 1 ] || fail "one error line, the rest indented"
for f in 'baseline.loss (baseline)' 'history\[0\].before.accuracy (step 1 ' 'history\[0\].after.metric (step 1 ' \
         'history\[1\].before.n_no_worse (step 2 ' 'history\[1\].after.params (step 2 ' \
         'trials\[3\].metrics.flops_per_token (trial 4 ' 'trials\[5\].metrics.size_bytes (trial 6 ' \
         'trials\[8\].metrics.n (trial 9 ' 'trials\[10\].metrics.loss (trial 11 ' \
         'trials\[17\].metrics.n_no_worse (trial 18 ' 'trials\[21\].metrics.accuracy (trial 22 '; do
    grep -q "$f.*recorded .*, measured " "$DIR/err.txt" || fail "not named: $f"
done
grep -q 'policy.sha256 (.*axformer.lua): recorded 0\{64\}, measured [0-9a-f]\{64\}' "$DIR/err.txt" || fail "policy.sha256 not named"

grep -q "12 differences from the record" "$DIR/err.txt" || fail "12 differences expected"

# one field alone: exit 1 naming it in the error line, with both values
tamper "$DIR/one.json" 's["history"][1]["before"]["loss"] = 0.0019'
replay "$DIR/one.json" --no-trials
rc=$?
[ $rc -eq 1 ] || fail "one tampered before.loss: exit $rc (want 1)"
grep -q "^axf: .*one.json: history\[1\].before.loss (step 2 (drop_group L3.g8/12)): recorded 0.0019, measured 0.00188843749" "$DIR/err.txt" ||
    { cat "$DIR/err.txt" >&2; fail "one tampered before.loss: message"; }

# below the tolerance (relative 1e-6 of a loss): passes by default, not with --exact
tamper "$DIR/tiny.json" 's["trials"][6]["metrics"]["loss"] *= 1 + 1e-6'
replay "$DIR/tiny.json" || { cat "$DIR/err.txt" >&2; fail "a loss within the tolerance must pass"; }
replay "$DIR/tiny.json" --exact
rc=$?
[ $rc -eq 1 ] || fail "--exact with a loss 1e-6 off: exit $rc (want 1)"
grep -q "^axf: .*trials\[6\].metrics.loss (trial 7 " "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "--exact: message"; }
replay "$DIR/good.json" --exact --no-trials || { cat "$DIR/err.txt" >&2; fail "--exact on the untampered example"; }
grep -q "bit for bit as recorded" "$DIR/out.txt" || fail "--exact output"

# a metric_name that contradicts the baseline's: refused at load, naming the field
tamper "$DIR/name.json" 's["trials"][2]["metrics"]["metric_name"] = "f1"'
replay "$DIR/name.json"
rc=$?
[ $rc -eq 1 ] || fail "metric_name: exit $rc (want 1)"
grep -q "^axf: .*name.json: trials\[2\].metrics.metric_name: 'f1' where the baseline has 'accuracy'" "$DIR/err.txt" ||
    { cat "$DIR/err.txt" >&2; fail "metric_name: message"; }
echo "replay of the demo session: ok"
