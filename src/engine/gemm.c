/* y = x · Wᵀ (+ y) on weights packed once (layout and contract in gemm.h), and axf_matmul.
 * Blocking: the work is cut into tasks of (a block of about MC rows of x) x (a chunk of panels),
 * which the engine's workers share (one chunk per row block at one thread). A task walks K in
 * blocks of KC; for every panel of its chunk it runs the micro-kernel down its rows, so the block
 * of x (MC x KC, <= 288 KB) stays in L2 and the panel's slice is read from memory once per row
 * block, prefetched PF_AHEAD k ahead (without the prefetch, T = 1024 products ran up to 10% slower
 * than OpenBLAS: W no longer fits L2 there). The AVX-512 micro-kernel keeps an MR x NR = 12 x 32
 * tile of y in 24 zmm registers and per k loads two vectors of the panel and broadcasts MR values
 * of x straight from x's rows: x is not packed there (tried: packing it costs more than it saves at
 * 128 tokens); the AVX2 tasks pack it (task_avx2, PF_AVX2). Between blocks of K the partial sums wait in y (exact), so the chain of each element
 * is unbroken. Partial panels (at the ends of a row range [n0, n0 + N) that is not a multiple of
 * NR) go through a stack tile. Bias and activation are applied to each tile once its last block
 * of K is done, while it is in L1. */
#include "gemm.h"
#include "qgemm.h"

#include "axf/matmul.h"
#include "axf/parallel.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AXF_GEMM_X86 1
#endif

#define NR AXF_GEMM_NR
#define MR 12
/* Measured on BERT shapes (tests/bench_gemm.c, one thread): MC 96 and KC 768 with the panel
 * prefetched 16 k ahead beat 192/256, 48/256 and 1024/256 by 5-30% at T = 1024, where W no longer
 * fits L2 and each panel streams from memory once per block of MC rows. */
#define KC 768
#define MC AXF_GEMM_MC
#define PF_AHEAD 16
/* AVX2 (16 ymm registers): tiles of 6 rows x 16 columns (12 accumulators) on x packed per task
 * into groups of 6 interleaved rows, xp[k * 6 + r], so that the broadcasts read one stream; the
 * panel's row (NR floats) is prefetched PF_AVX2 k ahead. Measured on a Zen 3 (tests/bench_gemm.c
 * --cold, one thread, BERT-base shapes at T = 128): 46-60 GFLOP/s against 26-47 when the kernel
 * broadcast from x's rows (six streams), about OpenBLAS's 52-64 there. */
#define PF_AVX2 16

int axf__avx512 = -1;
axf_gemm_trace_fn axf__gemm_trace;

int axf__gemm_available(void)
{
#ifdef AXF_GEMM_X86
    /* libgcc also checks that the OS saves zmm state */
    return axf__avx512 != 0 && axf_isa_level() >= AXF_ISA_AVX512;
#else
    return 0;
#endif
}

size_t axf__gemm_bytes(int N, int K)
{
    return (size_t)((N + NR - 1) / NR) * K * NR * sizeof(float);
}

static void pack_panel(float *dst, int tb, const float *B, int ldb, int N, int p, int k0, int k1);

axf_gemm_w *axf__gemm_pack(const float *w, int N, int K, int ldw)
{
    if (N < 1 || K < 1)
        return NULL;
    axf_gemm_w *pw = axf_xmalloc(sizeof *pw);
    pw->p = axf_xaligned64(axf__gemm_bytes(N, K));   /* the kernels' aligned loads need it */
    pw->N = N;
    pw->K = K;
    for (int p = 0; p < (N + NR - 1) / NR; p++)
        pack_panel(pw->p + (size_t)p * K * NR, 1, w, ldw, N, p, 0, K);
    return pw;
}

void axf__gemm_w_free(axf_gemm_w *pw)
{
    if (!pw)
        return;
    free(pw->p);
    free(pw);
}

/* ---- the micro-kernels: y[mr, NR] (ldy) = (cont ? y : 0) + x[mr, kc] (ldx) · b[kc][NR] ----
 * One arithmetic on every instruction set: each element of y is a chain of fused multiply-adds
 * over k in ascending order, acc = fma(x[i][k], b[k][j], acc), started from 0 or from the y the
 * previous block of K left (the store and reload are exact). The AVX-512 kernel holds a row's 32
 * columns in two zmm, the AVX2 one in four ymm (two passes of 16 columns), the portable one in an
 * array of 32 floats with fmaf: the same operations on the same operands in the same order, so
 * the same bits, whatever the CPU, the blocking or the thread count (tests/test_gemm.c checks all
 * three against a scalar chain). */

