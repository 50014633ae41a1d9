"""axf's tokenizer against Hugging Face's on real sentences: every sentence of the given SST-2 files
(GLUE `sentence<TAB>label` files and the sentence-level `label sentence` ones) and every pair of
the given MRPC files, encoded as the models see them ([CLS] a [SEP] (b [SEP]), truncated
longest-first to 128 tokens, token types) by axf (tests/test_io_tokdump.c --encode, i.e.
axf_encode_pair) and by the Hugging Face tokenizer(s) of MODEL, which must agree id for id.

MODEL is a model folder: its own tokenizer is what AutoTokenizer.from_pretrained loads there
(tokenizer.json when the folder has one: the fast tokenizer its authors saved), and also
BertTokenizer and BertTokenizerFast built from its vocab.txt unless --fast-only; or MODEL is a
vocab.txt, for which a folder with that vocabulary and do_lower_case is made under TMP. The slow
BertTokenizer (pure Python) takes about a minute per 80,000 sentences.

usage: .venv/bin/python hf_tokenizer.py TOKDUMP MODEL TMP FILE... [--fast-only]
(run through tests/venv_run.sh, which makes .venv with scripts/venv.sh)
"""
import json
import os
import shutil
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import transformers  # noqa: E402
from transformers import AutoTokenizer, BertTokenizer, BertTokenizerFast  # noqa: E402

transformers.logging.set_verbosity_error()
MAX_LEN = 128


def read_examples(path):
    """(a, b) pairs of a data file; b is None for a single sentence."""
    with open(path, encoding="utf-8-sig") as f:
        lines = f.read().split("\n")
    while lines and not lines[-1]:
        lines.pop()
    head = lines[0].split("\t")
    if "#1 String" in head:  # MRPC
        ia, ib = head.index("#1 String"), head.index("#2 String")
        return [(c[ia], c[ib]) for c in (x.split("\t") for x in lines[1:])]
    if "sentence" in head:  # GLUE SST-2
        i = head.index("sentence")
        return [(x.split("\t")[i], None) for x in lines[1:]]
    # sentence-level SST-2: "label sentence"
    return [(x.split(" ", 1)[1], None) for x in lines]


def main():
    args = [a for a in sys.argv[1:] if a != "--fast-only"]
    fast_only = len(args) != len(sys.argv) - 1
    if len(args) < 4:
        sys.exit("usage: hf_tokenizer.py TOKDUMP MODEL TMP FILE... [--fast-only]")
    tokdump, model, tmp, files = args[0], args[1], args[2], args[3:]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    if os.path.isfile(model):
        d = os.path.join(tmp, "tokenizer")
        os.makedirs(d)
        shutil.copy(model, os.path.join(d, "vocab.txt"))
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
        model = d
    toks = {"own (AutoTokenizer)": AutoTokenizer.from_pretrained(model)}
    if not fast_only:
        toks["BertTokenizerFast"] = BertTokenizerFast.from_pretrained(model)
        toks["BertTokenizer"] = BertTokenizer.from_pretrained(model)
    examples, counts = [], []
    for p in files:
        ex = read_examples(p)
        examples += ex
        counts.append("%s %d" % (os.path.basename(p), len(ex)))
    inp = os.path.join(tmp, "inputs.txt")
    with open(inp, "w", encoding="utf-8") as f:
        for a, b in examples:
            assert "\t" not in a and "\n" not in a and (b is None or ("\t" not in b and "\n" not in b))
            f.write(a + ("\t" + b if b is not None else "") + "\n")
    r = subprocess.run([tokdump, os.path.join(model, "vocab.txt"), inp, "--encode", str(MAX_LEN)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL %s: %s" % (tokdump, r.stderr.strip()))
        return 1
    axf = []
    for line in r.stdout.split("\n")[: len(examples)]:
        ids, _, types = line.partition(" | ")
        axf.append(([int(x) for x in ids.split()], [int(x) for x in types.split()]))
    if len(axf) != len(examples):
        print("FAIL %s printed %d lines for %d examples" % (tokdump, len(axf), len(examples)))
        return 1
    print("%d examples (%s); transformers %s, tokenizers %s" % (
        len(examples), ", ".join(counts), transformers.__version__, __import__("tokenizers").__version__))
    bad_total = 0
    for name, tok in toks.items():
        t0 = time.time()
        singles = [i for i, (_, b) in enumerate(examples) if b is None]
        pairs = [i for i, (_, b) in enumerate(examples) if b is not None]
        got = [None] * len(examples)
        for idx, enc in ((singles, lambda ix: tok([examples[i][0] for i in ix], truncation=True, max_length=MAX_LEN)),
                         (pairs, lambda ix: tok([examples[i][0] for i in ix], [examples[i][1] for i in ix],
                                                truncation=True, max_length=MAX_LEN))):
            if not idx:
                continue
            e = enc(idx)
            for k, i in enumerate(idx):
                got[i] = (e["input_ids"][k], e["token_type_ids"][k])
        bad = [i for i in range(len(examples)) if got[i] != axf[i]]
        print("%s (%s): %d of %d examples with other ids than axf (%.1f s)" % (
            name, type(tok).__name__, len(bad), len(examples), time.time() - t0))
        for i in bad[:3]:
            print("  example %d %r: Hugging Face %s, axf %s" % (i + 1, examples[i], got[i][0][:40], axf[i][0][:40]))
        bad_total += len(bad)
    if bad_total:
        print("FAIL: axf's tokenizer differs from Hugging Face's")
        return 1
    print("axf's ids = Hugging Face's on every example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
