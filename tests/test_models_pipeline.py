"""Every workbench command on DistilBERT and RoBERTa classifiers made by transformers (issue 19,
item 3), with Hugging Face loading what axf writes:
  - eval (labelled SST-2 sentences), importance (exact, JSON), search with a policy, replay;
  - export of a head-pruning session: transformers' from_pretrained loads the compacted folder (its
    own names, pruned_heads) and its float64 logits agree with `axf predict` on it within TOL; its
    tokenizer (AutoTokenizer, the slow one) gives the ids axf gives;
  - export of a session that removes heads, neuron groups and whole blocks: `axf eval` on the
    export reproduces the session's final loss and accuracy; replay passes;
  - every block and the word embeddings int8 (quantize_all.lua): the export's I8 matrices are in the
    architecture's names and `axf eval` on it reproduces the session;
  - finetune --init from the classifier and from a masked-LM checkpoint (DistilBERT/RobertaForMaskedLM:
    eval refuses it in one line, finetune takes its encoder), and transformers loads the fine-tuned
    folder and agrees with axf;
  - project models (item 6): `axf pretrain --arch distilbert|roberta` from SST-2 sentences (a
    WordPiece vocab.txt built from the corpus; a byte-level BPE learnt from it), whose masked-LM
    loss falls and which transformers' *ForMaskedLM loads with every weight present; finetune
    --init makes a classifier of it that transformers loads and agrees with.

usage: tests/venv_run.sh test_models_pipeline.py AXF ENCODE_TOOL DATA_DIR TMP_DIR SCRIPTS_DIR
"""
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models as hm  # noqa: E402
from pyutil import fail, finish, fresh_dir  # noqa: E402

TOL = 1e-5
axf, enc_tool, data_dir, tmp, scripts = sys.argv[1:6]

import torch  # noqa: E402
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DistilBertForMaskedLM,  # noqa: E402
                          RobertaForMaskedLM)
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()
fresh_dir(tmp)
inputs = hm.inputs(data_dir, tmp)
sst = hm.tsv_rows(os.path.join(data_dir, "sst2_glue", "dev.tsv"), [0, 1], 80)
labelled = hm.write_tsv(os.path.join(tmp, "labelled.tsv"), ["sentence", "label"], sst[:48])
train = hm.write_tsv(os.path.join(tmp, "train.tsv"), ["sentence", "label"],
                     hm.tsv_rows(os.path.join(data_dir, "sst2_glue", "alps_train.tsv"), [0, 1], 160))


