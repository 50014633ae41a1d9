/* The activations on AVX-512 with intrinsics (vmath.h's table erf, which the loop vectoriser
 * cannot express: a lane-wise vpermps). Chosen at run time through axf__gemm_available(), like the
 * GEMM; kernels.c's portable loops run everywhere else. (A softmax written the same way ran no
 * faster than the vectoriser's: 0.43-0.45 ns per entry on rows of 128 either way.) */
#include "engine_internal.h"
#include "gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define AXF_VMATH_512 1
#include "vmath.h"

#define TGT __attribute__((target("avx512f")))

TGT void axf__act512(float *x, size_t ld, const float *bias, int rows, int cols, axf_act act)
{
    const __mmask16 tail = (__mmask16)((1u << (cols % 16)) - 1);
    for (int i = 0; i < rows; i++) {
        float *xr = x + i * ld;
        int j = 0;
        for (; j + 16 <= cols; j += 16) {
            __m512 v = _mm512_loadu_ps(xr + j);
            if (bias)
                v = _mm512_add_ps(v, _mm512_loadu_ps(bias + j));
            _mm512_storeu_ps(xr + j, axf__act512_v(v, act));
        }
        if (tail) {
            __m512 v = _mm512_maskz_loadu_ps(tail, xr + j);
            if (bias)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(tail, bias + j));
            _mm512_mask_storeu_ps(xr + j, tail, axf__act512_v(v, act));
        }
    }
}

TGT void axf__exp_row512(float *x, float m, int n)
{
    const __m512 mv = _mm512_set1_ps(m);
    int j = 0;
    for (; j + 16 <= n; j += 16)
        _mm512_storeu_ps(x + j, axf__exp512(_mm512_sub_ps(_mm512_loadu_ps(x + j), mv)));
    if (j < n) {
        const __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(x + j, tail, axf__exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + j), mv)));
    }
}

#else

void axf__exp_row512(float *x, float m, int n)
{
    (void)x, (void)m, (void)n;   /* never called: no AVX-512 */
}

void axf__act512(float *x, size_t ld, const float *bias, int rows, int cols, axf_act act)
{
    (void)x, (void)ld, (void)bias, (void)rows, (void)cols, (void)act;   /* never called: no AVX-512 */
}

#endif
