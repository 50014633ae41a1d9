"""Plain-torch BERT classifier with Hugging Face tensor names, a safetensors writer, a BERT
(uncased) tokenizer and the FLOP count, shared by the bench scripts.

Why our own: a small module the peers (PyTorch, ONNX Runtime export) and `axf` all run from the
very same weights, with Debian's torch alone. That it is Hugging Face's BertForSequenceClassification
is checked in tests/golden (hf_golden.py loads such folders with `transformers` from_pretrained).
Run with /usr/bin/python3 (Debian's torch).
"""
import json
import math
import os
import struct
import unicodedata

import numpy as np
import torch
from torch import nn


# ---------------------------------------------------------------- model (HF BertForSequenceClassification names)

class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1], dtype=torch.long, device=ids.device).unsqueeze(0)
        e = self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(pos)
        return self.dropout(self.LayerNorm(e))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.hs = h // self.nh
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.nh, self.hs).permute(0, 2, 1, 3)

    def forward(self, x, ext_mask):
        # Same op order as Hugging Face's BertSelfAttention, so ONNX Runtime's attention fusion
        # recognises the exported graph (the peer gets its best kernels).
        q = self.split(self.query(x))
        k = self.split(self.key(x))
        v = self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hs)
        scores = scores + ext_mask
        p = self.dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], self.nh * self.hs)


class DenseLN(nn.Module):
    def __init__(self, n_in, n_out, eps, p_drop):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        self.LayerNorm = nn.LayerNorm(n_out, eps=eps)
        self.dropout = nn.Dropout(p_drop)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseLN(c["hidden_size"], c["hidden_size"], c["layer_norm_eps"], c["hidden_dropout_prob"])

    def forward(self, x, ext_mask):
        return self.output(self.self(x, ext_mask), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))  # erf form, config hidden_act "gelu"


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseLN(c["intermediate_size"], c["hidden_size"], c["layer_norm_eps"], c["hidden_dropout_prob"])

    def forward(self, x, ext_mask):
        a = self.attention(x, ext_mask)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, ext_mask):
        for l in self.layer:
            x = l(x, ext_mask)
        return x


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)


class BertClassifier(nn.Module):
    """forward(input_ids, token_type_ids, attention_mask) -> logits [B, C]; inputs int64 [B, S],
    mask 1 = real token, 0 = padding (right-padded)."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.bert = Bert(c)
        self.classifier = nn.Linear(c["hidden_size"], c["num_labels"])

    def forward(self, input_ids, token_type_ids, attention_mask):
        ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        h = self.bert.embeddings(input_ids, token_type_ids)
        h = self.bert.encoder(h, ext)
        return self.classifier(self.bert.pooler(h))


class MLMHead(nn.Module):
    """cls.predictions: transform (dense, GELU, LayerNorm), decoder tied to the word embeddings."""

    def __init__(self, c, word_embeddings):
        super().__init__()
        self.transform = DenseLN(c["hidden_size"], c["hidden_size"], c["layer_norm_eps"], 0.0)
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))
        self.word_embeddings = [word_embeddings]  # a list: tied, not a second registered parameter

    def forward(self, h):
        t = self.transform.LayerNorm(nn.functional.gelu(self.transform.dense(h)))
        return t @ self.word_embeddings[0].weight.t() + self.bias


class BertMLM(nn.Module):
    """Masked-LM pre-training model (BertForMaskedLM names, cls.predictions.*).
    forward(ids, types, mask, pos) -> prediction scores [M, V] for the flat positions pos of the
    padded [B, S] batch only (the decoder is not run on unmasked tokens)."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.bert = Bert(c)  # the pooler and classifier are unused but saved: axf's loader wants them
        self.classifier = nn.Linear(c["hidden_size"], c["num_labels"])
        self.cls = nn.Module()
        self.cls.predictions = MLMHead(c, self.bert.embeddings.word_embeddings)

    def forward(self, input_ids, token_type_ids, attention_mask, flat_pos):
        ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        h = self.bert.encoder(self.bert.embeddings(input_ids, token_type_ids), ext)
        return self.cls.predictions(h.reshape(-1, h.shape[-1])[flat_pos])


def make_config(vocab_size, hidden, layers, heads, ffn, max_pos=512, num_labels=2):
    return {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": max_pos,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "num_labels": num_labels,
        "id2label": {str(i): "LABEL_%d" % i for i in range(num_labels)},
        "label2id": {"LABEL_%d" % i: i for i in range(num_labels)},
        "problem_type": "single_label_classification",
    }


def init_random(model, seed):
    """BERT's initialisation, except biases and LayerNorm parameters get small random values too,
    so that a mix-up of any tensor (bias, gain) shows up in the logits check."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.05 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias") or "LayerNorm" in name:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))


# ---------------------------------------------------------------- safetensors

def save_safetensors(path, tensors, metadata=None):
    """tensors: {name: float32 numpy array}. Layout per FORMATS.md: u64 LE header size, JSON header
    (padded with spaces to a multiple of 8), then the raw little-endian data."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, off = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def save_model_dir(model, out_dir, vocab_path):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(model.config, f, indent=2)
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    save_safetensors(os.path.join(out_dir, "model.safetensors"), sd, {"format": "pt"})
    with open(vocab_path, "rb") as src, open(os.path.join(out_dir, "vocab.txt"), "wb") as dst:
        dst.write(src.read())
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 512}, f)


# ---------------------------------------------------------------- tokenizer (FORMATS.md, uncased)

def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class Tokenizer:
    def __init__(self, vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = {}
            for i, line in enumerate(f):
                self.vocab.setdefault(line.rstrip("\n"), i)
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    def _basic(self, text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD:
                continue
            if ch in "\t\r\n" or unicodedata.category(ch) == "Zs":
                out.append(" ")
            elif unicodedata.category(ch).startswith("C"):
                continue
            elif _is_cjk(cp):
                out.append(" %s " % ch)
            else:
                out.append(ch)
        words = []
        for w in "".join(out).split():
            w = unicodedata.normalize("NFD", w.lower())
            w = "".join(c for c in w if unicodedata.category(c) != "Mn")
            cur = ""
            for c in w:
                if _is_punct(c):
                    if cur:
                        words.append(cur)
                        cur = ""
                    words.append(c)
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def _wordpiece(self, w):
        if len(w) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(w):
            end, found = len(w), None
            while start < end:
                piece = w[start:end] if start == 0 else "##" + w[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text, max_len=128):
        ids = []
        for w in self._basic(text):
            ids.extend(self._wordpiece(w))
        ids = ids[: max_len - 2]
        return [self.cls] + ids + [self.sep]


# ---------------------------------------------------------------- FLOPs

def flops_per_token(c, n):
    """Encoder FLOPs per token of a length-n sequence (multiply-add = 2): the six linear products
    plus QK^T and PV. Pooler/classifier (per sequence) excluded; the same count as
    axf_model_flops_per_token's documentation."""
    h, f, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    return L * (2.0 * (4 * h * h + 2 * h * f) + 4.0 * n * h)


def useful_flops(c, lengths):
    return sum(n * flops_per_token(c, n) for n in lengths)
