"""Rewrites a safetensors file the way other Hugging Face checkpoints name and omit tensors, with
the standard library only: st_rewrite.py IN OUT [--strip-prefix P] [--drop PREFIX ...].
Used by test_encoder_init.sh to make a bare BertModel / BertForPreTraining-like checkpoint."""
import json
import struct
import sys


def main():
    args = sys.argv[1:]
    src, dst = args[0], args[1]
    strip, drop, i = "", [], 2
    while i < len(args):
        if args[i] == "--strip-prefix":
            strip = args[i + 1]
        elif args[i] == "--drop":
            drop.append(args[i + 1])
        else:
            sys.exit("st_rewrite.py: unknown option " + args[i])
        i += 2
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out, blobs, off = {}, [], 0
    for name, t in header.items():
        if name == "__metadata__":
            out[name] = t
            continue
        new = name[len(strip):] if strip and name.startswith(strip) else name
        if any(new.startswith(p) for p in drop):
            continue
        a, b = t["data_offsets"]
        blobs.append(data[a:b])
        out[new] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [off, off + b - a]}
        off += b - a
    h = json.dumps(out).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for blob in blobs:
            f.write(blob)


main()
