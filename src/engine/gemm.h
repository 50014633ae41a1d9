/* The engine's single-precision product y = x · Wᵀ (+ y) for weights packed once (gemm.c), and
 * the kernels behind axf_matmul (axf/matmul.h), whose fixed arithmetic it shares: every y element
 * is a chain of fused multiply-adds over k in ascending order, so results are the same bits on
 * every CPU, kernel (AVX-512, AVX2, portable) and thread count.
 * Packed layout (in memory only, never written to disk): W[N, K] becomes ceil(N / AXF_GEMM_NR)
 * panels, panel p holding rows [p·NR, p·NR + NR) of W transposed, i.e. float[K][NR], k-major,
 * rows past N zero; each panel starts on a 64-byte boundary. Because a panel spans the whole K,
 * any column range [k0, k1) of W is a contiguous slice of every panel, and any row range
 * [n0, n1) is a range of panels (with partial panels at its ends), so the sub-blocks the engine
 * multiplies under a plan (runs of kept heads / neurons) need no packing of their own. */
#ifndef AXF_ENGINE_GEMM_H
#define AXF_ENGINE_GEMM_H

#include <stddef.h>

#include "engine_internal.h"

#define AXF_GEMM_NR 32

typedef struct axf_gemm_w {
    float *p;   /* panels, see above */
    int N, K;   /* shape of the packed W */
} axf_gemm_w;

/* 1 when the AVX-512 forms run (axf_isa_level() and axf__avx512 allow them): the GEMM kernel and
 * the activations of vec512.c; the other forms give the same bits. */
int axf__gemm_available(void);
/* -1 (default): use AVX-512 when the CPU has it; 0: never (tests of the other paths). */
extern int axf__avx512;
/* Packs w[N, K] (row stride ldw); NULL for an empty matrix. */
axf_gemm_w *axf__gemm_pack(const float *w, int N, int K, int ldw);
void axf__gemm_w_free(axf_gemm_w *pw);
/* Bytes held by a packing of an N x K matrix. */
size_t axf__gemm_bytes(int N, int K);
/* y[T, N] (ldy) = x[T, K] (ldx) · W[n0 .. n0+N, k0 .. k0+K]ᵀ (+ y when acc), W the packed matrix;
 * acc == 0 never reads y. Splits the work over the engine's threads when e is not NULL (e NULL:
 * the caller's thread only). */
void axf__gemm_nt(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                  const float *x, int ldx, int acc, float *y, int ldy);

/* Tests only: when not NULL, called at the start of every product (axf__gemm_nt_epi, so also every
 * axf_matmul) with its shape, strides and acc, from the thread that issues it. */
typedef void (*axf_gemm_trace_fn)(int T, int N, int K, int ldx, int ldy, int acc);
extern axf_gemm_trace_fn axf__gemm_trace;

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

/* How a [T x npan panels] product is cut into tasks, for the float32 and the int8 GEMM alike:
 * either blocks of whole rows (by_rows: the epilogue's rows() runs on each block as it finishes;
 * chosen when the epilogue wants rows and there are enough of them to keep every thread busy with
 * at least AXF_GEMM_ROWS_MIN rows each) or row blocks of mc rows (a multiple of mr, about
 * mc_target: AXF_GEMM_MC, or AXF_GEMM_MC_AVX2 for the float32 AVX2 kernel) times column chunks of `chunk` panels, about 8 tasks per thread (at one thread one
 * chunk per row block, so each block of x is read from L2 by every panel). Tasks: nmb * nchunks,
 * task t is row block t % nmb ... (the callers' task functions decide the order). */
#define AXF_GEMM_MC 96
/* Zen 3, one thread, T = 128 (tests/bench_gemm.c --cold; axf bench --batch 1): 132 keeps a pass of
 * 128 tokens in one row block, so W streams from memory once instead of twice: the engine's
 * products 0.44 s instead of 0.50 s, OpenBLAS's 0.37 s. Packed x of 132 x 768 is 406 KB, in L2. */
#define AXF_GEMM_MC_AVX2 132
#define AXF_GEMM_ROWS_MIN 24
typedef struct {
    int by_rows, mc, nmb, nchunks, chunk;
} axf_gemm_split;
/* chunks_per_thread: column chunks wanted per thread and row block, about (8: small tasks balance
 * the load; 1: AVX2, whose tasks each pack their rows of x, so that every extra chunk of a row block
 * packs it again). */
void axf__gemm_split(int T, int npan, int mr, int mc_target, int chunks_per_thread, int threads, int want_rows,
                     axf_gemm_split *s);
/* First row of row block mb (mb = nmb: T): blocks of mc rows, or in rows mode nmb near-equal
 * blocks that start on multiples of mr. */
int axf__gemm_row0(const axf_gemm_split *s, int T, int mr, int mb);
/* Bias, then the activation (act_on), on rows x cols of y that are final: the epilogue of both
 * GEMMs, exact element-wise operations. */
void axf__gemm_finish(float *y, int ldy, const float *bias, int rows, int cols, int act_on, axf_act act);

/* axf__gemm_nt plus the epilogue (NULL: none). Bias and activation are applied tile by tile as
 * each tile's last block of K is stored, while it is in registers (bias) or L1 (activation), not
 * as passes of their own over y with a parallel region each. Fusing them, and the LayerNorm rows
 * above, took the small 4 x 256 model's time outside the GEMMs at 2 threads from 15.3% to 11.8%
 * (the GELU's own arithmetic remains: vmath.h). */
void axf__gemm_nt_epi(axf_engine *e, const axf_gemm_w *pw, int n0, int k0, int T, int N, int K,
                      const float *x, int ldx, int acc, const axf_gemm_epi *epi, float *y, int ldy);

/* ---- the engine's packed weights (axf_engine_freeze_weights) ---- */

/* Which matrix of a layer: slot li * AXF_GEMM_WEIGHTS + which of e->packed. */
enum { AXF_GEMM_WQ, AXF_GEMM_WK, AXF_GEMM_WV, AXF_GEMM_WO, AXF_GEMM_W1, AXF_GEMM_W2, AXF_GEMM_WEIGHTS };

/* The packed copy of matrix `which` of layer li to use for a [T, N, K] product, packing the whole
 * matrix on first use; NULL when the weights are not frozen (the caller then multiplies the
 * unpacked matrix with axf_matmul, which packs per call: the same bits) or the matrix is empty.
 * There is no OpenBLAS path any more: its kernel, and so its rounding, changes with the CPU and
 * OPENBLAS_CORETYPE. (Before, OpenBLAS took T <= 2 products on small blocks and, at one thread,
 * T >= 512 on blocks over 2^20 floats, where it measured 0-10% faster.) */
const axf_gemm_w *axf__gemm_pick(axf_engine *e, int li, int which, int T, int N, int K);
/* Frees every packed copy (engine free, freeze / unfreeze). */
void axf__gemm_drop(axf_engine *e);

#endif
