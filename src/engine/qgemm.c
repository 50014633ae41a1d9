/* Int8 products (contract and layouts in qgemm.h, arithmetic in axf/quant.h).
 * Blocking (axf__gemm_split, the float32 GEMM's): tasks of (a block of about 96 rows) x (a chunk of
 * panels), shared by the engine's
 * workers. A task walks its panels; for each panel it runs the micro-kernel down its rows over
 * the whole of K at once (the int32 sums stay in registers: no blocking of K, whose partial sums
 * would have to be stored), so the panel (K x nr bytes) stays in L1/L2 while the block of inputs
 * (96 x K bytes, <= 288 KB at K = 3,072) stays in L2. Each tile is then scaled to float32 in
 * registers and stored, and bias and activation are applied to it while it is in L1. */
#include "qgemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/quant.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AXF_Q_X86 1
#endif

#define MR_MAX 12
/* |x| below this everywhere in a row: the row counts as zero (127 / amax would overflow) */
#define ROW_TINY 0x1p-100f

int axf__vnni = -1;

static int cpu_vnni(void)
{
#ifdef AXF_Q_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") != 0;
#else
    return 0;
#endif
}

axf_qkern axf__qgemm_kind(void)
{
#ifdef AXF_Q_X86
    axf_isa isa = axf_isa_level();
    if (isa >= AXF_ISA_AVX512 && axf__vnni != 0 && cpu_vnni())
        return AXF_QK_VNNI;
    if (isa >= AXF_ISA_AVX2)
        return AXF_QK_AVX2;
#endif
    return AXF_QK_PORTABLE;
}

const char *axf__qgemm_kind_name(axf_qkern k)
{
    return k == AXF_QK_VNNI ? "vnni" : k == AXF_QK_AVX2 ? "avx2" : "portable";
}

/* Panel width, k group and rows per micro-kernel call of each kernel. */
static int kind_nr(axf_qkern k)
{
    return k == AXF_QK_VNNI ? 32 : 16;
}

static int kind_kg(axf_qkern k)
{
    return k == AXF_QK_VNNI ? 4 : k == AXF_QK_AVX2 ? 2 : 1;
}

static int kind_mr(axf_qkern k)
{
    return k == AXF_QK_VNNI ? 12 : k == AXF_QK_AVX2 ? 6 : 4;
}

/* ---- quantization (axf/quant.h) ---- */

void axf_quant_row(int8_t *q, float *scale, const float *w, int K)
{
    float amax = 0;
    int finite = 1;
    for (int k = 0; k < K; k++) {
        float a = fabsf(w[k]);
        finite &= isfinite(a) != 0;
        amax = a > amax ? a : amax;
    }
    float s = amax / 127.0f;
    if (!finite || !(s > 0)) {
        for (int k = 0; k < K; k++)
            q[k] = 0;
        *scale = finite ? 0.0f : NAN;
        return;
    }
    *scale = s;
    for (int k = 0; k < K; k++) {
        float v = nearbyintf(w[k] / s);
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        q[k] = (int8_t)v;
    }
}

/* s_x of row x[K] and the factor 127 / amax (0 for a zero or non-finite row). The largest |x| is
 * taken on the bit patterns (sign cleared), which order like the values and have one maximum
 * whatever the order of the comparisons, NaN included. */
static AXF_VEC float row_scale(const float *x, int K, float *inv)
{
    uint32_t mx = 0;
    for (int k = 0; k < K; k++) {
        uint32_t b;
        memcpy(&b, x + k, sizeof b);
        b &= 0x7fffffffu;
        mx = b > mx ? b : mx;
    }
    if (mx >= 0x7f800000u) {
        *inv = 0;
        return NAN;
    }
    float amax;
    memcpy(&amax, &mx, sizeof amax);
    if (amax < ROW_TINY) {
        *inv = 0;
        return 0;
    }
    *inv = 127.0f / amax;
    return amax / 127.0f;
}

