"""Small random DistilBERT and RoBERTa classifiers made by Hugging Face transformers, and real
inputs from the shared data, for the tests that hold axf to transformers (test_models_hf.py,
test_models_pipeline.py).

The tests run in the project's environment (.venv) through tests/venv_run.sh.

Models: DistilBERT with the BERT uncased vocab.txt (WordPiece); RoBERTa with a byte-level BPE
(vocab.json + merges.txt) learnt here by Hugging Face's tokenizers from SST-2 sentences. Weights
are drawn larger than the 0.02 initialisation, so that attention is peaked and logits are of
order 1 (small random logits would hide errors)."""
import os
import subprocess

MAX_LEN = 64


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def tsv_rows(path, cols, n, skip_header=True):
    out = []
    with open(path, encoding="utf-8-sig") as f:
        if skip_header:
            next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            out.append(tuple(p[c] for c in cols))
            if len(out) == n:
                break
    return out


def write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows))
    return path


def inputs(data_dir, tmp):
    """{"single": (file, [(a, None)]), "pair": (file, [(a, b)])}: SST-2 dev sentences and a
    sentence with accents, an emoji and contractions; MRPC dev pairs and long RTE pairs (truncated
    longest first to MAX_LEN). The files have no labels."""
    singles = [r[0] for r in tsv_rows(os.path.join(data_dir, "sst2_glue", "dev.tsv"), [0], 40)]
    singles += ["Crème brûlée , naïve café — I'm sure they'll say it's fine 😀", "x"]
    pairs = tsv_rows(os.path.join(data_dir, "mrpc_glue", "dev.tsv"), [3, 4], 24)
    pairs += [r for r in tsv_rows(os.path.join(data_dir, "rte_glue_hf", "dev.tsv"), [0, 1], 40)
              if '"' not in r[0] + r[1]][:8]
    return {"single": (write_tsv(os.path.join(tmp, "single.tsv"), ["sentence"], [(s,) for s in singles]),
                       [(s, None) for s in singles]),
            "pair": (write_tsv(os.path.join(tmp, "pairs.tsv"), ["sentence1", "sentence2"], pairs), pairs)}


def scramble(model, seed):
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name.lower() and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
    model.eval()
    return model


def save(model, tokenizer, d, safe=True):
    model.save_pretrained(d, safe_serialization=safe)
    tokenizer.save_pretrained(d)
    return d


def distilbert_tokenizers(data_dir):
    from transformers import DistilBertTokenizer, DistilBertTokenizerFast
    vocab = os.path.join(data_dir, "bert_base_uncased_vocab", "vocab.txt")
    return DistilBertTokenizer(vocab, do_lower_case=True), DistilBertTokenizerFast(vocab, do_lower_case=True)


def roberta_tokenizers(data_dir, tmp):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizer, RobertaTokenizerFast
    corpus = [r[0] for r in tsv_rows(os.path.join(data_dir, "sst2_glue", "alps_train.tsv"), [0], 3000)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=1200, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    d = os.path.join(tmp, "bpe")
    os.makedirs(d, exist_ok=True)
    bpe.save_model(d)
    v, m = os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")
    return RobertaTokenizer(v, m), RobertaTokenizerFast(v, m)


def distilbert(tok, act="gelu", labels=2, seed=11, cls=None):
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification
    torch.manual_seed(seed)
    cfg = DistilBertConfig(vocab_size=tok.vocab_size, dim=64, n_layers=3, n_heads=4, hidden_dim=128,
                           max_position_embeddings=MAX_LEN, activation=act, num_labels=labels)
    return scramble((cls or DistilBertForSequenceClassification)(cfg), seed)


def roberta(tok, act="gelu", labels=2, seed=21, cls=None):
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification
    torch.manual_seed(seed)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=MAX_LEN + 2, type_vocab_size=1,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, hidden_act=act,
                        num_labels=labels)
    return scramble((cls or RobertaForSequenceClassification)(cfg), seed)


def hf_ids(tok, a, b):
    enc = tok(a, b, truncation=True, max_length=MAX_LEN) if b is not None else tok(a, truncation=True,
                                                                                    max_length=MAX_LEN)
    return enc["input_ids"]


def float64(model):
    """A float64 copy of model: its forward is the exact answer for the stored float32 weights."""
    m = type(model)(model.config)
    m.load_state_dict(model.state_dict())
    return m.double().eval()


def axf_logits(out):
    """Logits per example from `axf predict` output lines (index, label, logits...)."""
    return [[float(v) for v in line.split("\t")[2:]] for line in out.splitlines()]
