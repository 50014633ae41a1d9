#!/usr/bin/env bash
# axf export-onnx / export --onnx without ONNX Runtime (so it runs in every configuration, the
# sanitizer build too): bad input exits 1 or 2 with one line; each plan kind writes a graph whose
# operators (counted by bench/onnx_ops.py, a plain protobuf walk) are the ones axf/onnx.h
# promises: TopK per top-k layer, Less per threshold layer, MatMulInteger per int8 product, one
# LayerNormalization per block kept plus the embeddings'.
# usage: cli.sh AXF FIXTURE_DIR PLANS_LUA ONNX_OPS_PY WORK
set -u
AXF=$1 FIX=$2 PLANS=$3 OPS=$4 WORK=$5
rm -rf "$WORK" && mkdir -p "$WORK"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {  # expect CODE DESCRIPTION CMD...: exit code CODE and at most one line on stderr
  local code=$1 what=$2; shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  [ "$rc" = "$code" ] || fail "$what: exit $rc, expected $code ($(head -c 300 "$WORK/err"))"
  [ "$code" = 0 ] || [ "$(wc -l <"$WORK/err")" -le 1 ] || fail "$what: more than one line on stderr"
}
expect 2 "no model" "$AXF" export-onnx
expect 1 "missing folder" "$AXF" export-onnx "$WORK/none"
expect 1 "output in a missing folder" "$AXF" export-onnx "$FIX/gelu" --out "$WORK/none/x.onnx"
expect 2 "opset too old" "$AXF" export-onnx "$FIX/gelu" --opset 16
expect 2 "unknown option" "$AXF" export-onnx "$FIX/gelu" --bogus

awk -F'\t' 'BEGIN { print "sentence1\tsentence2\tlabel" } $1 == "text" && $3 != "" { print $2 "\t" $3 "\t" NR % 2 }' \
  "$FIX/inputs.tsv" >"$WORK/pairs.tsv"
expect 0 "export-onnx" "$AXF" export-onnx "$FIX/gelu" --out "$WORK/model.onnx"
grep -q "readers:" "$WORK/out" || fail "export-onnx prints no readers line"

count() { python3 "$OPS" "$1" | awk -v op="$2" '$2 == op { n = $1 } END { print n + 0 }'; }
check() {  # check KIND OP COUNT...
  local kind=$1; shift
  expect 0 "search $kind" "$AXF" search "$FIX/gelu" "$WORK/pairs.tsv" --policy "$PLANS" --set "kind=$kind" \
    --out "$WORK/$kind.json"
  expect 0 "export $kind" "$AXF" export "$WORK/$kind.json" --onnx "$WORK/$kind.onnx"
  while [ $# -ge 2 ]; do
    local n; n=$(count "$WORK/$kind.onnx" "$1")
    [ "$n" = "$2" ] || fail "$kind: $n $1 nodes, expected $2"
    shift 2
  done
}
# 3 layers: embeddings + 2 per layer; a dropped layer takes 2 away, a dropped block keeps its LN
check dense LayerNormalization 7 TopK 0 MatMulInteger 0 Softmax 3
check layers LayerNormalization 5 Softmax 2
check blocks LayerNormalization 7 Softmax 2 Erf 2
check topk TopK 2 ScatterElements 2
check topk_renorm TopK 2 Where 2
check threshold Less 2 Where 2
check int8 MatMulInteger 18
check mixed MatMulInteger 6 TopK 1 Less 1 LayerNormalization 5

expect 0 "export --out" "$AXF" export "$WORK/int8.json" --out "$WORK/int8-dir"
grep -q "not read correctly by: Hugging Face" "$WORK/out" || fail "export of an int8 plan does not say Hugging Face cannot read it"
expect 0 "export --out" "$AXF" export "$WORK/dense.json" --out "$WORK/dense-dir"
grep -q "readers: .*Hugging Face from_pretrained" "$WORK/out" || fail "export of a dense plan does not name Hugging Face as a reader"
expect 0 "export --out of hard attention" "$AXF" export "$WORK/topk.json" --out "$WORK/topk-dir"
python3 - "$WORK/topk-dir/config.json" <<'PY' || fail "config.json does not document every axf_* field in axf_fields"
import json, sys
c = json.load(open(sys.argv[1]))
own = {k for k in c if k.startswith("axf_") and k != "axf_fields"}
sys.exit(not ("axf_hard_attention" in own and own == set(c.get("axf_fields", {}))))
PY
expect 1 "dense-compatible with hard attention" "$AXF" export "$WORK/topk.json" --out "$WORK/x" --dense-compatible
expect 2 "dense-compatible without --out" "$AXF" export "$WORK/dense.json" --onnx "$WORK/x.onnx" --dense-compatible
expect 2 "export needs an output" "$AXF" export "$WORK/dense.json"
expect 1 "export --onnx into a missing folder" "$AXF" export "$WORK/dense.json" --onnx "$WORK/none/x.onnx"

[ "$fails" = 0 ] && echo "ok" || { echo "$fails failure(s)"; exit 1; }