/* nearbyintf(v) clamped to [-127, 127]; clamping first gives the same and vectorises to min/max */
static inline float qround(float v)
{
    v = v > 127.0f ? 127.0f : v;
    v = v < -127.0f ? -127.0f : v;
    return nearbyintf(v);
}

static AXF_VEC void quant_u8(uint8_t *o, const float *x, int K, int kp, float inv)
{
    for (int k = 0; k < K; k++)
        o[k] = (uint8_t)((int)qround(x[k] * inv) + 128);
    memset(o + K, 128, (size_t)(kp - K));
}

static AXF_VEC void quant_s16(int16_t *o, const float *x, int K, int kp, float inv)
{
    for (int k = 0; k < K; k++)
        o[k] = (int16_t)qround(x[k] * inv);
    memset(o + K, 0, (size_t)(kp - K) * sizeof *o);
}

static AXF_VEC void quant_s8(int8_t *o, const float *x, int K, float inv)
{
    for (int k = 0; k < K; k++)
        o[k] = (int8_t)qround(x[k] * inv);
}

size_t axf__qact_bytes(int T, int K)
{
    return (size_t)(T > 0 ? T : 0) * (size_t)((K + 3) / 4 * 4) * sizeof(int16_t) + 64;
}

typedef struct {
    axf_qact *a;
    const float *x;
    int ldx, rows;
} qjob_x;

static void quant_task(void *ctx, int t, int worker)
{
    (void)worker;
    const qjob_x *j = ctx;
    axf_qact *a = j->a;
    int r0 = t * j->rows, r1 = r0 + j->rows < a->T ? r0 + j->rows : a->T;
    for (int r = r0; r < r1; r++) {
        const float *xr = j->x + (size_t)r * j->ldx;
        float inv;
        a->s[r] = row_scale(xr, a->K, &inv);
        size_t o = (size_t)r * a->kp;
        if (inv == 0) {   /* zero or non-finite row: q = 0 (NaN * 0 would not be) */
            if (a->kind == AXF_QK_VNNI)
                memset((uint8_t *)a->x + o, 128, (size_t)a->kp);
            else if (a->kind == AXF_QK_AVX2)
                memset((int16_t *)a->x + o, 0, (size_t)a->kp * sizeof(int16_t));
            else
                memset((int8_t *)a->x + o, 0, (size_t)a->kp);
        } else if (a->kind == AXF_QK_VNNI) {
            quant_u8((uint8_t *)a->x + o, xr, a->K, a->kp, inv);
        } else if (a->kind == AXF_QK_AVX2) {
            quant_s16((int16_t *)a->x + o, xr, a->K, a->kp, inv);
        } else {
            quant_s8((int8_t *)a->x + o, xr, a->K, inv);
        }
    }
}

void axf__qact_quantize(axf_engine *e, axf_qact *a, void *buf, float *scales, const float *x, int ldx, int T,
                        int K, axf_qkern kind)
{
    AXF_ASSERT(K >= 0 && K <= AXF_QGEMM_KMAX);
    int kg = kind_kg(kind);
    a->x = buf;
    a->s = scales;
    a->T = T;
    a->K = K;
    a->kp = (K + kg - 1) / kg * kg;
    a->kind = kind;
    if (T < 1)
        return;
    /* about 16 K elements per task */
    qjob_x j = {a, x, ldx, K > 0 && 16384 / K > 0 ? 16384 / K : 1};
    int ntasks = (T + j.rows - 1) / j.rows;
    if (e && ntasks > 1 && (size_t)T * K >= 65536)
        axf__parallel(e, quant_task, &j, ntasks);
    else
        for (int t = 0; t < ntasks; t++)
            quant_task(&j, t, 0);
}

/* ---- packing ---- */

