"""The golden fixture against Hugging Face `transformers` itself: every model folder of
tests/golden/fixture (written by gen_golden.py with plain torch modules) is loaded with
BertForSequenceClassification.from_pretrained(folder) and its tokenizer with BertTokenizer and
BertTokenizerFast.from_pretrained(folder); then the fixture's corner cases are recomputed by them:

  - ids: every "text" input through both tokenizers (truncation longest-first to 128 tokens, as
    axf); the slow and the fast one must agree, and they must equal the plain-Python reference ids
    of the committed fixture;
  - logits: every input (the "ids" inputs too: a lone [CLS], the whole 160-position table, [PAD]
    and [MASK] inside a sequence) one sequence at a time, in float64 (the model converted with
    .double(): the exact answer for the stored float32 weights) and in float32 (what users run),
    and in float32 again as one right-padded batch with an attention mask.

It writes two fixtures with Hugging Face's ids and logits, OUT/f64 and OUT/f32, and runs the
engine's golden test (TEST_EXE, tests/test_engine_golden.c) on both: axf's tokenizer must give
Hugging Face's ids exactly, and each axf logit must lie within 1e-4 * max(1, |logit|) of Hugging
Face's. Why 1e-4: each product of the forward pass is a float32 dot product over K <= 128 terms
whose error is bounded by gamma_K * sum|x*w| with gamma_K = K*u/(1-K*u) ~ 7.6e-6 (u = 2^-24);
about 14 of them lie in sequence on the path to a logit (3 layers of Q/K, scores, PV, output, two
FFN products, then pooler and classifier), so to first order the float32 error of a logit of
order 1 stays near 14 * 7.6e-6 ~ 1.1e-4 when every product is at its bound. The fixture's weights
are drawn large (peaked attention, logits up to 7), so its float32 errors are not tiny: Hugging
Face's own float32 logits lie up to ~3e-5 from float64 and axf's as much. The same limit is
asserted on Hugging Face's float32 against its float64, so the bound is one that the reference
itself meets. A real fault (a wrong activation, bias or head) moves logits by 1e-2 or more.

usage: .venv/bin/python hf_golden.py FIXTURE_DIR OUT_DIR TEST_EXE
(run through tests/venv_run.sh, which makes .venv with scripts/venv.sh)
"""
import copy
import os
import shutil
import subprocess
import sys
import warnings

import torch

warnings.filterwarnings("ignore")
import transformers  # noqa: E402
from transformers import BertForSequenceClassification, BertTokenizer, BertTokenizerFast  # noqa: E402

transformers.logging.set_verbosity_error()
LIMIT = 1e-4
MAX_LEN = 128
FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")
failures = []


def fail(msg):
    print("FAIL " + msg)
    failures.append(msg)


def read_inputs(fixture):
    rows = []
    with open(os.path.join(fixture, "inputs.tsv"), encoding="utf-8") as f:
        for line in f:
            mode, a, b, ids, types = line.rstrip("\n").split("\t")
            rows.append([mode, a, b, [int(x) for x in ids.split()], [int(x) for x in types.split()]])
    return rows


def hf_ids(model_dir, rows):
    """Hugging Face's ids for the "text" rows (slow and fast must agree); returns new rows."""
    slow = BertTokenizer.from_pretrained(model_dir)
    fast = BertTokenizerFast.from_pretrained(model_dir)
    out, texts, vs_ref = [], 0, 0
    for i, (mode, a, b, ids, types) in enumerate(rows):
        if mode == "text":
            texts += 1
            enc = [t(a, b or None, truncation=True, max_length=MAX_LEN) for t in (slow, fast)]
            got = [(e["input_ids"], e["token_type_ids"]) for e in enc]
            if got[0] != got[1]:
                fail("%s: input %d: BertTokenizer and BertTokenizerFast differ (%d and %d ids)"
                     % (model_dir, i + 1, len(got[0][0]), len(got[1][0])))
            if got[1] != (ids, types):
                vs_ref += 1
                fail("%s: input %d: Hugging Face gives %d ids, the plain-Python reference %d"
                     % (model_dir, i + 1, len(got[1][0]), len(ids)))
            ids, types = got[1]
        out.append([mode, a, b, ids, types])
    print("%s: %d texts tokenized by BertTokenizer and BertTokenizerFast: slow = fast = "
          "plain-Python reference on %d" % (os.path.basename(model_dir), texts, texts - vs_ref))
    return out


def rel_err(x, ref):
    return float(((x.double() - ref).abs() / ref.abs().clamp(min=1.0)).max())


