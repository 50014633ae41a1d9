#!/bin/sh
# A session with a distil step (issue 18) through the binary: test_session_distil makes it (and
# checks the library side), then `axf replay` reproduces it bit for bit; with the weights folder
# missing it re-makes them (same sha256); with the weights tampered it refuses in one line, exit 1;
# a session file whose distil record is damaged is refused naming the field; export of the step
# writes the student's weights; a Lua policy's s:distil through axf search.
# usage: session_distil.sh AXF TEST_SESSION_DISTIL DEMO_DIR OUT_DIR
set -u
axf=$1 t=$2 demo=$3 out=$4
fail() { echo "FAIL: $*" >&2; exit 1; }
nice -n 19 "$t" "$demo" "$out" || fail "test_session_distil"
s=$out/s.json d=$out/s.json.distil-3
grep -q '"version":	2' "$s" || fail "a session with a distil step is not version 2"
"$axf" replay --exact "$s" >"$out/r.out" 2>"$out/r.err" || { cat "$out/r.err"; fail "replay of the saved session"; }
# export of the distil step: the student folder's weights, byte for byte
"$axf" export "$s" --out "$out/exp3" --step 3 >/dev/null 2>&1 || fail "export --step 3"
[ "$(sha256sum <"$out/exp3/model.safetensors")" = "$(sha256sum <"$d/model.safetensors")" ] ||
    fail "the export of the distil step is not its weights"
mv "$d" "$d.away"
"$axf" replay --exact "$s" >"$out/r2.out" 2>"$out/r2.err" || { cat "$out/r2.err"; fail "replay with the folder missing"; }
grep -q "re-making the weights" "$out/r2.err" || fail "no word that the weights were re-made"
rm -rf "$d"; mv "$d.away" "$d"
# tampered weights: the last bytes of the file are weights (the header comes first)
cp "$d/model.safetensors" "$out/orig.st"
size=$(wc -c <"$d/model.safetensors")
printf '\077' | dd of="$d/model.safetensors" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
"$axf" replay "$s" >"$out/r3.out" 2>"$out/r3.err"
rc=$?
[ $rc -eq 1 ] || fail "tampered weights: exit $rc, expected 1"
# (the lines of the progress printer aside)
[ "$(grep -vc '^replay: ' "$out/r3.err")" -eq 1 ] || { cat "$out/r3.err"; fail "tampered weights: not one line"; }
grep -q "sha256" "$out/r3.err" || { cat "$out/r3.err"; fail "tampered weights: no sha256 in the message"; }
cp "$out/orig.st" "$d/model.safetensors"
# a damaged record: alpha out of range, named
sed 's/"alpha":	0.5/"alpha":	7/' "$s" >"$out/bad.json"
"$axf" replay "$out/bad.json" >/dev/null 2>"$out/r4.err"
rc=$?
[ $rc -eq 1 ] && grep -q "history\[2\].distil.alpha" "$out/r4.err" || { cat "$out/r4.err"; fail "bad alpha: exit $rc"; }
# a policy's s:distil (tests/lua/prune_distil.lua) through axf search: four steps, the third a
# distil step, replayed bit for bit
lua=$(dirname "$0")/lua/prune_distil.lua
"$axf" search "$demo/model" "$demo/search.tsv" --max-examples 400 --policy "$lua" --set "train=$demo/train.tsv" \
    --out "$out/p.json" >"$out/p.out" 2>"$out/p.err" || { cat "$out/p.err"; fail "axf search with s:distil"; }
python3 - "$out/p.json" <<'PY' || fail "the policy's session does not hold its distil step"
import json, sys
f = json.load(open(sys.argv[1]))
h = f["history"]
assert f["version"] == 2 and len(h) == 4 and f["cursor"] == 4, (f["version"], len(h))
assert h[2]["actions"] == [] and h[2]["distil"]["steps_run"] == 40 and h[2]["note"] == "recover", h[2]
assert h[2]["after"]["accuracy"] > h[2]["before"]["accuracy"], (h[2]["before"], h[2]["after"])
PY
[ -f "$out/p.json.distil-3/model.safetensors" ] || fail "no weights folder beside the policy's session"
"$axf" replay --exact "$out/p.json" >/dev/null 2>"$out/p2.err" || { cat "$out/p2.err"; fail "replay of the policy's session"; }
# --resume of that run cut after its distil step (the record then ends there): the same history,
# the same weights
python3 - "$out/p.json" "$out/q.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
f["history"] = f["history"][:3]
f["cursor"] = 3
json.dump(f, open(sys.argv[2], "w"), indent=1)
PY
cp -r "$out/p.json.distil-3" "$out/q.json.distil-3"
"$axf" search "$demo/model" "$demo/search.tsv" --max-examples 400 --policy "$lua" --set "train=$demo/train.tsv" \
    --out "$out/q.json" --resume >"$out/q.out" 2>"$out/q.err" || { cat "$out/q.err"; fail "axf search --resume"; }
python3 - "$out/p.json" "$out/q.json" <<'PY' || fail "the resumed run differs from the uncut one"
import json, sys
a, b = (json.load(open(p))["history"] for p in sys.argv[1:])
assert len(a) == len(b) == 4
for x, y in zip(a, b):
    assert x["actions"] == y["actions"] and x["after"] == y["after"], (x, y)
assert a[2]["distil"]["sha256"] == b[2]["distil"]["sha256"]
PY
echo "session_distil: ok"