axf_qgemm_w *axf__qgemm_pack(const int8_t *q, const float *scale, int N, int K, int ldq, axf_qkern kind)
{
    if (N < 1 || K < 1)
        return NULL;
    AXF_ASSERT(K <= AXF_QGEMM_KMAX);
    axf_qgemm_w *w = axf_xcalloc(1, sizeof *w);
    int nr = kind_nr(kind), kg = kind_kg(kind);
    int npan = (N + nr - 1) / nr;
    w->N = N;
    w->K = K;
    w->kp = (K + kg - 1) / kg * kg;
    w->nr = nr;
    w->kind = kind;
    size_t pbytes = (size_t)w->kp * nr;   /* a multiple of 64 for every kind but the portable */
    w->p = axf_xaligned64(pbytes * npan);
    memset(w->p, 0, pbytes * npan);
    w->scale = axf_xcalloc((size_t)npan * nr, sizeof *w->scale);
    if (kind == AXF_QK_VNNI)
        w->comp = axf_xcalloc((size_t)npan * nr, sizeof *w->comp);
    for (int n = 0; n < N; n++) {
        int p = n / nr, j = n % nr;
        int8_t *d = w->p + (size_t)p * pbytes;
        const int8_t *src = q + (size_t)n * ldq;
        int32_t sum = 0;
        for (int k = 0; k < K; k++) {
            int g = k / kg, b = k % kg;
            d[((size_t)g * nr + j) * kg + b] = src[k];
            sum += src[k];
        }
        w->scale[n] = scale[n];
        if (w->comp)
            w->comp[n] = 128 * sum;
    }
    return w;
}

void axf__qgemm_w_free(axf_qgemm_w *w)
{
    if (!w)
        return;
    AXF_FREE(w->p, w->comp, w->scale, w);
}

size_t axf__qgemm_w_bytes(const axf_qgemm_w *w)
{
    if (!w)
        return 0;
    size_t npan = (size_t)(w->N + w->nr - 1) / w->nr;
    return npan * w->kp * w->nr + npan * w->nr * (sizeof(float) + (w->comp ? sizeof(int32_t) : 0));
}

/* ---- micro-kernels: y[mr, nr] (ldy) = ((float)(x[mr, kp] · panelᵀ - comp) · sx[i]) · sw[j] ---- */

typedef void (*qkern_fn)(int mr, int kp, const void *x, size_t ldx, const int8_t *b, const int32_t *comp,
                         const float *sx, const float *sw, float *y, size_t ldy);

static void kern_portable(int mr, int kp, const void *xv, size_t ldx, const int8_t *b, const int32_t *comp,
                          const float *sx, const float *sw, float *y, size_t ldy)
{
    (void)comp;
    const int8_t *x = xv;
    for (int i = 0; i < mr; i++) {
        int32_t acc[16] = {0};
        const int8_t *xr = x + i * ldx;
        for (int k = 0; k < kp; k++) {
            const int32_t a = xr[k];
            const int8_t *bk = b + (size_t)k * 16;
            for (int j = 0; j < 16; j++)
                acc[j] += a * bk[j];
        }
        for (int j = 0; j < 16; j++)
            y[i * ldy + j] = ((float)acc[j] * sx[i]) * sw[j];
    }
}

#ifdef AXF_Q_X86
#define TGT_VNNI __attribute__((target("avx512f,avx512vnni")))
#define TGT_AVX2 __attribute__((target("avx2")))

/* c += the four-byte dot products of a (u8) and b (s8) per int32 lane. In assembly because GCC 12
 * keeps the intrinsic's accumulator apart from its destination and copies all 24 accumulators
 * every step (a third of the kernel's time). */
static inline __attribute__((always_inline)) TGT_VNNI __m512i dpbusd(__m512i c, __m512i a, __m512i b)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(c) : "v"(a), "v"(b));
    return c;
}

static inline int32_t ld32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* mr rows (a constant in every caller) x 32 columns in two zmm per row; per group of 4 k, one
 * broadcast of 4 input bytes per row and two vpdpbusd. */
