/* exp, erf and the two GELUs of the engine as polynomials, in two forms with one set of
 * coefficients: scalar inline functions written for the loop vectoriser (kernels.c), and the same
 * operations on 16-lane GCC vectors (v16f) for code that already holds its values in vector
 * registers, such as the GEMM's tile stores (gemm.c). Both evaluate the same polynomials in the
 * same order. exp is within 2 ulp; erf within 1.2e-7 absolute. */
#ifndef AXF_ENGINE_VMATH_H
#define AXF_ENGINE_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

#define AXF_LOG2E 1.44269504088896341f
#define AXF_LN2_HI 0.693359375f      /* ln 2 split so that n * LN2_HI is exact */
#define AXF_LN2_LO -2.12194440e-4f
#define AXF_ROUND_MAGIC 12582912.0f  /* 1.5 * 2^23: adding it rounds to an integer in the low bits */

/* exp(r) - 1 - r = r^2 * P(r) on [-ln2/2, ln2/2], P highest degree first */
static const float axf__exp_p[5] = {1.393369237e-03f, 8.363175566e-03f, 4.166646424e-02f, 1.666657700e-01f,
                                    5.000000014e-01f};
/* erf(a) = a * S(a^2) on [0, 1) */
static const float axf__erf_s[6] = {-5.654105860e-04f, 4.923277665e-03f, -2.671638510e-02f, 1.128036441e-01f,
                                    -3.761234978e-01f, 1.128379127e+00f};
/* erf(a) = L(a - 2.5) on [1, 4) */
static const float axf__erf_l[13] = {-8.709440799e-06f, 2.140600996e-05f, 5.941381129e-05f, -2.808719309e-04f,
                                     2.919994278e-04f,  5.742026847e-04f, -2.823754270e-03f, 6.100025459e-03f,
                                     -8.612779454e-03f, 8.354324599e-03f, -5.447070271e-03f, 2.177979306e-03f,
                                     9.995930794e-01f};

#define AXF_SQRT1_2 0.70710678118654752f
#define AXF_GELU_TANH_A 0.7978845608028654f  /* sqrt(2 / pi) */
#define AXF_GELU_TANH_B 0.044715f

/* exp(x): Cody-Waite reduction to r in [-ln2/2, ln2/2], polynomial, exponent added to the bits.
 * Clamped so 2^n stays normal; below -86 it returns 0 (the true value is < 5e-38). */
static inline float axf__fexp(float xin)
{
    float x = xin < -86.0f ? -86.0f : xin;
    x = x > 88.0f ? 88.0f : x;
    float t = x * AXF_LOG2E + AXF_ROUND_MAGIC;
    float n = t - AXF_ROUND_MAGIC;
    int32_t ti;
    memcpy(&ti, &t, 4);
    float r = x - n * AXF_LN2_HI;
    r = r - n * AXF_LN2_LO;
    float p = axf__exp_p[0];
    for (int i = 1; i < 5; i++)
        p = p * r + axf__exp_p[i];
    p = 1.0f + r + r * r * p;
    uint32_t pi;
    memcpy(&pi, &p, 4);
    pi += (uint32_t)(ti - 0x4B400000) << 23;
    float res;
    memcpy(&res, &pi, 4);
    return xin < -86.0f ? 0.0f : res;
}

/* erf(z): odd polynomial below 1, shifted polynomial on [1, 4), 1 above. */
static inline float axf__ferf(float z)
{
    float a = fabsf(z);
    float t = a * a;
    float s = axf__erf_s[0];
    for (int i = 1; i < 6; i++)
        s = s * t + axf__erf_s[i];
    s = s * a;
    float u = a - 2.5f;
    float l = axf__erf_l[0];
    for (int i = 1; i < 13; i++)
        l = l * u + axf__erf_l[i];
    l = l > 1.0f ? 1.0f : l;
    l = a >= 4.0f ? 1.0f : l;
    float e = a < 1.0f ? s : l;
    return copysignf(e, z);
}

static inline float axf__gelu1(float x)
{
    return 0.5f * x * (1.0f + axf__ferf(x * AXF_SQRT1_2));
}

/* 0.5 x (1 + tanh(y)) written as x * sigmoid(2y): same function, one exp, no cancellation. */
static inline float axf__gelu_tanh1(float x)
{
    float y = AXF_GELU_TANH_A * (x + AXF_GELU_TANH_B * x * x * x);
    return x / (1.0f + axf__fexp(-2.0f * y));
}

/* ---- the same on 16 lanes (define AXF_VMATH_V16 to have them) ---- */
#ifdef AXF_VMATH_V16
/* for AVX-512 callers (gemm.c's kernels, compiled for that target function by function) */
#define AXF_V16 static inline __attribute__((always_inline, target("avx512f")))

AXF_V16 v16f axf__v16_sel(v16i m, v16f a, v16f b)   /* m ? a : b, lane by lane */
{
    return (v16f)(((v16i)a & m) | ((v16i)b & ~m));
}

AXF_V16 v16f axf__v16_splat(float x)
{
    return (v16f){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

AXF_V16 v16f axf__v16_exp(v16f xin)
{
    v16f x = axf__v16_sel(xin < -86.0f, axf__v16_splat(-86.0f), xin);
    x = axf__v16_sel(x > 88.0f, axf__v16_splat(88.0f), x);
    v16f t = x * AXF_LOG2E + AXF_ROUND_MAGIC;
    v16f n = t - AXF_ROUND_MAGIC;
    v16f r = x - n * AXF_LN2_HI;
    r = r - n * AXF_LN2_LO;
    v16f p = axf__v16_splat(axf__exp_p[0]);
    for (int i = 1; i < 5; i++)
        p = p * r + axf__exp_p[i];
    p = 1.0f + r + r * r * p;
    v16i pi = (v16i)p + (((v16i)t - 0x4B400000) << 23);
    return axf__v16_sel(xin < -86.0f, axf__v16_splat(0.0f), (v16f)pi);
}

AXF_V16 v16f axf__v16_erf(v16f z)
{
    v16i sign = (v16i)z & (int32_t)0x80000000;
    v16f a = (v16f)((v16i)z & 0x7fffffff);
    v16f t = a * a;
    v16f s = axf__v16_splat(axf__erf_s[0]);
    for (int i = 1; i < 6; i++)
        s = s * t + axf__erf_s[i];
    s = s * a;
    v16f u = a - 2.5f;
    v16f l = axf__v16_splat(axf__erf_l[0]);
    for (int i = 1; i < 13; i++)
        l = l * u + axf__erf_l[i];
    l = axf__v16_sel(l > 1.0f, axf__v16_splat(1.0f), l);
    l = axf__v16_sel(a >= 4.0f, axf__v16_splat(1.0f), l);
    v16f e = axf__v16_sel(a < 1.0f, s, l);
    return (v16f)((v16i)e | sign);
}

AXF_V16 v16f axf__v16_gelu(v16f x)
{
    return 0.5f * x * (1.0f + axf__v16_erf(x * AXF_SQRT1_2));
}

AXF_V16 v16f axf__v16_gelu_tanh(v16f x)
{
    v16f y = AXF_GELU_TANH_A * (x + AXF_GELU_TANH_B * x * x * x);
    return x / (1.0f + axf__v16_exp(-2.0f * y));
}

AXF_V16 v16f axf__v16_relu(v16f x)
{
    return axf__v16_sel(x > 0.0f, x, axf__v16_splat(0.0f));
}
#endif

#endif
