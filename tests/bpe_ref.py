"""A byte-level BPE tokenizer and trainer in plain Python (standard library only), written from the
format's definition for the tests: the reference that src/io/bpe.c is compared with.

Pre-tokenizer: at each position the first of these that matches, scanning characters:
contractions 's 't 're 've 'm 'll 'd; an optional ASCII space then a run of letters (category L*);
likewise numbers (N*); likewise a run of characters that are neither white space (str.isspace)
nor letters nor numbers; a run of white space that stops before the last white-space character
when a non-space follows; a run of white space.
"""
import json
import unicodedata


def byte_alphabet():
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTES = byte_alphabet()


def kind(ch):
    if ch.isspace():
        return "s"
    cat = unicodedata.category(ch)
    if cat[0] == "L":
        return "L"
    if cat[0] == "N":
        return "N"
    return "o"


def pieces(text):
    out, i, n = [], 0, len(text)
    while i < n:
        rest = text[i:]
        hit = None
        for c in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
            if rest.startswith(c):
                hit = len(c)
                break
        if hit is None:
            for want in ("L", "N", "o"):
                j = i + 1 if text[i] == " " and i + 1 < n and kind(text[i + 1]) == want else i
                if kind(text[j]) == want:
                    while j < n and kind(text[j]) == want:
                        j += 1
                    hit = j - i
                    break
        if hit is None:
            r = i
            while r < n and kind(text[r]) == "s":
                r += 1
            hit = r - 1 - i if (r < n and r - i >= 2) else r - i
        out.append(text[i:i + hit])
        i += hit
    return out


def symbols(piece):
    return [BYTES[b] for b in piece.encode("utf-8")]


class Tokenizer:
    def __init__(self, vocab_path, merges_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = json.load(f)
        self.rank = {}
        with open(merges_path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for line in lines:
            if not line or line.startswith("#version"):
                continue
            a, b = line.split(" ")
            self.rank.setdefault((a, b), len(self.rank))

    def merge(self, syms):
        while len(syms) > 1:
            pairs = [(self.rank.get((syms[k], syms[k + 1]), None), k) for k in range(len(syms) - 1)]
            pairs = [p for p in pairs if p[0] is not None]
            if not pairs:
                break
            r = min(pairs)[0]
            a, b = [p for p in self.rank.items() if p[1] == r][0][0]
            merged, k = [], 0
            while k < len(syms):
                if k + 1 < len(syms) and syms[k] == a and syms[k + 1] == b:
                    merged.append(a + b)
                    k += 2
                else:
                    merged.append(syms[k])
                    k += 1
            syms = merged
        return syms

    def ids(self, text, prefix_space=False):
        if prefix_space and text and not text.startswith(" "):
            text = " " + text
        out = []
        for p in pieces(text):
            for s in self.merge(symbols(p)):
                out.append(self.vocab[s] if s in self.vocab else self.vocab["<unk>"])
        return out


def train(texts, n_merges):
    """Most frequent adjacent pair first; ties: the merged string that sorts first (UTF-8 bytes),
    then the left part that does."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab.setdefault(BYTES[b], len(vocab))
    counts = {}
    for t in texts:
        for p in pieces(t):
            counts[p] = counts.get(p, 0) + 1
    words = [(symbols(p), c) for p, c in counts.items()]
    merges = []
    for _ in range(n_merges):
        pc = {}
        for syms, c in words:
            for k in range(len(syms) - 1):
                pc[(syms[k], syms[k + 1])] = pc.get((syms[k], syms[k + 1]), 0) + c
        if not pc:
            break
        best = min(pc.items(), key=lambda kv: (-kv[1], (kv[0][0] + kv[0][1]).encode("utf-8"),
                                                kv[0][0].encode("utf-8")))[0]
        a, b = best
        merges.append(best)
        vocab.setdefault(a + b, len(vocab))
        new = []
        for syms, c in words:
            out, k = [], 0
            while k < len(syms):
                if k + 1 < len(syms) and syms[k] == a and syms[k + 1] == b:
                    out.append(a + b)
                    k += 2
                else:
                    out.append(syms[k])
                    k += 1
            new.append((out, c))
        words = new
    vocab.setdefault("<mask>", len(vocab))
    return vocab, merges
