#!/bin/sh
# End to end through the binary: a saved session replays (exit 0); a tampered one fails naming the
# step (exit 1); a truncated one fails with one line (exit 1); export writes a model that, loaded as
# `axf eval` loads it, reproduces the session's final metrics; usage errors exit 2.
# usage: session_e2e.sh AXF TEST_SESSION_FILE
set -u
AXF=$1
HELPER=$2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/axf-e2e-XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$HELPER" prepare "$DIR" > "$DIR/final.txt" || fail "prepare"

"$AXF" replay "$DIR/s.json" > "$DIR/out.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "replay of a good session"; }
grep -q "steps replayed" "$DIR/out.txt" || fail "replay output"
grep -q "handmade.lua: sha256 as recorded" "$DIR/out.txt" || { cat "$DIR/out.txt" >&2; fail "policy sha256 not checked"; }
"$AXF" replay "$DIR/s.json" --exact > "$DIR/out.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "replay --exact of a session made by this build"; }
grep -q "bit for bit as recorded" "$DIR/out.txt" || fail "replay --exact output"

# the policy file beside the session changed since: named, exit 1
cp "$DIR/handmade.lua" "$DIR/handmade.orig"
echo "-- edited" >> "$DIR/handmade.lua"
"$AXF" replay "$DIR/s.json" > /dev/null 2> "$DIR/err.txt"
rc=$?
mv "$DIR/handmade.orig" "$DIR/handmade.lua"
[ $rc -eq 1 ] || fail "replay with an edited policy file: exit $rc (want 1)"
grep -q "^axf: .*policy.sha256 .*handmade.lua.*recorded [0-9a-f]\{64\}, measured [0-9a-f]\{64\}" "$DIR/err.txt" ||
    { cat "$DIR/err.txt" >&2; fail "edited policy: message"; }

# tamper with the loss recorded after step 4
python3 - "$DIR/s.json" "$DIR/bad.json" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
s["history"][3]["after"]["loss"] += 1e-4
json.dump(s, open(sys.argv[2], "w"))
PY
"$AXF" replay "$DIR/bad.json" > /dev/null 2> "$DIR/err.txt"
rc=$?
[ $rc -eq 1 ] || fail "tampered replay exit $rc (want 1)"
grep -q "history\[3\].after.loss (step 4 " "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "tampered replay must name step 4's loss"; }
[ "$(grep -c "^axf:" "$DIR/err.txt")" -eq 1 ] || fail "one line of error"

head -c 300 "$DIR/s.json" > "$DIR/trunc.json"
"$AXF" replay "$DIR/trunc.json" > /dev/null 2> "$DIR/err.txt"
rc=$?
[ $rc -eq 1 ] || fail "truncated replay exit $rc (want 1)"
grep -q "^axf: .*trunc.json" "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "truncated: message"; }

"$AXF" replay > /dev/null 2>&1; [ $? -eq 2 ] || fail "replay usage exit"
"$AXF" export "$DIR/s.json" > /dev/null 2>&1; [ $? -eq 2 ] || fail "export usage exit"
"$AXF" replay --help > /dev/null || fail "replay --help"
"$AXF" export --help > /dev/null || fail "export --help"
"$AXF" importance --help > /dev/null || fail "importance --help"

"$AXF" export "$DIR/s.json" --out "$DIR/exp" --bench > "$DIR/exp.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "export"; }
grep -q "^speedup=" "$DIR/exp.txt" || fail "export --bench output"
"$HELPER" verify-export "$DIR" || fail "export does not reproduce the session"

# `axf eval` of the export must print the same loss and accuracy
"$AXF" eval --help > /dev/null 2>&1 || fail "axf eval is not built"
if true; then
  "$AXF" eval "$DIR/exp" "$DIR/data.tsv" > "$DIR/eval.txt" 2> "$DIR/err.txt" || { cat "$DIR/err.txt" >&2; fail "axf eval of the export"; }
  python3 - "$DIR/final.txt" "$DIR/eval.txt" <<'PY' || fail "axf eval does not reproduce the session's final metrics"
import re, sys
want = dict(l.strip().split("=") for l in open(sys.argv[1]) if "=" in l)
text = open(sys.argv[2]).read()
def find(key):
    m = re.search(key + r"[\s=:]+([0-9.]+)(%?)", text)
    if not m: sys.exit("no %s in axf eval output:\n%s" % (key, text))
    v = float(m.group(1))
    return v / 100 if m.group(2) else v
loss, acc = find("loss"), find("accuracy")
if abs(loss - float(want["loss"])) > 1e-4 or abs(acc - float(want["accuracy"])) > 1e-9:
    sys.exit("eval: loss %g accuracy %g, session: %s %s" % (loss, acc, want["loss"], want["accuracy"]))
print("axf eval reproduces loss %.6f accuracy %.4f" % (loss, acc))
PY
fi
echo "session e2e: ok"
