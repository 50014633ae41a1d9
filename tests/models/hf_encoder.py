"""A packaged pre-trained encoder (models/all-minilm-l6-v2, scripts/models/fetch.sh) run by axf and
by Hugging Face transformers loading the very same folder (AutoModel.from_pretrained: BertModel),
on every sentence of a data file (GLUE SST-2 dev in ctest):

  - ids: axf's tokenizer (inside tests/models/dump_hidden.c) against the folder's own Hugging Face
    tokenizer (AutoTokenizer: its tokenizer.json), exactly;
  - hidden states of the last layer, every token, and the [CLS] row of the path classification
    takes (axf_engine_forward, whose last layer runs for [CLS] only), against transformers'
    last_hidden_state in float64 (.double(): the exact answer for the stored float32 weights) and
    in float32 (padded batches with an attention mask, as users run it);
  - the sentence embedding the package is made for (mean over the tokens, L2-normalised), reported.

Limit: |axf - HF| <= 1e-4 * max(1, |HF|) for every element. The float32 error of one product is
bounded by gamma_K * sum|x*w| (gamma_K = K*u/(1-K*u), u = 2^-24; K = 384 or 1536 here: 2.3e-5 and
9.2e-5), reached only when every rounding goes the same way; rounding errors of a long sum behave
like a random walk (~sqrt(K)*u, 1e-6 to 2e-6 here), which is what six layers accumulate. Hugging
Face's own float32 result must meet the same limit against float64, so it is a bound the reference
itself satisfies.

usage: .venv/bin/python hf_encoder.py MODEL_DIR TMP_DIR DUMP_HIDDEN DATA_FILE
(run through tests/venv_run.sh, which makes .venv with scripts/venv.sh)
"""
import copy
import os
import shutil
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
import transformers  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_tokenizer import read_examples  # noqa: E402

transformers.logging.set_verbosity_error()
LIMIT = 1e-4
MAX_LEN = 128
BATCH = 32


def read_dump(path, H):
    with open(path, "rb") as f:
        data = f.read()
    (count,), pos, out = struct.unpack_from("<i", data), 4, []
    for _ in range(count):
        (n,) = struct.unpack_from("<i", data, pos)
        pos += 4
        ids = list(struct.unpack_from("<%di" % n, data, pos))
        pos += 4 * n
        hid = np.frombuffer(data, dtype="<f4", count=n * H, offset=pos).reshape(n, H)
        pos += 4 * n * H
        cls = np.frombuffer(data, dtype="<f4", count=H, offset=pos)
        pos += 4 * H
        out.append((ids, hid, cls))
    assert pos == len(data), "trailing bytes in %s" % path
    return out


def rel(x, ref):
    return float((np.abs(x.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))).max())


def embed(h):
    v = h.astype(np.float64).mean(axis=0)
    return v / np.linalg.norm(v)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: hf_encoder.py MODEL_DIR TMP_DIR DUMP_HIDDEN DATA_FILE")
    model_dir, tmp, dump, data_file = sys.argv[1:]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    sentences = [a for a, _ in read_examples(data_file)]
    txt = os.path.join(tmp, "sentences.txt")
    with open(txt, "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in sentences))
    t0 = time.time()
    r = subprocess.run([dump, model_dir, txt, os.path.join(tmp, "axf.bin"), str(MAX_LEN)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL dump_hidden: " + r.stderr.strip())
        return 1
    t_axf = time.time() - t0
    tok = AutoTokenizer.from_pretrained(model_dir)
    m32 = AutoModel.from_pretrained(model_dir).eval()
    m64 = copy.deepcopy(m32).double()
    H = m32.config.hidden_size
    axf = read_dump(os.path.join(tmp, "axf.bin"), H)
    if len(axf) != len(sentences):
        print("FAIL dump_hidden wrote %d sentences of %d" % (len(axf), len(sentences)))
        return 1
    print("%s: %s, %d layers x %d, %d sentences of %s; transformers %s, torch %s" % (
        model_dir, type(m32).__name__, m32.config.num_hidden_layers, H, len(sentences), data_file,
        transformers.__version__, torch.__version__))
    bad_ids = 0
    worst = {"hidden f64": 0.0, "cls f64": 0.0, "hidden f32": 0.0, "cls f32": 0.0, "hf f32": 0.0}
    worst_abs, cos_min, n_tok = 0.0, 1.0, 0
    t0 = time.time()
    for s0 in range(0, len(sentences), BATCH):
        chunk = sentences[s0: s0 + BATCH]
        enc = tok(chunk, truncation=True, max_length=MAX_LEN, padding=True, return_tensors="pt")
        with torch.no_grad():
            h32 = m32(**enc).last_hidden_state.numpy()
            h64 = m64(**enc).last_hidden_state.numpy()
        for i, s in enumerate(chunk):
            n = int(enc["attention_mask"][i].sum())
            ids = enc["input_ids"][i, :n].tolist()
            a_ids, a_hid, a_cls = axf[s0 + i]
            if ids != a_ids:
                bad_ids += 1
                if bad_ids <= 3:
                    print("sentence %d %r: Hugging Face ids %s, axf %s" % (s0 + i + 1, s, ids[:30], a_ids[:30]))
                continue
            r64, r32 = h64[i, :n], h32[i, :n]
            worst["hidden f64"] = max(worst["hidden f64"], rel(a_hid, r64))
            worst["cls f64"] = max(worst["cls f64"], rel(a_cls, r64[0]))
            worst["hidden f32"] = max(worst["hidden f32"], rel(a_hid, r32))
            worst["cls f32"] = max(worst["cls f32"], rel(a_cls, r32[0]))
            worst["hf f32"] = max(worst["hf f32"], rel(r32, r64))
            worst_abs = max(worst_abs, float(np.abs(a_hid - r64).max()))
            cos_min = min(cos_min, float(embed(a_hid) @ embed(r64)))
            n_tok += n
    t_hf = time.time() - t0
    print("tokens %d; max |h| %.3g; ids differing in %d sentences" % (
        n_tok, max(float(np.abs(h).max()) for _, h, _ in axf), bad_ids))
    print("max relative difference |d|/max(1,|h|), limit %g:" % LIMIT)
    print("  axf hidden states (every token) vs Hugging Face float64: %.3g (max |d| %.3g)"
          % (worst["hidden f64"], worst_abs))
    print("  axf [CLS] of the classification path vs Hugging Face float64: %.3g" % worst["cls f64"])
    print("  axf vs Hugging Face float32 (padded batches): hidden %.3g, [CLS] %.3g"
          % (worst["hidden f32"], worst["cls f32"]))
    print("  Hugging Face float32 vs its float64: %.3g" % worst["hf f32"])
    print("  sentence embeddings (mean pooling, normalised): min cosine axf vs Hugging Face %.9f" % cos_min)
    print("time: axf %.1f s (tokenizer + both passes), Hugging Face %.1f s (float32 + float64)" % (t_axf, t_hf))
    fails = [k for k, v in worst.items() if v > LIMIT]
    if bad_ids or fails:
        print("FAIL: %s" % ("; ".join(["%d sentences with other ids" % bad_ids] * bool(bad_ids) +
                                     ["%s over the limit" % k for k in fails])))
        return 1
    print("axf = Hugging Face on %s within %g" % (os.path.basename(model_dir), LIMIT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