static void kern_generic(int mr, int kc, const float *x, size_t ldx, const float *b, const float *pn, float *y,
                         size_t ldy, int cont)
{
    (void)pn;
    for (int i = 0; i < mr; i++) {
        float acc[NR];
        for (int j = 0; j < NR; j++)
            acc[j] = cont ? y[i * ldy + j] : 0.0f;
        const float *xr = x + i * ldx;
        for (int k = 0; k < kc; k++) {
            const float a = xr[k], *bk = b + (size_t)k * NR;
            for (int j = 0; j < NR; j++)
                acc[j] = fmaf(a, bk[j], acc[j]);
        }
        memcpy(y + i * ldy, acc, sizeof acc);
    }
}

#ifdef AXF_GEMM_X86
#define TGT __attribute__((target("avx512f")))
#define TGT2 __attribute__((target("avx2,fma")))

/* mr rows (a constant in every caller) of 32 columns; pn: the next panel's slice, fetched into L2
 * meanwhile (b itself when there is none). */
static inline __attribute__((always_inline)) TGT void kern512(const int mr, int kc, const float *x, size_t ldx,
                                                             const float *b, const float *pn, float *y, size_t ldy,
                                                             int cont)
{
    __m512 c0[MR], c1[MR];
    for (int i = 0; i < mr; i++) {
        c0[i] = cont ? _mm512_loadu_ps(y + i * ldy) : _mm512_setzero_ps();
        c1[i] = cont ? _mm512_loadu_ps(y + i * ldy + 16) : _mm512_setzero_ps();
    }
    const float *x0 = x, *x3 = x + 3 * ldx, *x6 = x + 6 * ldx, *x9 = x + 9 * ldx;
    const size_t l1 = ldx, l2 = 2 * ldx;
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)pn, _MM_HINT_T1);
        _mm_prefetch((const char *)(pn + 16), _MM_HINT_T1);
        b += NR;
        pn += NR;
        for (int i = 0; i < mr; i++) {
            const float *xb = i < 3 ? x0 : i < 6 ? x3 : i < 9 ? x6 : x9;
            int r = i % 3;
            __m512 a = _mm512_set1_ps(r == 0 ? xb[k] : r == 1 ? xb[l1 + k] : xb[l2 + k]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm512_storeu_ps(y + i * ldy, c0[i]);
        _mm512_storeu_ps(y + i * ldy + 16, c1[i]);
    }
}

#define KERN512(m) \
    case m: kern512(m, kc, x, ldx, b, pn, y, ldy, cont); break;

static TGT void kern_avx512(int mr, int kc, const float *x, size_t ldx, const float *b, const float *pn, float *y,
                            size_t ldy, int cont)
{
    switch (mr) {
        KERN512(1) KERN512(2) KERN512(3) KERN512(4) KERN512(5) KERN512(6)
        KERN512(7) KERN512(8) KERN512(9) KERN512(10) KERN512(11) KERN512(12)
    }
}

/* AVX2 on packed x: xp holds 6 rows interleaved, xp[k * 6 + r] (rows past mr are zeros); 16
 * columns of the panel at b (row stride NR); mr <= 6 rows of y. Twelve named accumulators: GCC 12
 * keeps an array of them in memory here. */
