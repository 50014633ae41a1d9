/* y = x · Wᵀ (+ beta·y) on weights packed once (layout and contract in gemm.h).
 * Blocking: the work is cut into tasks of (a block of about MC rows of x) x (a chunk of panels),
 * which the engine's workers share (one chunk per row block at one thread). A task walks K in
 * blocks of KC; for every panel of its chunk it runs the micro-kernel down its rows, so the block
 * of x (MC x KC, <= 288 KB) stays in L2 and the panel's slice is read from memory once per row
 * block, prefetched PF_AHEAD k ahead (without the prefetch, T = 1024 products ran up to 10% slower
 * than OpenBLAS: W no longer fits L2 there). The micro-kernel keeps an MR x NR = 12 x 32 tile of
 * y in 24 zmm registers and per k loads two vectors of the panel and broadcasts MR values of x
 * straight from x's rows: x is not packed (tried: packing it costs more than it saves at 128
 * tokens). With mr <= 3 rows (T = 1..3, the [CLS]-only last layer) four partial sums over k hide
 * the FMA latency. Partial panels (at the ends of a row range [n0, n0 + N) that is not a multiple
 * of NR) go through a stack tile and are copied out column by column. Each y element's sum runs
 * in the same order whatever the thread count; it depends on T only through the row blocking. */
#include "gemm.h"

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
#define MC 96
#define PF_AHEAD 16

enum { OUT_STORE, OUT_ADD, OUT_SCALE };

int axf__avx512 = -1;

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

axf_gemm_w *axf__gemm_pack(const float *w, int N, int K, int ldw)
{
    if (!axf__gemm_available() || N < 1 || K < 1)
        return NULL;
    axf_gemm_w *pw = axf_xmalloc(sizeof *pw);
    size_t bytes = axf__gemm_bytes(N, K);
    pw->p = aligned_alloc(64, (bytes + 63) / 64 * 64);   /* the kernel's aligned loads need it */
    if (!pw->p) {
        free(pw);
        return NULL;
    }
    pw->N = N;
    pw->K = K;
    int np = (N + NR - 1) / NR;
    for (int p = 0; p < np; p++) {
        float *dst = pw->p + (size_t)p * K * NR;
        int nr = N - p * NR < NR ? N - p * NR : NR;
        /* blocks of 8 k keep both the reads of W's rows and the writes sequential enough */
        for (int k0 = 0; k0 < K; k0 += 8) {
            int k1 = k0 + 8 < K ? k0 + 8 : K;
            for (int j = 0; j < nr; j++) {
                const float *src = w + (size_t)(p * NR + j) * ldw;
                for (int k = k0; k < k1; k++)
                    dst[(size_t)k * NR + j] = src[k];
            }
            for (int j = nr; j < NR; j++)
                for (int k = k0; k < k1; k++)
                    dst[(size_t)k * NR + j] = 0.0f;
        }
    }
    return pw;
}

void axf__gemm_w_free(axf_gemm_w *pw)
{
    if (!pw)
        return;
    free(pw->p);
    free(pw);
}

#ifdef AXF_GEMM_X86
#define TGT __attribute__((target("avx512f")))

/* Stores the 32 sums s0, s1 of one row of a tile to y by mode, then adds bias[0..32) if not
 * NULL: the same operations in the same order as adding the bias to y afterwards. */
static inline __attribute__((always_inline)) TGT void store2(float *y, __m512 s0, __m512 s1, int mode, float beta,
                                                            const float *bias)
{
    if (mode == OUT_ADD) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(y));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(y + 16));
    } else if (mode == OUT_SCALE) {
        __m512 bv = _mm512_set1_ps(beta);
        s0 = _mm512_fmadd_ps(bv, _mm512_loadu_ps(y), s0);
        s1 = _mm512_fmadd_ps(bv, _mm512_loadu_ps(y + 16), s1);
    }
    if (bias) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(bias));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(bias + 16));
    }
    _mm512_storeu_ps(y, s0);
    _mm512_storeu_ps(y + 16, s1);
}

/* y[mr, NR] (ldy) op= x[mr, kc] (ldx) · b[kc][NR]; mr is a constant in every caller. */
static inline __attribute__((always_inline)) TGT void kern(const int mr, int kc, const float *x, size_t ldx,
                                                          const float *b, const float *pn, float *y, size_t ldy,
                                                          int mode, float beta, const float *bias)
{
    __m512 c0[MR], c1[MR];
    for (int i = 0; i < mr; i++)
        c0[i] = c1[i] = _mm512_setzero_ps();
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
    for (int i = 0; i < mr; i++)
        store2(y + i * ldy, c0[i], c1[i], mode, beta, bias);
}

/* The same for mr <= 3, where 2·mr accumulators are too few to hide the FMA latency: four
 * partial sums over k (k, k+1, k+2, k+3 mod 4), added at the end. No prefetch of the next panel:
 * with so few FMAs per load the load ports are the limit (it made T = 1 up to 40% slower). */
