#!/usr/bin/env bash
# `axf demo` from nothing: a progress screen while the demo model trains into an empty cache,
# then the workbench; the second start uses the cache and opens at once.
# usage: demo_fresh.sh AXF ...
set -u
AXF=$1
. "$(dirname "$0")/lib.sh"
TUI_CACHE=$TUI_TMP/cache

tui_start 100 30 xterm-256color "$AXF" demo
tui_wait "preparing the demo model" 60
tui_wait "training" 60
tui_wait "%" 60
tui_wait "The original model" 900
tui_keys q
tui_wait "AXF-EXIT-0" 30
ls "$TUI_CACHE"/axformer/demo-*/complete >/dev/null || tui_fail "no complete demo cache"
start=$(date +%s)
tui_start 100 30 xterm-256color "$AXF" demo
tui_wait "The original model" 60
took=$(( $(date +%s) - start ))
[ "$took" -le 20 ] || tui_fail "the second start took ${took}s (cache not used?)"
tui_keys q
tui_wait "AXF-EXIT-0" 30
echo "ok (second start ${took}s)"