static inline __attribute__((always_inline)) TGT2 void kern_avx2p_body(int mr, int kc, const float *xp, const float *b,
                                                                       const float *pn, float *y, size_t ldy,
                                                                       int cont, const int l2pf)
{
    _Alignas(32) float t[6 * 16];
    float *yy = y;
    size_t ld = ldy;
    if (mr < 6) {   /* through a tile of 6 rows */
        memset(t, 0, sizeof t);
        for (int i = 0; i < mr && cont; i++)
            memcpy(t + i * 16, y + i * ldy, 16 * sizeof(float));
        yy = t;
        ld = 16;
    }
    __m256 a0, a1, a2, a3, a4, a5, b0_, b1_, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (cont || mr < 6) {
        c00 = _mm256_loadu_ps(yy), c01 = _mm256_loadu_ps(yy + 8);
        c10 = _mm256_loadu_ps(yy + ld), c11 = _mm256_loadu_ps(yy + ld + 8);
        c20 = _mm256_loadu_ps(yy + 2 * ld), c21 = _mm256_loadu_ps(yy + 2 * ld + 8);
        c30 = _mm256_loadu_ps(yy + 3 * ld), c31 = _mm256_loadu_ps(yy + 3 * ld + 8);
        c40 = _mm256_loadu_ps(yy + 4 * ld), c41 = _mm256_loadu_ps(yy + 4 * ld + 8);
        c50 = _mm256_loadu_ps(yy + 5 * ld), c51 = _mm256_loadu_ps(yy + 5 * ld + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        b0_ = _mm256_load_ps(b), b1_ = _mm256_load_ps(b + 8);
        _mm_prefetch((const char *)(b + PF_AVX2 * NR), _MM_HINT_T0);
        if (l2pf) {   /* the next panel's row of this k, both lines, into L2 */
            _mm_prefetch((const char *)pn, _MM_HINT_T1);
            _mm_prefetch((const char *)(pn + 16), _MM_HINT_T1);
            pn += NR;
        }
        a0 = _mm256_broadcast_ss(xp);
        c00 = _mm256_fmadd_ps(a0, b0_, c00), c01 = _mm256_fmadd_ps(a0, b1_, c01);
        a1 = _mm256_broadcast_ss(xp + 1);
        c10 = _mm256_fmadd_ps(a1, b0_, c10), c11 = _mm256_fmadd_ps(a1, b1_, c11);
        a2 = _mm256_broadcast_ss(xp + 2);
        c20 = _mm256_fmadd_ps(a2, b0_, c20), c21 = _mm256_fmadd_ps(a2, b1_, c21);
        a3 = _mm256_broadcast_ss(xp + 3);
        c30 = _mm256_fmadd_ps(a3, b0_, c30), c31 = _mm256_fmadd_ps(a3, b1_, c31);
        a4 = _mm256_broadcast_ss(xp + 4);
        c40 = _mm256_fmadd_ps(a4, b0_, c40), c41 = _mm256_fmadd_ps(a4, b1_, c41);
        a5 = _mm256_broadcast_ss(xp + 5);
        c50 = _mm256_fmadd_ps(a5, b0_, c50), c51 = _mm256_fmadd_ps(a5, b1_, c51);
        b += NR;
        xp += 6;
    }
    _mm256_storeu_ps(yy, c00), _mm256_storeu_ps(yy + 8, c01);
    _mm256_storeu_ps(yy + ld, c10), _mm256_storeu_ps(yy + ld + 8, c11);
    _mm256_storeu_ps(yy + 2 * ld, c20), _mm256_storeu_ps(yy + 2 * ld + 8, c21);
    _mm256_storeu_ps(yy + 3 * ld, c30), _mm256_storeu_ps(yy + 3 * ld + 8, c31);
    _mm256_storeu_ps(yy + 4 * ld, c40), _mm256_storeu_ps(yy + 4 * ld + 8, c41);
    _mm256_storeu_ps(yy + 5 * ld, c50), _mm256_storeu_ps(yy + 5 * ld + 8, c51);
    if (mr < 6)
        for (int i = 0; i < mr; i++)
            memcpy(y + i * ldy, t + i * 16, 16 * sizeof(float));
}

/* pn: NULL, or the next panel's slice to fetch into L2 meanwhile (the first tile of a panel: the
 * panel streams from memory once per row block, as in the AVX-512 kernel). */
static TGT2 void kern_avx2p(int mr, int kc, const float *xp, const float *b, const float *pn, float *y, size_t ldy,
                            int cont)
{
    if (pn)
        kern_avx2p_body(mr, kc, xp, b, pn, y, ldy, cont, 1);
    else
        kern_avx2p_body(mr, kc, xp, b, NULL, y, ldy, cont, 0);
}
#endif

typedef void (*kern_fn)(int mr, int kc, const float *x, size_t ldx, const float *b, const float *pn, float *y,
                        size_t ldy, int cont);

/* The kernel of the instruction-set level in force (axf_isa_level); NULL for AVX2, whose tasks
 * run task_avx2. */
static kern_fn kern_pick(void)
{
#ifdef AXF_GEMM_X86
    axf_isa isa = axf_isa_level();
    if (isa >= AXF_ISA_AVX512 && axf__avx512 != 0)
        return kern_avx512;
    if (isa >= AXF_ISA_AVX2)
        return NULL;   /* task_avx2: its own loop on packed x */
#endif
    return kern_generic;
}

typedef struct {
    const axf_gemm_w *pw;
    int n0, k0, T, N, K, ldx, ldy;
    const float *x;
    int xt;               /* x is stored transposed: element (i, k) at x[k * ldx + i] (AVX2 only) */
    const float *bias;    /* NULL or [N] */
    int act_on;
    axf_act act;
    axf_rows_fn rows;     /* called per task: the task covers whole rows (nchunks == 1) */
    void *rows_ctx;
    float *y;
    int acc;              /* the chains start from y (1) or from 0 */
    kern_fn kern;
    int pfirst, npan;     /* panels covering [n0, n0 + N) */
    axf_gemm_split sp;    /* the tasks: row blocks x chunks of panels */
    /* axf_matmul on AVX2 when every panel is used by one row block: pw->p is NULL and each task
     * packs the K-block of a panel just before its kernel reads it (op(B) from B, ldb, tb) */
    const float *braw;
    int ldb, tb;
} job;

void axf__gemm_split(int T, int npan, int mr, int mc_target, int chunks_per_thread, int threads, int want_rows,
                     axf_gemm_split *s)
{
    int nmb = (T + mc_target - 1) / mc_target;
    if (want_rows) {
        /* blocks of whole rows, as many as a multiple of the threads, none under ROWS_MIN rows */
        nmb = (nmb + threads - 1) / threads * threads;
        while (nmb > 1 && T / nmb < AXF_GEMM_ROWS_MIN)
            nmb--;
        if (nmb >= threads || threads == 1) {
            *s = (axf_gemm_split){.by_rows = 1, .mc = 0, .nmb = nmb, .nchunks = 1, .chunk = npan};
            return;
        }
    }
    /* row blocks of about mc_target rows, equal, multiples of mr */
    nmb = (T + mc_target - 1) / mc_target;
    s->by_rows = 0;
    s->mc = ((T + nmb - 1) / nmb + mr - 1) / mr * mr;
    s->nmb = (T + s->mc - 1) / s->mc;
    int want = threads > 1 ? (chunks_per_thread * threads + s->nmb - 1) / s->nmb : 1;
    s->nchunks = want < npan ? want : npan;
    s->chunk = (npan + s->nchunks - 1) / s->nchunks;
    s->nchunks = (npan + s->chunk - 1) / s->chunk;
}

int axf__gemm_row0(const axf_gemm_split *s, int T, int mr, int mb)
{
    if (s->mc)
        return mb * s->mc < T ? mb * s->mc : T;
    return mb >= s->nmb ? T : (int)((long)mb * T / s->nmb / mr * mr);
}

void axf__gemm_finish(float *y, int ldy, const float *bias, int rows, int cols, int act_on, axf_act act)
{
    if (act_on)
        axf__act_tile(y, ldy, bias, rows, cols, act);
    else if (bias)
        axf__add_bias(y, ldy, bias, rows, cols);
}

static int row_start(const job *j, int mb)
{
    return axf__gemm_row0(&j->sp, j->T, MR, mb);
}

static void finish(const job *j, float *y, const float *bias, int rows, int cols)
{
    axf__gemm_finish(y, j->ldy, bias, rows, cols, j->act_on, j->act);
}

/* Panel p (NR columns of op(B), op(B)[k][n] = B[n][k] (tb) or B[k][n]) for k in [k0, k1), into
 * dst[(k - k0) * NR + jn]; columns at and past N are zeros. */
static void pack_panel(float *dst, int tb, const float *B, int ldb, int N, int p, int k0, int k1)
{
    int nr = N - p * NR < NR ? N - p * NR : NR;
    if (tb) {
        for (int kk = k0; kk < k1; kk += 8) {
            int ke = kk + 8 < k1 ? kk + 8 : k1;
            for (int jn = 0; jn < nr; jn++) {
                const float *src = B + (size_t)(p * NR + jn) * ldb;
                for (int k = kk; k < ke; k++)
                    dst[(size_t)(k - k0) * NR + jn] = src[k];
            }
        }
    } else {
        for (int k = k0; k < k1; k++)
            memcpy(dst + (size_t)(k - k0) * NR, B + (size_t)k * ldb + p * NR, (size_t)nr * sizeof(float));
    }
    if (nr < NR)
        for (int k = k0; k < k1; k++)
            memset(dst + (size_t)(k - k0) * NR + nr, 0, (size_t)(NR - nr) * sizeof(float));
}

#ifdef AXF_GEMM_X86
/* A task's rows [r0, r1) x panels [q0, q1) on AVX2: x packed per block of K (xp, groups of 6 rows,
 * the last one padded with zeros), then for each panel and each half of it every group's tile. */
static void task_avx2(const job *j, int r0, int r1, int q0, int q1)
{
    const int Kfull = j->pw->K, nend = j->n0 + j->N;
    _Alignas(64) float tile[6 * 16];
    int ng = (r1 - r0 + 5) / 6;
    int kcmax = j->K < KC ? j->K : KC;
    float *xp = axf_xaligned64((size_t)ng * 6 * kcmax * sizeof(float));
    float *bp = j->braw ? axf_xaligned64((size_t)kcmax * NR * sizeof(float)) : NULL;
    for (int kb = 0; kb < j->K; kb += KC) {
        int kc = j->K - kb < KC ? j->K - kb : KC;
        int cont = kb > 0 || j->acc;
        int last = kb + kc == j->K;
        for (int g = 0; g < ng; g++) {
            float *d = xp + (size_t)g * 6 * kc;
            if (j->xt && r0 + g * 6 + 6 <= r1) {   /* six consecutive floats of each column of x */
                const float *src = j->x + (size_t)kb * j->ldx + r0 + g * 6;
                for (int k = 0; k < kc; k++)
                    memcpy(d + k * 6, src + (size_t)k * j->ldx, 6 * sizeof(float));
                continue;
            }
            for (int r = 0; r < 6; r++) {
                int row = r0 + g * 6 + r;
                if (row < r1 && j->xt) {
                    for (int k = 0; k < kc; k++)
                        d[k * 6 + r] = j->x[(size_t)(kb + k) * j->ldx + row];
                } else if (row < r1) {
                    const float *src = j->x + (size_t)row * j->ldx + kb;
                    for (int k = 0; k < kc; k++)
                        d[k * 6 + r] = src[k];
                } else {
                    for (int k = 0; k < kc; k++)
                        d[k * 6 + r] = 0.0f;
                }
            }
        }
        for (int q = q0; q < q1; q++) {
            int p = j->pfirst + q, col = p * NR;
            const float *b;
            if (bp) {   /* packed here, read at once from L1/L2 */
                pack_panel(bp, j->tb, j->braw, j->ldb, j->N, p, kb, kb + kc);
                b = bp;
            } else {
                b = j->pw->p + ((size_t)p * Kfull + j->k0 + kb) * NR;
            }
            int lo = j->n0 > col ? j->n0 - col : 0, hi = nend < col + NR ? nend - col : NR;
            float *yc = j->y + (col + lo - j->n0);
            const float *bb = last && j->bias ? j->bias + (col + lo - j->n0) : NULL;
            for (int h = 0; h < NR; h += 16) {
                /* this half's columns of [lo, hi): all 16 straight into y, else through the tile */
                int clo = lo > h ? lo : h, chi = hi < h + 16 ? hi : h + 16;
                if (clo >= chi)
                    continue;
                for (int g = 0; g < ng; g++) {
                    int i = r0 + g * 6, mr = r1 - i < 6 ? r1 - i : 6;
                    const float *xg = xp + (size_t)g * 6 * kc;
                    const float *pn = !bp && h == 0 && g == 0 && q + 1 < q1 ? b + (size_t)Kfull * NR : NULL;
                    float *yt = yc + (size_t)i * j->ldy + (clo - lo);
                    if (chi - clo == 16) {
                        kern_avx2p(mr, kc, xg, b + h, pn, yt, j->ldy, cont);
                    } else {
                        for (int r = 0; r < mr && cont; r++)
                            memcpy(tile + r * 16 + (clo - h), yt + (size_t)r * j->ldy, (size_t)(chi - clo) * sizeof(float));
                        kern_avx2p(mr, kc, xg, b + h, pn, tile, 16, cont);
                        for (int r = 0; r < mr; r++)
                            memcpy(yt + (size_t)r * j->ldy, tile + r * 16 + (clo - h), (size_t)(chi - clo) * sizeof(float));
                    }
                }
            }
            if (last && (bb || j->act_on))
                for (int i = r0; i < r1; i += MR)
                    finish(j, yc + (size_t)i * j->ldy, bb, r1 - i < MR ? r1 - i : MR, hi - lo);
        }
    }
    free(xp);
    free(bp);
    if (j->rows)
        j->rows(j->rows_ctx, r0, r1);
}
#endif

static void task(void *ctx, int t, int worker)
{
    (void)worker;
    const job *j = ctx;
    int c = t % j->sp.nchunks, mb = t / j->sp.nchunks;
    int r0 = row_start(j, mb), r1 = row_start(j, mb + 1);
    int q0 = c * j->sp.chunk, q1 = q0 + j->sp.chunk < j->npan ? q0 + j->sp.chunk : j->npan;
    const int Kfull = j->pw->K, nend = j->n0 + j->N;
    _Alignas(64) float tile[MR * NR];
#ifdef AXF_GEMM_X86
    if (!j->kern) {
        task_avx2(j, r0, r1, q0, q1);
        return;
    }
#endif
    for (int kb = 0; kb < j->K; kb += KC) {
        int kc = j->K - kb < KC ? j->K - kb : KC;
        int cont = kb > 0 || j->acc;
        int last = kb + kc == j->K;
        for (int q = q0; q < q1; q++) {
            int p = j->pfirst + q, col = p * NR;
            const float *b = j->pw->p + ((size_t)p * Kfull + j->k0 + kb) * NR;
            const float *bn = q + 1 < q1 ? b + (size_t)Kfull * NR : b;
            int lo = j->n0 > col ? j->n0 - col : 0, hi = nend < col + NR ? nend - col : NR;
            float *yc = j->y + (col + lo - j->n0);
            const float *bb = last && j->bias ? j->bias + (col + lo - j->n0) : NULL;
            for (int i = r0; i < r1; i += MR) {
                int mr = r1 - i < MR ? r1 - i : MR;
                const float *x = j->x + (size_t)i * j->ldx + kb;
                float *yt = yc + (size_t)i * j->ldy;
                if (lo == 0 && hi == NR) {
                    j->kern(mr, kc, x, j->ldx, b, i == r0 ? bn : b, yt, j->ldy, cont);
                } else {
                    /* a partial panel: through the stack tile, its columns lo..hi in and out */
                    for (int r = 0; r < mr && cont; r++)
                        memcpy(tile + r * NR + lo, yt + (size_t)r * j->ldy, (size_t)(hi - lo) * sizeof(float));
                    j->kern(mr, kc, x, j->ldx, b, i == r0 ? bn : b, tile, NR, cont);
                    for (int r = 0; r < mr; r++)
                        memcpy(yt + (size_t)r * j->ldy, tile + r * NR + lo, (size_t)(hi - lo) * sizeof(float));
                }
                if (last && (bb || j->act_on))   /* the tile is still in L1 */
                    finish(j, yt, bb, mr, hi - lo);
            }
        }
    }
    if (j->rows)
        j->rows(j->rows_ctx, r0, r1);
}

void axf__gemm_nt(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                  const float *x, int ldx, int acc, float *y, int ldy)
{
    axf__gemm_nt_epi(e, pw, n0, k0, T, N, K, x, ldx, acc, NULL, y, ldy);
}


/* ---- per-thread scratch of axf_matmul: op(B) packed and op(A) transposed ----
 * Kept between calls (a training step makes hundreds of products, and a fresh buffer of a
 * megabyte or more is fresh pages: the kernel zeroing them was 2% of a step), freed with the
 * thread; buffers above SCRATCH_KEEP bytes are not kept. */

#define SCRATCH_KEEP ((size_t)32 << 20)

typedef struct {
    void *p[2];
    size_t cap[2];
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v)
{
    scratch *s = v;
    free(s->p[0]);
    free(s->p[1]);
    free(s);
}

static void scratch_init(void) { AXF_ASSERT(pthread_key_create(&scratch_key, scratch_free) == 0); }

/* A 64-byte aligned buffer of `bytes` for slot 0 (B) or 1 (A); release with scratch_put. */
static void *scratch_get(int slot, size_t bytes)
{
    if (bytes > SCRATCH_KEEP)
        return axf_xaligned64(bytes);
    pthread_once(&scratch_once, scratch_init);
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = axf_xcalloc(1, sizeof *s);
        AXF_ASSERT(pthread_setspecific(scratch_key, s) == 0);
    }
    if (s->cap[slot] < bytes) {
        free(s->p[slot]);
        s->cap[slot] = bytes + bytes / 4 + 4096;
        s->p[slot] = axf_xaligned64(s->cap[slot]);
    }
    return s->p[slot];
}

