/* ONNX export (axf/onnx.h): the compacted model as a graph of standard operators, serialised with
 * protobuf-c (code generated at build time from src/approx/onnx.proto).
 *
 * The graph builder keeps every string, node and small tensor it makes in one list of blocks freed
 * at the end; the large weight initializers point into the compacted model's arena (float32 as
 * stored, Gemm with transB) and are not copied, except int8 matrices, which MatMulInteger wants as
 * [K, N]. */
#include "axf/onnx.h"

#include <math.h>
#include <onnx.pb-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/compact.h"
#include "axf/fileio.h"

/* A protobuf message may not exceed 2 GB; leave room for the graph itself. */
#define INLINE_LIMIT ((size_t)2000 << 20)
/* Tensors at least this large go to the data file when weights are external. */
#define EXTERNAL_MIN 1024
#define EXTERNAL_ALIGN 64

typedef struct blk {
    struct blk *next;
    max_align_t data[];
} blk;

typedef struct gb {
    blk *mem;
    Onnx__NodeProto **node;
    size_t n_node, cap_node;
    Onnx__TensorProto **init;
    size_t n_init, cap_init;
    int serial;
    size_t wbytes;
    int opset;
    const char *shape2;  /* Shape(input_ids): [batch, sequence] */
    const char *seq1;    /* [sequence] */
} gb;

#define IN(...) ((const char *const[]){__VA_ARGS__, NULL})
#define AT(...) ((Onnx__AttributeProto *const[]){__VA_ARGS__, NULL})

static void *gmem(gb *b, size_t n)
{
    blk *k = axf_xcalloc(1, sizeof(blk) + n + 1);
    k->next = b->mem;
    b->mem = k;
    return k->data;
}

static char *gstr(gb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *gstr(gb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = gmem(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void gb_free(gb *b)
{
    while (b->mem) {
        blk *n = b->mem->next;
        free(b->mem);
        b->mem = n;
    }
    free(b->node);
    free(b->init);
}

/* ---- attributes ---- */

static Onnx__AttributeProto *attr(gb *b, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = gmem(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    return a;
}

static Onnx__AttributeProto *at_i(gb *b, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
    return a;
}

static Onnx__AttributeProto *at_f(gb *b, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
    return a;
}

static Onnx__AttributeProto *at_ints(gb *b, const char *name, int n, const int64_t *v)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)n;
    a->ints = gmem(b, sizeof(int64_t) * (size_t)n);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    return a;
}

/* ---- tensors and initializers ---- */

static size_t dtype_size(int dt)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        return 8;
    default:
        return 1;
    }
}

