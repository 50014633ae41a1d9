"""Times ONNX graphs on ONNX Runtime (PyPI onnxruntime, CPU execution provider, graph optimisation
"all", inter-op 1, sequential) on the same examples: each graph in its own session, the passes
interleaved (round r runs every graph once, the order rotating each round) so that load from other
jobs hits all alike; one warm-up pass each, then the median of RUNS passes. A pass is the whole
data file in batches of BATCH, each right-padded to its longest example (as ONNX Runtime users
feed it). Token ids are axf's (tests/test_io_encode_tool). Prints one JSON line per graph:
{"onnx", "wall_s", "cpu_s" (process CPU time of the pass: what other jobs do not change at one
thread), "tokens", "max_abs_dlogit_vs_first"}.

usage: .venv/bin/python bench/onnx_speed.py ENCODE_TOOL MODEL_DIR DATA THREADS RUNS BATCH ONNX...
"""
import json
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    tool, model_dir, data, threads, runs, batch = sys.argv[1:7]
    graphs = sys.argv[7:]
    threads, runs, batch = int(threads), int(runs), int(batch)
    enc = []
    for line in subprocess.run([tool, model_dir, data, "128"], check=True, stdout=subprocess.PIPE,
                               text=True).stdout.splitlines():
        ids, types = line.split("\t")
        enc.append(([int(x) for x in ids.split()], [int(x) for x in types.split()]))
    feeds = []
    for s in range(0, len(enc), batch):
        chunk = enc[s:s + batch]
        T = max(len(i) for i, _ in chunk)
        f = {k: np.zeros((len(chunk), T), dtype=np.int64) for k in ("input_ids", "token_type_ids", "attention_mask")}
        for r, (i, t) in enumerate(chunk):
            f["input_ids"][r, :len(i)] = i
            f["token_type_ids"][r, :len(t)] = t
            f["attention_mask"][r, :len(i)] = 1
        feeds.append(f)
    sessions = []
    for g in graphs:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sessions.append(ort.InferenceSession(g, sess_options=so, providers=["CPUExecutionProvider"]))

    def one(sess, keep=False):
        out = []
        c0, t0 = time.process_time(), time.perf_counter()
        for f in feeds:
            (lg,) = sess.run(["logits"], f)
            if keep:
                out.append(lg)
        return time.perf_counter() - t0, time.process_time() - c0, out

    logits = [np.concatenate(one(s, True)[2]) for s in sessions]  # warm-up pass
    wall = [[] for _ in sessions]
    cpu = [[] for _ in sessions]
    for r in range(runs):
        for j in range(len(sessions)):
            k = (j + r) % len(sessions)
            t, c, _ = one(sessions[k])
            wall[k].append(t)
            cpu[k].append(c)
    tokens = sum(len(i) for i, _ in enc)
    for k, g in enumerate(graphs):
        print(json.dumps({"onnx": g, "wall_s": statistics.median(wall[k]), "cpu_s": statistics.median(cpu[k]),
                          "tokens": tokens, "examples": len(enc), "ort": ort.__version__,
                          "max_abs_dlogit_vs_first": float(np.abs(logits[k] - logits[0]).max())}))


if __name__ == "__main__":
    main()