static void scratch_put(void *p, size_t bytes)
{
    if (bytes > SCRATCH_KEEP)
        free(p);
}

/* op(B) packed whole for axf_matmul, a task per panel. */
typedef struct {
    float *dst;
    const float *b;
    int ldb, tb, N, K;
} pack_job;

static void pack_task(void *ctx, int p, int worker)
{
    (void)worker;
    const pack_job *j = ctx;
    pack_panel(j->dst + (size_t)p * j->K * NR, j->tb, j->b, j->ldb, j->N, p, 0, j->K);
}

static void gemm_run(axf_engine *e, int spawn, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                     const float *x, int ldx, int xt, int acc, const axf_gemm_epi *epi, float *y, int ldy,
                     const float *braw, int ldb, int tb);

void axf__gemm_nt_epi(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                      const float *x, int ldx, int acc, const axf_gemm_epi *epi, float *y, int ldy)
{
    gemm_run(e, 0, pw, n0, k0, T, N, K, x, ldx, 0, acc, epi, y, ldy, NULL, 0, 0);
}

/* e: the engine whose workers share the tasks, or NULL: spawn > 1 threads of their own, or the
 * caller's thread alone. xt: x stored transposed (only where kern_pick() is NULL: AVX2).
 * braw (axf_matmul): op(B) not packed yet (pw->p NULL): packed here whole when a panel serves
 * several row blocks or the kernel is not AVX2's, else panel by panel in the tasks. */
