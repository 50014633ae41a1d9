#!/usr/bin/python3
"""Writes the golden fixture of the engine test: small random BERT classifiers in plain torch
modules (the Hugging Face BertForSequenceClassification structure and tensor names, no
`transformers`), inputs, the token ids a BERT uncased tokenizer gives for them, and the logits.

Run with Debian's /usr/bin/python3 (torch + numpy only):
    /usr/bin/python3 tests/golden/gen_golden.py OUT_DIR [DATA_DIR]
(the committed copy is tests/golden/fixture; DATA_DIR, default ../shared/data beside the source
tree, provides bert_base_uncased_vocab/vocab.txt, from which the small vocabulary is taken)

OUT_DIR/
  models.txt          one model folder name a line
  inputs.tsv          one input a line, 5 tab-separated fields:
                        mode   "text": tokenize a (and b) with max_len 128 and compare the ids;
                               "ids": run the given ids as they are (lengths the tokenizer cannot
                               produce: 1 token, max_position_embeddings tokens)
                        a, b   texts (b empty for a single sentence; no tabs or newlines inside)
                        ids    token ids, space-separated ([CLS] a [SEP] (b [SEP]))
                        types  token type ids, space-separated
  <model>/            config.json, model.safetensors, vocab.txt, tokenizer_config.json
  <model>/logits.tsv  one line per input: the logits, tab-separated, printed with 17 digits

Models: "gelu" (3 layers, erf GELU, 2 labels) and "pruned" (2 layers, gelu_new, 3 labels, heads
physically removed and listed in config.json "pruned_heads"). Hidden 64, 4 heads, FFN 128, 160
positions. Weights are drawn larger than BERT's 0.02 so that attention is peaked and logits are
of order 1. Logits are computed in float64 from the float32 weights (the exact answer for the
stored model); the float32 forward of the same modules is printed to show torch's own error.
tests/golden/hf_golden.py loads the written folders with Hugging Face `transformers` itself and
checks these ids and logits against its tokenizers and from_pretrained model."""
import json
import math
import os
import random
import struct
import sys
import unicodedata

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DEFAULT = os.path.join(HERE, "..", "..", "..", "shared", "data")
H, NH, F, P, TV = 64, 4, 128, 160, 2
MAX_LEN = 128

# ---------------------------------------------------------------- vocabulary

WORDS = """the a an of to and in is it that was for on are with as his they be at one have this from
or had by not word but what some we can out other were all there when up use your how said each
she which do their time if will way about many then them write would like so these her long make
thing see him two has look more day could go come did number sound no most people my over know
water than call first who may down side been now find any new work part take get place made live
where after back little only round man year came show every good me give our under name very
through just form great think say help low line differ turn cause much mean before move right boy
old too same tell does set three want air well also play small end put home read hand port large
spell add even land here must big high such follow act why ask men change went light kind off need
house picture try us again animal point mother world near build self earth father film movie story
actor plot funny boring great bad best worst love hate slow fast dark bright cafe music""".split()
SUFFIXES = ["##s", "##ing", "##ed", "##ly", "##er", "##est", "##ness", "##able", "##ful", "##less",
            "##y", "##ment", "##ish", "##al"]
STEMS = ["play", "walk", "talk", "kind", "dark", "bright", "help", "hope", "care", "use", "move",
         "slow", "fast", "read", "build", "think", "sound", "turn", "point", "love"]
CJK = ["中", "国", "人", "大", "日", "本", "学"]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["“", "”", "—", "…", "¿"]
DIGITS = list("0123456789") + ["##0", "##1", "##2", "##5", "##9", "19", "20", "##00"]
LETTERS = list("abcdefghijklm") + ["##a", "##b", "##c", "##d", "##e"]


def build_vocab(data_dir):
    src = os.path.join(data_dir, "bert_base_uncased_vocab", "vocab.txt")
    real = set(open(src, encoding="utf-8").read().split("\n"))
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for t in PUNCT + DIGITS + LETTERS + WORDS + STEMS + SUFFIXES + CJK:
        if t in real and t not in toks:
            toks.append(t)
    return toks

# ---------------------------------------------------------------- tokenizer (BERT uncased)


