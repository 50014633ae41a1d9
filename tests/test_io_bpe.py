"""Byte-level BPE (src/io/bpe.c) against the plain-Python reference tests/bpe_ref.py: the same
vocabulary and merges learnt from a corpus, the same ids for every line of a corpus with Unicode,
accents, emoji, white-space runs, contractions and long words, with and without a prefix space;
pairs truncated longest-first; Hugging Face's RobertaTokenizer (slow and fast) on the same files
when the project's environment has transformers; bad files refused with one line.

usage: python3 test_io_bpe.py TOOL DATA_DIR TMP_DIR [VENV_PYTHON]
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_ref  # noqa: E402
from pyutil import fail, failures, finish, fresh_dir  # noqa: E402

tool, data_dir, tmp = sys.argv[1:4]
venv_run = sys.argv[4] if len(sys.argv) > 4 else ""  # tests/venv_run.sh
fresh_dir(tmp)

def run(*args):
    return subprocess.run([tool, *args], capture_output=True, text=True)


# the corpus: real sentences, then the hard cases
sst = os.path.join(data_dir, "sst2_glue", "alps_train.tsv")
lines = []
with open(sst, encoding="utf-8") as f:
    next(f)
    for k, line in enumerate(f):
        if k >= 2500:
            break
        lines.append(line.rstrip("\n").split("\t")[0])
hard = [
    "Crème brûlée, naïve café — résumé of a façade",
    "I'm sure you're right; they'll say we've done what he'd do, isn't it? DON'T SHOUT'S",
    "emoji 😀🎉👍🏽 and flags 🇫🇷 and ZWJ 👨‍👩‍👧",
    "tabs\tand  double  spaces   and\u00a0no-break\u3000ideographic space",
    "   leading and trailing   ",
    "numbers 3.14159 1,000,000 ² ½ Ⅻ ٣٤ and mixed abc123def",
    "中文字符和日本語のテキスト 한국어",
    "Ελληνικά ΣΊΣΥΦΟΣ Кириллица",
    "a" * 300 + " supercalifragilisticexpialidocious" * 3,
    "punctuation!!! ...??? ((nested)) [x] {y} <z> @#$%^&*",
    "'s 't 're 've 'm 'll 'd ' ''",
    "x",
    "",
    " ",
    "\u200b zero width \u200d joiner \ufeff bom",
    "control \x07 bell \x1f unit sep",
]
corpus = lines + hard
corpus_path = os.path.join(tmp, "corpus.txt")
with open(corpus_path, "w", encoding="utf-8") as f:
    f.write("\n".join(corpus))

# 1. training: the same vocabulary and merges as the reference
train_texts = lines[:1500] + hard
train_path = os.path.join(tmp, "train.txt")
with open(train_path, "w", encoding="utf-8") as f:
    f.write("\n".join(train_texts))
N_MERGES = 400
tok_dir = os.path.join(tmp, "bpe")
r = run("train", train_path, str(N_MERGES), tok_dir)
if r.returncode != 0:
    fail("train: " + r.stderr.strip())
    sys.exit(1)
ref_vocab, ref_merges = bpe_ref.train(train_texts, N_MERGES)
with open(os.path.join(tok_dir, "vocab.json"), encoding="utf-8") as f:
    c_vocab = json.load(f)
with open(os.path.join(tok_dir, "merges.txt"), encoding="utf-8") as f:
    c_merges = [tuple(x.split(" ")) for x in f.read().split("\n")[1:] if x]
if c_vocab != ref_vocab:
    diff = [k for k in set(c_vocab) | set(ref_vocab) if c_vocab.get(k) != ref_vocab.get(k)][:5]
    fail(f"trained vocabulary differs from the reference's ({len(c_vocab)} vs {len(ref_vocab)}; e.g. {diff})")
if c_merges != ref_merges:
    k = next((i for i, (a, b) in enumerate(zip(c_merges, ref_merges)) if a != b), min(len(c_merges), len(ref_merges)))
    fail(f"trained merges differ from the reference's at merge {k}")

# 2. encoding: identical ids on every line, with and without a prefix space
ref = bpe_ref.Tokenizer(os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"))
for prefix in (0, 1):
    r = run("encode", tok_dir, corpus_path, str(prefix))
    if r.returncode != 0:
        fail(f"encode prefix={prefix}: {r.stderr.strip()}")
        continue
    got = r.stdout.split("\n")[:-1]
    same = 0
    for k, text in enumerate(corpus):
        want = " ".join(str(i) for i in ref.ids(text, bool(prefix)))
        if k < len(got) and got[k] == want:
            same += 1
        elif len(failures) < 10:
            fail(f"prefix={prefix} line {k + 1} {text[:40]!r}: {got[k] if k < len(got) else None} vs {want}")
    print(f"prefix space {prefix}: {same}/{len(corpus)} lines identical to the reference")

# 3. pairs: <s> a </s></s> b </s>, longest first
a, b = "the film is a gripping , funny ride", "a dull one"
ia, ib = ref.ids(a), ref.ids(b)
for max_len in (64, 12, 9, 6, 4):
    na, nb = len(ia), len(ib)
    while na + nb > max_len - 4:
        if na > nb:
            na -= 1
        else:
            nb -= 1
    v = ref.vocab
    want = [v["<s>"]] + ia[:na] + [v["</s>"], v["</s>"]] + ib[:nb] + [v["</s>"]]
    r = run("pair", tok_dir, a, b, str(max_len))
    if r.returncode != 0 or r.stdout.split() != [str(x) for x in want]:
        fail(f"pair max_len {max_len}: {r.stdout.strip()} {r.stderr.strip()} vs {want}")

# 4. Hugging Face's tokenizers on the same files, when the project environment has them
# (AXF_TEST_HF=0: scripts/test.sh's repeat configurations, where this part cannot differ: the
# tokenizer has no floating point and the reference is Python's)
def project_python():
    """The project environment's python, through tests/venv_run.sh (which waits while another test
    makes .venv, so a half-made one is never used): None with AXF_TEST_HF=0 or when PyPI is
    unreachable (its exit 77); any other failure to make .venv fails the test."""
    if not venv_run or os.environ.get("AXF_TEST_HF", "1") == "0":
        return None
    r = subprocess.run(["sh", venv_run, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    if r.returncode == 0:
        return r.stdout.strip()
    if r.returncode != 77:
        fail("tests/venv_run.sh: " + (r.stdout + r.stderr).strip()[-300:])
    return None


venv_py = project_python()
if venv_py:
    hf = subprocess.run([venv_py, "-c", """