static void gemm_run(axf_engine *e, int spawn, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                     const float *x, int ldx, int xt, int acc, const axf_gemm_epi *epi, float *y, int ldy,
                     const float *braw, int ldb, int tb)
{
    if (axf__gemm_trace)
        axf__gemm_trace(T, N, K, ldx, ldy, acc);
    if (T < 1 || N < 1)
        return;
    const axf_gemm_epi none = {0};
    if (!epi)
        epi = &none;
    job j = {.pw = pw, .n0 = n0, .k0 = k0, .T = T, .N = N, .K = K, .ldx = ldx, .ldy = ldy, .x = x, .xt = xt, .y = y,
             .acc = acc, .bias = epi->bias, .act_on = epi->act_on, .act = epi->act, .kern = kern_pick()};
    if (K < 1) {
        for (int i = 0; i < T && !acc; i++)
            memset(y + (size_t)i * ldy, 0, (size_t)N * sizeof(float));
        if (epi->bias || epi->act_on)
            for (int i = 0; i < T; i++)
                finish(&j, y + (size_t)i * ldy, epi->bias, 1, N);
        if (epi->rows)
            epi->rows(epi->rows_ctx, 0, T);
        return;
    }
    j.pfirst = n0 / NR;
    j.npan = (n0 + N + NR - 1) / NR - j.pfirst;
    int threads = e ? axf__threads(e) : spawn > 1 ? spawn : 1;
    axf__gemm_split(T, j.npan, MR, j.kern ? AXF_GEMM_MC : AXF_GEMM_MC_AVX2, j.kern ? 8 : 1, threads, epi->rows != NULL,
                    &j.sp);
    if (j.sp.by_rows) {
        j.rows = epi->rows;
        j.rows_ctx = epi->rows_ctx;
    }
    axf_gemm_w whole = {NULL, N, K};
    if (braw && (j.kern || j.sp.nmb > 1)) {
        whole.p = scratch_get(0, axf__gemm_bytes(N, K));
        pack_job pj = {whole.p, braw, ldb, tb, N, K};
        if (threads > 1 && !e && j.npan > 1)
            axf_parallel(pack_task, &pj, j.npan);
        else
            for (int p = 0; p < j.npan; p++)
                pack_task(&pj, p, 0);
        j.pw = &whole;
    } else if (braw) {
        j.braw = braw;
        j.ldb = ldb;
        j.tb = tb;
    }
    int ntasks = j.sp.nchunks * j.sp.nmb;
    if (threads > 1 && ntasks > 1 && e)
        axf__parallel(e, task, &j, ntasks);
    else if (threads > 1 && ntasks > 1)
        axf_parallel(task, &j, ntasks);
    else
        for (int t = 0; t < ntasks; t++)
            task(&j, t, 0);
    if (epi->rows && !j.rows)   /* too few rows to split: once, on the caller's thread */
        epi->rows(epi->rows_ctx, 0, T);
    if (whole.p)
        scratch_put(whole.p, axf__gemm_bytes(N, K));
}

