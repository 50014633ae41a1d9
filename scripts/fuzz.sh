#!/usr/bin/env bash
# Fuzzes every reader with libFuzzer (Debian's clang, with ASan+UBSan): safetensors, pytorch_model.bin,
# config.json, vocab.txt, task TSV, session JSON and Lua policy loading (tests/fuzz/fuzz_*.c).
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   build build-fuzz/ and run each target (or the
#          ones named) SECONDS (default 60)
#        scripts/fuzz.sh --seeds     rewrite the generated seeds in tests/fuzz/corpus/ (see below)
# Each target starts from its seed corpus tests/fuzz/corpus/<target>/ plus what earlier runs
# found (build-fuzz/corpus/<target>/); a crash, sanitizer report, leak, timeout (10 s) or memory
# blow-up (2 GB) is saved as build-fuzz/crashes/<target>-*. Add such an input, once fixed, to
# tests/fuzz/regress/<target>/: the ordinary test suite replays every committed input.
# Targets run side by side, one per core. Prints executions and crashes per target; exit 1 when any target found one.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --fuzz || exit 1
targets=(safetensors torchbin config vocab tsv session policy)
B=build-fuzz
CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DAXF_FUZZ=ON -DCMAKE_C_COMPILER=clang \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null || exit 1
if [ "${1:-}" = "--seeds" ]; then
  # Seeds made from the repository's own files and a few lines of each public data set (never a
  # whole data set); the fixture's files and sessions come from tests/fuzz/make_seeds.c.
  cmake --build "$B" -j2 --target fuzz_make_seeds >/dev/null || exit 1
  C=tests/fuzz/corpus
  D=${AXF_DATA_DIR:-../shared/data}
  for t in "${targets[@]}"; do mkdir -p "$C/$t"; done
  "$B/fuzz_make_seeds" "$C" || exit 1
  cp tests/golden/fixture/gelu/config.json "$C/config/golden_gelu.json"
  cp tests/golden/fixture/pruned/config.json "$C/config/golden_pruned.json"
  cp "$D/bert_base_uncased_vocab/bert_config.json" "$C/config/bert_base.json"
  cp tests/golden/fixture/gelu/vocab.txt "$C/vocab/golden.txt"
  { head -n 400 "$D/bert_base_uncased_vocab/vocab.txt"; sed -n '2000,2100p;29000,29100p' \
      "$D/bert_base_uncased_vocab/vocab.txt"; } > "$C/vocab/bert_excerpt.txt"
  # the safetensors header of a file written by Python's safetensors (golden fixture), data cut off
  python3 - "$C/safetensors" <<'PY'
import json, struct, sys
out = sys.argv[1]
raw = open("tests/golden/fixture/gelu/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
open(out + "/golden_header_only.safetensors", "wb").write(raw[:8 + n])
# small valid files in every dtype the reader knows, with metadata
def st(tensors, meta=None):
    hdr, data = {}, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, (dt, shape, blob) in tensors.items():
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    h = json.dumps(hdr).encode()
    return struct.pack("<Q", len(h)) + h + data
f16 = struct.pack("<4e", 1.0, -2.5, 65504.0, 6e-8)
bf16 = bytes([0x80, 0x3f, 0x00, 0xc0, 0x80, 0x7f, 0x01, 0x00])
open(out + "/dtypes.safetensors", "wb").write(st({
    "a.f16": ("F16", [2, 2], f16), "b.bf16": ("BF16", [4], bf16),
    "c.f64": ("F64", [1], struct.pack("<d", 3.25)), "d.i64": ("I64", [2], struct.pack("<2q", -1, 7)),
    "e.u8": ("U8", [3], b"\x01\x02\x03"), "f.bool": ("BOOL", [1], b"\x01"),
    "g.i32": ("I32", [1], struct.pack("<i", 5)), "h.i16": ("I16", [1], struct.pack("<h", -3)),
    "i.i8": ("I8", [1], b"\xff"), "j.empty": ("F32", [0, 3], b"")}, {"format": "pt"}))
open(out + "/scalar.safetensors", "wb").write(st({"s": ("F32", [], struct.pack("<f", 1.5))}))
PY
  # pytorch_model.bin files written by Debian's torch (python3-torch): what torch.save(state_dict)
  # writes in each dtype, shared storages, a module's state dict (OrderedDict with _metadata),
  # parameters, a scalar and an empty tensor; the legacy format and a hostile pickle (refused)
  /usr/bin/python3 - "$C/torchbin" <<'PY' || exit 1
import collections, io, os, pickle, sys, zipfile
import torch
out = sys.argv[1]
def save(name, obj, **kw):
    torch.save(obj, os.path.join(out, name + ".bin"), **kw)
g = torch.Generator().manual_seed(7)
r = lambda *s: torch.randn(*s, generator=g)
save("f32", {"bert.embeddings.word_embeddings.weight": r(5, 4), "classifier.bias": r(2)})
save("f16_bf16_f64", {"a": r(3, 2).half(), "b": r(4).bfloat16(), "c": r(2).double()})
save("ints", {"position_ids": torch.arange(6).reshape(1, 6), "i32": torch.arange(3, dtype=torch.int32),
              "i16": torch.arange(2, dtype=torch.int16), "i8": torch.tensor([-127, 3], dtype=torch.int8),
              "u8": torch.tensor([1, 255], dtype=torch.uint8), "b": torch.tensor([True, False])})
flat = r(12)
save("shared", collections.OrderedDict([("x", flat[0:6].view(2, 3)), ("y", flat[6:10]), ("z", flat[10:12])]))
save("module", torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2)).state_dict())
save("params", {"p": torch.nn.Parameter(r(2, 2)), "s": torch.tensor(1.5), "e": torch.zeros(0, 3)})
save("legacy", {"x": r(2)}, _use_new_zipfile_serialization=False)
class Evil:
    def __reduce__(self):
        return (os.system, ("true",))
