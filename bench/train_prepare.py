"""Inputs of the training benchmark (issue 3, item 6): masked-LM steps of the small model (4 layers x
256, 4 heads, FFN 1024, BERT's vocabulary cut to 8,202 pieces) on the pre-training corpus of the
SST-2 recipe (SST-2 GLUE train phrases + rt-polarity sentences), identical for PyTorch and axf.

Writes under OUT/train:
  model/{config.json, model.safetensors (with pooler, classifier and cls.predictions.*), vocab.txt}
  batches.json  {"batches": [{"ids": [[corrupted ids of each sequence]], "pos": [[masked positions
                within the sequence]], "orig": [[original ids at those positions]]}, ...]}
The masking (15% of non-special tokens: 80% [MASK], 10% random, 10% kept) and the length-bucketed
batch order (seeded shuffle, sort inside windows of 50 batches, batches of 32, shuffled order) are
drawn once here, so both sides run the very same steps; PyTorch pads each batch, axf packs it.
The vocabulary cut keeps every piece the sampled text uses, so the ids are those either
tokenizer would give.

usage: /usr/bin/python3 bench/train_prepare.py [--out DIR] [--data DIR] [--n-seq N]
"""
import argparse
import collections
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_ref  # noqa: E402

SEED = 4350
VOCAB = 8202
BATCH = 32


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "out"))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    ap.add_argument("--n-seq", type=int, default=1280, help="sequences timed per pass (multiple of 32)")
    a = ap.parse_args()
    rng = random.Random(SEED)
    texts = []
    for name in ("alps_train.tsv", "alps_dev.tsv"):  # together: the GLUE SST-2 train set
        with open(os.path.join(a.data, "sst2_glue", name), encoding="utf-8") as f:
            next(f)
            texts += [line.split("\t")[0] for line in f if line.strip()]
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        with open(os.path.join(a.data, "rt_polarity", name), encoding="latin-1") as f:
            texts += [line.strip() for line in f if line.strip()]
    n_corpus = len(texts)
    texts = rng.sample(texts, a.n_seq)
    bert_vocab = os.path.join(a.data, "bert_base_uncased_vocab", "vocab.txt")
    tok = bert_ref.Tokenizer(bert_vocab)
    enc = [tok.encode(t) for t in texts]
    with open(bert_vocab, encoding="utf-8") as f:
        words = [line.rstrip("\n") for line in f]
    # Cut vocabulary: specials, the pieces used (by frequency), then BERT's order up to VOCAB.
    special = [tok.vocab[s] for s in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")]
    freq = collections.Counter(i for e in enc for i in e)
    keep = special + [i for i, _ in freq.most_common() if i not in special]
    have = set(keep)
    keep += [i for i in range(len(words)) if i not in have][: VOCAB - len(keep)]
    remap = {old: new for new, old in enumerate(keep)}
    enc = [[remap[i] for i in e] for e in enc]
    pad, cls, sep, mask = 0, 2, 3, 4

    od = os.path.join(a.out, "train", "model")
    os.makedirs(od, exist_ok=True)
    with open(os.path.join(od, "vocab.txt"), "w", encoding="utf-8") as f:
        for i in keep:
            f.write(words[i] + "\n")
    c = bert_ref.make_config(VOCAB, 256, 4, 4, 1024)
    torch.manual_seed(SEED)
    m = bert_ref.BertMLM(c)
    bert_ref.init_random(m, SEED)
    with open(os.path.join(od, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    sd = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    bert_ref.save_safetensors(os.path.join(od, "model.safetensors"), sd, {"format": "pt"})

    # Length-bucketed batches.
    order = list(range(len(enc)))
    rng.shuffle(order)
    win = 50 * BATCH
    batches = []
    for w in range(0, len(order), win):
        chunk = sorted(order[w: w + win], key=lambda i: len(enc[i]))
        batches += [chunk[i: i + BATCH] for i in range(0, len(chunk), BATCH)]
    rng.shuffle(batches)
    out = []
    n_tok = n_mask = 0
    for b in batches:
        ids, pos, orig = [], [], []
        for i in b:
            e = list(enc[i])
            p, o = [], []
            for j in range(1, len(e) - 1):
                if rng.random() < 0.15:
                    p.append(j)
                    o.append(e[j])
                    r = rng.random()
                    if r < 0.8:
                        e[j] = mask
                    elif r < 0.9:
                        e[j] = rng.randrange(5, VOCAB)
            ids.append(e)
            pos.append(p)
            orig.append(o)
            n_tok += len(e)
            n_mask += len(p)
        if n_mask == 0:  # a batch with nothing to predict has no loss: move on
            continue
        out.append({"ids": ids, "pos": pos, "orig": orig})
    with open(os.path.join(a.out, "train", "batches.json"), "w") as f:
        json.dump({"batches": out, "tokens": n_tok, "masked": n_mask, "corpus": n_corpus,
                   "padded_tokens": sum(len(b["ids"]) * max(map(len, b["ids"])) for b in out)}, f)
    print("train_prepare: %d sequences sampled from %d, %d batches, %d tokens (%.1f a sequence), %d masked"
          % (len(enc), n_corpus, len(out), n_tok, n_tok / len(enc), n_mask), file=sys.stderr)
    assert pad == special.index(tok.vocab["[PAD]"]) and cls == 2 and sep == 3


if __name__ == "__main__":
    main()
