#!/bin/sh
# A session with a distil step (issue 18) through the binary: test_session_distil makes it (and
# checks the library side), then `axf replay` reproduces it bit for bit; with the weights folder
# missing it re-makes them (same sha256); with the weights tampered it refuses in one line, exit 1;
# a session file whose distil record is damaged is refused naming the field; export of the step
# writes the student's weights.
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
echo "session_distil: ok"
