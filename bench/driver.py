"""Times every peer on input cases of one model at one thread count, interleaved: each peer stays
loaded in its own process (bench/ort_run.py --serve, bench/torch_run.py --serve) and the driver asks each
in turn for one pass, rotating the order every round. The machine is shared with people
compiling; interleaving makes a load spike hit every peer alike instead of whichever ran then.
axf runs as bench/axf_case.c (built by run.sh against the project's core library), which also
times the sgemm floor of the same packed products right after each engine pass. Writes OUT/raw/<case>.t<threads>.<peer>.json for bench/report.py.

usage: /usr/bin/python3 bench/driver.py OUT CASE[,CASE...] THREADS RUNS [--axf-case PATH]
       [--peers ort,torch_eager,...,ort_i8,torch_dq,axf_i8] [--runs-b1 N] [--ort-python PATH]   (cases of one model; --runs-b1
       for base_b1; --ort-python: the Python with PyPI's onnxruntime, default the project's .venv)
       /usr/bin/python3 bench/driver.py OUT train THREADS RUNS --axf-train PATH
       (training: bench/train_torch.py against bench/axf_train_case.c on OUT/train)
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PY = "/usr/bin/python3"
VENV_PY = os.path.join(os.path.dirname(HERE), ".venv", "bin", "python")  # scripts/venv.sh makes it
PAUSE = 0.2  # s between passes: lets the previous peer's spinning BLAS/ORT threads go to sleep
BUSY = 0.30  # share of the machine's CPU time used by others (while ours idle) that counts as busy
WAIT_IDLE = 10.0  # at most this many seconds of waiting for a quiet machine before each pass,
WAIT_BUDGET = [float(os.environ.get("BENCH_WAIT_BUDGET", "120"))]  # and this many in all per driver run
# (a machine busy for hours stays busy; BENCH_WAIT_BUDGET=0 never waits, e.g. on a machine shared all day)


class Server:
    def __init__(self, name, cmd, env):
        self.name = name
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                  text=True, bufsize=1)
        self.hello = None

    def wait_ready(self):
        self.hello = self._read()
        if not self.hello.get("ready"):
            raise RuntimeError("%s did not start: %s" % (self.name, self.hello))

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("%s exited (status %s)" % (self.name, self.p.wait()))
        return json.loads(line)

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        r = self._read()
        if "error" in r:
            raise RuntimeError("%s: %s" % (self.name, r["error"]))
        return r

    def run(self):
        return self.ask("run")

    def logits(self):
        return self.ask("logits")["logits"]

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait(timeout=60)


def cpu_busy(dt):
    """Share of all CPUs' time spent running un-niced work over the next dt seconds (our peers are
    idle then). Niced jobs (nice 10 and more, as the team rules ask for long jobs) are left out:
    against the benchmark's nice-0 processes they get about a tenth of a core."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[1] + v[3] + v[4]  # nice, idle, iowait
    t0, i0 = snap()
    time.sleep(dt)
    t1, i1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def time_case(out, case, threads, runs, servers):
    peers = [s.name for s in servers]

    def one(name, rec=None):
        # Wait for the other users' CPU use to drop (bounded), and record what it was.
        time.sleep(PAUSE)
        waited, busy = 0.0, cpu_busy(0.25)
        while busy > BUSY and waited < WAIT_IDLE and WAIT_BUDGET[0] > 0:
            waited += 1.0
            WAIT_BUDGET[0] -= 1.0
            busy = cpu_busy(1.0)
        x = next(s for s in servers if s.name == name).run()
        if rec is not None:
            rec.append(round(busy, 3))
        return x

    res = {p: {"times": [], "cpu": [], "load": [], "busy": []} for p in peers}
    for p in peers:  # warm-up (first touch of weights, lazy allocations, JIT profiling): one more if short
        if one(p)["t"] < 1.0:
            one(p)
    for r in range(runs):
        k = r % len(peers)
        for p in peers[k:] + peers[:k]:
            x = one(p, res[p]["busy"])
            res[p]["times"].append(x["t"])
            res[p]["cpu"].append(x.get("cpu"))
            res[p]["load"].append(load1())
            if "floor_t" in x:
                res.setdefault("floor", {"peer": "floor", "times": [], "cpu": [], "load": [], "busy": []})
                res["floor"]["times"].append(x["floor_t"])
                res["floor"]["cpu"].append(x.get("floor_cpu"))
                res["floor"]["load"].append(load1())
                res["floor"]["busy"].append(res[p]["busy"][-1])
    for s in servers:
        res[s.name]["logits"] = s.logits()
        res[s.name].update({k: v for k, v in s.hello.items() if k not in ("ready", "ok")})
    for p, r in res.items():
        r["threads"] = threads
        with open(os.path.join(out, "raw", "%s.t%d.%s.json" % (case, threads, p)), "w") as f:
            json.dump(r, f)
    med = {p: sorted(r["times"])[len(r["times"]) // 2] for p, r in res.items()}
    busy = sorted(x for r in res.values() for x in r["busy"])
    print("driver: %s, %d thread(s): medians %s; load %.1f-%.1f; others' CPU share before a pass: median %.0f%%, max %.0f%%"
          % (case, threads, ", ".join("%s %.4f s" % kv for kv in med.items()),
             min(x for r in res.values() for x in r["load"]), max(x for r in res.values() for x in r["load"]),
             100 * busy[len(busy) // 2], 100 * busy[-1]), file=sys.stderr)


def train(a):
    t = str(a.threads)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t)
    mdir, batches = os.path.join(a.out, "train", "model"), os.path.join(a.out, "train", "batches.json")
    servers = [Server("torch_train", [PY, "-W", "ignore", os.path.join(HERE, "train_torch.py"), mdir, batches, t], env)]
    if a.axf_train:
        servers.append(Server("axf_train", [a.axf_train, mdir, batches, t], env))
    for s in servers:
        s.wait_ready()
    time_case(a.out, "train", a.threads, a.runs, servers)
    for s in servers:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("cases")
    ap.add_argument("threads", type=int)
    ap.add_argument("runs", type=int)
    ap.add_argument("--runs-b1", type=int, default=0)
    ap.add_argument("--axf-case", default="")
    ap.add_argument("--axf-train", default="")
    ap.add_argument("--peers", default="ort,torch_eager,torch_jit,torch_bt,axf,ort_i8,torch_dq,axf_i8")
    ap.add_argument("--ort-python", default=VENV_PY)
    a = ap.parse_args()
    if a.cases == "train":
        return train(a)
    cases = a.cases.split(",")
    inputs = lambda c: os.path.join(a.out, "inputs", c)  # noqa: E731
    models = set()
    for c in cases:
        with open(inputs(c) + ".json") as f:
            models.add(json.load(f)["model"])
    if len(models) != 1:
        sys.exit("driver: the cases must share one model, got %s" % sorted(models))
    mdir = os.path.join(a.out, "models", models.pop())
    t = str(a.threads)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t)
    want = a.peers.split(",")
    servers = []
    t0 = time.time()
    first = inputs(cases[0])
    if "ort" in want:
        servers.append(Server("ort", [a.ort_python, "-W", "ignore", os.path.join(HERE, "ort_run.py"),
                                      os.path.join(mdir, "model.onnx"), first + ".json", t, "--serve"], env))
    if "ort_i8" in want and os.path.exists(os.path.join(mdir, "model.int8.onnx")):
        servers.append(Server("ort_i8", [a.ort_python, "-W", "ignore", os.path.join(HERE, "ort_run.py"),
                                         os.path.join(mdir, "model.int8.onnx"), first + ".json", t, "--serve"], env))
    for v in ("eager", "jit", "bt", "dq"):
        if "torch_" + v in want:
            servers.append(Server("torch_" + v, [PY, "-W", "ignore", os.path.join(HERE, "torch_run.py"), mdir,
                                                 first + ".json", t, "0", "--variant", v, "--serve"], env))
    if "axf" in want and a.axf_case:
        servers.append(Server("axf", [a.axf_case, mdir, first, t], env))
    if "axf_i8" in want and a.axf_case:  # every block of every layer int8, through a plan
        servers.append(Server("axf_i8", [a.axf_case, mdir, first, t, "int8"], env))
    for s in servers:  # loaded in parallel
        s.wait_ready()
    print("driver: %s, %d thread(s): %s loaded in %.0f s" % (
        os.path.basename(mdir), a.threads, ", ".join(s.name for s in servers), time.time() - t0), file=sys.stderr)
    for i, c in enumerate(cases):
        if i:
            for s in servers:
                s.hello = s.ask("case " + inputs(c) + (".json" if not s.name.startswith("axf") else ""))
        time_case(a.out, c, a.threads, a.runs_b1 if c == "base_b1" and a.runs_b1 else a.runs, servers)
    for s in servers:
        s.close()


if __name__ == "__main__":
    main()