static inline __attribute__((always_inline)) TGT_VNNI void kvnni(const int mr, int kp, const uint8_t *x, size_t ldx,
                                                                const int8_t *b, const int32_t *comp,
                                                                const float *sx, const float *sw, float *y,
                                                                size_t ldy)
{
    __m512i c0[MR_MAX], c1[MR_MAX];
    for (int i = 0; i < mr; i++)
        c0[i] = c1[i] = _mm512_setzero_si512();
    const uint8_t *x0 = x, *x3 = x + 3 * ldx, *x6 = x + 6 * ldx, *x9 = x + 9 * ldx;
    const size_t l1 = ldx, l2 = 2 * ldx;
    for (int k = 0; k < kp; k += 4) {
        __m512i b0 = _mm512_load_si512((const void *)b), b1 = _mm512_load_si512((const void *)(b + 64));
        b += 128;
        for (int i = 0; i < mr; i++) {
            const uint8_t *xb = i < 3 ? x0 : i < 6 ? x3 : i < 9 ? x6 : x9;
            int r = i % 3;
            __m512i a = _mm512_set1_epi32(ld32(r == 0 ? xb + k : r == 1 ? xb + l1 + k : xb + l2 + k));
            c0[i] = dpbusd(c0[i], a, b0);
            c1[i] = dpbusd(c1[i], a, b1);
        }
    }
    const __m512i k0 = _mm512_loadu_si512((const void *)comp), k1 = _mm512_loadu_si512((const void *)(comp + 16));
    const __m512 w0 = _mm512_loadu_ps(sw), w1 = _mm512_loadu_ps(sw + 16);
    for (int i = 0; i < mr; i++) {
        const __m512 s = _mm512_set1_ps(sx[i]);
        __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c0[i], k0));
        __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(c1[i], k1));
        _mm512_storeu_ps(y + i * ldy, _mm512_mul_ps(_mm512_mul_ps(f0, s), w0));
        _mm512_storeu_ps(y + i * ldy + 16, _mm512_mul_ps(_mm512_mul_ps(f1, s), w1));
    }
}

#define KVNNI(m) \
    case m: kvnni(m, kp, x, ldx, b, comp, sx, sw, y, ldy); break;

static TGT_VNNI void kern_vnni(int mr, int kp, const void *xv, size_t ldx, const int8_t *b, const int32_t *comp,
                               const float *sx, const float *sw, float *y, size_t ldy)
{
    const uint8_t *x = xv;
    switch (mr) {
        KVNNI(1) KVNNI(2) KVNNI(3) KVNNI(4) KVNNI(5) KVNNI(6)
        KVNNI(7) KVNNI(8) KVNNI(9) KVNNI(10) KVNNI(11) KVNNI(12)
    }
}

#endif

static qkern_fn kern_of(axf_qkern kind)
{
#ifdef AXF_Q_X86
    if (kind == AXF_QK_VNNI)
        return kern_vnni;
    if (kind == AXF_QK_AVX2)
        return NULL;   /* qtask_avx2 */
#endif
    return kern_portable;
}

/* bytes per input element */
static size_t kind_xsize(axf_qkern k)
{
    return k == AXF_QK_AVX2 ? 2 : 1;
}

/* ---- the driver ---- */

typedef struct {
    const axf_qgemm_w *w;
    const axf_qact *a;
    const float *bias;
    int act_on;
    axf_act act;
    axf_rows_fn rows;     /* per task: the task covers whole rows */
    void *rows_ctx;
    float *y;
    int ldy, T, mr;
    qkern_fn kern;
    int npan;
    axf_gemm_split sp;
} qjob;

static int row_start(const qjob *j, int mb)
{
    return axf__gemm_row0(&j->sp, j->T, j->mr, mb);
}

static void finish(const qjob *j, float *y, const float *bias, int rows, int cols)
{
    axf__gemm_finish(y, j->ldy, bias, rows, cols, j->act_on, j->act);
}

#ifdef AXF_Q_X86
/* The AVX2 kernel on inputs packed per task: xp holds 6 rows interleaved by pairs of k, xp[k2 * 6 +
 * r] = the two int16 of row r at k = 2 k2, 2 k2 + 1 (rows past mr are zeros); pn: NULL, or the next
 * panel, fetched into L2 meanwhile. Twelve named accumulators: GCC 12 kept kavx2's array of them
 * partly in memory (a store and reload per step). Integer sums, so the same bits as kavx2. */
