/* Private kernels of the engine (kernels.c, attention.c). Raw float pointers, outputs first, sizes
 * last. Everything here is exact to float rounding: the polynomial exp/erf are within 2 ulp. */
#ifndef AXF_ENGINE_INTERNAL_H
#define AXF_ENGINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "axf/engine.h"

/* AXF_VEC (axf/common.h) marks the hot loops compiled for three x86-64 levels. */

/* out[t] = LayerNorm(a[t] + b[t] + bias) for T rows of H; b and bias may be NULL; out may alias a
 * or b. */
void axf__add_ln(float *out, const float *a, const float *b, const float *bias, const float *g,
                 const float *beta, int T, int H, float eps);
/* x[t, 0..cols) = act(x[t, 0..cols) + bias) for rows of stride ld, bias NULL or [cols], with the
 * AVX-512 forms of vmath.h (vec512.c); only when axf__gemm_available(). The scalar forms the other
 * paths use give the same bits. */
void axf__act512(float *x, size_t ld, const float *bias, int rows, int cols, axf_act act);
/* x[j] = exp(x[j] - m) for j < n with vmath.h's AVX-512 exp (the scalar axf__fexp's bits); only
 * when axf__gemm_available(). */
void axf__exp_row512(float *x, float m, int n);
/* The same two on AVX2 + FMA (vec256.c: vmath.h's AVX2 forms, the same bits); only when
 * axf__vec256_available(): the instruction-set level in force is AVX2 (AVX-512 takes the forms
 * above). */
int axf__vec256_available(void);
void axf__act256(float *x, size_t ld, const float *bias, int rows, int cols, axf_act act);
void axf__exp_row256(float *x, float m, int n);
/* The same on any machine (axf__act512 or axf__act256 when available, else portable loops). */
void axf__act_tile(float *x, int ld, const float *bias, int rows, int cols, axf_act act);
/* x[t, 0..cols) += bias for rows of stride ld. */
void axf__add_bias(float *x, int ld, const float *bias, int rows, int cols);
/* Softmax of one row in place. */
void axf__softmax_row(float *x, int n);
/* Softmax over the entries with keep[j] != 0, zero elsewhere (at least one kept). */
void axf__softmax_row_kept(float *x, const unsigned char *keep, int n);
/* Marks in keep[n] the k largest of x (ties: lower index wins), k < n. tmp is [n] scratch. */
void axf__topk_mark(unsigned char *keep, const float *x, int n, int k, uint32_t *tmp);
/* Zeroes x[j] < thr; returns the number kept. */
int axf__threshold_row(float *x, int n, float thr);
/* x[j] = 0 where keep[j] == 0. */
void axf__apply_keep(float *x, const unsigned char *keep, int n);
/* out[d] = sum over j with p[j] != 0 of p[j] * v[j*ldv + d], d < hs; idx is [n] scratch. */
void axf__gather_row(float *out, const float *p, int n, const float *v, int ldv, int hs, uint32_t *idx);

#define AXF_MAX_WORKERS 15

typedef struct axf_pool axf_pool;

/* The engine object: the model and scratch sized for max_tokens (no allocation per call except
 * the packed FFN weights, made once on first use of a fragmented neuron mask). */
