"""ONNX Runtime's own dynamic int8 of a bench model: onnxruntime.quantization.quantize_dynamic on
the bench's ONNX export (bench/prepare.py), with the library's defaults a user gets (int8
weights, per tensor, activations quantized at run time; it picks the MatMul/Gemm nodes itself).
Writes MODEL_DIR/model.int8.onnx beside model.onnx and prints which operators it made.

usage: .venv/bin/python bench/ort_quantize.py MODEL_DIR...   (needs PyPI onnx, scripts/requirements.txt)
"""
import collections
import os
import sys

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    for d in sys.argv[1:]:
        src, dst = os.path.join(d, "model.onnx"), os.path.join(d, "model.int8.onnx")
        if not os.path.exists(src):
            sys.exit("bench/ort_quantize.py: %s: no model.onnx (run bench/prepare.py first)" % d)
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        ops = collections.Counter(n.op_type for n in onnx.load(dst).graph.node)
        print("ort_quantize: %s -> %s (%.1f MB -> %.1f MB); quantized ops: %s" % (
            src, os.path.basename(dst), os.path.getsize(src) / 1e6, os.path.getsize(dst) / 1e6,
            ", ".join("%s %d" % kv for kv in sorted(ops.items()) if "Integer" in kv[0] or "Quant" in kv[0])),
            file=sys.stderr)


if __name__ == "__main__":
    main()
