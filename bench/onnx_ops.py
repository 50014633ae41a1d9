"""Counts the operators of an ONNX graph (e.g. ONNX Runtime's optimised model) without the `onnx`
package, which is not installed here: a minimal protobuf walk of ModelProto.graph (field 7) ->
GraphProto.node (field 1) -> NodeProto.op_type (field 4).

usage: /usr/bin/python3 bench/onnx_ops.py MODEL.onnx
"""
import collections
import sys


def fields(buf):
    i, n = 0, len(buf)
    while i < n:
        key, i = varint(buf, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield f, v


def varint(buf, i):
    r, s = 0, 0
    while True:
        b = buf[i]
        i += 1
        r |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return r, i


def op_counts(path):
    data = memoryview(open(path, "rb").read())
    c = collections.Counter()
    for f, v in fields(data):
        if f == 7:
            for g, nv in fields(v):
                if g == 1:
                    op, dom = "", ""
                    for h, x in fields(nv):
                        if h == 4:
                            op = bytes(x).decode()
                        elif h == 7:
                            dom = bytes(x).decode()
                    c[(dom + "." if dom else "") + op] += 1
    return c


if __name__ == "__main__":
    for k, v in sorted(op_counts(sys.argv[1]).items(), key=lambda kv: -kv[1]):
        print("%5d %s" % (v, k))