/* A tensor whose raw bytes are data (not copied: it must outlive the write). */
static Onnx__TensorProto *tensor(gb *b, const char *name, int dt, int nd, const int64_t *dims, const void *data)
{
    Onnx__TensorProto *t = gmem(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = (size_t)nd;
    t->dims = gmem(b, sizeof(int64_t) * (size_t)(nd + 1));
    size_t n = dtype_size(dt);
    for (int i = 0; i < nd; i++) {
        t->dims[i] = dims[i];
        n *= (size_t)dims[i];
    }
    t->has_raw_data = 1;
    t->raw_data.len = n;
    t->raw_data.data = (uint8_t *)data;
    return t;
}

static const char *init(gb *b, const char *name, int dt, int nd, const int64_t *dims, const void *data)
{
    if (b->n_init == b->cap_init) {
        b->cap_init = b->cap_init ? 2 * b->cap_init : 256;
        b->init = axf_xrealloc(b->init, b->cap_init * sizeof *b->init);
    }
    Onnx__TensorProto *t = tensor(b, name, dt, nd, dims, data);
    b->init[b->n_init++] = t;
    b->wbytes += t->raw_data.len;
    return name;
}

static const char *init_f32(gb *b, const char *name, const float *w, int rows, int cols)
{
    int64_t d[2] = {rows, cols};
    return init(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, cols > 0 ? 2 : 1, d, w);
}

static const char *c_f32(gb *b, float v)
{
    float *p = gmem(b, sizeof *p);
    *p = v;
    return init(b, gstr(b, "c%d", b->serial++), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, p);
}

/* An int64 constant: a scalar when n < 0 (of v[0]), else 1-D of n values. */
static const char *c_i64(gb *b, int n, const int64_t *v)
{
    int64_t *p = gmem(b, sizeof(int64_t) * (size_t)(n < 0 ? 1 : n));
    memcpy(p, v, sizeof(int64_t) * (size_t)(n < 0 ? 1 : n));
    int64_t d = n;
    return init(b, gstr(b, "c%d", b->serial++), ONNX__TENSOR_PROTO__DATA_TYPE__INT64, n < 0 ? 0 : 1, &d, p);
}

static const char *c_i64s(gb *b, int64_t v)
{
    return c_i64(b, -1, &v);
}

/* ---- nodes ---- */

/* Adds a node; outputs get fresh names unless out[] names them. Returns the first output. */
static const char *node(gb *b, const char *type, const char *const *in, Onnx__AttributeProto *const *at, int nout,
                        const char **out)
{
    if (b->n_node == b->cap_node) {
        b->cap_node = b->cap_node ? 2 * b->cap_node : 512;
        b->node = axf_xrealloc(b->node, b->cap_node * sizeof *b->node);
    }
    Onnx__NodeProto *nd = gmem(b, sizeof *nd);
    onnx__node_proto__init(nd);
    int id = b->serial++;
    nd->op_type = (char *)type;
    nd->name = gstr(b, "%s_%d", type, id);
    size_t ni = 0, na = 0;
    while (in[ni])
        ni++;
    while (at && at[na])
        na++;
    nd->n_input = ni;
    nd->input = gmem(b, sizeof(char *) * (ni + 1));
    for (size_t i = 0; i < ni; i++)
        nd->input[i] = (char *)in[i];
    nd->n_attribute = na;
    nd->attribute = gmem(b, sizeof(void *) * (na + 1));
    for (size_t i = 0; i < na; i++)
        nd->attribute[i] = at[i];
    nd->n_output = (size_t)nout;
    nd->output = gmem(b, sizeof(char *) * (size_t)nout);
    for (int i = 0; i < nout; i++) {
        if (!out[i])
            out[i] = gstr(b, "t%d_%d", id, i);
        nd->output[i] = (char *)out[i];
    }
    b->node[b->n_node++] = nd;
    return out[0];
}

static const char *op(gb *b, const char *type, const char *const *in, Onnx__AttributeProto *const *at)
{
    const char *out[1] = {NULL};
    return node(b, type, in, at, 1, out);
}

/* ---- model pieces ---- */

static const char *gemm(gb *b, const char *x, const char *w, const char *bias)
{
    Onnx__AttributeProto *const *at = AT(at_i(b, "transB", 1));
    return bias ? op(b, "Gemm", IN(x, w, bias), at) : op(b, "Gemm", IN(x, w), at);
}

static const char *layernorm(gb *b, const char *x, const char *pre, const float *g, const float *bb, int H, float eps)
{
    const char *gn = init_f32(b, gstr(b, "%s.weight", pre), g, H, 0);
    const char *bn = init_f32(b, gstr(b, "%s.bias", pre), bb, H, 0);
    return op(b, "LayerNormalization", IN(x, gn, bn), AT(at_i(b, "axis", -1), at_f(b, "epsilon", eps)));
}

static const char *activation(gb *b, const char *x, axf_act act)
{
    switch (act) {
    case AXF_ACT_RELU:
        return op(b, "Relu", IN(x), NULL);
    case AXF_ACT_GELU_TANH: {
        /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        const char *x3 = op(b, "Mul", IN(op(b, "Mul", IN(x, x), NULL), x), NULL);
        const char *in = op(b, "Add", IN(x, op(b, "Mul", IN(x3, c_f32(b, 0.044715f)), NULL)), NULL);
        const char *t = op(b, "Tanh", IN(op(b, "Mul", IN(in, c_f32(b, 0.7978845608028654f)), NULL)), NULL);
        const char *u = op(b, "Add", IN(t, c_f32(b, 1.0f)), NULL);
        return op(b, "Mul", IN(op(b, "Mul", IN(x, u), NULL), c_f32(b, 0.5f)), NULL);
    }
    default: {
        const char *e = op(b, "Erf", IN(op(b, "Div", IN(x, c_f32(b, 1.4142135623730951f)), NULL)), NULL);
        const char *u = op(b, "Add", IN(e, c_f32(b, 1.0f)), NULL);
        return op(b, "Mul", IN(op(b, "Mul", IN(x, u), NULL), c_f32(b, 0.5f)), NULL);
    }
    }
}

/* A row-quantized input of an int8 product (axf/quant.h): q = int8 values, sx = per-row scale. */
typedef struct {
    const char *q, *sx;
} qin;

static qin quant_input(gb *b, const char *x)
{
    static const int64_t ax1[1] = {1};
    qin r;
    const char *ax = op(b, "Abs", IN(x), NULL), *amax;
    if (b->opset >= 18) /* axes became an input in opset 18 */
        amax = op(b, "ReduceMax", IN(ax, c_i64(b, 1, ax1)), AT(at_i(b, "keepdims", 1)));
    else
        amax = op(b, "ReduceMax", IN(ax), AT(at_ints(b, "axes", 1, ax1), at_i(b, "keepdims", 1)));
    const char *c127 = c_f32(b, 127.0f);
    r.sx = op(b, "Div", IN(amax, c127), NULL);
    /* the engine treats a row below 2^-100 as zero; a floor keeps 127 / max finite there */
    const char *inv = op(b, "Div", IN(c127, op(b, "Max", IN(amax, c_f32(b, 0x1p-100f)), NULL)), NULL);
    const char *rq = op(b, "Round", IN(op(b, "Mul", IN(x, inv), NULL)), NULL);
    const char *cl = op(b, "Clip", IN(rq, c_f32(b, -127.0f), c127), NULL);
    r.q = op(b, "Cast", IN(cl), AT(at_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT8)));
    return r;
}

