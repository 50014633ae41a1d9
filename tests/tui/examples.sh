#!/usr/bin/env bash
# The example sessions of sessions/: each replays bit for bit on the demo model rebuilt here from
# its seed (`axf replay`: every step re-evaluated and compared), and opens in the screen, where
# its history can be walked back to the original model and forward again.
# usage: examples.sh AXF DEMO_DIR SESSIONS_DIR
#   The demo model is the same bits on every x86-64 CPU, kernel choice, OpenBLAS core type, thread
#   count and build type (README "Same results on every machine"), so a different sha256 is a
#   failure everywhere, the sanitizer build included.
set -u
AXF=$1 DEMO=$2 SESSIONS=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
sha_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"]["sha256"])' "$1"; }
steps_of() { python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["history"]))' "$1"; }

ls "$SESSIONS"/demo-*.json >/dev/null 2>&1 || fail "no example session in $SESSIONS"
have=$(sha256sum "$DEMO/model/model.safetensors" | cut -d' ' -f1)
for f in "$SESSIONS"/demo-*.json; do
    want=$(sha_of "$f")
    if [ "$have" != "$want" ]; then
        fail "$f was made on a demo model with sha256 $want; this build trains $have (see sessions/README.md)"
    fi
    out=$("$AXF" replay "$f" --model "$DEMO/model" --data "$DEMO/search.tsv" 2>&1) || { echo "$out" >&2; fail "replay of $f"; }
    echo "$out" | tail -2
done

# the screen: open the first example, walk to the original model and back
. "$(dirname "$0")/lib.sh"
f=$(ls "$SESSIONS"/demo-*.json | tail -1)
n=$(steps_of "$f")
tui_start 100 30 xterm-256color "$AXF" tui --session "$f" "$DEMO/model" "$DEMO/search.tsv" --holdout "$DEMO/heldout.tsv"
tui_wait "step $n/$n" 120
tui_keys '{'
tui_wait "step 0/$n"
tui_keys '}'
tui_wait "step $n/$n"
if [ "$n" -gt 0 ]; then
    tui_keys '['
    tui_wait "step $((n - 1))/$n"
    tui_keys ']'
    tui_wait "step $n/$n"
fi
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo ok