/* ---- products on operands that are not packed (axf/matmul.h) ---- */

#define MATMUL_SPAWN_MACS 2e6

/* dst[i * rows + r] = src[r * lds + i] for r < rows, i < cols, in tiles of 32 x 32, so that reads
 * and writes both stay within a few cache lines a tile: the element-at-a-time loop (one stride-
 * rows store per element) was 7% of a masked-LM training step, whose weight gradients are
 * products of transposed activations. */
static void transpose(float *dst, const float *src, int lds, int rows, int c0, int c1)
{
    enum { TB = 32 };
    for (int r0 = 0; r0 < rows; r0 += TB) {
        int r1 = r0 + TB < rows ? r0 + TB : rows;
        for (int cb = c0; cb < c1; cb += TB) {
            int ce = cb + TB < c1 ? cb + TB : c1;
            for (int i = cb; i < ce; i++) {
                float *d = dst + (size_t)i * rows;
                for (int r = r0; r < r1; r++)
                    d[r] = src[(size_t)r * lds + i];
            }
        }
    }
}

typedef struct {
    float *dst;
    const float *src;
    int lds, rows;
} transpose_job;

static void transpose_range(void *ctx, size_t c0, size_t c1)
{
    const transpose_job *j = ctx;
    transpose(j->dst, j->src, j->lds, j->rows, (int)c0, (int)c1);
}

