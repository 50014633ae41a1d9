/* The one matrix product of the project (engine, attention, training): C = op(A) · op(B), with
 * op(X) = X or Xᵀ, in float32, with the same bits on every x86-64 CPU, kernel choice (AVX-512,
 * AVX2, portable C) and thread count.
 *
 * The arithmetic is fixed: every element is a chain of fused multiply-adds over k in ascending
 * order, c = fma(a[i][k], b[k][j], c), started from 0 (acc == 0) or from the C already there
 * (acc != 0). No other association is used anywhere (no split sums, no blocking that changes the
 * order), and fma rounds once on every machine, so the result is a pure function of the operands.
 * Scaling (alpha) and bias are element-wise passes of the caller's, also exact.
 *
 * A is [M, K] (ta == 0, row stride lda) or [K, M] (ta != 0); B is [K, N] (tb == 0, row stride
 * ldb) or [N, K] (tb != 0); C is [M, N] with row stride ldc. K == 0 leaves C (acc) or zeroes it.
 * Products of 2e6 multiply-adds and more are split over the axf_set_threads threads of the
 * process's pool (axf/parallel.h; the same bits: threads only decide who computes an element); the
 * engine's frozen-weight products run the same kernels over its own pool. */
#ifndef AXF_MATMUL_H
#define AXF_MATMUL_H

void axf_matmul(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, int acc,
                float *C, int ldc);
/* The same product, then bias[N] added to every row of C (c = chain + bias[j], one rounding: the
 * bits of axf_matmul followed by that addition), while each tile is still in the cache. */
void axf_matmul_bias(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                     int acc, const float *bias, float *C, int ldc);

#endif
