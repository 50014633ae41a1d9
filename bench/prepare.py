"""Writes everything the peers and `axf` share, under OUT (default bench/out):

  models/<name>/{config.json, model.safetensors, vocab.txt, tokenizer_config.json, model.onnx}
  inputs/<case>.json   token ids per batch for the peers: {"model", "batches": [[[ids...], ...], ...],
                       "lengths": [...]} (right padding is added by each runner per batch)
  inputs/<case>.tsv    the same examples as text (`sentence<TAB>label`) for `axf predict/eval`
  expected/<case>.json PyTorch eager logits of every example (the agreement reference)

Cases: base_b1 (BERT-base, 1 x 128), base_b8 (8 x 128), small_b8 (4 x 256 model, 8 x 128),
sst2_base (the 872 SST-2 dev sentences in file order, batches of 32).
Synthetic 128-token examples are built from whole-word vocabulary entries (lower-case a-z, no ##),
so BERT's tokenizer maps each word back to exactly one id and `axf` sees the same ids as the peers.

usage: /usr/bin/python3 bench/prepare.py [--out DIR] [--data DIR] [--sst2-limit N]
"""
import argparse
import json
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_ref  # noqa: E402

MODELS = {
    # name: (hidden, layers, heads, ffn)
    "base": (768, 12, 12, 3072),
    "small": (256, 4, 4, 1024),
}
SEED = 20240601


def write_case(out, case, model_name, batches, texts):
    lengths = [len(s) for b in batches for s in b]
    with open(os.path.join(out, "inputs", case + ".json"), "w") as f:
        json.dump({"model": model_name, "batches": batches, "lengths": lengths}, f)
    with open(os.path.join(out, "inputs", case + ".tsv"), "w", encoding="utf-8") as f:
        f.write("sentence\tlabel\n")
        for t in texts:
            f.write(t + "\t0\n")


def pad_batch(batch):
    s = max(len(x) for x in batch)
    ids = torch.zeros(len(batch), s, dtype=torch.long)
    mask = torch.zeros(len(batch), s, dtype=torch.long)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, torch.zeros_like(ids), mask


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "out"))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    ap.add_argument("--sst2-limit", type=int, default=0, help="first N dev sentences only (--quick)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    vocab_path = os.path.join(a.data, "bert_base_uncased_vocab", "vocab.txt")
    tok = bert_ref.Tokenizer(vocab_path)
    for d in ("models", "inputs", "expected"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)

    models = {}
    for name, (h, L, nh, f) in MODELS.items():
        c = bert_ref.make_config(len(tok.vocab), h, L, nh, f)
        m = bert_ref.BertClassifier(c).eval()
        bert_ref.init_random(m, SEED + h)
        d = os.path.join(a.out, "models", name)
        t0 = time.time()
        bert_ref.save_model_dir(m, d, vocab_path)
        ids, types, mask = pad_batch([[101, 2000, 2001, 102], [101, 2003, 102]])
        torch.onnx.export(
            m, (ids, types, mask), os.path.join(d, "model.onnx"),
            input_names=["input_ids", "token_type_ids", "attention_mask"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "token_type_ids": {0: "batch", 1: "seq"},
                          "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch"}},
            opset_version=14, do_constant_folding=True)
        print("prepare: model %s (%d x %d, %d heads, FFN %d) written + exported in %.1f s"
              % (name, L, h, nh, f, time.time() - t0), file=sys.stderr)
        models[name] = m

    # Whole-word vocabulary entries: each tokenizes to itself.
    words = [w for w, i in tok.vocab.items() if w.isascii() and w.isalpha() and w.islower()
             and tok.encode(w)[1:-1] == [i]]
    rng = random.Random(SEED)
    cases = []
    for case, model_name, b in (("base_b1", "base", 1), ("base_b8", "base", 8), ("small_b8", "small", 8)):
        texts = [" ".join(rng.choice(words) for _ in range(126)) for _ in range(b)]
        enc = [tok.encode(t) for t in texts]
        assert all(len(e) == 128 for e in enc), "synthetic sentence is not 128 tokens"
        write_case(a.out, case, model_name, [enc], texts)
        cases.append((case, model_name, [enc]))

    sst = []
    with open(os.path.join(a.data, "sst2_glue", "dev.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            line = line.rstrip("\n")
            if line:
                sst.append(line.split("\t")[0])
    if a.sst2_limit:
        sst = sst[: a.sst2_limit]
    enc = [tok.encode(s) for s in sst]
    batches = [enc[i: i + 32] for i in range(0, len(enc), 32)]
    write_case(a.out, "sst2_base", "base", batches, sst)
    cases.append(("sst2_base", "base", batches))

    with torch.inference_mode():
        for case, model_name, batches in cases:
            logits = []
            for b in batches:
                logits.extend(models[model_name](*pad_batch(b)).tolist())
            with open(os.path.join(a.out, "expected", case + ".json"), "w") as f:
                json.dump({"logits": logits}, f)
            n = sum(len(s) for b in batches for s in b)
            print("prepare: case %s: %d examples, %d tokens" % (case, len(logits), n), file=sys.stderr)


if __name__ == "__main__":
    main()