static inline __attribute__((always_inline)) TGT_AVX2 void kavx2p_body(int mr, int kp, const int32_t *xp,
                                                                      const int8_t *b, const int8_t *pn,
                                                                      const float *sx, const float *sw, float *y,
                                                                      size_t ldy, const int l2pf)
{
    __m256i c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, a, b0, b1;
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_si256();
    for (int k = 0; k < kp; k += 2) {
        b0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)b));
        b1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(b + 16)));
        _mm_prefetch((const char *)(b + 512), _MM_HINT_T0);
        if (l2pf) {
            _mm_prefetch((const char *)pn, _MM_HINT_T1);
            pn += 32;
        }
        b += 32;
        a = _mm256_set1_epi32(xp[0]);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(a, b0)), c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(a, b1));
        a = _mm256_set1_epi32(xp[1]);
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(a, b0)), c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(a, b1));
        a = _mm256_set1_epi32(xp[2]);
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(a, b0)), c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(a, b1));
        a = _mm256_set1_epi32(xp[3]);
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(a, b0)), c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(a, b1));
        a = _mm256_set1_epi32(xp[4]);
        c40 = _mm256_add_epi32(c40, _mm256_madd_epi16(a, b0)), c41 = _mm256_add_epi32(c41, _mm256_madd_epi16(a, b1));
        a = _mm256_set1_epi32(xp[5]);
        c50 = _mm256_add_epi32(c50, _mm256_madd_epi16(a, b0)), c51 = _mm256_add_epi32(c51, _mm256_madd_epi16(a, b1));
        xp += 6;
    }
    const __m256 w0 = _mm256_loadu_ps(sw), w1 = _mm256_loadu_ps(sw + 8);
#define QSTORE(r, lo, hi)                                                                                      \
    if (mr > r) {                                                                                              \
        const __m256 s = _mm256_set1_ps(sx[r]);                                                                \
        _mm256_storeu_ps(y + r * ldy, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(lo), s), w0));           \
        _mm256_storeu_ps(y + r * ldy + 8, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(hi), s), w1));       \
    }
    QSTORE(0, c00, c01) QSTORE(1, c10, c11) QSTORE(2, c20, c21) QSTORE(3, c30, c31) QSTORE(4, c40, c41)
    QSTORE(5, c50, c51)
#undef QSTORE
}

static TGT_AVX2 void kern_avx2p(int mr, int kp, const int32_t *xp, const int8_t *b, const int8_t *pn, const float *sx,
                                const float *sw, float *y, size_t ldy)
{
    if (pn)
        kavx2p_body(mr, kp, xp, b, pn, sx, sw, y, ldy, 1);
    else
        kavx2p_body(mr, kp, xp, b, NULL, sx, sw, y, ldy, 0);
}

/* qtask for AVX2: the task's rows of x packed once (groups of 6 rows, pairs of k interleaved), then
 * every panel of the task over every group. */
