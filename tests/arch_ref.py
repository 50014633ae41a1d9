"""The project's own reference forward for DistilBERT and RoBERTa sequence classifiers: plain torch
functions over a state dict named as Hugging Face names it and the model's config.json, in float64,
written from the architectures' definitions (no transformers code), as bench/bert_ref.py is for
BERT. One sequence, no padding (what `axf predict` computes per example).

    logits(state_dict, config, ids, types=None) -> list of floats
"""
import math

import torch


def _act(name, x):
    if name == "gelu":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "relu":
        return torch.clamp(x, min=0)
    raise ValueError("activation " + name)


def _ln(x, g, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * g + b


def _lin(sd, name, x):
    return x @ sd[name + ".weight"].t() + sd[name + ".bias"]


def _attention(sd, q, k, v, o, x, nh):
    S, H = x.shape
    hs = H // nh
    split = lambda t: t.view(S, nh, hs).transpose(0, 1)  # noqa: E731
    Q, K, V = split(_lin(sd, q, x)), split(_lin(sd, k, x)), split(_lin(sd, v, x))
    p = torch.softmax(Q @ K.transpose(1, 2) / math.sqrt(hs), dim=-1)
    return _lin(sd, o, (p @ V).transpose(0, 1).reshape(S, H))


def _distilbert(sd, c, ids):
    p, eps = "distilbert.", 1e-12
    S = len(ids)
    x = sd[p + "embeddings.word_embeddings.weight"][ids] + sd[p + "embeddings.position_embeddings.weight"][:S]
    x = _ln(x, sd[p + "embeddings.LayerNorm.weight"], sd[p + "embeddings.LayerNorm.bias"], eps)
    for i in range(c["n_layers"]):
        L = f"{p}transformer.layer.{i}."
        a = _attention(sd, L + "attention.q_lin", L + "attention.k_lin", L + "attention.v_lin",
                       L + "attention.out_lin", x, c["n_heads"])
        x = _ln(a + x, sd[L + "sa_layer_norm.weight"], sd[L + "sa_layer_norm.bias"], eps)
        f = _lin(sd, L + "ffn.lin2", _act(c["activation"], _lin(sd, L + "ffn.lin1", x)))
        x = _ln(f + x, sd[L + "output_layer_norm.weight"], sd[L + "output_layer_norm.bias"], eps)
    h = torch.clamp(_lin(sd, "pre_classifier", x[0]), min=0)
    return _lin(sd, "classifier", h)


def _roberta(sd, c, ids, types):
    p, eps = "roberta.", c["layer_norm_eps"]
    S = len(ids)
    first = c["pad_token_id"] + 1  # positions count from padding_idx + 1
    x = (sd[p + "embeddings.word_embeddings.weight"][ids] +
         sd[p + "embeddings.position_embeddings.weight"][first:first + S] +
         sd[p + "embeddings.token_type_embeddings.weight"][types])
    x = _ln(x, sd[p + "embeddings.LayerNorm.weight"], sd[p + "embeddings.LayerNorm.bias"], eps)
    for i in range(c["num_hidden_layers"]):
        L = f"{p}encoder.layer.{i}."
        a = _attention(sd, L + "attention.self.query", L + "attention.self.key", L + "attention.self.value",
                       L + "attention.output.dense", x, c["num_attention_heads"])
        x = _ln(a + x, sd[L + "attention.output.LayerNorm.weight"], sd[L + "attention.output.LayerNorm.bias"], eps)
        f = _lin(sd, L + "output.dense", _act(c["hidden_act"], _lin(sd, L + "intermediate.dense", x)))
        x = _ln(f + x, sd[L + "output.LayerNorm.weight"], sd[L + "output.LayerNorm.bias"], eps)
    h = torch.tanh(_lin(sd, "classifier.dense", x[0]))
    return _lin(sd, "classifier.out_proj", h)


def logits(state_dict, config, ids, types=None):
    sd = {k: v.to(torch.float64) for k, v in state_dict.items() if v.is_floating_point()}
    ids = torch.tensor(ids, dtype=torch.long)
    with torch.no_grad():
        if config["model_type"] == "distilbert":
            out = _distilbert(sd, config, ids)
        elif config["model_type"] == "roberta":
            t = torch.zeros_like(ids) if types is None else torch.tensor(types, dtype=torch.long)
            out = _roberta(sd, config, ids, t)
        else:
            raise ValueError("model_type " + config["model_type"])
    return out.tolist()
