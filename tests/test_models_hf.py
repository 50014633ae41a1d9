"""DistilBERT and RoBERTa sequence classifiers against Hugging Face transformers (issue 19).

Small random DistilBertForSequenceClassification and RobertaForSequenceClassification models made
by transformers (tests/hf_models.py), saved by save_pretrained both as model.safetensors and as
pytorch_model.bin with their own tokenizer files; then, on real sentences and sentence pairs:
  - the ids `axf` feeds its engine equal those of the models' own tokenizers, slow and fast
    (truncation to the model's length included), except that on a pair truncated to parts one
    token apart the fast tokenizer shortens the other part (counted and reported);
  - `axf predict` logits lie within TOL of transformers' forward computed in float64 from the same
    float32 weights (the exact answer for the stored model), and are the same bits from
    pytorch_model.bin as from model.safetensors;
  - beside transformers, the project's own plain-torch forward (tests/arch_ref.py, float64): it
    agrees with transformers' float64 forward to REF_TOL, and `axf predict` on the models saved in
    F32, F16 and BF16 lies within REL_TOL relative (|axf - ref| <= REL_TOL x max(1, max |ref|)) of
    it run on the same rounded weights, single sentences and pairs.

usage: tests/venv_run.sh test_models_hf.py AXF ENCODE_TOOL DATA_DIR TMP_DIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch_ref  # noqa: E402
import hf_models as hm  # noqa: E402
from pyutil import fail, failures, finish, fresh_dir  # noqa: E402

TOL = 1e-5
REF_TOL = 1e-9
REL_TOL = 1e-4
axf, enc_tool, data_dir, tmp = sys.argv[1:5]

import torch  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()  # its notes on truncation without overflowing tokens
fresh_dir(tmp)
inputs = hm.inputs(data_dir, tmp)

models = []
dtoks = hm.distilbert_tokenizers(data_dir)
rtoks = hm.roberta_tokenizers(data_dir, tmp)
for name, model, toks in (("distilbert-gelu", hm.distilbert(dtoks[0], "gelu", 3, 11), dtoks),
                          ("distilbert-relu", hm.distilbert(dtoks[0], "relu", 2, 12), dtoks),
                          ("roberta-gelu", hm.roberta(rtoks[0], "gelu", 2, 21), rtoks),
                          ("roberta-gelunew", hm.roberta(rtoks[0], "gelu_new", 3, 22), rtoks)):
    dirs = (hm.save(model, toks[0], os.path.join(tmp, name + "-st")),
            hm.save(model, toks[0], os.path.join(tmp, name + "-bin"), safe=False))
    for d, f in zip(dirs, ("model.safetensors", "pytorch_model.bin")):
        if not os.path.exists(os.path.join(d, f)):
            fail(f"{d}: save_pretrained wrote no {f} ({os.listdir(d)})")
    models.append((name, model, toks, dirs))

summary = []
ids_of = {}  # (model, kind) -> axf's ids per example, when they equal transformers'
for name, model, toks, (d_st, d_bin) in models:
    m64 = hm.float64(model)
    worst, worst32, n_ids, n_same, n_ties = 0.0, 0.0, 0, 0, 0
    for kind, (path, rows) in inputs.items():
        r = hm.run(enc_tool, d_st, path, str(hm.MAX_LEN))
        if r.returncode != 0:
            fail(f"{name} {kind}: encode: {r.stderr.strip()}")
            continue
        got_ids = [[int(x) for x in line.split("\t")[0].split()] for line in r.stdout.splitlines()]
        ids_of[name, kind] = got_ids
        outs = {}
        for d in (d_st, d_bin):
            r = hm.run(axf, "predict", d, path, "--threads", "1")
            if r.returncode != 0:
                fail(f"{name} {kind}: axf predict {d}: {r.stderr.strip()}")
                continue
            outs[d] = r.stdout
        if len(outs) == 2 and outs[d_st] != outs[d_bin]:
            fail(f"{name} {kind}: pytorch_model.bin gives other logits than model.safetensors")
        if d_st not in outs:
            continue
        logits = hm.axf_logits(outs[d_st])
        if len(logits) != len(rows) or len(got_ids) != len(rows):
            fail(f"{name} {kind}: {len(logits)} predictions and {len(got_ids)} id lines for {len(rows)} inputs")
            continue
        for k, (a, b) in enumerate(rows):
            ids = hm.hf_ids(toks[0], a, b)
            n_ids += 1
            if ids != hm.hf_ids(toks[1], a, b):
                # Hugging Face's two tokenizers disagree only when truncating a pair whose parts
                # end up one token apart: the slow one (whose rule axf follows, FORMATS.md)
                # shortens the second part on a tie, the fast one keeps the extra token in the
                # longer part. Anything else is a failure.
                whole = [t(a, b)["input_ids"] for t in toks]
                if b is None or len(ids) != hm.MAX_LEN or whole[0] != whole[1]:
                    fail(f"{name} {kind} {k + 1}: the slow and fast tokenizers disagree other than on a tie")
                n_ties += 1
            if got_ids[k] != ids:
                ids_of[name, kind] = None
                if len(failures) < 20:
                    fail(f"{name} {kind} {k + 1} {a[:40]!r}: axf ids {got_ids[k]} vs transformers {ids}")
                continue
            n_same += 1
            x = torch.tensor([ids])
            with torch.no_grad():
                want = m64(input_ids=x).logits[0].tolist()
                want32 = model(input_ids=x).logits[0].tolist()
            diff = max(abs(g - w) for g, w in zip(logits[k], want))
            worst = max(worst, diff)
            worst32 = max(worst32, max(abs(g - w) for g, w in zip(want32, want)))
            if diff > TOL and len(failures) < 20:
                fail(f"{name} {kind} {k + 1}: logits {logits[k]} vs transformers (float64) {want}: {diff:.3g} > {TOL}")
    summary.append(f"{name}: ids {n_same}/{n_ids} identical to transformers' slow tokenizer, "
                   f"{n_same - n_ties}/{n_ids} to the fast one ({n_ties} truncation ties); max |logit - "
                   f"float64 reference| {worst:.3g} (transformers' own float32 forward: {worst32:.3g})")

# The plain-torch reference: first against transformers' float64 forward (F32 weights), then axf
# on the model saved in each dtype against the reference on those rounded weights.
for name, model, toks, _ in models:
    cfg = model.config.to_dict()
    m64 = hm.float64(model)
    worst_ref, worst = 0.0, {}
    for dt in (torch.float32, torch.float16, torch.bfloat16):
        tag = str(dt).split(".")[1]
        m = type(model)(model.config)
        m.load_state_dict(model.state_dict())
        m = m.to(dt).eval()
        d = hm.save(m, toks[0], os.path.join(tmp, f"{name}-{tag}"))
        sd = m.state_dict()
        worst[tag] = 0.0
        for kind, (path, rows) in inputs.items():
            all_ids = ids_of.get((name, kind))
            if not all_ids:
                continue  # failed above
            r = hm.run(axf, "predict", d, path, "--threads", "1")
            if r.returncode != 0:
                fail(f"{name} {tag} {kind}: axf predict: {r.stderr.strip()}")
                continue
            got = hm.axf_logits(r.stdout)
            for k, ids in enumerate(all_ids):
                want = arch_ref.logits(sd, cfg, ids)
                if dt == torch.float32:
                    with torch.no_grad():
                        hf = m64(input_ids=torch.tensor([ids])).logits[0].tolist()
                    dref = max(abs(a - b) for a, b in zip(want, hf))
                    worst_ref = max(worst_ref, dref)
                    if dref > REF_TOL:
                        fail(f"{name} {kind} {k + 1}: the plain-torch reference {want} vs transformers {hf}")
                rel = max(abs(a - b) for a, b in zip(got[k], want)) / max(1.0, max(abs(w) for w in want))
                worst[tag] = max(worst[tag], rel)
                if rel > REL_TOL and len(failures) < 20:
                    fail(f"{name} {tag} {kind} {k + 1}: axf {got[k]} vs plain-torch reference {want}: "
                         f"relative {rel:.3g} > {REL_TOL}")
    summary.append(f"{name}: plain-torch reference vs transformers {worst_ref:.3g}; axf vs the reference, "
                   "relative: " + ", ".join(f"{t} {v:.3g}" for t, v in worst.items()))

for line in summary:
    print(line)
finish(f"DistilBERT and RoBERTa: axf agrees with transformers (ids equal, logits within {TOL}) and with the "
       f"plain-torch reference in F32, F16 and BF16 (within {REL_TOL} relative)")
