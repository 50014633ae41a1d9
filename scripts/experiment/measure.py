#!/usr/bin/env python3
"""Measurement plumbing of scripts/experiment.sh (standard library only).

Reads what the axf commands print and the session files they write, and writes the small JSON
files the experiment keeps per run, then the results sidecar `axf report --results` reads
(its format is documented in include/axf/resultsfile.h).

  measure.py eval-json --out F --data R --base-dir M --export-dir E --base-log L... --export-log L...
  measure.py search-json --out F --log L --seconds-file T [--nocache-log L --nocache-seconds-file T]
  measure.py search-table --manifest TSV   search cost of the axformer runs (Markdown)
  measure.py kept SESSION            prints the share of parameters the session's plan keeps
  measure.py collect --manifest TSV --split NAME --out results-NAME.json
  measure.py subset --in TSV --n N --seed S --out TSV2   N rows of a split, drawn by S
"""
import argparse
import json
import random
import statistics
import math
import os
import re
import sys

METRICS = ("accuracy", "f1", "mcc", "pearson")


def fail(msg):
    sys.stderr.write("measure.py: %s\n" % msg)
    sys.exit(1)


def parse_eval(path):
    """The task metrics and tokens/s `axf eval` printed (format: issue 2, 'prints the task's
    metrics plus examples/s and tokens/s'). Tolerant: 'accuracy: 0.8154', 'accuracy 81.54%',
    'tokens/s: 5210', '5210 tokens/s' all parse. A JSON object on one line wins when present."""
    text = open(path, encoding="utf-8", errors="replace").read()
    out = {}
    for line in text.splitlines():
        line = line.strip()
        # key=value lines, as axf eval prints them ("accuracy=0.815367", "tokens_per_s=20312.5")
        m = re.match(r"^([a-z_]+)\s*=\s*([-+0-9.eE]+)$", line)
        if m:
            k, v = m.group(1), m.group(2)
            try:
                v = float(v)
            except ValueError:
                continue
            if k in METRICS:
                out.setdefault(k, v)
            elif k in ("tokens_per_s", "tokens_per_second"):
                out.setdefault("tok_s", v)
            elif k == "tokens_per_cpu_s":
                out.setdefault("tok_cpu_s", v)
            continue
        if line.startswith("{") and line.endswith("}"):
            try:
                j = json.loads(line)
            except ValueError:
                continue
            for k in METRICS:
                if isinstance(j.get(k), (int, float)):
                    out.setdefault(k, float(j[k]))
            for k in ("tokens_per_s", "tokens_per_second", "tok_s"):
                if isinstance(j.get(k), (int, float)):
                    out.setdefault("tok_s", float(j[k]))
    num = r"([-+]?[0-9][0-9,]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
    for k in METRICS:
        if k in out:
            continue
        m = re.search(r"\b%s\b[^0-9\n+-]{0,12}%s\s*(%%)?" % (k, num), text, re.I)
        if m:
            v = float(m.group(1).replace(",", ""))
            if m.group(2) or (k in ("accuracy", "f1") and v > 1.0):
                v /= 100.0
            out[k] = v
    if "tok_s" not in out:
        m = re.search(r"%s\s*tok(?:en)?s?\s*/\s*s" % num, text, re.I) or \
            re.search(r"tok(?:en)?s?\s*/\s*s(?:ec)?\b[^0-9\n]{0,6}%s" % num, text, re.I)
        if m:
            out["tok_s"] = float(m.group(1).replace(",", ""))
    return out


def file_size(model_dir):
    p = os.path.join(model_dir, "model.safetensors")
    return os.path.getsize(p) if os.path.exists(p) else None


def cmd_eval_json(a):
    base = [parse_eval(p) for p in a.base_log]
    exp = [parse_eval(p) for p in a.export_log]
    metric = None
    if a.session:  # the task metric the search used (MRPC: f1, CoLA: mcc), not just any printed
        metric = json.load(open(a.session))["baseline"]["metric_name"]
        if metric not in base[0] or metric not in exp[0]:
            fail("%s: axf eval printed no %s" % (a.base_log[0], metric))
    for k in METRICS:
        if metric is None and k in base[0] and k in exp[0]:
            metric = k
    if metric is None:
        fail("%s: no task metric found in the axf eval output" % a.base_log[0])
    for runs, what in ((base, "baseline"), (exp, "export")):
        vals = {r.get(metric) for r in runs}
        if len(vals) != 1:
            fail("%s metric differs between repeated evaluations: %s" % (what, sorted(vals)))
    best = lambda runs: max((r["tok_s"] for r in runs if "tok_s" in r), default=None)
    # Process CPU time of single-threaded runs (axf eval --threads 1 prints tokens_per_cpu_s) is
    # the engine's own work whatever else runs on the machine: the median of the repeats when
    # every run printed it, else the best wall-clock figure.
    cpu = lambda runs: statistics.median(r["tok_cpu_s"] for r in runs) \
        if runs and all("tok_cpu_s" in r for r in runs) else None
    basis = "cpu" if cpu(base) is not None and cpu(exp) is not None else "wall"
    res = {
        "data": a.data,
        "metric_name": metric,
        "baseline": base[0][metric],
        "export": exp[0][metric],
        "baseline_tok_s": cpu(base) if basis == "cpu" else best(base),
        "export_tok_s": cpu(exp) if basis == "cpu" else best(exp),
        "speed_basis": basis,  # cpu: tokens per CPU-second, 1 thread; wall: best of the repeats
        "baseline_bytes": file_size(a.base_dir),
        "export_bytes": file_size(a.export_dir),
        "repeats": len(base),
    }
    write_json(a.out, res)