/* y = ((float)(q_x · q_wᵀ) · s_x) · s_w + bias for the int8 matrix qm [N, K]. */
static const char *linear_q8(gb *b, qin x, const char *pre, const axf_qmat *qm, int N, int K, const float *bias)
{
    int8_t *wt = gmem(b, (size_t)N * K);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            wt[(size_t)k * N + n] = qm->q[(size_t)n * K + k];
    int64_t d[2] = {K, N};
    const char *wn = init(b, gstr(b, "%s.weight_int8", pre), ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, d, wt);
    const char *sn = init_f32(b, gstr(b, "%s.weight_scale", pre), qm->scale, N, 0);
    const char *acc = op(b, "MatMulInteger", IN(x.q, wn), NULL);
    const char *f = op(b, "Cast", IN(acc), AT(at_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)));
    const char *y = op(b, "Mul", IN(op(b, "Mul", IN(f, x.sx), NULL), sn), NULL);
    if (bias)
        y = op(b, "Add", IN(y, init_f32(b, gstr(b, "%s.bias", pre), bias, N, 0)), NULL);
    return y;
}

/* x [rows, K] times matrix `which` of layer l ([N, K]) plus bias: Gemm, or the int8 product when
 * the model stores it in int8 (then xq, when given, is x already quantized). */
static const char *linear(gb *b, const axf_layer *ly, int which, const char *x, const qin *xq, const char *pre,
                          const float *w, const float *bias, int N, int K)
{
    if (ly->q8[which].q)
        return linear_q8(b, xq ? *xq : quant_input(b, x), pre, &ly->q8[which], N, K, bias);
    const char *wn = init_f32(b, gstr(b, "%s.weight", pre), w, N, K);
    return gemm(b, x, wn, bias ? init_f32(b, gstr(b, "%s.bias", pre), bias, N, 0) : NULL);
}

/* A mask with ones at the top-k positions of x along its last axis (k = min(k, sequence)). */
static const char *topk_mask(gb *b, const char *x, int k)
{
    int64_t kv = k;
    const char *kk = op(b, "Min", IN(b->seq1, c_i64(b, 1, &kv)), NULL);
    const char *out[2] = {NULL, NULL};
    node(b, "TopK", IN(x, kk), AT(at_i(b, "axis", -1), at_i(b, "largest", 1), at_i(b, "sorted", 1)), 2, out);
    const char *zeros = op(b, "Mul", IN(x, c_f32(b, 0.0f)), NULL);
    const char *ones = op(b, "Add", IN(op(b, "Mul", IN(out[0], c_f32(b, 0.0f)), NULL), c_f32(b, 1.0f)), NULL);
    return op(b, "ScatterElements", IN(zeros, out[1], ones), AT(at_i(b, "axis", -1)));
}

