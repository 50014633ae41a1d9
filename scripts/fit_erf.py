#!/usr/bin/python3
"""Fits the engine's table form of erf (src/engine/vmath.h, axf__erf_pc) and checks it.

erf(a) on [0, 4) is cut into 16 pieces [i/4, (i+1)/4); on piece i it is a degree-5 polynomial in
r = 4a - i, which lies in [0, 1). Each piece is a minimax fit (Lawson's iteratively reweighted
least squares on a dense grid, in double precision); piece 0 has no constant term, so erf(0) = 0
exactly. The check evaluates the table as the AVX-512 code does (coefficients rounded to float,
Horner with fused multiply-adds, each step rounded to float once) on 2^22 points of [0, 4.5] and
prints the largest absolute error against math.erf; above 4 the code returns 1.

Run with Debian's python3-numpy: /usr/bin/python3 scripts/fit_erf.py
Prints the C initialiser of the table and the measured error (about 6e-8).
"""
import math
import sys

import numpy as np

PIECES, DEGREE = 16, 5


def fit_piece(i):
    a = (i + np.linspace(0.0, 1.0, 4001)) / 4.0
    f = np.array([math.erf(v) for v in a])
    r = 4.0 * a - i
    first = 1 if i == 0 else 0
    v = np.vander(r, DEGREE + 1, increasing=True)[:, first:]
    w = np.ones_like(r)
    best = None
    for _ in range(300):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(v * sw[:, None], f * sw, rcond=None)
        e = v @ c - f
        m = np.abs(e).max()
        if best is None or m < best[0]:
            best = (m, c)
        w = w * np.abs(e)
        w /= w.sum()
    c = best[1]
    return np.concatenate([np.zeros(first), c])


def evaluate(table, a):
    """The AVX-512 evaluation, in float with one rounding per fused multiply-add."""
    a = a.astype(np.float32)
    s = (a * np.float32(4.0)).astype(np.float32)
    idx = np.minimum(s.astype(np.int32), PIECES - 1)
    r = (s - idx.astype(np.float32)).astype(np.float32)
    t = table.astype(np.float32)
    p = t[idx, DEGREE].astype(np.float64)
    for k in range(DEGREE - 1, -1, -1):
        p = (p * r.astype(np.float64) + t[idx, k].astype(np.float64)).astype(np.float32).astype(np.float64)
    p = np.minimum(p, 1.0)
    return np.where(a >= 4.0, 1.0, p)


def main():
    table = np.array([fit_piece(i) for i in range(PIECES)])
    a = np.linspace(0.0, 4.5, 1 << 22).astype(np.float32)
    want = np.array([math.erf(float(v)) for v in a.astype(np.float64)])
    err = np.abs(evaluate(table, a) - want).max()
    print("/* erf on [i/4, (i+1)/4): coefficients of r^0 .. r^5, r = 4a - i (scripts/fit_erf.py) */")
    print("static const float axf__erf_pc[%d][%d] = {" % (DEGREE + 1, PIECES))
    for k in range(DEGREE + 1):
        row = ", ".join("%.9e" % np.float32(table[i, k]) for i in range(PIECES))
        print("    {%s}," % row)
    print("};")
    print("max |error| on [0, 4.5]: %.3g" % err, file=sys.stderr)
    return 0 if err < 1.2e-7 else 1


if __name__ == "__main__":
    sys.exit(main())