buf = io.BytesIO()
torch.save({"x": r(2)}, buf)
zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
with zipfile.ZipFile(os.path.join(out, "hostile.bin"), "w", zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        b = zin.read(info)
        zout.writestr(info, pickle.dumps({"x": Evil()}, protocol=2) if info.filename.endswith("/data.pkl") else b)
PY
  # task files: a header and a few lines of each public set, with the tsv target's selector byte
  # (0 dev.tsv, 1 sst2_dev.tsv, 2 cola/train.tsv, 3 mrpc.tsv, 4 rte.tsv, 9 stsa.binary.dev,
  # 10 plain.txt; 12 + the same: forced task, see fuzz_tsv.c)
  sel() { printf "\\$(printf '%03o' "$1")"; }
  { sel 1; head -n 12 "$D/sst2_glue/dev.tsv"; } > "$C/tsv/sst2_dev.tsv"
  { sel 2; head -n 12 "$D/cola_nlpdatasets/dev.tsv"; } > "$C/tsv/cola_dev.tsv"
  { sel 3; head -n 8 "$D/mrpc_glue/dev.tsv"; } > "$C/tsv/mrpc_dev.tsv"
  { sel 3; head -n 8 "$D/mrpc_glue/test.tsv"; } > "$C/tsv/mrpc_test.tsv"
  { sel 4; head -n 6 "$D/rte_glue_hf/dev.tsv"; } > "$C/tsv/rte_dev.tsv"
  { sel 4; head -n 6 "$D/rte_glue_resplit/dev.tsv"; } > "$C/tsv/rte_resplit.tsv"
  { sel 9; head -n 12 "$D/sst2_stsa_binary/stsa.binary.dev"; } > "$C/tsv/stsa_dev.txt"
  { sel 10; head -n 12 "$D/rt_polarity/rt-polarity.neg"; } > "$C/tsv/rt_polarity_neg.txt"
  { sel 0; head -n 12 "$D/sst2_glue/alps_dev.tsv"; } > "$C/tsv/alps_dev.tsv"
  for f in tests/badinput/*.tsv; do { sel 0; cat "$f"; } > "$C/tsv/badinput_$(basename "$f")"; done
  # (no .lua ending: they are fuzz inputs, copies of the policies as data)
  for f in scripts/*.lua tests/lua/*.lua; do cp "$f" "$C/policy/$(basename "$f" .lua)"; done
  cp sessions/demo-axformer.json "$C/session/example_other_model.json"
  du -sh "$C"
  exit 0
fi
secs=${1:-60}
case "$secs" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS [TARGET...]] | --seeds" >&2; exit 2;; esac
if [ $# -gt 1 ]; then
  shift
  for t in "$@"; do
    case " ${targets[*]} " in *" $t "*) ;; *) echo "fuzz.sh: no target $t (${targets[*]})" >&2; exit 2;; esac
  done
  targets=("$@")
fi
cmake --build "$B" -j2 $(printf -- '--target fuzz_%s ' "${targets[@]}") >/dev/null || exit 1
mkdir -p "$B/crashes"
rm -f "$B"/crashes/*
# fuzz_one TARGET: one libFuzzer run; its exit status goes to $B/fuzz_TARGET.rc
fuzz_one() {
  local t=$1
  mkdir -p "$B/corpus/$t"
  # detect_leaks: a reader that leaks on some input is a finding too
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$B/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$B/crashes/$t-" "$B/corpus/$t" "tests/fuzz/corpus/$t" \
      $([ -d "tests/fuzz/regress/$t" ] && echo "tests/fuzz/regress/$t") \
      >"$B/fuzz_$t.log" 2>&1
  echo $? >"$B/fuzz_$t.rc"
}
# as many targets at once as there are cores (each libFuzzer run is one process, one thread)
jobs_max=$(nproc 2>/dev/null || echo 1)
for t in "${targets[@]}"; do
  rm -f "$B/fuzz_$t.rc"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  fuzz_one "$t" &
done
wait
summary=()
bad=0
for t in "${targets[@]}"; do
  log="$B/fuzz_$t.log"
  rc=$(cat "$B/fuzz_$t.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(find "$B/crashes" -name "$t-*" | wc -l)
  summary+=("$(printf '%-12s %12s executions  %d crash(es)  (%s s)' "$t" "${execs:-?}" "$found" "$secs")")
  if [ "$found" -gt 0 ] || [ "$rc" -ne 0 ]; then
    bad=1
    echo "fuzz_$t: exit $rc, see $log" >&2
    grep -m 3 -E 'ERROR|runtime error|SUMMARY' "$log" >&2
  fi
done
echo "== fuzz, $secs s per target ($(date -u +%Y-%m-%d), $(clang --version | head -n 1))"
printf '%s\n' "${summary[@]}"
exit $bad