/* Softmax of the masked scores and the layer's hard attention (plan.h semantics). */
static const char *attention_probs(gb *b, const char *s, const axf_layer_plan *lp)
{
    Onnx__AttributeProto *const *ax = AT(at_i(b, "axis", -1));
    axf_hard_mode mode = lp ? lp->hard : AXF_HARD_OFF;
    int k = lp && lp->k > 0 ? lp->k : 1;
    switch (mode) {
    case AXF_HARD_TOPK: {
        const char *p = op(b, "Softmax", IN(s), ax);
        return op(b, "Mul", IN(p, topk_mask(b, p, k)), NULL);
    }
    case AXF_HARD_TOPK_RENORM: {
        const char *keep = op(b, "Cast", IN(topk_mask(b, s, k)), AT(at_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)));
        const char *sk = op(b, "Where", IN(keep, s, c_f32(b, -INFINITY)), NULL);
        return op(b, "Softmax", IN(sk), AT(at_i(b, "axis", -1)));
    }
    case AXF_HARD_THRESHOLD: {
        const char *p = op(b, "Softmax", IN(s), ax);
        const char *lo = op(b, "Less", IN(p, c_f32(b, lp->threshold)), NULL);
        return op(b, "Where", IN(lo, c_f32(b, 0.0f), p), NULL);
    }
    default:
        return op(b, "Softmax", IN(s), ax);
    }
}

/* The first token's row of each sequence of x [batch·sequence, H]: [batch, H]. */
static const char *first_rows(gb *b, const char *x, int H)
{
    int64_t hh = H;
    const char *shp3 = op(b, "Concat", IN(b->shape2, c_i64(b, 1, &hh)), AT(at_i(b, "axis", 0)));
    return op(b, "Gather", IN(op(b, "Reshape", IN(x, shp3), NULL), c_i64s(b, 0)), AT(at_i(b, "axis", 1)));
}

/* One encoder layer on x [batch·sequence, H]. With cls set (the last layer: the head reads only
 * each sequence's first token, as the engine's axf_engine_layer_cls) keys and values are made for
 * every token and the rest for the first token only; the result is then [batch, H]. */
