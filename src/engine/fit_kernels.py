#!/usr/bin/python3
"""Derives the polynomial coefficients used by kernels.c (run with /usr/bin/python3, numpy only).

Least-squares fits on Chebyshev nodes, converted to monomial form for Horner evaluation in float:
  exp(r)  = 1 + r + r^2 * E(r)          r in [-ln2/2, ln2/2]
  erf(a)  = a * S(a^2)                  a in [0, 1]
  erf(a)  = L(a - 2.5)                  a in [1, 4]   (erf rounds to 1 in float beyond ~3.92)
Prints the coefficients (lowest order first) and the float32 max error of each piece."""
import math
import numpy as np

def nodes(lo, hi, n=6000):
    return np.cos(np.pi * (np.arange(n) + 0.5) / n) * (hi - lo) / 2 + (hi + lo) / 2

def horner32(c, x):
    y = np.full_like(x, np.float32(c[-1]))
    for cc in c[-2::-1]:
        y = (y * x + np.float32(cc)).astype(np.float32)
    return y

erf = np.vectorize(math.erf)
h = math.log(2) / 2
r = nodes(-h, h)
E = np.polynomial.Polynomial.fit(r, (np.exp(r) - 1 - r) / r**2, 4).convert().coef
x = np.linspace(-h, h, 100001).astype(np.float32)
ex = (1 + x + x * x * horner32(E.astype(np.float32), x)).astype(np.float32)
print("E", ", ".join("%.9e" % c for c in E), " max rel err %.2e" % np.max(np.abs(ex / np.exp(x.astype(np.float64)) - 1)))

t = nodes(0, 1)
S = np.polynomial.Polynomial.fit(t, erf(np.sqrt(t)) / np.sqrt(t), 5).convert().coef
a = np.linspace(1e-6, 1, 100001).astype(np.float32)
print("S", ", ".join("%.9e" % c for c in S), " max abs err %.2e" % np.max(np.abs(a * horner32(S.astype(np.float32), a * a) - erf(a))))

a2 = nodes(1, 4)
L = np.polynomial.Polynomial.fit(a2 - 2.5, erf(a2), 12).convert().coef
a = np.linspace(1, 4, 100001).astype(np.float32)
v = np.minimum(horner32(L.astype(np.float32), (a - np.float32(2.5)).astype(np.float32)), 1)
print("L", ", ".join("%.9e" % c for c in L), " max abs err %.2e" % np.max(np.abs(v - erf(a))))