void axf_matmul(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, int acc,
                float *C, int ldc)
{
    axf_matmul_bias(ta, tb, M, N, K, A, lda, B, ldb, acc, NULL, C, ldc);
}

void axf_matmul_bias(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     int acc, const float *bias, float *C, int ldc)
{
    if (M < 1 || N < 1)
        return;
    float *at = NULL;
    int xt = 0;
    /* the pool's threads (axf/parallel.h) for products of tens of microseconds and more */
    int spawn = (double)M * N * K >= MATMUL_SPAWN_MACS ? axf__threads(NULL) : 1;
    if (ta && K > 0 && !kern_pick()) {   /* AVX2 packs op(A) from A's columns as it goes */
        xt = 1;
    } else if (ta && K > 0) {   /* the other kernels read rows of op(A): transpose it once */
        at = scratch_get(1, (size_t)M * K * sizeof(float));
        transpose_job tj = {at, A, lda, K};
        if (spawn > 1)
            axf_parallel_range(transpose_range, &tj, (size_t)M, 64);
        else
            transpose_range(&tj, 0, (size_t)M);
        A = at;
        lda = K;
    }
    axf_gemm_w w = {NULL, N, K};   /* op(B) is packed by gemm_run */
    const axf_gemm_epi epi = {.bias = bias};
    gemm_run(NULL, spawn, &w, 0, 0, M, N, K, A, lda, xt, acc, &epi, C, ldc, B, ldb, tb);
    if (at)
        scratch_put(at, (size_t)M * K * sizeof(float));
}

