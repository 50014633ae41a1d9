#!/usr/bin/env bash
# `axf search --resume` (first 500 examples of the demo split): a run cut after a step (its file as it was saved then: the first k steps
# and the trials made before step k's commit) and resumed ends with the session of the run that was
# never cut, byte for byte once times are dropped; also with an undo in the policy and notes made of
# per-sample outputs. A resume with other --set values is refused in one line; --resume without
# the file is an ordinary run.
# usage: session_resume.sh AXF DEMO_DIR SCRIPTS_DIR
set -u
AXF=$1 D=$2 SCRIPTS=$3
HERE=$(dirname "$0")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SAME="python3 $HERE/mpi/same_output.py"
fail() { echo "FAIL: $*"; exit 1; }
cut() {   # SRC K DST: the file the run had written right after step K
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
src, k, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = json.load(open(src))
assert d["cursor"] == len(d["history"]) and k <= len(d["history"])
d["history"] = d["history"][:k]
d["cursor"] = k
d["trials"] = [t for t in d["trials"] if t["cursor"] < k]
json.dump(d, open(dst, "w"), indent=1)
PY
}
check() {  # NAME POLICY_ARGS...
  local name=$1; shift
  "$AXF" search "$D/model" "$D/search.tsv" "$@" --max-examples 500 --threads 1 --quiet --out "$T/$name.json" >"$T/$name.out" 2>&1 \
    || { cat "$T/$name.out"; fail "$name: reference run"; }
  local n
  n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['history']))" "$T/$name.json")
  for k in 0 1 $((n / 2)) $((n - 1)) "$n"; do
    [ "$k" -le "$n" ] || continue
    cut "$T/$name.json" "$k" "$T/cut.json"
    "$AXF" search "$D/model" "$D/search.tsv" "$@" --max-examples 500 --threads 1 --quiet --out "$T/cut.json" --resume >"$T/cut.out" 2>&1 \
      || { cat "$T/cut.out"; fail "$name: resume after step $k"; }
    grep -q "resuming .*: $k steps* and" "$T/cut.out" || { cat "$T/cut.out"; fail "$name: no resume after step $k"; }
    $SAME session "$T/$name.json" "$T/cut.json" || fail "$name: cut after step $k of $n and resumed: another session"
  done
  echo "$name: cut after steps 0, 1, $((n / 2)), $((n - 1)), $n of $n and resumed: the same session"
}
check axformer --policy "$SCRIPTS/axformer.lua" --set rule=tolerance --set eps=0.05 --set near_miss=100 \
  --set groups=12
check undo --policy "$HERE/resume/undo.lua"

# a resume that re-lives the whole record of a policy reading no per-sample outputs evaluates
# the baseline only
"$AXF" search "$D/model" "$D/search.tsv" --policy "$SCRIPTS/axformer.lua" --set rule=loss --max-examples 500 \
  --threads 1 --quiet --out "$T/loss.json" >/dev/null 2>&1 || fail "rule=loss run"
"$AXF" search "$D/model" "$D/search.tsv" --policy "$SCRIPTS/axformer.lua" --set rule=loss --max-examples 500 \
  --threads 1 --quiet --out "$T/loss.json" --resume >"$T/loss.out" 2>&1 || fail "rule=loss resume"
ran=$(sed -nE 's/^evals +([0-9]+) evaluations \(([0-9]+) answered.*/\1 - \2/p' "$T/loss.out")
[ -n "$ran" ] && [ $((ran)) -eq 1 ] || { grep evals "$T/loss.out"; fail "the resume evaluated more than the baseline"; }

# other parameters: refused in one line naming the file; the file is left as it was
cp "$T/axformer.json" "$T/other.json"
"$AXF" search "$D/model" "$D/search.tsv" --policy "$SCRIPTS/axformer.lua" --set rule=loss --out "$T/other.json" --resume \
  >"$T/other.out" 2>"$T/other.err" && fail "a resume with other parameters ran"
grep -q "other.json: --resume: the run was made with parameters" "$T/other.err" || { cat "$T/other.err"; fail "no reason given"; }
cmp -s "$T/axformer.json" "$T/other.json" || fail "a refused resume changed the file"

# --resume without the file: an ordinary run
"$AXF" search "$D/model" "$D/search.tsv" --policy "$HERE/resume/undo.lua" --max-examples 500 --threads 1 --quiet \
  --out "$T/fresh.json" --resume \
  >"$T/fresh.out" 2>&1 || { cat "$T/fresh.out"; fail "--resume without a file"; }
$SAME session "$T/undo.json" "$T/fresh.json" || fail "--resume without a file is not an ordinary run"
echo ok
