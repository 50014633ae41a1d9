/* exp, erf and the two GELUs of the engine as polynomials: scalar inline functions written for
 * the loop vectoriser (kernels.c), and AVX-512 forms for code that holds its values in zmm
 * registers (vec512.c), the same arithmetic in both. exp is within 2 ulp; erf within 5.9e-8. */
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

/* erf on [i/4, (i+1)/4): coefficients of r^0 .. r^5, r = 4a - i (scripts/fit_erf.py) */
static const float axf__erf_pc[6][16] = {
    {0.000000000e+00, 2.763263881e-01, 5.204998851e-01, 7.111556530e-01, 8.427007794e-01, 9.229001403e-01, 9.661051631e-01, 9.866716862e-01, 9.953222871e-01, 9.985373020e-01, 9.995930195e-01, 9.998993874e-01, 9.999778867e-01, 9.999957085e-01, 9.999992847e-01, 9.999998808e-01},
    {2.820946574e-01, 2.650031149e-01, 2.196952850e-01, 1.607326716e-01, 1.037769988e-01, 5.913047120e-02, 2.973269857e-02, 1.319378614e-02, 5.166731775e-03, 1.785553177e-03, 5.445515271e-04, 1.465592941e-04, 3.480924715e-05, 7.295944670e-06, 1.349499257e-06, 2.202757656e-07},
    {1.717816531e-06, -1.655779965e-02, -2.745772339e-02, -3.013618477e-02, -2.594566531e-02, -1.848042570e-02, -1.115120854e-02, -5.772725679e-03, -2.583212918e-03, -1.004078425e-03, -3.401261929e-04, -1.006470484e-04, -2.606183443e-05, -5.913219866e-06, -1.176798833e-06, -2.055851382e-07},
    {-5.884323269e-03, -4.851605278e-03, -2.306853188e-03, 4.129606823e-04, 2.167925471e-03, 2.627198584e-03, 2.174522495e-03, 1.410798286e-03, 7.528540445e-04, 3.381230636e-04, 1.294695103e-04, 4.260824062e-05, 1.211730432e-05, 2.989304221e-06, 6.415246503e-07, 1.200250068e-07},
    {1.305350634e-05, 5.355409230e-04, 7.513953024e-04, 6.007883931e-04, 2.596664126e-04, -4.229427577e-05, -1.872141584e-04, -1.923092495e-04, -1.334998669e-04, -7.199830725e-05, -3.170445780e-05, -1.167829123e-05, -3.648589200e-06, -9.754166967e-07, -2.244868398e-07, -4.466967596e-08},
    {1.012811190e-04, 4.424304643e-05, -2.634891098e-05, -6.507591024e-05, -5.959362898e-05, -2.993089583e-05, -2.272654683e-06, 1.104381590e-05, 1.214545318e-05, 8.165052350e-06, 4.139699286e-06, 1.689229180e-06, 5.715891120e-07, 1.630688189e-07, 3.963288719e-08, 8.264047224e-09},
};

#define AXF_SQRT1_2 0.70710678118654752f
#define AXF_GELU_TANH_A 0.7978845608028654f  /* sqrt(2 / pi) */
#define AXF_GELU_TANH_B 0.044715f

/* The scalar forms below are the AVX-512 forms further down written lane by lane: the same
 * operations in the same order, each fused multiply-add an fmaf (one rounding, as vfmadd), so the
 * vectorised loops (kernels.c) and the intrinsics (vec512.c) give the same bits. Build with
 * -ffp-contract=off (CMakeLists.txt), so the compiler fuses nothing on its own. */

/* exp(x): Cody-Waite reduction to r in [-ln2/2, ln2/2], polynomial, exponent added to the bits.
 * Clamped so 2^n stays normal; below -86 it returns 0 (the true value is < 5e-38). Within 2 ulp. */
static inline float axf__fexp(float xin)
{
    float x = xin < -86.0f ? -86.0f : xin;
    x = x > 88.0f ? 88.0f : x;   /* as min(88, max(-86, x)): a NaN stays NaN in both */
    float t = fmaf(x, AXF_LOG2E, AXF_ROUND_MAGIC);
    float n = t - AXF_ROUND_MAGIC;
    int32_t ti;
    memcpy(&ti, &t, 4);
    float r = fmaf(-n, AXF_LN2_HI, x);
    r = fmaf(-n, AXF_LN2_LO, r);
    float p = axf__exp_p[0];
    for (int i = 1; i < 5; i++)
        p = fmaf(p, r, axf__exp_p[i]);
    p = fmaf(r * r, p, r) + 1.0f;
    uint32_t pi;
    memcpy(&pi, &p, 4);
    pi += (uint32_t)(ti - 0x4B400000) << 23;
    float res;
    memcpy(&res, &pi, 4);
    return xin < -86.0f ? 0.0f : res;
}