static const char *layer(gb *b, const axf_model *m, int li, const axf_layer_plan *lp, const char *x, const char *maskb,
                         int cls)
{
    const axf_config *c = &m->cfg;
    const axf_layer *ly = &m->layers[li];
    int H = c->hidden, HS = c->head_dim, nh = c->layer_heads[li], f = c->layer_ffn[li], A = nh * HS;
    const char *h, *xr = cls ? first_rows(b, x, H) : x; /* the rows the layer outputs */
    if (nh > 0) {
        const char *pre = gstr(b, "layer.%d.attention", li);
        qin xq, *xqp = NULL, xrq, *xrqp = NULL;
        if (ly->q8[AXF_W_Q].q) {
            xq = quant_input(b, x);
            xqp = &xq;
            xrq = cls ? quant_input(b, xr) : xq; /* per-row scales: the same values for those rows */
            xrqp = &xrq;
        }
        const char *q = linear(b, ly, AXF_W_Q, xr, xrqp, gstr(b, "%s.query", pre), ly->wq, ly->bq, A, H);
        const char *k = linear(b, ly, AXF_W_K, x, xqp, gstr(b, "%s.key", pre), ly->wk, ly->bk, A, H);
        const char *v = linear(b, ly, AXF_W_V, x, xqp, gstr(b, "%s.value", pre), ly->wv, ly->bv, A, H);
        int64_t hd[2] = {nh, HS};
        const char *shp4 = op(b, "Concat", IN(b->shape2, c_i64(b, 2, hd)), AT(at_i(b, "axis", 0)));
        const char *shp4q = shp4;
        if (cls) {
            int64_t zero = 0, hq[3] = {1, nh, HS};
            const char *b1 = op(b, "Gather", IN(b->shape2, c_i64(b, 1, &zero)), AT(at_i(b, "axis", 0)));
            shp4q = op(b, "Concat", IN(b1, c_i64(b, 3, hq)), AT(at_i(b, "axis", 0)));
        }
        static const int64_t pq[4] = {0, 2, 1, 3}, pk[4] = {0, 2, 3, 1};
        const char *q4 = op(b, "Transpose", IN(op(b, "Reshape", IN(q, shp4q), NULL)), AT(at_ints(b, "perm", 4, pq)));
        const char *k4 = op(b, "Transpose", IN(op(b, "Reshape", IN(k, shp4), NULL)), AT(at_ints(b, "perm", 4, pk)));
        const char *v4 = op(b, "Transpose", IN(op(b, "Reshape", IN(v, shp4), NULL)), AT(at_ints(b, "perm", 4, pq)));
        const char *s = op(b, "MatMul", IN(q4, k4), NULL);
        s = op(b, "Mul", IN(s, c_f32(b, 1.0f / sqrtf((float)HS))), NULL);
        s = op(b, "Add", IN(s, maskb), NULL);
        const char *p = attention_probs(b, s, lp);
        const char *ctx = op(b, "Transpose", IN(op(b, "MatMul", IN(p, v4), NULL)), AT(at_ints(b, "perm", 4, pq)));
        int64_t flat[2] = {-1, A};
        ctx = op(b, "Reshape", IN(ctx, c_i64(b, 2, flat)), NULL);
        const char *a = linear(b, ly, AXF_W_O, ctx, NULL, gstr(b, "%s.output", pre), ly->wo, ly->bo, H, A);
        h = layernorm(b, op(b, "Add", IN(xr, a), NULL), gstr(b, "%s.output.LayerNorm", pre), ly->ln1_g, ly->ln1_b, H,
                      c->ln_eps);
    } else {
        const char *in = xr;
        if (ly->bo)
            in = op(b, "Add", IN(xr, init_f32(b, gstr(b, "layer.%d.attention.output.bias", li), ly->bo, H, 0)), NULL);
        h = layernorm(b, in, gstr(b, "layer.%d.attention.output.LayerNorm", li), ly->ln1_g, ly->ln1_b, H, c->ln_eps);
    }
    const char *out;
    if (f > 0) {
        const char *i1 = linear(b, ly, AXF_W_1, h, NULL, gstr(b, "layer.%d.intermediate", li), ly->w1, ly->b1, f, H);
        i1 = activation(b, i1, c->act);
        const char *o = linear(b, ly, AXF_W_2, i1, NULL, gstr(b, "layer.%d.output", li), ly->w2, ly->b2, H, f);
        out = op(b, "Add", IN(h, o), NULL);
    } else {
        out = h;
        if (ly->b2)
            out = op(b, "Add", IN(h, init_f32(b, gstr(b, "layer.%d.output.bias", li), ly->b2, H, 0)), NULL);
    }
    return layernorm(b, out, gstr(b, "layer.%d.output.LayerNorm", li), ly->ln2_g, ly->ln2_b, H, c->ln_eps);
}

