"""ONNX Runtime peer (PyPI `onnxruntime`, CPU): times one exported model on one input case
(bench/prepare.py's inputs/*.json), batch by batch, each batch right-padded to its longest
sequence, as a user of ONNX Runtime would. Prints one JSON object on stdout:
{"peer","version","threads","times":[s per run],"padded_tokens","logits":[[...]...]}.

With --serve (bench/driver.py, which interleaves the peers' runs so that a busy shared machine
slows them alike) it prints {"ready":...} once loaded, then answers each stdin line:
"run" -> {"t": seconds of one pass, "cpu": CPU seconds of the process during it},
"logits" -> {"logits": [[...]...]}, "case FILE.json" -> {"ok": true} (switches the input case,
same session), "quit" or EOF -> exits.

Session options: intra-op threads = THREADS, inter-op 1, sequential execution, graph
optimisation level "all" (ORT_ENABLE_ALL), CPU execution provider only.

usage: .venv/bin/python bench/ort_run.py MODEL.onnx CASE.json THREADS RUNS [WARMUP]
           [--dump-optimized FILE]
       .venv/bin/python bench/ort_run.py MODEL.onnx CASE.json THREADS --serve
(the project's environment, scripts/venv.sh, has the pinned onnxruntime)
"""
import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def padded(batch):
    s = max(len(x) for x in batch)
    ids = np.zeros((len(batch), s), dtype=np.int64)
    mask = np.zeros((len(batch), s), dtype=np.int64)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
    return {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": mask}


def load_case(path):
    with open(path, encoding="utf-8") as f:
        cs = json.load(f)
    return cs, [padded(b) for b in cs["batches"]]  # built once: input preparation is not timed


def session(model, threads, dump):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if dump:
        so.optimized_model_filepath = dump
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


def once(sess, feeds, keep):
    """One pass over the case: (wall seconds, process CPU seconds, logits rows if keep)."""
    rows = []
    names = [i.name for i in sess.get_inputs()]  # DistilBERT's and RoBERTa's exports take no token types
    feeds = [{k: f[k] for k in names} for f in feeds]
    c0, t0 = time.process_time(), time.perf_counter()
    for f in feeds:
        (lg,) = sess.run(["logits"], f)
        if keep:
            rows.extend(lg.astype(float).tolist())
    return time.perf_counter() - t0, time.process_time() - c0, rows


def serve(sess, feeds):
    def out(o):
        sys.stdout.write(json.dumps(o) + "\n")
        sys.stdout.flush()

    out({"ready": True, "peer": "ort", "version": ort.__version__})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            t, cpu, _ = once(sess, feeds, False)
            out({"t": t, "cpu": cpu})
        elif cmd.startswith("case "):
            _, feeds = load_case(cmd[5:])
            out({"ok": True})
        elif cmd == "logits":
            out({"logits": once(sess, feeds, True)[2]})
        elif cmd == "quit":
            break
        else:
            out({"error": "unknown command " + cmd})


def main():
    ap = argparse.ArgumentParser(description="ONNX Runtime peer of bench/driver.py")
    ap.add_argument("model")
    ap.add_argument("case")
    ap.add_argument("threads", type=int)
    ap.add_argument("runs", type=int, nargs="?", default=0)
    ap.add_argument("warmup", type=int, nargs="?", default=1)
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--dump-optimized", default="")
    a = ap.parse_args()
    sess = session(a.model, a.threads, a.dump_optimized)
    cs, feeds = load_case(a.case)
    if a.serve:
        return serve(sess, feeds)
    logits = once(sess, feeds, True)[2]  # the first warm-up pass keeps the logits
    for _ in range(a.warmup - 1):
        once(sess, feeds, False)
    times = [once(sess, feeds, False)[0] for _ in range(a.runs)]
    pad_tok = sum(len(b) * max(len(x) for x in b) for b in cs["batches"])
    print(json.dumps({"peer": "ort", "version": ort.__version__, "threads": a.threads, "times": times,
                      "padded_tokens": pad_tok, "logits": logits}))


if __name__ == "__main__":
    main()