/* erf(z) on [0, 4) as 16 pieces of degree 5 (the table above), 1 above, odd; |error| <= 5.9e-8. */
static inline float axf__ferf(float z)
{
    float a = fabsf(z);
    float s = a * 4.0f;
    int i = s < 16.0f ? (int)s : 15;   /* NaN, inf and a >= 4 take piece 15, then 1 or NaN below */
    float r = s - (float)i;
    float p = axf__erf_pc[5][i];
    for (int k = 4; k >= 0; k--)
        p = fmaf(p, r, axf__erf_pc[k][i]);
    p = 1.0f < p ? 1.0f : p;           /* vminps(1, p): NaN stays */
    p = a >= 4.0f ? 1.0f : p;
    return copysignf(p, z);
}

/* 0.5 x (1 + erf(x / sqrt 2)) as h + h erf, h = x / 2 */
static inline float axf__gelu1(float x)
{
    float h = x * 0.5f;
    return fmaf(h, axf__ferf(x * AXF_SQRT1_2), h);
}

/* 0.5 x (1 + tanh(y)) written as x * sigmoid(2y): same function, one exp, no cancellation. */
static inline float axf__gelu_tanh1(float x)
{
    float x3 = (x * x) * x;
    float y = AXF_GELU_TANH_A * fmaf(AXF_GELU_TANH_B, x3, x);
    return x / (1.0f + axf__fexp(-2.0f * y));
}

/* ---- AVX-512 forms (define AXF_VMATH_512), for code that holds its values in zmm registers
 * (vec512.c). erf on [0, 4) is 16 pieces of degree 5, each lane's coefficients picked from one
 * register per degree by vpermps: 20 operations per vector (a two-piece polynomial took 32 and
 * made GELU 6% of the small 4 x 256 model's forward pass), max |error| 5.9e-8
 * (scripts/fit_erf.py fits the table and measures it). ---- */
#ifdef AXF_VMATH_512
#include <immintrin.h>

#include "axf/model.h"   /* axf_act */

#define AXF_512 static inline __attribute__((always_inline, target("avx512f")))

AXF_512 __m512 axf__erf512(__m512 z)
{
    const __m512 one = _mm512_set1_ps(1.0f), four = _mm512_set1_ps(4.0f);
    __m512 a = _mm512_abs_ps(z);
    __m512 s = _mm512_mul_ps(a, four);
    __m512i i = _mm512_cvttps_epi32(s);   /* the piece; vpermps reads its low 4 bits only */
    __m512 r = _mm512_sub_ps(s, _mm512_cvtepi32_ps(i));
    __m512 p = _mm512_permutexvar_ps(i, _mm512_loadu_ps(axf__erf_pc[5]));
    for (int k = 4; k >= 0; k--)
        p = _mm512_fmadd_ps(p, r, _mm512_permutexvar_ps(i, _mm512_loadu_ps(axf__erf_pc[k])));
    p = _mm512_min_ps(one, p);   /* NaN in p stays NaN: vminps returns its second operand */
    p = _mm512_mask_mov_ps(p, _mm512_cmp_ps_mask(a, four, _CMP_GE_OQ), one);
    /* p | (z & sign): p >= 0, so this is copysign(p, z) */
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(p), _mm512_castps_si512(z),
                                                         _mm512_set1_epi32((int)0x80000000u), 0xF8));
}

AXF_512 __m512 axf__exp512(__m512 xin)
{
    __m512 x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-86.0f), xin));
    __m512 magic = _mm512_set1_ps(AXF_ROUND_MAGIC);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(AXF_LOG2E), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(AXF_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(AXF_LN2_LO), r);
    __m512 p = _mm512_set1_ps(axf__exp_p[0]);
    for (int i = 1; i < 5; i++)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(axf__exp_p[i]));
    p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, r), p, r), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000)), 23);
    __m512 res = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), e));
    return _mm512_mask_mov_ps(res, _mm512_cmp_ps_mask(xin, _mm512_set1_ps(-86.0f), _CMP_LT_OQ),
                              _mm512_setzero_ps());
}

/* 0.5 x (1 + erf(x / sqrt 2)) as h + h erf, h = x / 2 */
AXF_512 __m512 axf__gelu512(__m512 x)
{
    __m512 h = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(h, axf__erf512(_mm512_mul_ps(x, _mm512_set1_ps(AXF_SQRT1_2))), h);
}

