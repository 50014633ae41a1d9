"""ONNX export against ONNX Runtime: for each plan kind, a session on the golden fixture's model
(tests/onnx/plans.lua commits the plan), `axf export SESSION --out DIR --onnx DIR/model.onnx`, then
the exported graph on ONNX Runtime (PyPI onnxruntime, CPU) against `axf predict DIR` on the same
examples: every logit within LIMIT * max(1, |logit|) (the golden tests' float32 limit, README "Same
results on every machine"), one example at a time (batch 1) and in right-padded batches of 8 with
an attention mask. int8 kinds have their own bound (see below). Kind "model" exports the model
folder itself with `axf export-onnx` ("model-external" with --external-data); KIND@N exports with
--opset N (opset 18 moved ReduceMax's axes to an input).

Token ids are axf's own (tests/test_io_encode_tool.c: the ids `axf predict` feeds the engine).
tests/onnx/arch_check.py runs the same checks on DistilBERT and RoBERTa.

usage: .venv/bin/python ort_check.py AXF ENCODE_TOOL MODEL_DIR INPUTS_TSV POLICY WORK KIND...
(run through tests/venv_run.sh; exit 1 naming each kind and number out of bounds)
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import onnxruntime as ort

warnings.filterwarnings("ignore")
LIMIT = 1e-4
# int8 blocks: the graph runs the engine's int8 arithmetic (axf/onnx.h), so an example agrees
# within LIMIT unless a quantized input q = round(x * 127 / max|x|) flips by one step because float
# rounding earlier in the graph moved x across a .5 boundary (a few in 10^5 inputs). One flip moves
# one product's output by s_x * s_w * |q_w| <= max|x| * max|w| / 127, one quantization step of one
# input, while the int8 approximation itself rounds every input and weight by up to half a step.
# The bound asserted: at least INT8_EXACT_SHARE of the examples within LIMIT, and no logit further
# from axf's int8 logit than the largest change int8 makes to that model's logits (against its
# float32 twin, FLOAT_TWIN): ONNX Runtime's int8 result is never further from axf's than int8 is
# from float32. Measured: 0.11 (BERT fixture), 0.33 (DistilBERT), 0.38 (RoBERTa) of that change.
INT8_EXACT_SHARE = 0.75
INT8_SHARE = 1.0
FLOAT_TWIN = {"int8": "dense", "mixed": "mixed_f"}
MAX_LEN = 128
BATCH = 8
failures = []


def fail(msg):
    print("FAIL " + msg)
    failures.append(msg)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit("FAIL %s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


def predict(axf, model_dir, data, max_len=MAX_LEN):
    rows = [line.split("\t") for line in run([axf, "predict", model_dir, data, "--max-len", str(max_len)]).splitlines()]
    return np.array([[float(x) for x in r[2:]] for r in rows], dtype=np.float64)


def encode(tool, model_dir, data, max_len=MAX_LEN):
    """axf's ids and token types of every example of data, as dicts of lists."""
    out = []
    for line in run([tool, model_dir, data, str(max_len)]).splitlines():
        ids, types = line.split("\t")
        ids = [int(x) for x in ids.split()]
        out.append({"input_ids": ids, "token_type_ids": [int(x) for x in types.split()] if types else [0] * len(ids),
                    "attention_mask": [1] * len(ids)})
    return out


def ort_logits(onnx_path, enc, batch):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    out = []
    for s in range(0, len(enc), batch):
        chunk = enc[s:s + batch]
        T = max(len(e["input_ids"]) for e in chunk)
        feed = {}
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if key not in names:
                continue
            a = np.zeros((len(chunk), T), dtype=np.int64)
            for i, e in enumerate(chunk):
                a[i, :len(e["input_ids"])] = e[key]
            feed[key] = a
        out.append(sess.run(["logits"], feed)[0])
    return np.concatenate(out).astype(np.float64)


