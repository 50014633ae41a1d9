"""PyTorch side of the training benchmark: masked-LM steps (forward, backward, gradient clipping at
1.0, AdamW with no decay on biases and LayerNorm) of the model in OUT/train/model on the batches of
OUT/train/batches.json (bench/train_prepare.py), each batch right-padded to its longest sequence;
dropout 0.1 on hidden states and attention probabilities; the decoder (tied to the word
embeddings) runs on the masked positions only.

Serves bench/driver.py's protocol: {"ready":...}, then "run" -> {"t": seconds of one pass over all
batches, "cpu": CPU seconds of the process}, "logits" -> {"logits": [[mean loss of the pass]]}, "quit".

usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/train_torch.py MODEL_DIR BATCHES.json THREADS
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_ref  # noqa: E402
from torch_run import load_safetensors  # noqa: E402


def main():
    model_dir, batches_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    m = bert_ref.BertMLM(c)
    m.load_state_dict(load_safetensors(os.path.join(model_dir, "model.safetensors")), strict=True)
    m.train()
    decay = [p for n, p in m.named_parameters() if not (n.endswith(".bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in m.named_parameters() if n.endswith(".bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4)
    with open(batches_path) as f:
        batches = json.load(f)["batches"]
    feeds = []
    for b in batches:
        s = max(len(x) for x in b["ids"])
        ids = torch.zeros(len(b["ids"]), s, dtype=torch.long)
        mask = torch.zeros_like(ids)
        flat, tgt = [], []
        for i, (x, p, o) in enumerate(zip(b["ids"], b["pos"], b["orig"])):
            ids[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = 1
            flat += [i * s + j for j in p]
            tgt += o
        feeds.append((ids, torch.zeros_like(ids), mask, torch.tensor(flat), torch.tensor(tgt)))

    def one_pass():
        total = 0.0
        for ids, types, mask, flat, tgt in feeds:
            opt.zero_grad(set_to_none=True)
            scores = m(ids, types, mask, flat)
            loss = torch.nn.functional.cross_entropy(scores, tgt)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            total += loss.item()
        return total / len(feeds)

    def out(o):
        sys.stdout.write(json.dumps(o) + "\n")
        sys.stdout.flush()

    out({"ready": True, "peer": "torch_train", "version": torch.__version__})
    last = None
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            t0, c0 = time.perf_counter(), time.process_time()
            last = one_pass()
            out({"t": time.perf_counter() - t0, "cpu": time.process_time() - c0, "loss": last})
        elif cmd == "logits":
            out({"logits": [[last if last is not None else one_pass()]]})
        elif cmd == "quit":
            break
        else:
            out({"error": "unknown command " + cmd})


if __name__ == "__main__":
    main()