static inline __attribute__((always_inline)) TGT void kern_small(const int mr, int kc, const float *x, size_t ldx,
                                                                const float *b, float *y, size_t ldy, int mode,
                                                                float beta, const float *bias)
{
    __m512 c0[4][3], c1[4][3];
    for (int u = 0; u < 4; u++)
        for (int i = 0; i < mr; i++)
            c0[u][i] = c1[u][i] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        _mm_prefetch((const char *)(b + PF_AHEAD * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 32), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 48), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 64), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 80), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 96), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + PF_AHEAD * NR + 112), _MM_HINT_T0);
        for (int u = 0; u < 4; u++) {
            __m512 b0 = _mm512_load_ps(b + u * NR), b1 = _mm512_load_ps(b + u * NR + 16);
            for (int i = 0; i < mr; i++) {
                __m512 a = _mm512_set1_ps(x[i * ldx + k + u]);
                c0[u][i] = _mm512_fmadd_ps(a, b0, c0[u][i]);
                c1[u][i] = _mm512_fmadd_ps(a, b1, c1[u][i]);
            }
        }
        b += 4 * NR;
    }
    for (; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        b += NR;
        for (int i = 0; i < mr; i++) {
            __m512 a = _mm512_set1_ps(x[i * ldx + k]);
            c0[0][i] = _mm512_fmadd_ps(a, b0, c0[0][i]);
            c1[0][i] = _mm512_fmadd_ps(a, b1, c1[0][i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        __m512 s0 = _mm512_add_ps(_mm512_add_ps(c0[0][i], c0[1][i]), _mm512_add_ps(c0[2][i], c0[3][i]));
        __m512 s1 = _mm512_add_ps(_mm512_add_ps(c1[0][i], c1[1][i]), _mm512_add_ps(c1[2][i], c1[3][i]));
        store2(y + i * ldy, s0, s1, mode, beta, bias);
    }
}

#define KERN_SMALL(m) \
    case m: kern_small(m, kc, x, ldx, b, y, ldy, mode, beta, bias); break;
#define KERN_CASE(m) \
    case m: kern(m, kc, x, ldx, b, pn, y, ldy, mode, beta, bias); break;

/* pn: where the next panel's slice starts, fetched into L2 meanwhile (b itself when there is
 * nothing to fetch); bias: NULL or the tile's 32 columns of it. */
static TGT void kern_any(int mr, int kc, const float *x, size_t ldx, const float *b, const float *pn, float *y,
                         size_t ldy, int mode, float beta, const float *bias)
{
    switch (mr) {
        KERN_SMALL(1) KERN_SMALL(2) KERN_SMALL(3) KERN_CASE(4) KERN_CASE(5) KERN_CASE(6)
        KERN_CASE(7) KERN_CASE(8) KERN_CASE(9) KERN_CASE(10) KERN_CASE(11) KERN_CASE(12)
    }
}

typedef struct {
    const axf_gemm_w *pw;
    int n0, k0, T, N, K, ldx, ldy;
    const float *x;
    const float *bias;    /* NULL or [N] */
    int act_on;
    axf_act act;
    axf_rows_fn rows;     /* called per task: the task covers whole rows (nchunks == 1) */
    void *rows_ctx;
    float *y;
    float beta;
    int pfirst, npan;     /* panels covering [n0, n0 + N) */
    int chunk, nchunks;   /* panels per task, tasks along N */
    int mc;               /* rows per task, or 0: nmb blocks of whole rows (rows mode) */
    int nmb;              /* blocks of rows */
} job;

/* First row of block mb: blocks of mc rows, or in rows mode nmb near-equal blocks that start on
 * multiples of MR. */
static int row_start(const job *j, int mb)
{
    if (j->mc)
        return mb * j->mc < j->T ? mb * j->mc : j->T;
    return mb >= j->nmb ? j->T : (int)((long)mb * j->T / j->nmb / MR * MR);
}

static TGT void task(void *ctx, int t, int worker)
{
    const job *j = ctx;
    int c = t % j->nchunks, mb = t / j->nchunks;
    int r0 = row_start(j, mb), r1 = row_start(j, mb + 1);
    int q0 = c * j->chunk, q1 = q0 + j->chunk < j->npan ? q0 + j->chunk : j->npan;
    const int Kfull = j->pw->K, nend = j->n0 + j->N;
    _Alignas(64) float tile[MR * NR];
    for (int kb = 0; kb < j->K; kb += KC) {
        int kc = j->K - kb < KC ? j->K - kb : KC;
        int mode = kb ? OUT_ADD : j->beta == 0.0f ? OUT_STORE : j->beta == 1.0f ? OUT_ADD : OUT_SCALE;
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
                if (lo == 0 && hi == NR) {
                    kern_any(mr, kc, x, j->ldx, b, i == r0 ? bn : b, yc + (size_t)i * j->ldy, j->ldy, mode, j->beta,
                             bb);
                    if (last && j->act_on)   /* the tile is still in L1 */
                        axf__act512(yc + (size_t)i * j->ldy, j->ldy, NULL, mr, NR, j->act);
                    continue;
                }
                /* a partial panel: through the stack tile, copied out column by column */
                kern_any(mr, kc, x, j->ldx, b, i == r0 ? bn : b, tile, NR, OUT_STORE, 0.0f, NULL);
                for (int r = 0; r < mr; r++) {
                    float *yr = yc + (size_t)(i + r) * j->ldy;
                    const float *tr = tile + r * NR + lo;
                    for (int s = 0; s < hi - lo; s++) {
                        float v = mode == OUT_STORE ? tr[s] : mode == OUT_ADD ? tr[s] + yr[s] : tr[s] + j->beta * yr[s];
                        yr[s] = bb ? v + bb[s] : v;
                    }
                }
                if (last && j->act_on)   /* still in L1 */
                    axf__act512(yc + (size_t)i * j->ldy, j->ldy, NULL, mr, hi - lo, j->act);
            }
        }
    }
    if (j->rows)
        j->rows(j->rows_ctx, r0, r1);
}
#endif

