"""DistilBERT and RoBERTa: axf against ONNX Runtime on base-sized random classifiers made by
Hugging Face transformers (DistilBERT 6 x 768, RoBERTa 12 x 768, 12 heads, FFN 3072), the same
folder for both: axf reads model.safetensors, ONNX Runtime its torch.onnx.export (opset 14,
dynamic batch and length, bench/ort_run.py's session options). Input: the first N SST-2 dev
sentences in file order, batches of 32 (ONNX Runtime pads per batch, axf packs), ids from the
models' own tokenizers (axf's are the same: tests/test_models_hf.py). axf's time is `axf eval
--repeat` (median engine time, tokenization apart); ONNX Runtime's the median pass of ort_run.py.
Also prints the largest |logit difference| between the two.

usage: .venv/bin/python bench/arch_run.py AXF OUT_DIR DATA_DIR [--threads "1 2"] [--runs N] [--n N]
(called by bench/run.sh; the project environment has transformers, torch and onnxruntime)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import hf_models as hm  # noqa: E402


def make(arch, data_dir, tmp):
    from transformers import (DistilBertConfig, DistilBertForSequenceClassification, RobertaConfig,
                              RobertaForSequenceClassification)
    torch.manual_seed(1)
    if arch == "distilbert":
        tok = hm.distilbert_tokenizers(data_dir)[0]
        cfg = DistilBertConfig(vocab_size=tok.vocab_size, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                               max_position_embeddings=512, return_dict=False)
        model = DistilBertForSequenceClassification(cfg)
    else:
        tok = hm.roberta_tokenizers(data_dir, tmp)[0]
        cfg = RobertaConfig(vocab_size=len(tok), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                            intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                            bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, return_dict=False)
        model = RobertaForSequenceClassification(cfg)
    return model.eval(), tok


def export(model, path):
    ids = torch.ones(2, 8, dtype=torch.long)
    mask = torch.ones(2, 8, dtype=torch.long)
    dyn = {"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}, "logits": {0: "b"}}
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes=dyn, opset_version=14)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("axf")
    ap.add_argument("out")
    ap.add_argument("data")
    ap.add_argument("--threads", default="1 2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=128)
    a = ap.parse_args()
    out = os.path.join(a.out, "archs")
    os.makedirs(out, exist_ok=True)
    rows = hm.tsv_rows(os.path.join(a.data, "sst2_glue", "dev.tsv"), [0, 1], a.n or 10 ** 6)
    tsv = hm.write_tsv(os.path.join(out, "sst2.tsv"), ["sentence", "label"], rows)
    lines = []
    for arch in ("distilbert", "roberta"):
        model, tok = make(arch, a.data, out)
        d = hm.save(model, tok, os.path.join(out, arch))
        onnx = os.path.join(d, "model.onnx")
        export(model, onnx)
        ids = [tok(s, truncation=True, max_length=512)["input_ids"] for s, _ in rows]
        case = os.path.join(out, arch + ".json")
        with open(case, "w") as f:
            json.dump({"batches": [ids[i:i + 32] for i in range(0, len(ids), 32)]}, f)
        ntok = sum(map(len, ids))
        r = hm.run(a.axf, "predict", d, tsv, "--batch", "32", "--threads", "1")
        got = hm.axf_logits(r.stdout) if r.returncode == 0 else None
        for t in a.threads.split():
            r = hm.run(sys.executable, "-W", "ignore", os.path.join(HERE, "ort_run.py"), onnx, case, t, str(a.runs))
            if r.returncode != 0:
                sys.exit(f"arch_run: ort_run.py {arch}: {r.stderr.strip()[-400:]}")
            ort = json.loads(r.stdout)
            t_ort = statistics.median(ort["times"])
            diff = max(abs(x - y) for g, w in zip(got, ort["logits"]) for x, y in zip(g, w)) if got else float("nan")
            r = hm.run(a.axf, "eval", d, tsv, "--batch", "32", "--threads", t, "--repeat", str(a.runs))
            if r.returncode != 0:
                sys.exit(f"arch_run: axf eval {arch}: {r.stderr.strip()}")
            t_axf = float(dict(x.split("=", 1) for x in r.stdout.split())["engine_s"])
            lines.append(f"| {arch} | {model.num_parameters() / 1e6:.1f}M | {t} | {ntok} | {t_axf * 1e3:.0f} | "
                         f"{t_ort * 1e3:.0f} | {t_ort / t_axf:.2f}x | {diff:.2g} |")
    table = ("| model | params | threads | tokens | axf ms | ONNX Runtime ms | axf speed-up | max abs logit diff |\n"
             "|---|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n")
    with open(os.path.join(a.out, "arch_table.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