static Onnx__ValueInfoProto *value_info(gb *b, const char *name, int dt, const char *d0, const char *d1, int64_t v1)
{
    Onnx__ValueInfoProto *vi = gmem(b, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = (char *)name;
    Onnx__TypeProto *tp = gmem(b, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = gmem(b, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = dt;
    Onnx__TensorShapeProto *sh = gmem(b, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = 2;
    sh->dim = gmem(b, 2 * sizeof(void *));
    for (int i = 0; i < 2; i++) {
        Onnx__TensorShapeProto__Dimension *d = gmem(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        const char *param = i == 0 ? d0 : d1;
        if (param) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = (char *)param;
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = v1;
        }
        sh->dim[i] = d;
    }
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

/* The word-embedding rows of input_ids, [batch, sequence, H]: from the float32 table, or from an
 * int8 one as the engine computes them, (float)q · scale of the token's row. */
static const char *word_rows(gb *b, const axf_model *cm)
{
    const axf_config *c = &cm->cfg;
    int H = c->hidden;
    if (!cm->word_q8.q)
        return op(b, "Gather", IN(init_f32(b, "embeddings.word_embeddings.weight", cm->word_emb, c->vocab_size, H),
                                  "input_ids"), NULL);
    int64_t d[2] = {c->vocab_size, H}, last = 2;
    const char *wq = init(b, "embeddings.word_embeddings.weight_int8", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, d,
                          cm->word_q8.q);
    const char *ws = init_f32(b, "embeddings.word_embeddings.weight_scale", cm->word_q8.scale, c->vocab_size, 0);
    const char *rows = op(b, "Cast", IN(op(b, "Gather", IN(wq, "input_ids"), NULL)),
                          AT(at_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)));
    const char *sc = op(b, "Unsqueeze", IN(op(b, "Gather", IN(ws, "input_ids"), NULL), c_i64(b, 1, &last)), NULL);
    return op(b, "Mul", IN(rows, sc), NULL);
}

/* The whole graph of the compacted model cm run with plan hp (dense but for hard attention). */
static void build(gb *b, const axf_model *cm, const axf_plan *hp)
{
    const axf_config *c = &cm->cfg;
    int H = c->hidden;
    b->shape2 = op(b, "Shape", IN("input_ids"), NULL);
    int64_t one = 1;
    b->seq1 = op(b, "Gather", IN(b->shape2, c_i64(b, 1, &one)), AT(at_i(b, "axis", 0)));
    const char *T = op(b, "Gather", IN(b->shape2, c_i64s(b, 1)), AT(at_i(b, "axis", 0)));

    const char *pe = init_f32(b, "embeddings.position_embeddings.weight", cm->pos_emb, c->max_pos, H);
    /* positions pos_offset .. pos_offset + sequence - 1 (RoBERTa's start after the padding row;
     * right padding gives every real token the position Hugging Face computes from the mask) */
    const char *pos = T;
    if (c->pos_offset)
        pos = op(b, "Add", IN(T, c_i64s(b, c->pos_offset)), NULL);
    pos = op(b, "Range", IN(c_i64s(b, c->pos_offset), pos, c_i64s(b, 1)), NULL);
    const char *x = op(b, "Add", IN(word_rows(b, cm), op(b, "Gather", IN(pe, pos), NULL)), NULL);
    if (c->type_vocab > 0) {
        const char *te = init_f32(b, "embeddings.token_type_embeddings.weight", cm->type_emb, c->type_vocab, H);
        x = op(b, "Add", IN(x, op(b, "Gather", IN(te, "token_type_ids"), NULL)), NULL);
    }
    x = layernorm(b, x, "embeddings.LayerNorm", cm->emb_ln_g, cm->emb_ln_b, H, c->ln_eps);
    int64_t flat[2] = {-1, H};
    x = op(b, "Reshape", IN(x, c_i64(b, 2, flat)), NULL);

    /* padding keys: (1 - mask) * -1e30 added to every score, [batch, 1, 1, sequence] */
    const char *mf = op(b, "Cast", IN("attention_mask"), AT(at_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)));
    const char *neg = op(b, "Mul", IN(op(b, "Sub", IN(c_f32(b, 1.0f), mf), NULL), c_f32(b, -1e30f)), NULL);
    int64_t ax12[2] = {1, 2};
    const char *maskb = op(b, "Unsqueeze", IN(neg, c_i64(b, 2, ax12)), NULL);

    for (int li = 0; li < c->n_layers; li++)
        x = layer(b, cm, li, hp ? &hp->layers[li] : NULL, x, maskb, li == c->n_layers - 1);
    const char *first = c->n_layers > 0 ? x : first_rows(b, x, H);
    /* the head: BERT's pooler, DistilBERT's pre_classifier, RoBERTa's classifier.dense */
    static const char *const head_name[] = {"pooler.dense", "pre_classifier", "classifier.dense"};
    const char *hn = head_name[c->arch <= AXF_ARCH_ROBERTA ? c->arch : 0];
    const char *pooled = gemm(b, first, init_f32(b, gstr(b, "%s.weight", hn), cm->pool_w, H, H),
                              cm->pool_b ? init_f32(b, gstr(b, "%s.bias", hn), cm->pool_b, H, 0) : NULL);
    pooled = op(b, c->head_act == AXF_HEAD_RELU ? "Relu" : "Tanh", IN(pooled), NULL);
    const char *out[1] = {"logits"};
    const char *cw = init_f32(b, "classifier.weight", cm->cls_w, c->num_labels, H);
    if (cm->cls_b)
        node(b, "Gemm", IN(pooled, cw, init_f32(b, "classifier.bias", cm->cls_b, c->num_labels, 0)),
             AT(at_i(b, "transB", 1)), 1, out);
    else
        node(b, "Gemm", IN(pooled, cw), AT(at_i(b, "transB", 1)), 1, out);
}

/* ---- metadata ---- */

static void csv_int(char *buf, size_t n, const int *v, int count)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < count && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, i ? ",%d" : "%d", v[i]);
}

static Onnx__StringStringEntryProto *kv(gb *b, const char *k, const char *v)
{
    Onnx__StringStringEntryProto *e = gmem(b, sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = (char *)k;
    e->value = (char *)v;
    return e;
}

/* ---- writing ---- */

typedef struct {
    ProtobufCBuffer base;
    FILE *fp;
    int bad;
} fbuf;

static void fbuf_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
    fbuf *f = (fbuf *)buf;
    if (!f->bad && len && fwrite(data, 1, len, f->fp) != len)
        f->bad = 1;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Moves the bytes of every initializer of at least EXTERNAL_MIN bytes to data_path. */
static int write_external(gb *b, const char *data_path, const char *location, axf_err *err)
{
    char *tmp = NULL;
    FILE *fp = axf_io_atomic_open(data_path, &tmp, err);
    if (!fp)
        return -1;
    static const char zeros[EXTERNAL_ALIGN];
    uint64_t off = 0;
    int bad = 0;
    for (size_t i = 0; i < b->n_init && !bad; i++) {
        Onnx__TensorProto *t = b->init[i];
        size_t len = t->raw_data.len;
        if (len < EXTERNAL_MIN)
            continue;
        size_t pad = (size_t)((EXTERNAL_ALIGN - off % EXTERNAL_ALIGN) % EXTERNAL_ALIGN);
        if ((pad && fwrite(zeros, 1, pad, fp) != pad) || fwrite(t->raw_data.data, 1, len, fp) != len)
            bad = 1;
        off += pad;
        t->has_raw_data = 0;
        t->raw_data.len = 0;
        t->raw_data.data = NULL;
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        t->n_external_data = 3;
        t->external_data = gmem(b, 3 * sizeof(void *));
        t->external_data[0] = kv(b, "location", location);
        t->external_data[1] = kv(b, "offset", gstr(b, "%llu", (unsigned long long)off));
        t->external_data[2] = kv(b, "length", gstr(b, "%zu", len));
        off += len;
    }
    return axf_io_atomic_close(fp, tmp, data_path, bad, err);
}

axf_onnx_opts axf_onnx_opts_default(void)
{
    axf_onnx_opts o = {0, 17};
    return o;
}

/* The model's metadata (copied into b): version, per-layer heads and FFN widths, and the hard
 * attention and int8 blocks when there are any. Returns their count (at most 5). */
static size_t metadata(gb *b, const axf_model *cm, const axf_plan *hp, Onnx__StringStringEntryProto *meta[5])
{
    const axf_config *c = &cm->cfg;
    char heads[AXF_MAX_LAYERS * 4 + 8], ffn[AXF_MAX_LAYERS * 8 + 8], hard[AXF_MAX_LAYERS * 40 + 8] = "",
         int8[AXF_MAX_LAYERS * 16 + 8] = "";
    csv_int(heads, sizeof heads, c->layer_heads, c->n_layers);
    csv_int(ffn, sizeof ffn, c->layer_ffn, c->n_layers);
    size_t ha = 0, qa = 0;
    for (int i = 0; i < c->n_layers; i++) {
        const axf_layer_plan *lp = &hp->layers[i];
        if (lp->hard != AXF_HARD_OFF && c->layer_heads[i] > 0) {
            if (lp->hard == AXF_HARD_THRESHOLD)
                ha += (size_t)snprintf(hard + ha, sizeof hard - ha, "%s%d:%s:%.9g", ha ? "," : "", i,
                                       axf_hard_mode_name(lp->hard), (double)lp->threshold);
            else
                ha += (size_t)snprintf(hard + ha, sizeof hard - ha, "%s%d:%s:%d", ha ? "," : "", i,
                                       axf_hard_mode_name(lp->hard), lp->k);
        }
        for (int bk = 0; bk < 2; bk++)
            if (axf_model_has_int8(cm, i, bk))
                qa += (size_t)snprintf(int8 + qa, sizeof int8 - qa, "%s%d:%s", qa ? "," : "", i,
                                       axf_block_name(bk));
    }
    if (cm->word_q8.q)
        qa += (size_t)snprintf(int8 + qa, sizeof int8 - qa, "%sembed", qa ? "," : "");
    size_t nmeta = 0;
    meta[nmeta++] = kv(b, "axf_version", AXF_VERSION);
    meta[nmeta++] = kv(b, "axf_layer_heads", gstr(b, "%s", heads));
    meta[nmeta++] = kv(b, "axf_layer_ffn", gstr(b, "%s", ffn));
    if (ha)
        meta[nmeta++] = kv(b, "axf_hard_attention", gstr(b, "%s", hard));
    if (qa)
        meta[nmeta++] = kv(b, "axf_int8", gstr(b, "%s", int8));
    return nmeta;
}

/* The weights to PATH.data when external (the graph then points at it), then the model to path,
 * each written atomically. */
static int write_model(gb *b, const Onnx__ModelProto *mp, const char *path, int external, axf_err *err)
{
    if (external) {
        char *data_path = gstr(b, "%s.data", path);
        if (write_external(b, data_path, base_name(data_path), err))
            return -1;
    }
    char *tmp = NULL;
    FILE *fp = axf_io_atomic_open(path, &tmp, err);
    if (!fp)
        return -1;
    fbuf fb = {{NULL}, fp, 0};
    fb.base.append = fbuf_append;
    protobuf_c_message_pack_to_buffer(&mp->base, &fb.base);
    return axf_io_atomic_close(fp, tmp, path, fb.bad, err);
}

int axf_onnx_save(const axf_model *m, const axf_plan *plan, const char *path, const axf_onnx_opts *o,
                  axf_onnx_info *info, axf_err *err)
{
    axf_onnx_opts d = axf_onnx_opts_default();
    if (!o)
        o = &d;
    if (o->opset < 17)
        return axf_err_set(err, "%s: opset %d: the export needs opset 17 or later (LayerNormalization)", path,
                           o->opset);
    axf_plan *dense = plan ? NULL : axf_plan_new(m);
    axf_plan *hp = NULL;
    axf_model *cm = axf_compact(m, plan ? plan : dense, &hp, err);
    axf_plan_free(dense);
    if (!cm)
        return axf_err_prefix(err, "%s", path);

    gb b = {0};
    b.opset = o->opset;
    build(&b, cm, hp);
    const axf_config *c = &cm->cfg;

    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "axf";
    g.n_node = b.n_node;
    g.node = b.node;
    g.n_initializer = b.n_init;
    g.initializer = b.init;
    Onnx__ValueInfoProto *ins[3];
    size_t nin = 0;
    ins[nin++] = value_info(&b, "input_ids", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "batch", "sequence", 0);
    ins[nin++] = value_info(&b, "attention_mask", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "batch", "sequence", 0);
    if (c->type_vocab > 0)
        ins[nin++] = value_info(&b, "token_type_ids", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "batch", "sequence", 0);
    Onnx__ValueInfoProto *outs[1] = {
        value_info(&b, "logits", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "batch", NULL, c->num_labels)};
    g.n_input = nin;
    g.input = ins;
    g.n_output = 1;
    g.output = outs;

    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = o->opset;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};

    Onnx__StringStringEntryProto *meta[5];
    size_t nmeta = metadata(&b, cm, hp, meta);

    Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
    mp.has_ir_version = 1;
    mp.ir_version = 8;
    mp.producer_name = "axf";
    mp.producer_version = AXF_VERSION;
    mp.doc_string = "AxFormer Workbench export: input_ids, attention_mask (1 = token, right padding)"
                    " [, token_type_ids] -> logits [batch, num_labels]";
    mp.graph = &g;
    mp.n_opset_import = 1;
    mp.opset_import = opsets;
    mp.n_metadata_props = nmeta;
    mp.metadata_props = meta;

    int rc = -1, external = o->external_data || b.wbytes > INLINE_LIMIT;
    if (write_model(&b, &mp, path, external, err))
        goto done;
    if (info) {
        info->n_nodes = b.n_node;
        info->n_initializers = b.n_init;
        info->weight_bytes = b.wbytes;
        info->external = external;
        info->n_layers = c->n_layers;
    }
    rc = 0;
done:
    gb_free(&b);
    axf_plan_free(hp);
    axf_model_free(cm);
    return rc;
}