void axf__gemm_nt(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                  const float *x, int ldx, float beta, float *y, int ldy)
{
    axf__gemm_nt_epi(e, pw, n0, k0, T, N, K, x, ldx, beta, NULL, y, ldy);
}

/* Rows per block of whole rows, at least, in rows mode: below that the threads' blocks would each
 * read all of W for a handful of rows. */
#define ROWS_MIN 24

void axf__gemm_nt_epi(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                      const float *x, int ldx, float beta, const axf_gemm_epi *epi, float *y, int ldy)
{
#ifdef AXF_GEMM_X86
    if (T < 1 || N < 1)
        return;
    const axf_gemm_epi none = {0};
    if (!epi)
        epi = &none;
    if (K < 1) {
        for (int i = 0; i < T; i++) {
            float *yr = y + (size_t)i * ldy;
            for (int n = 0; n < N; n++)
                yr[n] = (beta == 0.0f ? 0.0f : beta * yr[n]) + (epi->bias ? epi->bias[n] : 0.0f);
            if (epi->act_on)
                axf__act_tile(yr, ldy, NULL, 1, N, epi->act);
        }
        if (epi->rows)
            epi->rows(epi->rows_ctx, 0, T);
        return;
    }
    job j = {.pw = pw, .n0 = n0, .k0 = k0, .T = T, .N = N, .K = K, .ldx = ldx, .ldy = ldy, .x = x, .y = y,
             .beta = beta, .bias = epi->bias, .act_on = epi->act_on, .act = epi->act};
    j.pfirst = n0 / NR;
    j.npan = (n0 + N + NR - 1) / NR - j.pfirst;
    int threads = e ? axf__threads(e) : 1;
    int nmb = (T + MC - 1) / MC;
    if (epi->rows) {
        /* blocks of whole rows, as many as a multiple of the threads, none under ROWS_MIN rows */
        nmb = (nmb + threads - 1) / threads * threads;
        while (nmb > 1 && T / nmb < ROWS_MIN)
            nmb--;
    }
    if (epi->rows && (nmb >= threads || threads == 1)) {
        j.rows = epi->rows;
        j.rows_ctx = epi->rows_ctx;
        j.mc = 0;
        j.nmb = nmb;
        j.nchunks = 1;
        j.chunk = j.npan;
    } else {
        /* row blocks of about MC rows, equal, multiples of MR */
        nmb = (T + MC - 1) / MC;
        j.mc = ((T + nmb - 1) / nmb + MR - 1) / MR * MR;
        nmb = (T + j.mc - 1) / j.mc;
        j.nmb = nmb;
        /* about 8 tasks per thread, so that the last ones even out; at one thread, one chunk per
         * row block so that each block of x is read from L2 by every panel */
        int want = threads > 1 ? (8 * threads + nmb - 1) / nmb : 1;
        j.nchunks = want < j.npan ? want : j.npan;
        j.chunk = (j.npan + j.nchunks - 1) / j.nchunks;
        j.nchunks = (j.npan + j.chunk - 1) / j.chunk;
    }
    int ntasks = j.nchunks * j.nmb;
    if (threads > 1 && ntasks > 1)
        axf__parallel(e, task, &j, ntasks);
    else
        for (int t = 0; t < ntasks; t++)
            task(&j, t, 0);
    if (epi->rows && !j.rows)   /* too few rows to split: once, on the caller's thread */
        epi->rows(epi->rows_ctx, 0, T);
#endif
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
    e->frozen = frozen != 0;
}

const axf_gemm_w *axf__gemm_pick(axf_engine *e, int li, int which, int T, int N, int K)
{
    if (!e->frozen || !axf__gemm_available() || (T <= 2 && (size_t)N * K <= ((size_t)1 << 18)) ||
        (T >= 512 && (size_t)N * K > ((size_t)1 << 20) && axf__threads(e) == 1))
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
