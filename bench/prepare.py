"""Writes everything the peers and `axf` share, under OUT (default bench/out):

  models/<name>/{config.json, model.safetensors, vocab.txt, tokenizer_config.json, model.onnx}
  inputs/<case>.json   token ids per batch for the peers: {"model", "batches": [[[ids...], ...], ...],
                       "lengths": [...]} (right padding is added by each runner per batch)
  inputs/<case>.tsv    the same examples as text (`sentence<TAB>label`) for `axf predict/eval`

Cases: base_b1 (BERT-base, 1 x 128), base_b8 (8 x 128), small_b8 (4 x 256 model, 8 x 128),
sst2_base (SST-2 dev sentences in file order - the first --sst2-n of them, all 872 with 0 -
in batches of 32, as a user would feed them; the peers pad each batch, `axf` packs).
Synthetic 128-token examples are built from whole-word vocabulary entries (lower-case a-z, no ##),
so BERT's tokenizer maps each word back to exactly one id and `axf` sees the same ids as the peers.

The agreement reference is the PyTorch eager run itself (bench/torch_run.py on the saved files).

usage: /usr/bin/python3 bench/prepare.py [--out DIR] [--data DIR] [--sst2-n N]
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


def write_case(out, case, model_name, batches, texts, labels=None):
    lengths = [len(s) for b in batches for s in b]
    with open(os.path.join(out, "inputs", case + ".json"), "w") as f:
        json.dump({"model": model_name, "batches": batches, "lengths": lengths}, f)
    with open(os.path.join(out, "inputs", case + ".tsv"), "w", encoding="utf-8") as f:
        f.write("sentence\tlabel\n")
        for i, t in enumerate(texts):
            f.write("%s\t%s\n" % (t, labels[i] if labels else "0"))


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
    ap.add_argument("--sst2-n", type=int, default=0, help="first N dev sentences only (0 = all)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    vocab_path = os.path.join(a.data, "bert_base_uncased_vocab", "vocab.txt")
    tok = bert_ref.Tokenizer(vocab_path)
    for d in ("models", "inputs"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)

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

    sst, sst_labels = [], []
    with open(os.path.join(a.data, "sst2_glue", "dev.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            line = line.rstrip("\n")
            if line:
                sentence, label = line.split("\t")
                sst.append(sentence)
                sst_labels.append(label)
    if a.sst2_n:
        sst, sst_labels = sst[: a.sst2_n], sst_labels[: a.sst2_n]
    enc = [tok.encode(s) for s in sst]
    batches = [enc[i: i + 32] for i in range(0, len(enc), 32)]
    write_case(a.out, "sst2_base", "base", batches, sst, sst_labels)
    cases.append(("sst2_base", "base", batches))

    for case, model_name, batches in cases:
        print("prepare: case %s (%s): %d examples, %d tokens" % (case, model_name, sum(len(b) for b in batches),
                                                               sum(len(s) for b in batches for s in b)), file=sys.stderr)


if __name__ == "__main__":
    main()