static void qtask_avx2(const qjob *j, int r0, int r1, int q0, int q1)
{
    const axf_qgemm_w *w = j->w;
    const axf_qact *a = j->a;
    const int nr = w->nr, kp = w->kp, k2 = kp / 2;
    const size_t pbytes = (size_t)kp * nr;
    int ng = (r1 - r0 + 5) / 6;
    int32_t *xp = axf_xaligned64((size_t)ng * 6 * k2 * sizeof(int32_t));
    const int32_t *x32 = a->x;   /* rows of kp int16: k2 pairs */
    for (int g = 0; g < ng; g++) {
        int32_t *d = xp + (size_t)g * 6 * k2;
        for (int r = 0; r < 6; r++) {
            int row = r0 + g * 6 + r;
            if (row < r1) {
                const int32_t *src = x32 + (size_t)row * k2;
                for (int k = 0; k < k2; k++)
                    d[k * 6 + r] = src[k];
            } else {
                for (int k = 0; k < k2; k++)
                    d[k * 6 + r] = 0;
            }
        }
    }
    _Alignas(64) float tile[6 * 16];
    for (int p = q0; p < q1; p++) {
        int col = p * nr, ncol = w->N - col < nr ? w->N - col : nr;
        const int8_t *b = w->p + (size_t)p * pbytes;
        const float *sw = w->scale + col;
        const float *bb = j->bias ? j->bias + col : NULL;
        for (int g = 0; g < ng; g++) {
            int i = r0 + g * 6, mr = r1 - i < 6 ? r1 - i : 6;
            const int8_t *pn = g == 0 && p + 1 < q1 ? b + pbytes : NULL;
            float *yt = j->y + (size_t)i * j->ldy + col;
            if (ncol == nr) {
                kern_avx2p(mr, kp, xp + (size_t)g * 6 * k2, b, pn, a->s + i, sw, yt, (size_t)j->ldy);
            } else {
                kern_avx2p(mr, kp, xp + (size_t)g * 6 * k2, b, pn, a->s + i, sw, tile, 16);
                for (int r = 0; r < mr; r++)
                    memcpy(yt + (size_t)r * j->ldy, tile + r * nr, (size_t)ncol * sizeof(float));
            }
            if (bb || j->act_on)   /* the tile is still in L1 */
                finish(j, yt, bb, mr, ncol);
        }
    }
    free(xp);
    if (j->rows)
        j->rows(j->rows_ctx, r0, r1);
}
#endif

static void qtask(void *ctx, int t, int worker)
{
    (void)worker;
    const qjob *j = ctx;
    const axf_qgemm_w *w = j->w;
    const axf_qact *a = j->a;
    int c = t % j->sp.nchunks, mb = t / j->sp.nchunks;
    int r0 = row_start(j, mb), r1 = row_start(j, mb + 1);
    int q0 = c * j->sp.chunk, q1 = q0 + j->sp.chunk < j->npan ? q0 + j->sp.chunk : j->npan;
#ifdef AXF_Q_X86
    if (w->kind == AXF_QK_AVX2) {
        qtask_avx2(j, r0, r1, q0, q1);
        return;
    }
#endif
    const int nr = w->nr;
    const size_t xs = kind_xsize(a->kind), pbytes = (size_t)w->kp * nr;
    _Alignas(64) float tile[MR_MAX * 32];
    for (int p = q0; p < q1; p++) {
        int col = p * nr, ncol = w->N - col < nr ? w->N - col : nr;
        const int8_t *b = w->p + (size_t)p * pbytes;
        const int32_t *comp = w->comp ? w->comp + col : NULL;
        const float *sw = w->scale + col;
        const float *bb = j->bias ? j->bias + col : NULL;
        for (int i = r0; i < r1; i += j->mr) {
            int mr = r1 - i < j->mr ? r1 - i : j->mr;
            const void *x = (const char *)a->x + (size_t)i * a->kp * xs;
            float *yt = j->y + (size_t)i * j->ldy + col;
            if (ncol == nr) {
                j->kern(mr, w->kp, x, (size_t)a->kp, b, comp, a->s + i, sw, yt, (size_t)j->ldy);
            } else {
                j->kern(mr, w->kp, x, (size_t)a->kp, b, comp, a->s + i, sw, tile, (size_t)nr);
                for (int r = 0; r < mr; r++)
                    memcpy(yt + (size_t)r * j->ldy, tile + r * nr, (size_t)ncol * sizeof(float));
            }
            if (bb || j->act_on)   /* the tile is still in L1 */
                finish(j, yt, bb, mr, ncol);
        }
    }
    if (j->rows)
        j->rows(j->rows_ctx, r0, r1);
}