AXF_512 __m512 axf__gelu_tanh512(__m512 x)
{
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 y = _mm512_mul_ps(_mm512_set1_ps(AXF_GELU_TANH_A), _mm512_fmadd_ps(_mm512_set1_ps(AXF_GELU_TANH_B), x3, x));
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), axf__exp512(_mm512_mul_ps(_mm512_set1_ps(-2.0f), y)));
    return _mm512_div_ps(x, d);
}

/* x > 0 ? x : 0, NaN -> 0 (vmaxps returns its second operand) */
AXF_512 __m512 axf__relu512(__m512 x)
{
    return _mm512_max_ps(x, _mm512_setzero_ps());
}

AXF_512 __m512 axf__act512_v(__m512 v, axf_act act)
{
    return act == AXF_ACT_GELU ? axf__gelu512(v) : act == AXF_ACT_GELU_TANH ? axf__gelu_tanh512(v) : axf__relu512(v);
}
#endif


/* ---- AVX2 + FMA forms (define AXF_VMATH_256), for vec256.c: the AVX-512 forms on 8 lanes. The
 * erf table's 16 entries per degree are two registers of 8: vpermps picks by the low 3 bits of the
 * piece in each, bit 3 chooses between them (the AVX-512 form's vpermps reads the low 4 bits: the
 * same entry). ---- */
#ifdef AXF_VMATH_256
#include <immintrin.h>

#include "axf/model.h"   /* axf_act */

#define AXF_256 static inline __attribute__((always_inline, target("avx2,fma")))

AXF_256 __m256 axf__pick16_256(const float *tab, __m256i i, __m256 hi)
{
    __m256 a = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tab), i);
    __m256 b = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tab + 8), i);
    return _mm256_blendv_ps(a, b, hi);
}

AXF_256 __m256 axf__erf256(__m256 z)
{
    const __m256 one = _mm256_set1_ps(1.0f), four = _mm256_set1_ps(4.0f);
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    __m256 a = _mm256_andnot_ps(sign, z);
    __m256 s = _mm256_mul_ps(a, four);
    __m256i i = _mm256_cvttps_epi32(s);
    __m256 r = _mm256_sub_ps(s, _mm256_cvtepi32_ps(i));
    /* bit 3 of the piece moved to the sign bit: blendv's selector */
    __m256 hi = _mm256_castsi256_ps(_mm256_slli_epi32(i, 28));
    __m256 p = axf__pick16_256(axf__erf_pc[5], i, hi);
    for (int k = 4; k >= 0; k--)
        p = _mm256_fmadd_ps(p, r, axf__pick16_256(axf__erf_pc[k], i, hi));
    p = _mm256_min_ps(one, p);   /* NaN in p stays NaN: vminps returns its second operand */
    p = _mm256_blendv_ps(p, one, _mm256_cmp_ps(a, four, _CMP_GE_OQ));
    return _mm256_or_ps(p, _mm256_and_ps(z, sign));   /* p >= 0: copysign(p, z) */
}

AXF_256 __m256 axf__exp256(__m256 xin)
{
    __m256 x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-86.0f), xin));
    __m256 magic = _mm256_set1_ps(AXF_ROUND_MAGIC);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(AXF_LOG2E), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(AXF_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(AXF_LN2_LO), r);
    __m256 p = _mm256_set1_ps(axf__exp_p[0]);
    for (int i = 1; i < 5; i++)
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(axf__exp_p[i]));
    p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(r, r), p, r), _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)), 23);
    __m256 res = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
    return _mm256_blendv_ps(res, _mm256_setzero_ps(), _mm256_cmp_ps(xin, _mm256_set1_ps(-86.0f), _CMP_LT_OQ));
}

AXF_256 __m256 axf__gelu256(__m256 x)
{
    __m256 h = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_fmadd_ps(h, axf__erf256(_mm256_mul_ps(x, _mm256_set1_ps(AXF_SQRT1_2))), h);
}

AXF_256 __m256 axf__gelu_tanh256(__m256 x)
{
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 y = _mm256_mul_ps(_mm256_set1_ps(AXF_GELU_TANH_A), _mm256_fmadd_ps(_mm256_set1_ps(AXF_GELU_TANH_B), x3, x));
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), axf__exp256(_mm256_mul_ps(_mm256_set1_ps(-2.0f), y)));
    return _mm256_div_ps(x, d);
}

AXF_256 __m256 axf__act256_v(__m256 v, axf_act act)
{
    return act == AXF_ACT_GELU ? axf__gelu256(v)
           : act == AXF_ACT_GELU_TANH ? axf__gelu_tanh256(v)
                                      : _mm256_max_ps(v, _mm256_setzero_ps());
}
#endif

#endif
