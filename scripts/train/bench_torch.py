#!/usr/bin/python3
"""PyTorch side of the training-speed comparison (tests/bench_train.c is the C side).

The same masked-LM training step as `axf pretrain` on the same model (post-LN BERT encoder,
GELU, dropout 0.1, MLM head with the decoder tied to the word embeddings, AdamW), on padded,
length-bucketed batches (how a PyTorch recipe batches), with sentence lengths drawn like the
C bench. Prints real (unpadded) tokens per second. Run with Debian's /usr/bin/python3 (torch).

usage: bench_torch.py [threads] [layers hidden heads ffn vocab] [batch] [steps] [--all-positions]
  --all-positions: the decoder runs on every position (Hugging Face BertForMaskedLM does),
                   instead of on the predicted ones only
"""
import math
import sys
import time

import torch
import torch.nn as nn

args = [a for a in sys.argv[1:] if not a.startswith("--")]
ALL = "--all-positions" in sys.argv
threads = int(args[0]) if len(args) > 0 else 2
L, H, NH, F, V = (int(x) for x in args[1:6]) if len(args) >= 6 else (4, 256, 4, 1024, 8202)
B = int(args[6]) if len(args) > 6 else 64
steps = int(args[7]) if len(args) > 7 else 30
torch.set_num_threads(threads)
torch.manual_seed(1)


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.word = nn.Embedding(V, H)
        self.pos = nn.Embedding(512, H)
        self.typ = nn.Embedding(2, H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(H, NH, F, 0.1, activation="gelu", batch_first=True,
                                           layer_norm_eps=1e-12, norm_first=False)
        self.enc = nn.TransformerEncoder(layer, L, enable_nested_tensor=False)
        self.t_dense = nn.Linear(H, H)
        self.t_ln = nn.LayerNorm(H, eps=1e-12)
        self.bias = nn.Parameter(torch.zeros(V))

    def forward(self, ids, pad_mask, sel):
        n = ids.shape[1]
        pos = torch.arange(n).unsqueeze(0)
        h = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids))))
        h = self.enc(h, src_key_padding_mask=pad_mask)
        if not ALL:
            h = h[sel]
        z = self.t_ln(nn.functional.gelu(self.t_dense(h)))
        return z @ self.word.weight.t() + self.bias


g = torch.Generator().manual_seed(2)
model = Bert()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)


POOL = []


def batch():
    # length-bucketed as a PyTorch recipe would: 50 batches' worth of sentences sorted by length,
    # cut into consecutive batches (little padding), each padded to its longest
    global POOL
    if not POOL:
        lens = []
        for _ in range(50 * B):
            u = torch.rand(1, generator=g).item() * 0.995
            lens.append(min(66, 3 + int(12.0 * -math.log(1.0 - u))))
        lens.sort()
        POOL = [lens[i:i + B] for i in range(0, len(lens), B)]
        order = torch.randperm(len(POOL), generator=g).tolist()
        POOL = [POOL[i] for i in order]
    lens = POOL.pop()
    n = max(lens)
    ids = torch.randint(5, V, (B, n), generator=g)
    pad = torch.zeros(B, n, dtype=torch.bool)
    for i, l in enumerate(lens):
        pad[i, l:] = True
    sel = (torch.rand(B, n, generator=g) < 0.15) & ~pad
    return ids, pad, sel, sum(lens)


tok, wall = 0, 0.0
for s in range(steps + 3):
    ids, pad, sel, real = batch()
    t0 = time.perf_counter()
    opt.zero_grad()
    out = model(ids, pad, sel)
    tgt = ids[sel] if not ALL else ids.masked_fill(~sel, -100).view(-1)
    loss = nn.functional.cross_entropy(out.view(-1, V) if ALL else out, tgt, ignore_index=-100)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if s >= 3:
        wall += time.perf_counter() - t0
        tok += real
print(f"pytorch {torch.__version__}: {L} layers x {H}, {NH} heads, FFN {F}, vocab {V}; {B} sentences a batch, "
      f"{threads} threads, decoder on {'all positions' if ALL else 'predicted tokens'}: "
      f"{tok / wall:.0f} tokens/s")