import sys, json
from transformers import RobertaTokenizer, RobertaTokenizerFast
d, path = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8").read().split("\\n")
for cls in (RobertaTokenizer, RobertaTokenizerFast):
    t = cls(d + "/vocab.json", d + "/merges.txt")
    out = [" ".join(map(str, t(x, add_special_tokens=False)["input_ids"])) for x in lines]
    print(json.dumps(out))
""", tok_dir, corpus_path], capture_output=True, text=True)
    if hf.returncode != 0:
        fail("transformers: " + hf.stderr.strip()[-300:])
    else:
        r = run("encode", tok_dir, corpus_path, "0")
        got = r.stdout.split("\n")[:-1]
        for name, out in zip(("RobertaTokenizer", "RobertaTokenizerFast"), hf.stdout.strip().split("\n")):
            want = json.loads(out)
            same = sum(1 for g, w in zip(got, want) if g == w)
            print(f"{name}: {same}/{len(want)} lines identical")
            if same != len(want):
                k = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
                fail(f"{name} line {k + 1} {corpus[k][:40]!r}: {got[k]} vs {want[k]}")
else:
    print("transformers: not compared (AXF_TEST_HF=0, or PyPI unreachable so .venv cannot be made)")


# 5. bad files: one line naming the file, exit 1
def bad(tag, vocab_text, merges_text, want):
    d = os.path.join(tmp, tag)
    os.makedirs(d)
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8", newline="") as f:
        f.write(vocab_text)
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(merges_text)
    r = run("load", d)
    msg = r.stderr.strip().splitlines()
    if r.returncode != 1 or len(msg) != 1 or d not in msg[0] or want not in msg[0]:
        fail(f"{tag}: exit {r.returncode}, {r.stderr.strip()!r} (wanted '{want}')")


good_vocab = json.dumps({"a": 0, "b": 1, "ab": 2})
bad("crlf", good_vocab, "#version: 0.2\r\na b\r\n", "carriage return")
bad("unknown_part", good_vocab, "a c\n", "that are not")
bad("unknown_result", json.dumps({"a": 0, "b": 1}), "a b\n", "whose result is not")
bad("three_tokens", good_vocab, "a b ab\n", "two tokens")
bad("float_id", '{"a": 0.5}', "", "not an integer")
bad("same_id", '{"a": 0, "b": 0}', "", "id 0 given to")
bad("not_json", "[1, 2]", "", "not a JSON object")
bad("trailing", good_vocab + " x", "", "line 1: trailing text after the JSON value")
bad("twice", '{"a": 0, "b": 1,\n "a": 2}', "", "line 2: key 'a' appears twice")

finish("byte-level BPE: training, encoding, pairs and bad files agree with the reference")