void axf__qgemm(axf_engine *e, const axf_qgemm_w *w, const axf_qact *a, const axf_gemm_epi *epi, float *y, int ldy)
{
    const axf_gemm_epi none = {0};
    if (!epi)
        epi = &none;
    int T = a->T;
    if (T < 1 || !w)
        return;
    AXF_ASSERT(w->kind == a->kind && w->K == a->K && w->kp == a->kp);
    qjob j = {.w = w, .a = a, .bias = epi->bias, .act_on = epi->act_on, .act = epi->act, .y = y, .ldy = ldy,
              .T = T, .mr = kind_mr(w->kind), .kern = kern_of(w->kind)};
    j.npan = (w->N + w->nr - 1) / w->nr;
    int threads = e ? axf__threads(e) : 1;
    axf__gemm_split(T, j.npan, j.mr, AXF_GEMM_MC, j.kern ? 8 : 1, threads, epi->rows != NULL, &j.sp);
    if (j.sp.by_rows) {
        j.rows = epi->rows;
        j.rows_ctx = epi->rows_ctx;
    }
    int ntasks = j.sp.nchunks * j.sp.nmb;
    if (threads > 1 && ntasks > 1)
        axf__parallel(e, qtask, &j, ntasks);
    else
        for (int t = 0; t < ntasks; t++)
            qtask(&j, t, 0);
    if (epi->rows && !j.rows)   /* too few rows to split: once, on the caller's thread */
        epi->rows(epi->rows_ctx, 0, T);
}

/* ---- the sub-matrices of a plan (axf/quant.h) ---- */

void axf_quant_gather(int8_t *q, float *scale, const float *w, int K, const axf_qmat *stored, const int *rows,
                      int nr, const int *cols, int nc)
{
    if (!cols && stored && stored->q) {
        for (int r = 0; r < nr; r++) {
            int n = rows ? rows[r] : r;
            memcpy(q + (size_t)r * K, stored->q + (size_t)n * K, (size_t)K);
            scale[r] = stored->scale[n];
        }
        return;
    }
    float *tmp = axf_xmalloc(sizeof(float) * (size_t)(nc > 0 ? nc : 1));
    for (int r = 0; r < nr; r++) {
        const float *src = w + (size_t)(rows ? rows[r] : r) * K;
        if (cols)
            for (int c = 0; c < nc; c++)
                tmp[c] = src[cols[c]];
        axf_quant_row(q + (size_t)r * nc, &scale[r], cols ? tmp : src, nc);
    }
    free(tmp);
}

/* ---- the engine's int8 weights, per layer and block ---- */

struct axf_q8layer {
    int have[2];                          /* block made (0 attention, 1 FFN) ... */
    axf_qkern kind[2];                    /* ... for this kernel ... */
    unsigned char head_on[AXF_MAX_HEADS]; /* ... and this mask */
    unsigned char *neuron_on;             /* [f] */
    axf_qgemm_w *w[AXF_W_COUNT];
};

static void drop_block(struct axf_q8layer *l, int block)
{
    int w0 = block == 0 ? AXF_W_Q : AXF_W_1, w1 = block == 0 ? AXF_W_O : AXF_W_2;
    for (int w = w0; w <= w1; w++) {
        axf__qgemm_w_free(l->w[w]);
        l->w[w] = NULL;
    }
    l->have[block] = 0;
}

void axf__q8_drop_layer(axf_engine *e, int li)
{
    if (!e->q8)
        return;
    drop_block(&e->q8[li], 0);
    drop_block(&e->q8[li], 1);
    free(e->q8[li].neuron_on);
    e->q8[li].neuron_on = NULL;
}

void axf__q8_drop(axf_engine *e)
{
    for (int i = 0; e->q8 && i < e->m->cfg.n_layers; i++)
        axf__q8_drop_layer(e, i);
    free(e->q8);
    e->q8 = NULL;
    free(e->q8x);
    free(e->q8s);
    e->q8x = NULL;
    e->q8s = NULL;
}