def hf_logits(model_dir, rows):
    m32 = BertForSequenceClassification.from_pretrained(model_dir).eval()
    m64 = copy.deepcopy(m32).double()
    one32, one64 = [], []
    with torch.no_grad():
        for _, _, _, ids, types in rows:
            x, t = torch.tensor([ids]), torch.tensor([types])
            one32.append(m32(input_ids=x, token_type_ids=t, attention_mask=torch.ones_like(x)).logits[0])
            one64.append(m64(input_ids=x, token_type_ids=t, attention_mask=torch.ones_like(x)).logits[0])
        n = max(len(r[3]) for r in rows)
        x = torch.zeros(len(rows), n, dtype=torch.long)
        t, mask = torch.zeros_like(x), torch.zeros_like(x)
        for i, r in enumerate(rows):
            x[i, : len(r[3])] = torch.tensor(r[3])
            t[i, : len(r[4])] = torch.tensor(r[4])
            mask[i, : len(r[3])] = 1
        batch32 = m32(input_ids=x, token_type_ids=t, attention_mask=mask).logits
    one32, one64 = torch.stack(one32), torch.stack(one64)
    return one32, one64, batch32


def write_fixture(out, models, rows, logits):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "models.txt"), "w") as f:
        f.write("".join(m + "\n" for m in models))
    with open(os.path.join(out, "inputs.tsv"), "w", encoding="utf-8") as f:
        for mode, a, b, ids, types in rows:
            f.write("%s\t%s\t%s\t%s\t%s\n" % (mode, a, b, " ".join(map(str, ids)), " ".join(map(str, types))))
    for m in models:
        d = os.path.join(out, m)
        os.makedirs(d, exist_ok=True)
        for name in FILES:
            shutil.copy(os.path.join(out, "..", "models", m, name), d)
        with open(os.path.join(d, "logits.tsv"), "w") as f:
            for row in logits[m].tolist():
                f.write("\t".join(repr(float(v)) for v in row) + "\n")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: hf_golden.py FIXTURE_DIR OUT_DIR TEST_EXE")
    fixture, out, exe = sys.argv[1:]
    shutil.rmtree(out, ignore_errors=True)
    with open(os.path.join(fixture, "models.txt")) as f:
        models = [m.strip() for m in f if m.strip()]
    rows = read_inputs(fixture)
    print("transformers %s, tokenizers %s, torch %s" % (
        transformers.__version__, __import__("tokenizers").__version__, torch.__version__))
    hf_rows, l32, l64 = None, {}, {}
    for m in models:
        d = os.path.join(out, "models", m)  # the very folder, copied: from_pretrained reads it as is
        os.makedirs(d)
        for name in FILES:
            shutil.copy(os.path.join(fixture, m, name), d)
        r = hf_ids(d, rows)
        if hf_rows is not None and r != hf_rows:
            fail("%s: its tokenizer gives other ids than %s's (the fixture shares one vocabulary)" % (m, models[0]))
        hf_rows = hf_rows or r
        one32, one64, batch32 = hf_logits(d, r)
        l32[m], l64[m] = one32, one64
        with open(os.path.join(fixture, m, "logits.tsv")) as f:
            plain = torch.tensor([[float(v) for v in line.split()] for line in f], dtype=torch.float64)
        e_plain, e32, eb = rel_err(plain, one64), rel_err(one32, one64), rel_err(batch32, one64)
        print("%s: %d inputs; Hugging Face float64 vs plain-torch float64 (committed) max relative "
              "%.2g; Hugging Face float32 vs float64 %.2g one by one, %.2g padded batch (limit %g)"
              % (m, len(r), e_plain, e32, eb, LIMIT))
        if e_plain > 1e-9:
            fail("%s: Hugging Face's float64 logits differ from the plain-torch reference by %.3g" % (m, e_plain))
        if e32 > LIMIT or eb > LIMIT:
            fail("%s: Hugging Face's own float32 logits are %.3g / %.3g from float64, over the limit"
                 % (m, e32, eb))
    for name, logits in (("f64", l64), ("f32", l32)):
        d = os.path.join(out, name)
        write_fixture(d, models, hf_rows, logits)
        print("engine against Hugging Face %s (%s):" % ("float64" if name == "f64" else "float32", d))
        sys.stdout.flush()
        if subprocess.run([exe, d]).returncode != 0:
            fail("axf against Hugging Face's %s logits and ids (%s)" % (name, d))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("axf = Hugging Face transformers on every golden input (ids exact, logits within %g)" % LIMIT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
