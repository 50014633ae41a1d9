#!/usr/bin/python3
"""Differential test of the C tokenizer against a straightforward Python rendering of the BERT
basic tokenizer + WordPiece as described in FORMATS.md (Python's own str.lower() and unicodedata,
i.e. what Hugging Face's Python BertTokenizer relies on).

usage: tokref.py VOCAB DUMPER FILE...   (DUMPER VOCAB FILE prints one line of ids per input line)
Also tokenizes a deterministic set of random Unicode strings. Exit 1 on any difference."""
import random
import subprocess
import sys
import tempfile
import unicodedata as ud


def is_control(c):
    return c not in "\t\n\r" and ud.category(c).startswith("C")


def is_ws(c):
    return c in " \t\n\r" or ud.category(c) == "Zs"


def is_punct(c):
    o = ord(c)
    return 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126 or ud.category(c).startswith("P")


def is_cjk(o):
    return any(a <= o <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                       (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
                                       (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


def basic(text, lower=True):
    t = "".join(" " if is_ws(c) else c for c in text
                if not (ord(c) == 0 or ord(c) == 0xFFFD or is_control(c)))
    t = "".join(" %s " % c if is_cjk(ord(c)) else c for c in t)
    words = []
    for tok in t.split():
        if lower:
            tok = tok.lower()
            tok = "".join(c for c in ud.normalize("NFD", tok) if ud.category(c) != "Mn")
        cur = ""
        for c in tok:
            if is_punct(c):
                if cur:
                    words.append(cur)
                cur = ""
                words.append(c)
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def wordpiece(words, vocab, unk):
    ids = []
    for w in words:
        if len(w) > 100:
            ids.append(unk)
            continue
        pieces, start, ok = [], 0, True
        while start < len(w):
            end, found = len(w), None
            while start < end:
                s = w[start:end] if start == 0 else "##" + w[start:end]
                if s in vocab:
                    found = vocab[s]
                    break
                end -= 1
            if found is None:
                ok = False
                break
            pieces.append(found)
            start = end
        ids.extend(pieces if ok else [unk])
    return ids


def random_lines(n, seed=1234):
    rng = random.Random(seed)
    pools = [
        (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
        (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1E00, 0x1FFF), (0x2000, 0x206F),
        (0x2100, 0x2BFF), (0x3000, 0x30FF), (0x4E00, 0x4E80), (0xAC00, 0xAD00), (0xF900, 0xFA10),
        (0xFE00, 0xFFFF), (0x1D400, 0x1D7FF), (0x1F300, 0x1F6FF), (0x20000, 0x20010), (0xE0000, 0xE007F),
    ]
    out = []
    for _ in range(n):
        k = rng.randint(1, 40)
        s = []
        for _ in range(k):
            a, b = rng.choice(pools)
            c = rng.randint(a, b)
            if 0xD800 <= c <= 0xDFFF or c in (0x0A, 0x0D, 0x85, 0x2028, 0x2029):
                c = 0x20  # line separators would change the line count
            s.append(chr(c))
            if rng.random() < 0.2:
                s.append(" ")
        out.append("".join(s))
    # hand-picked context cases
    out += ["ΟΔΟΣ ΣΑ.Σ Σ aΣ Σa ΑΣ' ΑΣ'Α", "İSTANBUL İ", "ﬁne ﬀ", "Ǆemal ǅ", "ẞ straße",
            "a\u00adb c\u200bd e\ufeff", "x" * 100 + " " + "y" * 101, "\u1e9b\u0323 \u0041\u0328\u0301\u0302"]
    return out


def main():
    vocab_path, dumper, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    vocab = {}
    with open(vocab_path, encoding="utf-8") as f:
        for i, line in enumerate(f.read().split("\n")):
            vocab[line] = i
    unk = vocab["[UNK]"]
    tmp = tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False)
    tmp.write("\n".join(random_lines(3000)) + "\n")
    tmp.close()
    bad = 0
    total = 0
    for path in files + [tmp.name]:
        with open(path, encoding="utf-8-sig" if "mrpc" in path else "utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        got = subprocess.run([dumper, vocab_path, path], capture_output=True, check=True).stdout
        got = got.decode().split("\n")[:-1]
        if len(got) != len(lines):
            print("%s: %d lines from C, %d expected" % (path, len(got), len(lines)))
            bad += 1
            continue
        for i, (line, g) in enumerate(zip(lines, got)):
            want = " ".join(str(x) for x in wordpiece(basic(line), vocab, unk))
            total += 1
            if g != want:
                bad += 1
                if bad <= 10:
                    print("%s:%d: %r\n  C:  %s\n  py: %s" % (path, i + 1, line, g, want))
    print("tokref: %d lines compared, %d differ" % (total, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