/* ---- packed weights of an engine ---- */

void axf__gemm_drop(axf_engine *e)
{
    if (!e->packed)
        return;
    for (int i = 0; i < e->m->cfg.n_layers * AXF_GEMM_WEIGHTS; i++)
        axf__gemm_w_free(e->packed[i]);
    free(e->packed);
    e->packed = NULL;
}

void axf_engine_freeze_weights(axf_engine *e, int frozen)
{
    axf__gemm_drop(e);
    axf__q8_drop(e); /* the int8 copies were made from the weights the caller may have changed */
    e->frozen = frozen != 0;
}

const axf_gemm_w *axf__gemm_pick(axf_engine *e, int li, int which, int T, int N, int K)
{
    (void)T, (void)N, (void)K;
    if (!e->frozen)
        return NULL;
    const axf_config *c = &e->m->cfg;
    if (!e->packed)
        e->packed = axf_xcalloc((size_t)c->n_layers * AXF_GEMM_WEIGHTS, sizeof *e->packed);
    axf_gemm_w **slot = &e->packed[li * AXF_GEMM_WEIGHTS + which];
    if (!*slot) {
        const axf_layer *L = &e->m->layers[li];
        int H = c->hidden, HQ = c->layer_heads[li] * c->head_dim, F = c->layer_ffn[li];
        switch (which) {
        case AXF_GEMM_WQ: *slot = axf__gemm_pack(L->wq, HQ, H, H); break;
        case AXF_GEMM_WK: *slot = axf__gemm_pack(L->wk, HQ, H, H); break;
        case AXF_GEMM_WV: *slot = axf__gemm_pack(L->wv, HQ, H, H); break;
        case AXF_GEMM_WO: *slot = axf__gemm_pack(L->wo, H, HQ, HQ); break;
        case AXF_GEMM_W1: *slot = axf__gemm_pack(L->w1, F, H, H); break;
        case AXF_GEMM_W2: *slot = axf__gemm_pack(L->w2, H, F, F); break;
        }
    }
    return *slot;
}
