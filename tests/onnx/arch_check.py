"""The ONNX and dense-compatible exports of the other architectures: small random DistilBERT and
RoBERTa classifiers made by Hugging Face transformers (tests/hf_models.py), MRPC / RTE dev pairs
from the shared data. For each, the plan kinds of tests/onnx/plans.lua exported with --onnx and
run on ONNX Runtime against axf predict (tests/onnx/ort_check.py: batch 1 and padded, limits
there), and the dense-compatible export of the pruned plan loaded by AutoModelForSequenceClassification
.from_pretrained against axf predict on the compacted export (1e-4).

usage: .venv/bin/python arch_check.py AXF ENCODE_TOOL DATA_DIR POLICY WORK KIND...
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore")
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.dirname(here))
import dense_check as dc  # noqa: E402
import hf_models  # noqa: E402
import ort_check as oc  # noqa: E402
import transformers  # noqa: E402

transformers.logging.set_verbosity_error()


def main():
    axf, tool, data_dir, policy, work = sys.argv[1:6]
    kinds = sys.argv[6:]
    os.makedirs(work, exist_ok=True)
    pairs = hf_models.inputs(data_dir, work)["pair"][1]
    data = oc.write_pairs(os.path.join(work, "pairs-labelled.tsv"), pairs)
    dtok, _ = hf_models.distilbert_tokenizers(data_dir)
    rtok, _ = hf_models.roberta_tokenizers(data_dir, work)
    models = {
        "distilbert": hf_models.save(hf_models.distilbert(dtok), dtok, os.path.join(work, "distilbert-model")),
        "roberta": hf_models.save(hf_models.roberta(rtok), rtok, os.path.join(work, "roberta-model")),
    }
    n = 0
    for arch, d in models.items():
        n += oc.check_kinds(axf, tool, d, data, policy, os.path.join(work, arch), kinds, hf_models.MAX_LEN,
                            arch + " ")
        sess = os.path.join(work, arch, "pruned.json")
        compact, dense = os.path.join(work, arch, "pruned"), os.path.join(work, arch, "pruned-dense")
        oc.run([axf, "search", d, data, "--policy", policy, "--set", "kind=pruned", "--out", sess])
        oc.run([axf, "export", sess, "--out", compact])
        oc.run([axf, "export", sess, "--out", dense, "--dense-compatible"])
        want = oc.predict(axf, compact, data, hf_models.MAX_LEN)
        enc = oc.encode(tool, dense, data, hf_models.MAX_LEN)
        for batch in (1, dc.BATCH):
            oc.compare(arch + " dense-compatible", "HF %s" % ("batch 1" if batch == 1 else "padded %d" % batch),
                       dc.hf_logits(dense, enc, batch), want)
    if oc.failures:
        print("%d failure(s)" % len(oc.failures))
        return 1
    print("ok: %d kinds" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