def is_ws(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_ctrl(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def is_punct(c):
    o = ord(c)
    return 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126 or \
        unicodedata.category(c).startswith("P")


def is_cjk(o):
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF or
            0x2A700 <= o <= 0x2B73F or 0x2B740 <= o <= 0x2B81F or 0x2B820 <= o <= 0x2CEAF or
            0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F)


def basic_tokenize(text):
    out = []
    for c in text:
        o = ord(c)
        if o == 0 or o == 0xFFFD or is_ctrl(c):
            continue
        if is_ws(c):
            out.append(" ")
        elif is_cjk(o):
            out.append(" " + c + " ")
        else:
            out.append(c)
    words = []
    for w in "".join(out).split(" "):
        if not w:
            continue
        w = unicodedata.normalize("NFD", w.lower())
        w = "".join(c for c in w if unicodedata.category(c) != "Mn")
        cur = ""
        for c in w:
            if is_punct(c):
                if cur:
                    words.append(cur)
                words.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def wordpiece(words, vocab):
    ids = []
    for w in words:
        if len(w) > 100:
            ids.append(vocab["[UNK]"])
            continue
        pieces, start, bad = [], 0, False
        while start < len(w):
            end, cur = len(w), None
            while start < end:
                s = w[start:end] if start == 0 else "##" + w[start:end]
                if s in vocab:
                    cur = s
                    break
                end -= 1
            if cur is None:
                bad = True
                break
            pieces.append(vocab[cur])
            start = end
        ids.extend([vocab["[UNK]"]] if bad else pieces)
    return ids


def encode(a, b, vocab):
    x = wordpiece(basic_tokenize(a), vocab)
    y = wordpiece(basic_tokenize(b), vocab) if b is not None else None
    room = MAX_LEN - (3 if y is not None else 2)
    if y is None:
        x = x[:room]
    else:
        while len(x) + len(y) > room:
            if len(x) > len(y):
                x.pop()
            else:
                y.pop()
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    ids = [cls] + x + [sep]
    types = [0] * len(ids)
    if y is not None:
        ids += y + [sep]
        types += [1] * (len(y) + 1)
    return ids, types

# ---------------------------------------------------------------- inputs


def make_inputs(rng, vocab_list):
    words = [w for w in WORDS if w in vocab_list]

    def word():
        r = rng.random()
        if r < 0.55:
            w = rng.choice(words)
        elif r < 0.70:
            w = rng.choice(STEMS) + rng.choice(["s", "ing", "ed", "ly", "er", "ness", "able", "ful"])
        elif r < 0.76:
            w = "".join(rng.choice("qxzvjwk") for _ in range(rng.randint(3, 9)))   # unknown
        elif r < 0.82:
            w = rng.choice(PUNCT[:32] + ["“", "”", "—", "…"])
        elif r < 0.86:
            w = str(rng.randint(0, 3000))
        elif r < 0.89:
            w = "".join(rng.choice(CJK) for _ in range(rng.randint(1, 3)))
        elif r < 0.92:
            w = rng.choice(["Café", "CAFÉ", "naïve", "Über", "mañana", "résumé"])
        elif r < 0.95:
            w = rng.choice(words) + rng.choice([",", ".", "!", "?", "'s", ")"])
        else:
            w = "a" * rng.choice([99, 100, 101, 130])    # the 100-character limit of WordPiece
        if rng.random() < 0.15:
            w = w.capitalize() if rng.random() < 0.7 else w.upper()
        return w

    def sentence(n):
        seps = [" ", " ", " ", " ", "  ", "\u00a0", " \u200b", "\x07 "]
        s = ""
        for i in range(n):
            s += (rng.choice(seps) if i else "") + word()
        return s

    inputs = [("text", "", None), ("text", "hello", None), ("text", "The film.", "It was great!")]
    for i in range(58):
        n = rng.choice([1, 2, 3, 5, 8, 12, 20, 30, 45, 60])
        if rng.random() < 0.5:
            inputs.append(("text", sentence(n), None))
        else:
            inputs.append(("text", sentence(max(1, n // 2)), sentence(rng.choice([1, 3, 10, 25, 50]))))
    # truncation: single and pair longer than 128 tokens
    inputs.append(("text", sentence(150), None))
    inputs.append(("text", sentence(100), sentence(90)))
    inputs.append(("text", sentence(20), sentence(140)))
    return inputs

# ---------------------------------------------------------------- model


class SelfAttention(nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(H, heads * (H // NH))
        self.key = nn.Linear(H, heads * (H // NH))
        self.value = nn.Linear(H, heads * (H // NH))

    def forward(self, x):
        n, hs = x.shape[0], H // NH
        q = self.query(x).view(n, self.heads, hs).transpose(0, 1)
        k = self.key(x).view(n, self.heads, hs).transpose(0, 1)
        v = self.value(x).view(n, self.heads, hs).transpose(0, 1)
        p = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hs), dim=-1)
        return (p @ v).transpose(0, 1).reshape(n, self.heads * hs)


class AttentionOutput(nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.dense = nn.Linear(heads * (H // NH), H)
        self.LayerNorm = nn.LayerNorm(H, eps=1e-12)


class Attention(nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.self = SelfAttention(heads)
        self.output = AttentionOutput(heads)

    def forward(self, x):
        return self.output.LayerNorm(self.output.dense(self.self(x)) + x)


class Intermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(H, F)


class Output(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(F, H)
        self.LayerNorm = nn.LayerNorm(H, eps=1e-12)


def act_fn(name):
    if name == "gelu":
        return lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "gelu_new":
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    raise ValueError(name)


class Layer(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.attention = Attention(NH)
        self.intermediate = Intermediate()
        self.output = Output()
        self.act = act_fn(act)

    def forward(self, x):
        h = self.attention(x)
        return self.output.LayerNorm(self.output.dense(self.act(self.intermediate.dense(h))) + h)


class Embeddings(nn.Module):
    def __init__(self, V):
        super().__init__()
        self.word_embeddings = nn.Embedding(V, H)
        self.position_embeddings = nn.Embedding(P, H)
        self.token_type_embeddings = nn.Embedding(TV, H)
        self.LayerNorm = nn.LayerNorm(H, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(P).view(1, -1))

    def forward(self, ids, types):
        pos = self.position_ids[0, : ids.shape[0]]
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos) +
                              self.token_type_embeddings(types))


class Encoder(nn.Module):
    def __init__(self, L, act):
        super().__init__()
        self.layer = nn.ModuleList([Layer(act) for _ in range(L)])


class Pooler(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(H, H)


class Bert(nn.Module):
    def __init__(self, V, L, act):
        super().__init__()
        self.embeddings = Embeddings(V)
        self.encoder = Encoder(L, act)
        self.pooler = Pooler()


class BertForSequenceClassification(nn.Module):
    def __init__(self, V, L, act, labels):
        super().__init__()
        self.bert = Bert(V, L, act)
        self.classifier = nn.Linear(H, labels)

    def forward(self, ids, types):
        x = self.bert.embeddings(ids, types)
        for layer in self.bert.encoder.layer:
            x = layer(x)
        pooled = torch.tanh(self.bert.pooler.dense(x[0]))
        return self.classifier(pooled)


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias") or "LayerNorm" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif "query" in name or "key" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif "embeddings" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif "classifier" in name or "pooler" in name:
                p.copy_(0.4 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=gen))


def prune(layer, heads):
    """Removes heads physically, as Hugging Face's prune_heads does (remaining heads keep order)."""
    hs = H // NH
    keep = [h for h in range(layer.attention.self.heads) if h not in heads]
    rows = torch.tensor([h * hs + j for h in keep for j in range(hs)])
    sa, out = layer.attention.self, layer.attention.output
    with torch.no_grad():
        for lin in (sa.query, sa.key, sa.value):
            w, b = lin.weight[rows].clone(), lin.bias[rows].clone()
            lin.weight = nn.Parameter(w)
            lin.bias = nn.Parameter(b)
            lin.out_features = len(rows)
        out.dense.weight = nn.Parameter(out.dense.weight[:, rows].clone())
        out.dense.in_features = len(rows)
    sa.heads = len(keep)

# ---------------------------------------------------------------- writers


def write_safetensors(path, tensors):
    """safetensors by hand: u64 header size, JSON header, raw little-endian data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().numpy()
        dt = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        raw = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_model(out, name, model, vocab_list, act, labels, pruned, inputs):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    L = len(model.bert.encoder.layer)
    cfg = {
        "architectures": ["BertForSequenceClassification"], "model_type": "bert",
        "vocab_size": len(vocab_list), "hidden_size": H, "num_hidden_layers": L,
        "num_attention_heads": NH, "intermediate_size": F, "hidden_act": act,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": P, "type_vocab_size": TV, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
        "id2label": {str(i): "L%d" % i for i in range(labels)},
        "label2id": {"L%d" % i: i for i in range(labels)},
        "problem_type": "single_label_classification", "pruned_heads": pruned,
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": MAX_LEN}, f)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab_list) + "\n")
    write_safetensors(os.path.join(d, "model.safetensors"), dict(model.state_dict()))
    worst32 = 0.0
    with open(os.path.join(d, "logits.tsv"), "w") as f:
        md = model.double()
        for mode, a, b, ids, types in inputs:
            x, t = torch.tensor(ids), torch.tensor(types)
            with torch.no_grad():
                lg = md(x, t)
            f.write("\t".join(repr(float(v)) for v in lg) + "\n")
            with torch.no_grad():
                lg32 = model.float()(x, t).double()
                model.double()
            worst32 = max(worst32, float((lg32 - lg).abs().max()))
        model.float()
    print("%s: %d layers, %s, %d labels, pruned %s; torch float32 vs float64 max |dlogit| %.3g" %
          (name, L, act, labels, pruned, worst32))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: gen_golden.py OUT_DIR [DATA_DIR]")
    out = sys.argv[1]
    data_dir = sys.argv[2] if len(sys.argv) == 3 else DATA_DEFAULT
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    rng = random.Random(1234)
    vocab_list = build_vocab(data_dir)
    vocab = {t: i for i, t in enumerate(vocab_list)}
    inputs = []
    for mode, a, b in make_inputs(rng, vocab_list):
        ids, types = encode(a, b, vocab)
        inputs.append((mode, a, b, ids, types))
    # lengths the tokenizer never produces: a lone token, the whole position table
    inputs.append(("ids", "", None, [vocab["[CLS]"]], [0]))
    long_ids = [vocab["[CLS]"]] + [rng.randrange(5, len(vocab_list)) for _ in range(P - 1)]
    inputs.append(("ids", "", None, long_ids, [0] * 70 + [1] * (P - 70)))
    inputs.append(("ids", "", None, [vocab["[CLS]"], vocab["[MASK]"], vocab["[PAD]"], vocab["[UNK]"]], [0, 0, 1, 1]))
    with open(os.path.join(out, "inputs.tsv"), "w", encoding="utf-8") as f:
        for mode, a, b, ids, types in inputs:
            for s in (a, b or ""):
                assert "\t" not in s and "\n" not in s and "\r" not in s
            f.write("%s\t%s\t%s\t%s\t%s\n" % (mode, a, b or "", " ".join(map(str, ids)), " ".join(map(str, types))))
    gen = torch.Generator().manual_seed(42)
    m1 = BertForSequenceClassification(len(vocab_list), 3, "gelu", 2)
    randomize(m1, gen)
    m2 = BertForSequenceClassification(len(vocab_list), 2, "gelu_new", 3)
    randomize(m2, gen)
    pruned = {"0": [1], "1": [0, 3]}
    for li, heads in pruned.items():
        prune(m2.bert.encoder.layer[int(li)], heads)
    m1.eval()
    m2.eval()
    write_model(out, "gelu", m1, vocab_list, "gelu", 2, {}, inputs)
    write_model(out, "pruned", m2, vocab_list, "gelu_new", 3, pruned, inputs)
    with open(os.path.join(out, "models.txt"), "w") as f:
        f.write("gelu\npruned\n")
    lens = [len(x[3]) for x in inputs]
    print("%d inputs, %d to %d tokens, vocabulary of %d" % (len(inputs), min(lens), max(lens), len(vocab_list)))


if __name__ == "__main__":
    main()