def axf_ok(what, *args):
    r = hm.run(axf, *args)
    if r.returncode != 0:
        fail(f"{what}: axf {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
        return None
    return r.stdout


def kv(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def agree_with_hf(what, d):
    """transformers loads d; its float64 logits agree with axf predict on d; AutoTokenizer gives
    axf's ids."""
    try:
        model = AutoModelForSequenceClassification.from_pretrained(d).eval()
        tok = AutoTokenizer.from_pretrained(d, use_fast=False)  # the fast one differs on truncation ties
    except Exception as e:  # noqa: BLE001 (any failure to load is the finding)
        fail(f"{what}: transformers cannot load {d}: {type(e).__name__}: {str(e)[:300]}")
        return
    m64 = hm.float64(model)
    worst, n = 0.0, 0
    for kind, (path, rows) in inputs.items():
        out = axf_ok(what, "predict", d, path, "--threads", "1")
        r = hm.run(enc_tool, d, path, str(hm.MAX_LEN))
        if out is None or r.returncode != 0:
            fail(f"{what}: encode {d}: {r.stderr.strip()}")
            continue
        logits = hm.axf_logits(out)
        got_ids = [[int(x) for x in line.split("\t")[0].split()] for line in r.stdout.splitlines()]
        for k, (a, b) in enumerate(rows):
            ids = hm.hf_ids(tok, a, b)
            if got_ids[k] != ids:
                fail(f"{what} {kind} {k + 1}: axf ids {got_ids[k]} vs AutoTokenizer's {ids}")
                return
            with torch.no_grad():
                want = m64(input_ids=torch.tensor([ids])).logits[0].tolist()
            diff = max(abs(g - w) for g, w in zip(logits[k], want))
            worst, n = max(worst, diff), n + 1
    if worst > TOL:
        fail(f"{what}: axf predict differs from transformers by {worst:.3g} > {TOL}")
    print(f"{what}: transformers loads it; {n} inputs, ids equal, max |logit difference| {worst:.3g}")


def last_after(session):
    with open(session) as f:
        s = json.load(f)
    return s["history"][s["cursor"] - 1]["after"] if s["cursor"] else s["baseline"]


dtoks = hm.distilbert_tokenizers(data_dir)
rtoks = hm.roberta_tokenizers(data_dir, tmp)
archs = (("distilbert", hm.distilbert(dtoks[0], "gelu", 2, 31), dtoks[0],
          hm.distilbert(dtoks[0], seed=32, cls=DistilBertForMaskedLM)),
         ("roberta", hm.roberta(rtoks[0], "gelu", 2, 41), rtoks[0],
          hm.roberta(rtoks[0], seed=42, cls=RobertaForMaskedLM)))
for name, model, tok, mlm in archs:
    src = hm.save(model, tok, os.path.join(tmp, name))
    out = axf_ok(f"{name} eval", "eval", src, labelled, "--threads", "1")
    if out is not None and not ("accuracy" in kv(out) and "loss" in kv(out)):
        fail(f"{name} eval: no accuracy/loss in {out!r}")
    out = axf_ok(f"{name} importance", "importance", src, labelled, "--json", "--groups", "4", "--threads", "1")
    if out is not None:
        imp = json.loads(out)
        if len(imp["layers"]) != 3 or len(imp["layers"][0]["heads"]) != 4:
            fail(f"{name} importance: layers/heads {out[:200]}")

    # a head-pruning search: Hugging Face can express the result (pruned_heads)
    s1 = os.path.join(tmp, f"{name}-heads.json")
    if axf_ok(f"{name} search heads", "search", src, labelled, "--policy", os.path.join(scripts, "random.lua"),
              "--set", "target=elements", "--set", "elements=3", "--set", "kinds=heads", "--set", "seed=5",
              "--threads", "1", "--quiet", "--out", s1) is not None:
        axf_ok(f"{name} replay heads", "replay", s1)
        e1 = os.path.join(tmp, f"{name}-heads-export")
        if axf_ok(f"{name} export heads", "export", s1, "--out", e1) is not None:
            with open(os.path.join(e1, "config.json")) as f:
                cfg = json.load(f)
            if cfg.get("model_type") != name or "pruned_heads" not in cfg or \
                    sum(map(len, cfg["pruned_heads"].values())) != 3:
                fail(f"{name} export: config.json {cfg.get('model_type')}, pruned_heads {cfg.get('pruned_heads')}")
            agree_with_hf(f"{name} head-pruned export", e1)

    # a search removing heads, neuron groups and whole blocks: axf eval on the export reproduces it
    s2 = os.path.join(tmp, f"{name}-mixed.json")
    if axf_ok(f"{name} search mixed", "search", src, labelled, "--policy", os.path.join(scripts, "random.lua"),
              "--set", "target=elements", "--set", "elements=5", "--set", "kinds=heads,groups,attn,ffn",
              "--set", "groups=4", "--set", "seed=9", "--threads", "1", "--quiet", "--out", s2) is not None:
        axf_ok(f"{name} replay mixed", "replay", s2)
        e2 = os.path.join(tmp, f"{name}-mixed-export")
        if axf_ok(f"{name} export mixed", "export", s2, "--out", e2) is not None:
            out = axf_ok(f"{name} eval export", "eval", e2, labelled, "--threads", "1")
            want = last_after(s2)
            if out is not None:
                got = kv(out)
                loss, acc = float(got["loss"]), float(got["accuracy"])
                if abs(loss - want["loss"]) > 1e-6 or abs(acc - want["accuracy"]) > 1e-6:  # 6 decimals
                    fail(f"{name}: eval of the export gives loss {loss} accuracy {acc}, the session "
                         f"{want['loss']} {want['accuracy']}")
                else:
                    print(f"{name}: search -> replay -> export -> eval reproduces loss {loss:.6f}, "
                          f"accuracy {acc:.4f}; params {want['params']}")

    # every block and the word embeddings int8 (scripts/quantize_all.lua): the export holds I8
    # matrices in the architecture's names, and axf eval on it reproduces the session
    s3 = os.path.join(tmp, f"{name}-int8.json")
    if axf_ok(f"{name} search int8", "search", src, labelled, "--policy", os.path.join(scripts, "quantize_all.lua"),
              "--threads", "1", "--quiet", "--out", s3) is not None:
        axf_ok(f"{name} replay int8", "replay", s3)
        e3 = os.path.join(tmp, f"{name}-int8-export")
        if axf_ok(f"{name} export int8", "export", s3, "--out", e3) is not None:
            with open(os.path.join(e3, "model.safetensors"), "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                hdr = json.loads(f.read(n))
            i8 = [k for k, v in hdr.items() if k != "__metadata__" and v["dtype"] == "I8"]
            prefix = {"distilbert": "distilbert.transformer.layer.", "roberta": "roberta.encoder.layer."}[name]
            emb = {"distilbert": "distilbert.", "roberta": "roberta."}[name] + "embeddings.word_embeddings.weight"
            layers = [k for k in i8 if k != emb]
            if len(layers) != 6 * 3 or emb not in i8 or \
                    not all(k.startswith(prefix) and k + "_scale" in hdr for k in layers) or emb + "_scale" not in hdr:
                fail(f"{name} int8 export: I8 tensors {i8[:4]}... ({len(i8)}: 18 wanted named {prefix}* and {emb})")
            out = axf_ok(f"{name} eval int8 export", "eval", e3, labelled, "--threads", "1")
            want = last_after(s3)
            if out is not None:
                got = kv(out)
                if abs(float(got["loss"]) - want["loss"]) > 1e-6 or \
                        abs(float(got["accuracy"]) - want["accuracy"]) > 1e-6:
                    fail(f"{name}: eval of the int8 export gives {got['loss']} {got['accuracy']}, the session "
                         f"{want['loss']} {want['accuracy']}")

    # fine-tuning from the classifier and from a masked-LM checkpoint
    src_mlm = hm.save(mlm, tok, os.path.join(tmp, name + "-mlm"))
    r = hm.run(axf, "eval", src_mlm, labelled)
    lines = r.stderr.strip().splitlines()
    if r.returncode != 1 or len(lines) != 1 or "not a sequence-classification checkpoint" not in lines[0]:
        fail(f"{name} masked-LM eval: exit {r.returncode} {r.stderr.strip()!r}")
    for tag, init in (("classifier", src), ("masked-LM", src_mlm)):
        ft = os.path.join(tmp, f"{name}-ft-{tag}")
        if axf_ok(f"{name} finetune --init {tag}", "finetune", "--init", init, "--train", train, "--dev", labelled,
                  "--epochs", "1", "--batch", "16", "--lr", "1e-4", "--max-len", "48", "--threads", "1",
                  "--out", ft) is None:
            continue
        axf_ok(f"{name} eval fine-tuned ({tag})", "eval", ft, labelled, "--threads", "1")
        agree_with_hf(f"{name} fine-tuned from the {tag}", ft)
        with open(os.path.join(ft, "config.json")) as f:
            if json.load(f).get("model_type") != name:
                fail(f"{name} fine-tuned ({tag}): config.json is not {name}'s")

# project models: pre-trained by axf in each architecture, then fine-tuned
corpus = hm.write_tsv(os.path.join(tmp, "corpus.tsv"), ["sentence", "label"],
                      hm.tsv_rows(os.path.join(data_dir, "sst2_glue", "alps_train.tsv"), [0, 1], 2000))
for name, mlm_cls in (("distilbert", DistilBertForMaskedLM), ("roberta", RobertaForMaskedLM)):
    pt = os.path.join(tmp, f"{name}-pretrained")
    out = axf_ok(f"{name} pretrain", "pretrain", "--arch", name, "--out", pt, "--tsv", corpus, "--vocab-size", "800",
                 "--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64", "--max-len", "48",
                 "--max-pos", str(hm.MAX_LEN), "--steps", "60", "--batch", "16", "--lr", "2e-3", "--threads", "1")
    if out is None:
        continue
    m = re.search(r"dev masked-LM loss ([0-9.]+)", out)
    with open(os.path.join(pt, "config.json")) as f:
        V = json.load(f)["vocab_size"]
    # a model that learnt nothing predicts every token with probability 1/V
    if not m or float(m.group(1)) > 0.9 * math.log(V):
        fail(f"{name} pretrain: dev masked-LM loss {m.group(1) if m else '?'} not below 0.9 ln {V}")
    try:
        _, info = mlm_cls.from_pretrained(pt, output_loading_info=True)
        missing = [k for k in info["missing_keys"] if not k.endswith("position_ids")]
        if missing or info["mismatched_keys"]:
            fail(f"{name} pretrain: transformers misses {missing} {info['mismatched_keys']}")
    except Exception as e:  # noqa: BLE001
        fail(f"{name} pretrain: transformers cannot load {pt}: {type(e).__name__}: {str(e)[:300]}")
    ft = os.path.join(tmp, f"{name}-pretrained-ft")
    if axf_ok(f"{name} finetune the pre-trained", "finetune", "--init", pt, "--train", train, "--dev", labelled,
              "--epochs", "1", "--batch", "16", "--lr", "1e-3", "--max-len", "48", "--threads", "1",
              "--out", ft) is not None:
        agree_with_hf(f"{name} pre-trained by axf (masked-LM loss {m.group(1) if m else '?'}, ln V "
                      f"{math.log(V):.2f}) and fine-tuned", ft)

# bad input names the file: a RoBERTa folder without its merges.txt
bad = os.path.join(tmp, "roberta-no-merges")
hm.save(archs[1][1], archs[1][2], bad)
os.remove(os.path.join(bad, "merges.txt"))
r = hm.run(axf, "predict", bad, inputs["single"][0])
if r.returncode != 1 or not re.search(r"merges\.txt", r.stderr) or len(r.stderr.strip().splitlines()) != 1:
    fail(f"RoBERTa without merges.txt: exit {r.returncode} {r.stderr.strip()!r}")

# a sharded checkpoint (only the index and shards): refused in one line saying so
shard = os.path.join(tmp, "distilbert-sharded")
archs[0][1].save_pretrained(shard, max_shard_size="200KB")
if not os.path.exists(os.path.join(shard, "model.safetensors.index.json")):
    fail(f"save_pretrained wrote no shards in {shard}: {os.listdir(shard)}")
r = hm.run(axf, "predict", shard, inputs["single"][0])
if r.returncode != 1 or "sharded checkpoint" not in r.stderr or len(r.stderr.strip().splitlines()) != 1:
    fail(f"sharded checkpoint: exit {r.returncode} {r.stderr.strip()!r}")

finish("DistilBERT and RoBERTa: eval, importance, search, replay, export (loaded by transformers), "
       "finetune --init and pretrain --arch work")
