/* The engine's own single-precision product y = x · Wᵀ (+ beta·y) for weights packed once
 * (gemm.c). OpenBLAS re-packs W on every call, which costs about 30% of a BERT-base layer at
 * 128 tokens; packing it when the weights are frozen and reusing the panels removes that.
 * Packed layout (in memory only, never written to disk): W[N, K] becomes ceil(N / AXF_GEMM_NR)
 * panels, panel p holding rows [p·NR, p·NR + NR) of W transposed, i.e. float[K][NR], k-major,
 * rows past N zero; each panel starts on a 64-byte boundary. Because a panel spans the whole K,
 * any column range [k0, k1) of W is a contiguous slice of every panel, and any row range
 * [n0, n1) is a range of panels (with partial panels at its ends), so the sub-blocks the engine
 * multiplies under a plan (runs of kept heads / neurons) need no packing of their own.
 * The micro-kernel needs AVX-512F; without it axf__gemm_pack returns NULL and callers keep
 * cblas_sgemm. Results differ from cblas_sgemm by rounding only (another summation order) and
 * do not depend on the thread count. */
#ifndef AXF_ENGINE_GEMM_H
#define AXF_ENGINE_GEMM_H

#include <stddef.h>

#include "engine_internal.h"

#define AXF_GEMM_NR 32

typedef struct axf_gemm_w {
    float *p;   /* panels, see above */
    int N, K;   /* shape of the packed W */
} axf_gemm_w;

/* 1 when this CPU runs the micro-kernel (AVX-512F) and axf__avx512 is not 0. */
int axf__gemm_available(void);
/* -1 (default): use AVX-512 when the CPU has it; 0: never (tests of the portable paths). */
extern int axf__avx512;
/* Packs w[N, K] (row stride ldw); NULL when the CPU lacks AVX-512F. */
axf_gemm_w *axf__gemm_pack(const float *w, int N, int K, int ldw);
void axf__gemm_w_free(axf_gemm_w *pw);
/* Bytes held by a packing of an N x K matrix. */
size_t axf__gemm_bytes(int N, int K);
/* y[T, N] (ldy) = x[T, K] (ldx) · W[n0 .. n0+N, k0 .. k0+K]ᵀ + beta · y, W the packed matrix.
 * beta == 0 never reads y. Splits the work over the engine's threads when e is not NULL (e NULL:
 * the caller's thread only). */
void axf__gemm_nt(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                  const float *x, int ldx, float beta, float *y, int ldy);

/* What the product does to y as it finishes, beyond the sum (axf__gemm_nt_epi). */
typedef struct {
    const float *bias;     /* NULL or [N]: added to every row, indexed like y's columns */
    int act_on;            /* then act on every element of y ... */
    axf_act act;           /* ... this activation */
    /* NULL or called once for every block of rows [r0, r1) of y once those rows are final (all
     * N columns, all of K): LayerNorm over whole rows while they are still in the cache. The
     * rows are then split into blocks of whole rows over the threads instead of (rows x column
     * chunks), and when there are too few rows for that the product runs as usual and rows() is
     * called once on [0, T) afterwards. */
    axf_rows_fn rows;
    void *rows_ctx;
} axf_gemm_epi;

/* axf__gemm_nt plus the epilogue (NULL: none). Bias and activation are applied tile by tile as
 * each tile's last block of K is stored, while it is in registers (bias) or L1 (activation), not
 * as passes of their own over y with a parallel region each. Fusing them, and the LayerNorm rows
 * above, took the small 4 x 256 model's time outside the GEMMs at 2 threads from 15.3% to 11.8%
 * (the GELU's own arithmetic remains: vmath.h). */
void axf__gemm_nt_epi(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                      const float *x, int ldx, float beta, const axf_gemm_epi *epi, float *y, int ldy);

/* ---- the engine's packed weights (axf_engine_freeze_weights) ---- */

/* Which matrix of a layer: slot li * AXF_GEMM_WEIGHTS + which of e->packed. */
enum { AXF_GEMM_WQ, AXF_GEMM_WK, AXF_GEMM_WV, AXF_GEMM_WO, AXF_GEMM_W1, AXF_GEMM_W2, AXF_GEMM_WEIGHTS };

/* The packed copy of matrix `which` of layer li to use for a [T, N, K] product, packing the whole
 * matrix on first use; NULL means "use cblas_sgemm": weights not frozen, no AVX-512F, an empty
 * matrix, or a shape where OpenBLAS was as fast or faster in tests/bench_gemm.c (one thread):
 * T <= 2 rows on a block of at most 2^18 floats (in L2: a matrix-vector product), and T >= 512
 * rows on a block of more than 2^20 floats at one thread (BERT-base's FFN at 1024 tokens:
 * 0.90-1.0x, where W streams from memory for every block of rows; 768 x 768 stays ours at
 * 1.0-1.2x). With two threads ours takes those too: OpenBLAS's own threads then split its calls
 * and spin in sched_yield between them while the engine's workers run the rest of the layer
 * (15% of the samples of a 2-thread SST-2 profile); without any OpenBLAS call in the layer, a
 * BERT-base forward of 8 x 128 tokens took 0.716 s instead of 0.888 s (same run, medians of 8,
 * quiet machine), below the sgemm-only floor of the same products on OpenBLAS (0.736 s). */
const axf_gemm_w *axf__gemm_pick(axf_engine *e, int li, int which, int T, int N, int K);
/* Frees every packed copy (engine free, freeze / unfreeze). */
void axf__gemm_drop(axf_engine *e);

#endif