/* Packs the part rows x cols of matrix `which` of layer li (axf_quant_gather). */
static axf_qgemm_w *pack_part(const axf_model *m, int li, int which, const float *w, int K, const int *rows, int nr,
                              const int *cols, int nc, axf_qkern kind)
{
    int kk = cols ? nc : K;
    int8_t *q = axf_xmalloc((size_t)nr * kk + 1);
    float *s = axf_xmalloc(sizeof(float) * (size_t)nr + 1);
    axf_quant_gather(q, s, w, K, &m->layers[li].q8[which], rows, nr, cols, nc);
    axf_qgemm_w *pw = axf__qgemm_pack(q, s, nr, kk, kk, kind);
    free(q);
    free(s);
    return pw;
}

axf_qgemm_w *const *axf__q8_block(axf_engine *e, int li, const axf_layer_plan *lp, int block)
{
    const axf_model *m = e->m;
    const axf_config *c = &m->cfg;
    const axf_layer *L = &m->layers[li];
    const int H = c->hidden, HS = c->head_dim;
    axf_qkern kind = axf__qgemm_kind();
    if (!e->q8)
        e->q8 = axf_xcalloc((size_t)c->n_layers, sizeof *e->q8);
    struct axf_q8layer *l = &e->q8[li];
    if (block == 0) {
        int nh = c->layer_heads[li];
        if (l->have[0] && l->kind[0] == kind && !memcmp(l->head_on, lp->head_on, (size_t)nh))
            return l->w;
        drop_block(l, 0);
        int *rows = axf_xmalloc(sizeof(int) * ((size_t)nh * HS + 1)), n = 0;
        for (int h = 0; h < nh; h++)
            for (int j = 0; j < HS && lp->head_on[h]; j++)
                rows[n++] = h * HS + j;
        const int *cols = n < nh * HS ? rows : NULL;
        l->w[AXF_W_Q] = pack_part(m, li, AXF_W_Q, L->wq, H, rows, n, NULL, H, kind);
        l->w[AXF_W_K] = pack_part(m, li, AXF_W_K, L->wk, H, rows, n, NULL, H, kind);
        l->w[AXF_W_V] = pack_part(m, li, AXF_W_V, L->wv, H, rows, n, NULL, H, kind);
        l->w[AXF_W_O] = pack_part(m, li, AXF_W_O, L->wo, nh * HS, NULL, H, cols, n, kind);
        free(rows);
        memcpy(l->head_on, lp->head_on, (size_t)nh);
    } else {
        int f = c->layer_ffn[li];
        if (l->have[1] && l->kind[1] == kind && !memcmp(l->neuron_on, lp->neuron_on, (size_t)f))
            return l->w;
        drop_block(l, 1);
        int *rows = axf_xmalloc(sizeof(int) * ((size_t)f + 1)), n = 0;
        for (int j = 0; j < f; j++)
            if (lp->neuron_on[j])
                rows[n++] = j;
        l->w[AXF_W_1] = pack_part(m, li, AXF_W_1, L->w1, H, rows, n, NULL, H, kind);
        l->w[AXF_W_2] = pack_part(m, li, AXF_W_2, L->w2, f, NULL, H, n < f ? rows : NULL, n, kind);
        free(rows);
        if (!l->neuron_on)
            l->neuron_on = axf_xmalloc((size_t)f + 1);
        memcpy(l->neuron_on, lp->neuron_on, (size_t)f);
    }
    l->have[block] = 1;
    l->kind[block] = kind;
    return l->w;
}

void axf__q8_input(axf_engine *e, axf_qact *a, const float *x, int ldx, int T, int K)
{
    if (!e->q8x) {
        const axf_config *c = &e->m->cfg;
        int kmax = c->hidden > e->hq_max ? c->hidden : e->hq_max;
        kmax = kmax > e->f_max ? kmax : e->f_max;
        e->q8x = axf_xaligned64(axf__qact_bytes(e->max_tokens, kmax));
        e->q8s = axf_xmalloc(sizeof(float) * (size_t)e->max_tokens);
    }
    axf__qact_quantize(e, a, e->q8x, e->q8s, x, ldx, T, K, axf__qgemm_kind());
}
