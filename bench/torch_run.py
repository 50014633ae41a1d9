"""PyTorch peer: times the model of MODEL_DIR (read back from its model.safetensors, so it is the
very file `axf` loads) on one input case of bench/prepare.py, batch by batch, each batch
right-padded to its longest sequence.

Variants:
  eager   the plain module under torch.inference_mode ("untuned")
  jit     torch.jit.trace + torch.jit.freeze + torch.jit.optimize_for_inference
  bt      "BetterTransformer": the encoder rebuilt from torch.nn.TransformerEncoderLayer (same
          weights), whose inference fast path runs fused kernels and, given a padding mask,
          nested tensors that skip the padding
  dq      dynamic int8 quantization: torch.ao.quantization.quantize_dynamic on every nn.Linear
          (qint8 weights per tensor, activations quantized per batch at run time), run eagerly:
          PyTorch's own int8 baseline, on the first quantized engine this torch has of fbgemm, x86,
          onednn, qnnpack (Debian's torch 1.13 has no fbgemm: onednn; reported as "qengine")
  tuned   tries jit and bt on the first batches and times the faster (its name is reported;
          bench/run.sh instead times both fully and reports the faster, which is robust to a
          busy machine during the short probe)

Set OMP_WAIT_POLICY=PASSIVE (and OPENBLAS_NUM_THREADS) in the environment before starting: torch's
OpenMP pool and OpenBLAS's pthread pool otherwise spin against each other on 2 cores.
Prints one JSON object on stdout: {"peer","variant","threads","times","logits"}. With --serve
(bench/driver.py) it prints {"ready":...} once built, then answers stdin lines: "run" -> {"t": s, "cpu": CPU s of the process},
"logits" -> {"logits": [...]}, "case FILE.json" -> {"ok": true} (switches the input case; a jit
model keeps its trace, which has symbolic shapes), "quit" or EOF -> exits.

usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_run.py MODEL_DIR CASE.json THREADS RUNS
       [--warmup N] [--variant eager|jit|bt|dq|tuned] [--serve]
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_ref  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8: 8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data, dtype="<f4", count=(e - b) // 4,
                                                   offset=base + b).reshape(t["shape"]).copy())
    return out


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    m = bert_ref.BertClassifier(c).eval()
    m.load_state_dict(load_safetensors(os.path.join(model_dir, "model.safetensors")), strict=True)
    return m


def padded(batch):
    s = max(len(x) for x in batch)
    ids = torch.zeros(len(batch), s, dtype=torch.long)
    mask = torch.zeros(len(batch), s, dtype=torch.long)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, torch.zeros_like(ids), mask


class BetterBert(nn.Module):
    """The same network with the encoder as torch.nn.TransformerEncoder (post-LN, exact GELU)."""

    def __init__(self, m):
        super().__init__()
        c = m.config
        self.m = m
        layer = nn.TransformerEncoderLayer(c["hidden_size"], c["num_attention_heads"], c["intermediate_size"],
                                           dropout=0.0, activation="gelu", layer_norm_eps=c["layer_norm_eps"],
                                           batch_first=True, norm_first=False)
        self.enc = nn.TransformerEncoder(layer, c["num_hidden_layers"], enable_nested_tensor=True)
        with torch.no_grad():
            for src, dst in zip(m.bert.encoder.layer, self.enc.layers):
                a = src.attention.self
                dst.self_attn.in_proj_weight.copy_(torch.cat([a.query.weight, a.key.weight, a.value.weight]))
                dst.self_attn.in_proj_bias.copy_(torch.cat([a.query.bias, a.key.bias, a.value.bias]))
                dst.self_attn.out_proj.weight.copy_(src.attention.output.dense.weight)
                dst.self_attn.out_proj.bias.copy_(src.attention.output.dense.bias)
                dst.norm1.load_state_dict(src.attention.output.LayerNorm.state_dict())
                dst.linear1.load_state_dict(src.intermediate.dense.state_dict())
                dst.linear2.load_state_dict(src.output.dense.state_dict())
                dst.norm2.load_state_dict(src.output.LayerNorm.state_dict())
        self.eval()

    def forward(self, ids, types, mask):
        h = self.m.bert.embeddings(ids, types)
        h = self.enc(h, src_key_padding_mask=mask == 0)
        if h.is_nested:
            h = h.to_padded_tensor(0.0)
        return self.m.classifier(self.m.bert.pooler(h))


def build(variant, m, feeds):
    if variant == "eager":
        return m
    if variant == "bt":
        return BetterBert(m)
    if variant == "dq":
        # fbgemm when this torch has it (Debian's 1.13 does not); else oneDNN (x86, VNNI), else qnnpack
        have = torch.backends.quantized.supported_engines
        torch.backends.quantized.engine = next(e for e in ("fbgemm", "x86", "onednn", "qnnpack") if e in have)
        return torch.ao.quantization.quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8)
    if variant == "jit":
        tm = torch.jit.trace(m, feeds[0])
        tm = torch.jit.optimize_for_inference(torch.jit.freeze(tm.eval()))
        return tm
    raise ValueError(variant)


def run_all(f, feeds, keep=None):
    t0 = time.perf_counter()
    for x in feeds:
        y = f(*x)
        if keep is not None:
            keep.extend(y.tolist())
    return time.perf_counter() - t0


def read_case(path):
    with open(path) as fh:
        return [padded(b) for b in json.load(fh)["batches"]]


def serve(f, feeds, hello):
    def out(o):
        sys.stdout.write(json.dumps(o) + "\n")
        sys.stdout.flush()
    out(hello)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            c0 = time.process_time()
            t = run_all(f, feeds)
            out({"t": t, "cpu": time.process_time() - c0})
        elif cmd == "logits":
            logits = []
            run_all(f, feeds, logits)
            out({"logits": logits})
        elif cmd.startswith("case "):
            feeds = read_case(cmd[5:])
            out({"ok": True})
        elif cmd == "quit":
            break
        else:
            out({"error": "unknown command " + cmd})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("case")
    ap.add_argument("threads", type=int)
    ap.add_argument("runs", type=int)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--variant", default="eager", choices=["eager", "jit", "bt", "dq", "tuned"])
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    feeds = read_case(a.case)
    m = load_model(a.model_dir)
    with torch.inference_mode():
        variant = a.variant
        tried = {}
        if variant == "tuned":
            # Choose on a slice of the case (all of it when it is one batch): build + 1 warm-up + 2 timed.
            probe = feeds[: max(1, min(len(feeds), 4))]
            best = None
            for v in ("jit", "bt"):
                f = build(v, m, feeds)
                run_all(f, probe)
                t = min(run_all(f, probe) for _ in range(2))
                tried[v] = t
                if best is None or t < best[1]:
                    best = (v, t, f)
            variant, f = best[0], best[2]
        else:
            f = build(variant, m, feeds)
        logits = []
        if a.serve:
            serve(f, feeds, {"ready": True, "peer": "torch", "variant": variant, "probe": tried,
                             "qengine": torch.backends.quantized.engine if variant == "dq" else None,
                             "version": torch.__version__})
            return
        for i in range(max(1, a.warmup)):
            run_all(f, feeds, logits if i == 0 else None)
        times = [run_all(f, feeds) for _ in range(a.runs)]
    padded_tok = sum(x[0].numel() for x in feeds)
    json.dump({"peer": "torch", "variant": variant, "probe": tried, "threads": a.threads, "version": torch.__version__,
               "times": times, "padded_tokens": padded_tok, "logits": logits}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
