/* Int8 quantization of the encoder's linear products, an approximation a plan can choose per
 * layer and block (plan.h: int8_attn for Q, K, V and the attention output, int8_ffn for both FFN
 * products). Attention scores and values, softmax, LayerNorm, pooler and classifier stay float32;
 * position and type embeddings too. The word embeddings may be stored in int8 (plan int8_embed):
 * row by row as a weight row (axf_quant_row), looked up as (float)q · scale; no product runs on
 * them.
 *
 * The arithmetic, fixed so that every CPU and kernel gives the same bits (as axf/matmul.h for
 * float32):
 *   weights   per output channel (row n of W[N, K]), symmetric: s_w[n] = max_k |W[n][k]| / 127,
 *             q_w[n][k] = nearbyintf(W[n][k] / s_w[n]) clamped to [-127, 127] (axf_quant_row);
 *             a row of zeros has s_w = 0 and q_w = 0.
 *   inputs    per row (token) at run time, the same way: s_x[t] = max_k |x[t][k]| / 127,
 *             q_x[t][k] = nearbyintf(x[t][k] * (127 / max_k |x[t][k]|)) clamped to [-127, 127];
 *             a row whose largest |x| is below 2^-100 counts as zero (s_x = 0), a row holding a
 *             NaN or an infinity gets s_x = NaN (its outputs are NaN, as in float32).
 *   product   acc[t][n] = sum_k q_x[t][k] · q_w[n][k] in int32, exact (K <= 65,536);
 *             y[t][n] = ((float)acc · s_x[t]) · s_w[n], in that order, each a float32 rounding;
 *             then bias, activation, residual and LayerNorm exactly as on the float32 path.
 * The division, the multiplications and nearbyintf are correctly rounded IEEE operations and the
 * integer sum has one value, so the AVX-512 VNNI, AVX2 and portable kernels (src/engine/qgemm.c)
 * agree bit for bit. */
#ifndef AXF_QUANT_H
#define AXF_QUANT_H

#include <stdint.h>

#include "axf/model.h"

/* q[K], *scale = the int8 form of the row w[K] (above). */
void axf_quant_row(int8_t *q, float *scale, const float *w, int K);

/* The int8 form q[nr, nc], scale[nr] of the part of a weight matrix W[N, K] (float32 w, row
 * stride K) that keeps rows rows[0..nr) (NULL: 0..nr-1) and columns cols[0..nc) (NULL: all K,
 * nc == K). When the model stores W in int8 (stored->q not NULL; stored may be NULL) and every
 * column is kept, the stored rows are copied: an int8 model runs as it was saved. Otherwise each
 * kept row is quantized from its float32 values (axf_quant_row), as after removing heads or
 * neurons (columns of the output products change their rows' scales). The engine, under a plan
 * that removes parts of an int8 block, and compaction both go through this, so the masked plan and
 * the exported model multiply the same int8 weights. */
void axf_quant_gather(int8_t *q, float *scale, const float *w, int K, const axf_qmat *stored, const int *rows,
                      int nr, const int *cols, int nc);

#endif
