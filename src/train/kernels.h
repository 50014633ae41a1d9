/* Training kernels: forward / backward twins over raw float pointers (outputs first, inputs,
 * sizes last). Private to src/train. */
#ifndef AXF_TRAIN_KERNELS_H
#define AXF_TRAIN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "axf/common.h"
#include "axf/model.h"

/* y[T, OC] = x[T, IC] w[OC, IC]^T + b[OC] (b may be NULL). ldx / ldy allow column slices. */
void tk_linear_fwd(float *y, int ldy, const float *x, int ldx, const float *w, const float *b, int T,
                   int IC, int OC);
/* dx[T, IC] (= or +=, per accumulate) dy w; dw[OC, IC] += dy^T x; db[OC] += colsum(dy).
 * dx, dw, db may each be NULL to skip that product. */
void tk_linear_bwd(float *dx, int lddx, int accumulate, float *dw, float *db, const float *dy, int lddy,
                   const float *x, int ldx, const float *w, int T, int IC, int OC);

/* LayerNorm over rows of H: out = xhat * g + b, keeping xhat [T, H] and rstd [T] for backward. */
void tk_layernorm_fwd(float *out, float *xhat, float *rstd, const float *in, const float *g,
                      const float *b, int T, int H, float eps);
/* dx[T, H] = (or += when accumulate) input gradient; dg, db accumulate (may be NULL). */
void tk_layernorm_bwd(float *dx, int accumulate, float *dg, float *db, const float *dout, const float *xhat,
                      const float *rstd, const float *g, int T, int H);

/* out[n] = act(u[n]); backward: du = dout * act'(u) (du may alias dout). */
void tk_act_fwd(float *out, const float *u, size_t n, axf_act act);
void tk_act_bwd(float *du, const float *dout, const float *u, size_t n, axf_act act);

/* Row softmax in place. */
void tk_softmax_rows(float *x, int rows, int cols);

/* Cross-entropy of logits rows [R, C] against labels; writes per-row losses (may be NULL), returns
 * their sum; dlogits (may be NULL) = (softmax - onehot) * scale. */
double tk_xent(float *dlogits, float *row_loss, const float *logits, const int *labels, int R, int C,
               float scale);

/* Distillation rows (train.h, axf_train_batch.soft): per row
 * (1 - alpha) CE(z, label) + alpha T^2 KL(softmax(soft / T) || softmax(z / T)); writes per-row
 * losses (may be NULL), returns their sum; dlogits (may be NULL) its gradient times scale. */
double tk_kd(float *dlogits, float *row_loss, const float *logits, const int *labels, const float *soft, int R,
             int C, float alpha, float T, float scale);

/* Inverted dropout: mask[n] (1 keep, 0 drop), x *= mask / (1 - p). */
void tk_dropout_fwd(float *x, unsigned char *mask, size_t n, float p, axf_rng *rng);
/* out = dropout(a) + res (mask drawn when p > 0; plain sum otherwise). out may alias res. */
void tk_dropout_add(float *out, const float *a, const float *res, unsigned char *mask, size_t n, float p,
                    axf_rng *rng);
/* dx = dy * mask / (1 - p), out of place. */
void tk_dropout_bwd_to(float *dx, const float *dy, const unsigned char *mask, size_t n, float p);
/* Draws a keep mask (1 with probability 1 - p); combine: AND it into keep instead. */
void tk_dropout_mask(unsigned char *keep, int combine, size_t n, float p, axf_rng *rng);
void tk_dropout_bwd(float *dx, const unsigned char *mask, size_t n, float p);

/* Hard attention on one head's probability rows P [n, n] already softmaxed: keep[n*n] is set to
 * the kept entries and the others are zeroed in P. mode/k/thr as in plan.h (TOPK, THRESHOLD).
 * TOPK_RENORM is applied on scores (tk_hard_scores) before the softmax instead. */
void tk_hard_probs(float *P, unsigned char *keep, int n, int mode, int k, float thr);
/* Sets to -inf every score but the k largest of each row (ties: lower index first). */
void tk_hard_scores(float *S, unsigned char *keep, int n, int k);

#endif
