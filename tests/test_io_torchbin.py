"""pytorch_model.bin end to end: checkpoints written by torch.save (Debian's torch) load to exactly
the logits of the safetensors copy of the same numbers, in F32, F16 and BF16, with shared storages;
hostile and malformed checkpoints are refused with one line naming the file, and nothing in them
runs.

usage: python3 test_io_torchbin.py AXF FIXTURE_MODEL_DIR TMP_DIR   (exit 77 without torch)
"""
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyutil import fail, finish, fresh_dir  # noqa: E402

try:
    import numpy as np
    import torch
except ImportError:
    print("SKIP: torch and numpy are needed (Debian: python3-torch)")
    sys.exit(77)

axf, fixture, tmp = sys.argv[1:4]
fresh_dir(tmp)

def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    out = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": "<f4", "I64": "<i8"}[d["dtype"]]
        b, e = d["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(d["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<i8" if a.dtype.kind == "i" else "<f4")
        header[name] = {"dtype": "I64" if a.dtype.kind == "i" else "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-(8 + len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def model_dir(name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    for f in ("config.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(fixture, f), d)
    return d


def axf_run(*args):
    r = subprocess.run([axf, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


# sentences to predict
data = os.path.join(tmp, "sents.tsv")
with open(data, "w") as f:
    f.write("sentence\tlabel\n")
    for s in ["a gripping , funny film", "dull and far too long", "the cast is fine but the plot is not",
              "it 's a charming and often affecting journey", "unfunny"]:
        f.write(s + "\t0\n")

weights = read_safetensors(os.path.join(fixture, "model.safetensors"))
ref_rc, ref_out, ref_err = axf_run("predict", fixture, data, "--threads", "1")
if ref_rc != 0:
    fail("predict on the safetensors fixture: " + ref_err)

# F32: the same numbers, so the same logits to the bit
d32 = model_dir("f32")
torch.save({k: torch.from_numpy(v) for k, v in weights.items()}, os.path.join(d32, "pytorch_model.bin"))
rc, out, err = axf_run("predict", d32, data, "--threads", "1")
if rc != 0 or out != ref_out:
    fail(f"F32 pytorch_model.bin: exit {rc}, logits {'differ' if rc == 0 else err.strip()}")

# F16 / BF16: compared with a safetensors copy of the rounded numbers
for dt, tag in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
    d = model_dir(tag)
    sd = {k: torch.from_numpy(v).to(dt) if v.dtype.kind == "f" else torch.from_numpy(v) for k, v in weights.items()}
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    dr = model_dir(tag + "_ref")
    write_safetensors(os.path.join(dr, "model.safetensors"), {k: t.float().numpy() if t.is_floating_point() else t.numpy() for k, t in sd.items()})
    rc1, out1, err1 = axf_run("predict", d, data, "--threads", "1")
    rc2, out2, err2 = axf_run("predict", dr, data, "--threads", "1")
    if rc1 != 0 or rc2 != 0 or out1 != out2:
        fail(f"{tag} pytorch_model.bin: exit {rc1}/{rc2} {err1.strip()} {err2.strip()}, same logits: {out1 == out2}")

# shared storage: every tensor a view into one flat storage (offsets), plus an int64 buffer
floats = {k: v for k, v in weights.items() if v.dtype.kind == "f"}
flat = torch.cat([torch.from_numpy(v).reshape(-1) for v in floats.values()])
sd, off = {}, 0
for k, v in floats.items():
    sd[k] = flat[off:off + v.size].view(*v.shape)
    off += v.size
sd.update({k: torch.from_numpy(v) for k, v in weights.items() if v.dtype.kind != "f"})
dsh = model_dir("shared")
torch.save(sd, os.path.join(dsh, "pytorch_model.bin"))
rc, out, err = axf_run("predict", dsh, data, "--threads", "1")
if rc != 0 or out != ref_out:
    fail(f"shared-storage pytorch_model.bin: exit {rc} {err.strip()}")


def refused(tag, make, want):
    d = model_dir(tag)
    path = os.path.join(d, "pytorch_model.bin")
    make(path)
    rc, out, err = axf_run("eval", d, data)
    lines = err.strip().splitlines()
    if rc != 1 or len(lines) != 1 or path not in lines[0] or want not in lines[0]:
        fail(f"{tag}: exit {rc}, stderr {err.strip()!r} (wanted one line naming {path} and '{want}')")


# a hostile pickle: os.system as a global. Nothing may run.
marker = os.path.join(tmp, "pwned")


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))


def make_evil(path):
    buf = io.BytesIO()
    torch.save({"x": torch.zeros(2)}, buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            b = zin.read(info)
            if info.filename.endswith("/data.pkl"):
                b = pickle.dumps({"bert.embeddings.word_embeddings.weight": Evil()}, protocol=2)
            zout.writestr(info, b)


refused("evil", make_evil, "global 'posix.system' is not allowed")
if os.path.exists(marker):
    fail("the hostile pickle ran")


def rewrite(path, sd, change):
    buf = io.BytesIO()
    torch.save(sd, buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            name, b, method = change(info.filename, zin.read(info))
            zi = zipfile.ZipInfo(name)
            zi.compress_type = method
            zout.writestr(zi, b)


full = {k: torch.from_numpy(v) for k, v in weights.items()}
first = next(k for k, v in full.items() if v.dim() == 2 and min(v.shape) > 1)
# a storage that lies about its size: its entry cut short
refused("short_storage", lambda p: rewrite(p, full, lambda n, b: (n, b[:-4] if n.endswith("/data/0") else b,
                                                                   zipfile.ZIP_STORED)), "the archive holds")
# a compressed entry
refused("deflated", lambda p: rewrite(p, full, lambda n, b: (n, b, zipfile.ZIP_DEFLATED if n.endswith("/data/0")
                                                            else zipfile.ZIP_STORED)), "compressed")
# a transposed view
refused("transposed", lambda p: torch.save({**full, first: full[first].t()}, p), "not contiguous")
# a value that is not a tensor
refused("not_tensor", lambda p: torch.save({**full, "step": 3}, p), "is a int, not a tensor")
# the legacy format
refused("legacy", lambda p: torch.save(full, p, _use_new_zipfile_serialization=False), "legacy")
# not a checkpoint at all
refused("garbage", lambda p: open(p, "wb").write(b"hello, world"), "not a PyTorch checkpoint")

finish("pytorch_model.bin: F32, F16, BF16 and shared storages load to the safetensors logits; "
      "6 malformed or hostile files refused")