struct axf_engine {
    const axf_model *m;
    int max_tokens;    /* T limit */
    int max_n;         /* longest sequence: min(max_tokens, P) */
    int hq_max, f_max; /* widest nh*HS and f over the layers */
    float *h;          /* [max_tokens, H] hidden states of axf_engine_forward */
    float *y;          /* [max_tokens, H] sum of an output product before residual + LayerNorm */
    float *q, *k, *v;  /* [max_tokens, hq_max] projections of the kept heads, packed */
    float *ctx;        /* [max_tokens, hq_max] attention output of the kept heads */
    float *inter;      /* [max_tokens, f_max] kept FFN neurons after the activation */
    /* per thread of the pool (0 = the caller's): one head of one sequence */
    float *scores[AXF_MAX_WORKERS + 1];        /* [max_n, max_n] */
    uint32_t *key[AXF_MAX_WORKERS + 1];        /* [max_n] top-k selection */
    unsigned char *keep[AXF_MAX_WORKERS + 1];  /* [max_n] */
    axf_pool *pool;                            /* NULL until a parallel region needs threads */
    float *bias;       /* [3 * hq_max + f_max] biases of the kept heads / neurons, packed */
    int *runs;         /* [3 * (max(NH, f_max) + 1)] (start, length, packed position) */
    int *head_of;      /* [AXF_MAX_HEADS] packed head -> head index in the model */
    float *w1p, *w2p;  /* [f_max, H], [H, f_max] kept neurons of a fragmented mask, lazily */
    float *cls, *pooled; /* [AXF_ENGINE_HEAD_CHUNK, H] */
    axf_attn_observer obs;
    void *obs_ud;
    int gemm_only;     /* axf_engine_gemm_floor: issue the products, skip everything else */
    int frozen;        /* axf_engine_freeze_weights: products may use packed copies (gemm.c) */
    struct axf_gemm_w **packed; /* [n_layers * AXF_GEMM_WEIGHTS] packed weights, made on first use */
    struct axf_q8layer *q8;     /* [n_layers] int8 weights of the layers a plan runs in int8 (qgemm.c) */
    void *q8x;                  /* quantized inputs of an int8 product, [max_tokens, widest K] */
    float *q8s;                 /* [max_tokens] their scales */
};

#define AXF_ENGINE_HEAD_CHUNK 64

/* Worker pool (pool.c). axf__parallel runs fn(ctx, task, worker) for every task < ntasks on up to
 * axf__threads(e) threads (worker 0 is the caller) and returns when all are done; OpenBLAS runs
 * single-threaded meanwhile. */
typedef void (*axf_task_fn)(void *ctx, int task, int worker);
int axf__threads(const axf_engine *e);
void axf__parallel(axf_engine *e, axf_task_fn fn, void *ctx, int ntasks);
/* fn(ctx, r0, r1) on blocks of rows [r0, r1) covering [0, T), rows of W floats: blocks of about
 * 64 KB shared by the pool, or all on the caller's thread when T x W is under 64 K floats. Does
 * nothing in the GEMM-only floor (e->gemm_only). */
typedef void (*axf_rows_fn)(void *ctx, int r0, int r1);
void axf__parallel_rows(axf_engine *e, axf_rows_fn fn, void *ctx, int T, int W);
void axf__pool_free(axf_engine *e);
/* Bracket a public entry point (embed, layer, head): while an engine with frozen weights runs one,
 * OpenBLAS stays at one thread. Its large products are then the engine's own (gemm.c), and a
 * multi-threaded OpenBLAS call between regions (the pooler's: 8 x 768 x 768 is above OpenBLAS's
 * threading threshold) left OpenBLAS's worker spinning in sched_yield through the engine's next
 * regions (up to 14% of a 2-thread profile of the small model). Nests; no-op otherwise. */
int axf__blas_hold(const axf_engine *e);
void axf__blas_release(int held);
/* axf__add_ln split by rows over the pool (layer.c). */
void axf__add_ln_par(axf_engine *e, float *out, const float *a, const float *b, const float *bias,
                     const float *g, const float *beta, int T, int H, float eps);
/* Allocates the per-thread scratch of worker id (engine.c). */
void axf__worker_scratch(axf_engine *e, int id);

/* FFN masks whose runs of kept neurons average fewer than this are packed (layer.c). */
extern int axf__pack_min_run;

/* Attention of every sequence for the nk kept heads: reads e->q/k/v (adds the packed biases
 * bq/bk/bv, each [nk*HS] or NULL, in place), writes e->ctx. cls != 0: only the first token of each
 * sequence queries; its Q row is row s of e->q and its context goes to row s of e->ctx (K and V
 * keep their token rows); the observer is not called. */
void axf__attention(axf_engine *e, int layer, const axf_layer_plan *lp, const axf_batch *b, int nk,
                    const float *bq, const float *bk, const float *bv, int cls);

#endif
