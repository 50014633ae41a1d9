"""The dense-compatible export against standard loaders: for each plan kind (tests/onnx/plans.lua
on the golden fixture's model), `axf export SESSION --dense-compatible --out DIR` must be read by
Hugging Face `transformers` (BertForSequenceClassification.from_pretrained, PyPI) and by the
project's plain-torch reference module (bench/bert_ref.py, Hugging Face's structure and names) as
they are, and both must compute the pruned model's logits: those of `axf predict` on the compacted
export of the same session, within 1e-4 * max(1, |logit|), one example at a time and in
right-padded batches with an attention mask. The folder must keep the original shapes (every
layer with all heads and the full FFN width). Plans with hard attention or int8 are refused.

usage: .venv/bin/python dense_check.py AXF ENCODE_TOOL MODEL_DIR INPUTS_TSV POLICY BERT_REF_DIR WORK KIND...
"""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ort_check as oc  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoModelForSequenceClassification  # noqa: E402

BATCH = 8


def batches(enc, batch, pad_id=0):
    for s in range(0, len(enc), batch):
        chunk = enc[s:s + batch]
        T = max(len(e["input_ids"]) for e in chunk)
        t = {}
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            a = np.full((len(chunk), T), pad_id if key == "input_ids" else 0, dtype=np.int64)
            for i, e in enumerate(chunk):
                a[i, :len(e["input_ids"])] = e[key]
            t[key] = torch.from_numpy(a)
        yield t


def hf_logits(d, enc, batch):
    """Hugging Face's AutoModelForSequenceClassification on folder d (right padding with the
    model's pad id; DistilBERT takes no token types)."""
    m = AutoModelForSequenceClassification.from_pretrained(d).eval()
    out = []
    with torch.no_grad():
        for t in batches(enc, batch, m.config.pad_token_id or 0):
            if m.config.model_type == "distilbert":
                del t["token_type_ids"]
            out.append(m(**t).logits.numpy())
    return np.concatenate(out).astype(np.float64)


def ref_logits(bert_ref, d, enc, batch):
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    c.setdefault("num_labels", len(c["id2label"]))
    m = bert_ref.BertClassifier(c).eval()
    missing, unexpected = m.load_state_dict(load_file(os.path.join(d, "model.safetensors")), strict=False)
    if missing or unexpected:
        raise SystemExit("FAIL %s: plain-torch reference: missing %s, unexpected %s" % (d, missing, unexpected))
    with torch.no_grad():
        return np.concatenate([m(t["input_ids"], t["token_type_ids"], t["attention_mask"]).numpy()
                               for t in batches(enc, batch)]).astype(np.float64)


def main():
    axf, tool, model_dir, inputs, policy, ref_dir, work = sys.argv[1:8]
    kinds = sys.argv[8:]
    sys.path.insert(0, ref_dir)
    import bert_ref  # noqa: E402
    os.makedirs(work, exist_ok=True)
    data = oc.write_pairs(os.path.join(work, "pairs.tsv"), oc.fixture_pairs(inputs))
    with open(os.path.join(model_dir, "config.json")) as f:
        orig = json.load(f)
    for kind in kinds:
        sess = os.path.join(work, kind + ".json")
        compact, dense = os.path.join(work, kind), os.path.join(work, kind + "-dense")
        oc.run([axf, "search", model_dir, data, "--policy", policy, "--set", "kind=" + kind, "--out", sess])
        oc.run([axf, "export", sess, "--out", compact])
        oc.run([axf, "export", sess, "--out", dense, "--dense-compatible"])
        with open(os.path.join(dense, "config.json")) as f:
            c = json.load(f)
        if c["num_attention_heads"] != orig["num_attention_heads"] or c["intermediate_size"] != orig["intermediate_size"] \
                or c.get("pruned_heads") or any(w != c["intermediate_size"] for w in c.get("axf_layer_ffn", [])):
            oc.fail("%s: the dense-compatible config.json does not keep the original shapes" % kind)
        want = oc.predict(axf, compact, data)
        enc = oc.encode(tool, dense, data)
        print("%s: %d of %d layers kept" % (kind, c["num_hidden_layers"], orig["num_hidden_layers"]))
        for batch in (1, BATCH):
            what = "batch 1" if batch == 1 else "padded %d" % batch
            oc.compare(kind, "HF " + what, hf_logits(dense, enc, batch), want)
            oc.compare(kind, "torch " + what, ref_logits(bert_ref, dense, enc, batch), want)
    for kind in ("topk", "int8"):
        sess = os.path.join(work, kind + ".json")
        oc.run([axf, "search", model_dir, data, "--policy", policy, "--set", "kind=" + kind, "--out", sess])
        r = subprocess.run([axf, "export", sess, "--out", os.path.join(work, kind + "-dense"), "--dense-compatible"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 1 or len(r.stderr.strip().splitlines()) != 1:
            oc.fail("%s: --dense-compatible should be refused with one line and exit 1, got exit %d: %s"
                    % (kind, r.returncode, r.stderr.strip()))
        else:
            print("%s: refused: %s" % (kind, r.stderr.strip()))
    if oc.failures:
        print("%d failure(s)" % len(oc.failures))
        return 1
    print("ok: %d kinds" % len(kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