def compare(kind, what, got, want, twin=None):
    if got.shape != want.shape:
        fail("%s %s: ONNX Runtime gives shape %s, axf predict %s" % (kind, what, got.shape, want.shape))
        return
    rel = np.abs(got - want) / np.maximum(1.0, np.abs(want))
    worst = float(rel.max())
    i = np.unravel_index(int(rel.argmax()), rel.shape)
    where = "example %d logit %d: ONNX Runtime %.9g, axf predict %.9g" % (i[0], i[1], got[i], want[i])
    if twin is None:
        print("%-12s %-10s max |dlogit| / max(1, |logit|) = %.3g (limit %.0e, %d examples, |logit| up to %.2f)"
              % (kind, what, worst, LIMIT, want.shape[0], float(np.abs(want).max())))
        if not worst <= LIMIT:
            fail("%s %s: %s" % (kind, what, where))
        return
    exact = float((rel.max(axis=1) <= LIMIT).mean())
    effect = float(np.abs(want - twin).max())
    absd = float(np.abs(got - want).max())
    print("%-12s %-10s %d of %d examples within %.0e; max |dlogit| %.3g = %.2f x the int8 effect %.3g (limits %.2f, %.2f)"
          % (kind, what, int(round(exact * want.shape[0])), want.shape[0], LIMIT, absd, absd / effect, effect,
             INT8_EXACT_SHARE, INT8_SHARE))
    if not exact >= INT8_EXACT_SHARE:
        fail("%s %s: only %.0f%% of the examples within %.0e" % (kind, what, 100 * exact, LIMIT))
    if not absd <= INT8_SHARE * effect:
        fail("%s %s: %s, more than %.2f x the int8 effect %.3g" % (kind, what, where, INT8_SHARE, effect))


def write_pairs(path, pairs):
    """A labelled pair file the search and predict both read (labels alternate: the plans are fixed)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("sentence1\tsentence2\tlabel\n")
        for i, (a, b) in enumerate(pairs):
            f.write("%s\t%s\t%d\n" % (a, b, i % 2))
    return path


def fixture_pairs(inputs):
    pairs = []
    with open(inputs, encoding="utf-8") as f:
        for line in f:
            mode, a, b = line.rstrip("\n").split("\t")[:3]
            if mode == "text" and b:
                pairs.append((a, b))
    return pairs


def check_kinds(axf, tool, model_dir, data, policy, work, kinds, max_len=MAX_LEN, tag=""):
    """Exports every kind of plan to ONNX and compares ONNX Runtime with axf predict."""
    os.makedirs(work, exist_ok=True)
    done = {}
    todo = list(kinds)
    for k in kinds:
        base = k.partition("@")[0]
        if base in FLOAT_TWIN and FLOAT_TWIN[base] not in todo:
            todo.insert(todo.index(k), FLOAT_TWIN[base])
    for kind in todo:
        base, _, opset = kind.partition("@")
        d = os.path.join(work, kind)
        onnx_path = os.path.join(d, "model.onnx")
        if kind.startswith("model"):
            d = model_dir
            onnx_path = os.path.join(work, kind + ".onnx")
            run([axf, "export-onnx", model_dir, "--out", onnx_path] + (["--external-data"] if kind == "model-external" else []))
        else:
            sess = os.path.join(work, kind + ".json")
            run([axf, "search", model_dir, data, "--policy", policy, "--set", "kind=" + base, "--out", sess])
            run([axf, "export", sess, "--out", d, "--onnx", onnx_path] + (["--opset", opset] if opset else []))
        want = predict(axf, d, data, max_len)
        done[kind] = want
        enc = encode(tool, d, data, max_len)
        twin = done[FLOAT_TWIN[base]] if base in FLOAT_TWIN else None
        compare(tag + kind, "batch 1", ort_logits(onnx_path, enc, 1), want, twin)
        compare(tag + kind, "padded %d" % BATCH, ort_logits(onnx_path, enc, BATCH), want, twin)
    return len(todo)


def main():
    axf, tool, model_dir, inputs, policy, work = sys.argv[1:7]
    os.makedirs(work, exist_ok=True)
    data = write_pairs(os.path.join(work, "pairs.tsv"), fixture_pairs(inputs))
    n = check_kinds(axf, tool, model_dir, data, policy, work, sys.argv[7:])
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok: %d kinds" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