def parse_search(path):
    """Layer-evaluations as `axf search` reports them at the end (issue 5: the closing summary
    names the layer-evaluations saved by the cache). Tolerant of the exact wording; a JSON line with
    the session counters (layer_evals, layer_evals_saved, evals) wins when present."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    text = open(path, encoding="utf-8", errors="replace").read()
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("{") and s.endswith("}"):
            try:
                j = json.loads(s)
            except ValueError:
                continue
            for k in ("layer_evals", "layer_evals_saved", "evals"):
                if isinstance(j.get(k), (int, float)):
                    out[k] = j[k]
    # axf search's closing summary: "evals     41 evaluations (3 answered from stored results); 90
    # layer-evaluations run, 74 saved by the cache (45% of 164)" and "time      12.3 s search (...)"
    for line in text.splitlines():
        low = line.lower().replace("-", " ")
        m = re.search(r"(\d+) evaluations \((\d+) answered", low)
        if m and "evals" not in out:
            out["evals"], out["evals_reused"] = int(m.group(1)), int(m.group(2))
        m = re.search(r"(\d+) layer evaluations run, (\d+) saved", low)
        if m:
            out["layer_evals"], out["layer_evals_saved"] = int(m.group(1)), int(m.group(2))
        m = re.match(r"\s*time\s+([0-9.]+) s search", low)
        if m:
            out["search_seconds"] = float(m.group(1))
            m = re.search(r"([0-9.]+) cpu s search", low)
            if m:
                out["search_cpu_seconds"] = float(m.group(1))
    if "layer_evals" not in out:
        for line in text.splitlines():
            low = line.lower().replace("_", " ").replace("-", " ")
            if "layer" in low and "eval" in low:
                m = re.search(r"layer evaluations?\D{0,20}?(\d+)", low) or re.search(r"layer evals?\D{0,20}?(\d+)", low)
                if m:
                    out["layer_evals"] = int(m.group(1))
                m = re.search(r"(\d+)\D{0,20}saved", low) or re.search(r"saved\D{0,20}?(\d+)", low)
                if m:
                    out["layer_evals_saved"] = int(m.group(1))
    return out


def read_seconds(path):
    if not path or not os.path.exists(path):
        return None
    return float(open(path).read().strip())


def cmd_search_json(a):
    c = parse_search(a.log)
    # "seconds": the policy's own time (without opening the model and evaluating the baseline):
    # its process CPU time when axf search reports it — with one thread (THREADS=1) that is the
    # time the search takes alone, which other jobs on a shared machine do not inflate — else its
    # wall time, else the wall time of the whole command.
    def own(c, seconds_file):
        return c.get("search_cpu_seconds", c.get("search_seconds", read_seconds(seconds_file)))
    res = {
        "seconds": own(c, a.seconds_file),
        "seconds_basis": "cpu" if "search_cpu_seconds" in c else "wall",
        "wall_seconds": read_seconds(a.seconds_file),
        "evals": c.get("evals"),
        "evals_reused": c.get("evals_reused"),
        "layer_evals": c.get("layer_evals"),
        "layer_evals_saved": c.get("layer_evals_saved"),
        "seconds_nocache": None,
        "layer_evals_nocache": None,
    }
    if a.nocache_log:
        n = parse_search(a.nocache_log)
        res["seconds_nocache"] = own(n, a.nocache_seconds_file)
        res["layer_evals_nocache"] = n.get("layer_evals")
    elif c.get("layer_evals") is not None and c.get("layer_evals_saved") is not None:
        # Without a cache every evaluation runs every remaining layer: by the counters' definition
        # (session.h) that is what ran plus what the cache saved. The uncached time is not known.
        res["layer_evals_nocache"] = c["layer_evals"] + c["layer_evals_saved"]
    write_json(a.out, res)


def session_kept(path):
    s = json.load(open(path))
    base = s["baseline"]["params"]
    cur = s["cursor"]
    final = s["history"][cur - 1]["after"]["params"] if cur > 0 else base
    return final / base


def cmd_kept(a):
    print("%.6f" % session_kept(a.session))


def load_opt(path):
    if not path or path == "-" or not os.path.exists(path):
        return None
    return json.load(open(path))


def cmd_collect(a):
    """Manifest lines: session, label, task, size, seed, run folder (with search.json and
    eval-SPLIT.json). Runs without an evaluation on this split are left out."""
    runs = []
    out_dir = os.path.dirname(os.path.abspath(a.out))
    with open(a.manifest) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            session, label, task, size, seed, run_dir = line.rstrip("\n").split("\t")
            e = load_opt(os.path.join(run_dir, "eval-%s.json" % a.split))
            if not os.path.exists(session) or not e:
                continue
            r = {"session": os.path.relpath(os.path.abspath(session), out_dir), "label": label,
                 "task": task, "size": size, "seed": int(seed)}
            r["report"] = {"data": e["data"], "metric_name": e["metric_name"],
                           "baseline": e["baseline"], "export": e["export"]}
            if e.get("baseline_tok_s") and e.get("export_tok_s"):
                r["speed"] = {"baseline_tok_s": e["baseline_tok_s"], "export_tok_s": e["export_tok_s"]}
            if e.get("baseline_bytes") and e.get("export_bytes"):
                r["file_bytes"] = {"baseline": e["baseline_bytes"], "export": e["export_bytes"]}
            s = load_opt(os.path.join(run_dir, "search.json"))
            if not s and " + " in label:  # a recovered variant (RUN/recovered-…): its run's search
                s = load_opt(os.path.join(os.path.dirname(os.path.normpath(run_dir)), "search.json"))
            if s:
                r["search"] = {k: v for k, v in s.items() if v is not None}
            runs.append(r)
    write_json(a.out, {"format": "axf-results", "version": 1, "runs": runs})


def cmd_search_table(a):
    """Markdown: the cost of each axformer search, against the PyTorch reference run of issue 7
    (4 x 256 model, 41 evaluations of a 10,102-example search split in ~280 s: 6.8 s for one
    evaluation of 10,102 examples). Only a model of that size compares directly."""
    ref = 280.0 / 41 / 10102
    rows = []
    with open(a.manifest) as f:
        for line in f:
            if not line.strip():
                continue
            session, label, task, size, seed, run_dir = line.rstrip("\n").split("\t")
            # the recovered variants (" + distill") share their search with the run they recover
            if not label.startswith("axformer") or " + " in label or not os.path.exists(session):
                continue
            s = json.load(open(session))
            sj = load_opt(os.path.join(run_dir, "search.json")) or {}
            n, ev, sec = s["data"]["n"], sj.get("evals"), sj.get("seconds")
            if ev is not None:
                ev -= sj.get("evals_reused") or 0  # answered from stored results: no forward pass
            m = s["model"]
            arch = "%dx%d" % (m["layers"], m["hidden"])
            per = sec / (ev * n) if ev and sec else None
            rows.append("| %s/%s | %s | %s | %s | %d | %s | %s | %s | %s |" % (
                task, size, arch, label, seed, n, ev if ev is not None else "–",
                ("%.1f CPU-s" if sj.get("seconds_basis") == "cpu" else "%.1f s") % sec if sec is not None else "–",
                "%.2f s" % (per * 10102) if per else "–",
                "%.1f×" % (ref / per) if per else "–"))
    print("| config | model | policy | seed | search examples | evaluations run | search time | "
          "s per evaluation of 10,102 examples | vs PyTorch reference |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


def cmd_subset(a):
    """The header line and the data rows at the indices random.Random(SEED).sample(range(rows), N),
    in their order in the file (the whole file when it has N rows or fewer): a stated, seeded
    subset of a search split, the same on every machine and Python 3 version."""
    with open(a.inp, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        fail("%s: empty file (expected a header line and rows)" % a.inp)
    if a.n < 1:
        fail("subset: --n must be positive")
    head, rows = lines[0], lines[1:]
    keep = range(len(rows)) if a.n >= len(rows) else sorted(random.Random(a.seed).sample(range(len(rows)), a.n))
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join([head] + [rows[i] for i in keep]) + "\n")
    os.replace(tmp, a.out)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("eval-json")
    p.add_argument("--out", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--base-dir", required=True)
    p.add_argument("--export-dir", required=True)
    p.add_argument("--base-log", nargs="+", required=True)
    p.add_argument("--export-log", nargs="+", required=True)
    p.add_argument("--session", help="take the metric name from this session's baseline")
    p.set_defaults(fn=cmd_eval_json)
    p = sub.add_parser("search-json")
    p.add_argument("--out", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--seconds-file", required=True)
    p.add_argument("--nocache-log")
    p.add_argument("--nocache-seconds-file")
    p.set_defaults(fn=cmd_search_json)
    p = sub.add_parser("search-table")
    p.add_argument("--manifest", required=True)
    p.set_defaults(fn=cmd_search_table)
    p = sub.add_parser("kept")
    p.add_argument("session")
    p.set_defaults(fn=cmd_kept)
    p = sub.add_parser("collect")
    p.add_argument("--manifest", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_collect)
    p = sub.add_parser("subset")
    p.add_argument("--in", dest="inp", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_subset)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
