/* Physical compaction of a model under a plan, and the hard-attention field of exported configs.
 * The copy is index bookkeeping only: no arithmetic touches the weights, so the compacted model
 * computes the same sums as the masked one (the engine skips removed parts in the same order). */
#include "axf/compact.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axf/fileio.h"
#include "axf/quant.h"
#include "axf/tokenizer.h"

static void copy_rows(float *dst, const float *src, const int *rows, int nrows, int width)
{
    for (int r = 0; r < nrows; r++)
        memcpy(dst + (size_t)r * width, src + (size_t)rows[r] * width, (size_t)width * sizeof(float));
}

/* dst[r, c'] = src[r, cols[c']] for a [nr, src_w] row-major source. */
static void copy_cols(float *dst, const float *src, int nr, int src_w, const int *cols, int ncols)
{
    for (int r = 0; r < nr; r++) {
        const float *s = src + (size_t)r * src_w;
        float *d = dst + (size_t)r * ncols;
        for (int c = 0; c < ncols; c++)
            d[c] = s[cols[c]];
    }
}

static void copy_vec(float *dst, const float *src, int n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

/* Stores in o the int8 form of the kept part of matrix `which` of source layer s (axf_quant_gather:
 * the same int8 weights the engine multiplies under the plan). */
static void keep_int8(axf_model *o, int li, int which, const axf_layer *s, const float *w, int K, const int *rows,
                      int nr, const int *cols, int nc)
{
    int kk = cols ? nc : K;
    int8_t *q = axf_xmalloc((size_t)nr * kk + 1);
    float *sc = axf_xmalloc(sizeof(float) * (size_t)nr + 1);
    axf_quant_gather(q, sc, w, K, &s->q8[which], rows, nr, cols, nc);
    axf_model_set_int8(o, li, which, q, sc);
    free(q);
    free(sc);
}

static int plan_fits(const axf_model *m, const axf_plan *p, axf_err *err)
{
    if (p->n_layers != m->cfg.n_layers)
        return axf_err_set(err, "compact: plan has %d layers, model %d", p->n_layers, m->cfg.n_layers);
    for (int i = 0; i < p->n_layers; i++)
        if (p->layers[i].nh != m->cfg.layer_heads[i] || p->layers[i].f != m->cfg.layer_ffn[i])
            return axf_err_set(err, "compact: plan of layer %d is for %d heads / FFN %d, model has %d / %d",
                               i, p->layers[i].nh, p->layers[i].f, m->cfg.layer_heads[i], m->cfg.layer_ffn[i]);
    return 0;
}

/* Everything outside the layers (embeddings, pooler, classifier, masked-LM head): o has m's
 * shapes there. */
static void copy_outside_layers(axf_model *o, const axf_model *m)
{
    const axf_config *c = &m->cfg;
    int H = c->hidden;
    copy_vec(o->word_emb, m->word_emb, c->vocab_size * H);
    copy_vec(o->pos_emb, m->pos_emb, c->max_pos * H);
    if (c->type_vocab > 0)
        copy_vec(o->type_emb, m->type_emb, c->type_vocab * H);
    copy_vec(o->emb_ln_g, m->emb_ln_g, H);
    copy_vec(o->emb_ln_b, m->emb_ln_b, H);
    copy_vec(o->pool_w, m->pool_w, H * H);
    copy_vec(o->pool_b, m->pool_b, H);
    copy_vec(o->cls_w, m->cls_w, c->num_labels * H);
    copy_vec(o->cls_b, m->cls_b, c->num_labels);
    if (m->mlm_bias) {
        copy_vec(o->mlm_w, m->mlm_w, H * H);
        copy_vec(o->mlm_b, m->mlm_b, H);
        copy_vec(o->mlm_ln_g, m->mlm_ln_g, H);
        copy_vec(o->mlm_ln_b, m->mlm_ln_b, H);
        copy_vec(o->mlm_bias, m->mlm_bias, c->vocab_size);
    }
}

static void copy_layer_norms(axf_layer *d, const axf_layer *s, int H)
{
    copy_vec(d->ln1_g, s->ln1_g, H);
    copy_vec(d->ln1_b, s->ln1_b, H);
    copy_vec(d->ln2_g, s->ln2_g, H);
    copy_vec(d->ln2_b, s->ln2_b, H);
}

/* The compacted model's config: the layers with anything left (src_of[i]: layer i's layer of m),
 * each with the heads and neurons the plan keeps. Returns the number of layers. */
static int compact_config(const axf_model *m, const axf_plan *p, axf_config *nc, int src_of[AXF_MAX_LAYERS])
{
    const axf_config *c = &m->cfg;
    int nl = 0;
    *nc = *c;
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        int nh = axf_plan_heads_on(lp), f = axf_plan_neurons_on(lp);
        if (nh == 0 && f == 0)
            continue;
        src_of[nl] = i;
        nc->layer_heads[nl] = nh;
        nc->layer_ffn[nl] = f;
        memset(nc->head_ids[nl], 0, sizeof nc->head_ids[nl]);
        int k = 0;
        for (int h = 0; h < lp->nh && nh > 0; h++)
            if (lp->head_on[h])
                nc->head_ids[nl][k++] = c->head_ids[i][h];
        nl++;
    }
    nc->n_layers = nl;
    for (int i = nl; i < AXF_MAX_LAYERS; i++) {
        nc->layer_heads[i] = c->n_heads;
        nc->layer_ffn[i] = c->ffn;
    }
    return nl;
}

/* The rows of Q/K/V (columns of O) of the heads lp keeps, of nh heads of size HS; returns the count. */
static int head_rows(const axf_layer_plan *lp, int nh, int HS, int *rows)
{
    int n = 0;
    for (int h = 0; h < nh; h++)
        if (lp->head_on[h])
            for (int j = 0; j < HS; j++)
                rows[n++] = h * HS + j;
    return n;
}

/* The neurons lp keeps of f; returns the count. */
static int neuron_rows(const axf_layer_plan *lp, int f, int *rows)
{
    int n = 0;
    for (int j = 0; j < f; j++)
        if (lp->neuron_on[j])
            rows[n++] = j;
    return n;
}

/* Layer li of o from layer si of m: the kept heads' rows of Q, K, V and columns of O (rows: scratch
 * for at least the attention width). */
static void copy_attention(axf_model *o, int li, const axf_model *m, int si, const axf_layer_plan *lp, int *rows)
{
    const axf_config *c = &m->cfg;
    const axf_layer *s = &m->layers[si];
    axf_layer *d = &o->layers[li];
    int H = c->hidden, HS = c->head_dim, snh = c->layer_heads[si], A = snh * HS, n = head_rows(lp, snh, HS, rows);
    copy_rows(d->wq, s->wq, rows, n, H);
    copy_rows(d->wk, s->wk, rows, n, H);
    copy_rows(d->wv, s->wv, rows, n, H);
    for (int r = 0; r < n; r++) {
        d->bq[r] = s->bq[rows[r]];
        d->bk[r] = s->bk[rows[r]];
        d->bv[r] = s->bv[rows[r]];
    }
    copy_cols(d->wo, s->wo, H, A, rows, n);
    copy_vec(d->bo, s->bo, H);
    if (lp->int8_attn) {
        keep_int8(o, li, AXF_W_Q, s, s->wq, H, rows, n, NULL, H);
        keep_int8(o, li, AXF_W_K, s, s->wk, H, rows, n, NULL, H);
        keep_int8(o, li, AXF_W_V, s, s->wv, H, rows, n, NULL, H);
        keep_int8(o, li, AXF_W_O, s, s->wo, A, NULL, H, n < A ? rows : NULL, n);
    }
}

/* Layer li of o from layer si of m: the kept neurons' rows of W1 and columns of W2 (f of them). */
static void copy_ffn(axf_model *o, int li, const axf_model *m, int si, const axf_layer_plan *lp, int f, int *rows)
{
    const axf_layer *s = &m->layers[si];
    axf_layer *d = &o->layers[li];
    int H = m->cfg.hidden, sf = m->cfg.layer_ffn[si], n = neuron_rows(lp, sf, rows);
    AXF_ASSERT(n == f);
    copy_rows(d->w1, s->w1, rows, n, H);
    for (int r = 0; r < n; r++)
        d->b1[r] = s->b1[rows[r]];
    copy_cols(d->w2, s->w2, H, sf, rows, n);
    copy_vec(d->b2, s->b2, H);
    if (lp->int8_ffn) {
        keep_int8(o, li, AXF_W_1, s, s->w1, H, rows, n, NULL, H);
        keep_int8(o, li, AXF_W_2, s, s->w2, sf, NULL, H, n < sf ? rows : NULL, n);
    }
}

axf_model *axf_compact(const axf_model *m, const axf_plan *p, axf_plan **hard, axf_err *err)
{
    if (hard)
        *hard = NULL;
    if (plan_fits(m, p, err))
        return NULL;
    const axf_config *c = &m->cfg;
    int H = c->hidden;
    axf_config nc;
    int src_of[AXF_MAX_LAYERS], nl = compact_config(m, p, &nc, src_of);
    axf_model *o = axf_model_new(&nc, m->mlm_bias != NULL, err);
    if (!o)
        return NULL;

    copy_outside_layers(o, m);
    if (p->int8_embed) { /* the table the engine looks rows up in under the plan (axf_engine_embed) */
        int V = c->vocab_size;
        int8_t *q = axf_xmalloc((size_t)V * H);
        float *sc = axf_xmalloc(sizeof(float) * (size_t)V);
        axf_quant_gather(q, sc, m->word_emb, H, &m->word_q8, NULL, V, NULL, H);
        axf_model_set_int8_embed(o, q, sc);
        AXF_FREE(q, sc);
    }

    int *rows = axf_xmalloc(sizeof(int) * (size_t)(c->ffn > H ? c->ffn : H) + sizeof(int));
    for (int li = 0; li < nl; li++) {
        const axf_layer_plan *lp = &p->layers[src_of[li]];
        copy_layer_norms(&o->layers[li], &m->layers[src_of[li]], H);
        if (nc.layer_heads[li] > 0)
            copy_attention(o, li, m, src_of[li], lp, rows);
        if (nc.layer_ffn[li] > 0)
            copy_ffn(o, li, m, src_of[li], lp, nc.layer_ffn[li], rows);
    }
    free(rows);

    if (hard) {
        axf_plan *hp = axf_plan_new(o);
        for (int li = 0; li < nl; li++) {
            const axf_layer_plan *lp = &p->layers[src_of[li]];
            if (nc.layer_heads[li] > 0) {
                hp->layers[li].hard = lp->hard;
                hp->layers[li].k = lp->k;
                hp->layers[li].threshold = lp->threshold;
            }
        }
        *hard = hp;
    }
    return o;
}

/* ---- the inverse: a compacted model's weights written back into the model it was cut from ---- */

static void put_rows(float *dst, const float *src, const int *rows, int nrows, int width)
{
    for (int r = 0; r < nrows; r++)
        memcpy(dst + (size_t)rows[r] * width, src + (size_t)r * width, (size_t)width * sizeof(float));
}

static void put_cols(float *dst, const float *src, int nr, int dst_w, const int *cols, int ncols)
{
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < ncols; c++)
            dst[(size_t)r * dst_w + cols[c]] = src[(size_t)r * ncols + c];
}

int axf_compact_scatter(axf_model *m, const axf_plan *p, const axf_model *cm, axf_err *err)
{
    if (plan_fits(m, p, err))
        return -1;
    const axf_config *c = &m->cfg;
    axf_config nc;
    int src_of[AXF_MAX_LAYERS], nl = compact_config(m, p, &nc, src_of);
    if (cm->cfg.n_layers != nl || cm->cfg.hidden != c->hidden || cm->cfg.vocab_size != c->vocab_size ||
        cm->cfg.num_labels != c->num_labels || cm->cfg.max_pos != c->max_pos ||
        cm->cfg.type_vocab != c->type_vocab || (cm->mlm_bias != NULL) != (m->mlm_bias != NULL))
        return axf_err_set(err, "scatter: the compacted model does not have the plan's shape");
    for (int li = 0; li < nl; li++)
        if (cm->cfg.layer_heads[li] != nc.layer_heads[li] || cm->cfg.layer_ffn[li] != nc.layer_ffn[li])
            return axf_err_set(err, "scatter: layer %d of the compacted model has %d heads / FFN %d, the plan %d / %d",
                               li, cm->cfg.layer_heads[li], cm->cfg.layer_ffn[li], nc.layer_heads[li],
                               nc.layer_ffn[li]);
    for (int li = 0; li < nl; li++)
        for (int b = 0; b < 2; b++)
            if ((b ? nc.layer_ffn[li] : nc.layer_heads[li]) > 0 && axf_model_has_int8(m, src_of[li], b))
                return axf_err_set(err, "scatter: layer %d stores its %s block in int8", src_of[li],
                                   axf_block_name(b));
    copy_outside_layers(m, cm);
    /* new float32 embeddings: the stored int8 table no longer holds them (a plan with int8_embed
     * quantizes the new ones, axf_engine_embed) */
    axf_qmat_free(&m->word_q8);
    int H = c->hidden, HS = c->head_dim;
    int *rows = axf_xmalloc(sizeof(int) * (size_t)(c->ffn > H ? c->ffn : H) + sizeof(int));
    for (int li = 0; li < nl; li++) {
        int si = src_of[li], n;
        const axf_layer_plan *lp = &p->layers[si];
        axf_layer *d = &m->layers[si];
        const axf_layer *s = &cm->layers[li];
        copy_layer_norms(d, s, H);
        if (nc.layer_heads[li] > 0) {
            n = head_rows(lp, c->layer_heads[si], HS, rows);
            put_rows(d->wq, s->wq, rows, n, H);
            put_rows(d->wk, s->wk, rows, n, H);
            put_rows(d->wv, s->wv, rows, n, H);
            for (int r = 0; r < n; r++) {
                d->bq[rows[r]] = s->bq[r];
                d->bk[rows[r]] = s->bk[r];
                d->bv[rows[r]] = s->bv[r];
            }
            put_cols(d->wo, s->wo, H, c->layer_heads[si] * HS, rows, n);
            copy_vec(d->bo, s->bo, H);
        }
        if (nc.layer_ffn[li] > 0) {
            n = neuron_rows(lp, c->layer_ffn[si], rows);
            put_rows(d->w1, s->w1, rows, n, H);
            for (int r = 0; r < n; r++)
                d->b1[rows[r]] = s->b1[r];
            put_cols(d->w2, s->w2, H, c->layer_ffn[si], rows, n);
            copy_vec(d->b2, s->b2, H);
        }
    }
    free(rows);
    return 0;
}

/* ---- dense-compatible export ---- */

axf_model *axf_dense_compatible(const axf_model *m, const axf_plan *p, axf_err *err)
{
    if (plan_fits(m, p, err))
        return NULL;
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        if (lp->attn_on && lp->hard != AXF_HARD_OFF)
            return axf_err_set(err, "dense-compatible export: layer %d runs hard attention (%s), which standard "
                               "loaders do not compute; export it with --out or --onnx", i, axf_hard_mode_name(lp->hard)),
                   NULL;
        if ((lp->attn_on && lp->int8_attn) || (lp->ffn_on && lp->int8_ffn))
            return axf_err_set(err, "dense-compatible export: layer %d runs its %s block in int8, which standard "
                               "loaders do not compute; export it with --out or --onnx", i,
                               lp->attn_on && lp->int8_attn ? "attention" : "FFN"),
                   NULL;
    }
    axf_model *cm = axf_compact(m, p, NULL, err);
    if (!cm)
        return NULL;
    const axf_config *cc = &cm->cfg;
    int H = cc->hidden, HS = cc->head_dim, NH = cc->n_heads, F = cc->ffn, A = NH * HS;
    axf_config nc = *cc;
    for (int i = 0; i < AXF_MAX_LAYERS; i++) {
        nc.layer_heads[i] = NH;
        nc.layer_ffn[i] = F;
        for (int h = 0; h < AXF_MAX_HEADS; h++)
            nc.head_ids[i][h] = (unsigned char)(h < NH ? h : 0);
    }
    axf_model *o = axf_model_new(&nc, cm->mlm_bias != NULL, err);
    if (!o) {
        axf_model_free(cm);
        return NULL;
    }
    copy_outside_layers(o, cm);
    for (int li = 0; li < cc->n_layers; li++) {
        const axf_layer *s = &cm->layers[li];
        axf_layer *d = &o->layers[li];
        int nh = cc->layer_heads[li], f = cc->layer_ffn[li];
        copy_layer_norms(d, s, H);
        /* the model is zeros from axf_model_new: only what is kept is copied */
        for (int j = 0; j < nh; j++) {
            int h = cc->head_ids[li][j];
            size_t src = (size_t)j * HS, dst = (size_t)h * HS;
            memcpy(d->wq + dst * H, s->wq + src * H, sizeof(float) * (size_t)HS * H);
            memcpy(d->wk + dst * H, s->wk + src * H, sizeof(float) * (size_t)HS * H);
            memcpy(d->wv + dst * H, s->wv + src * H, sizeof(float) * (size_t)HS * H);
            copy_vec(d->bq + dst, s->bq + src, HS);
            copy_vec(d->bk + dst, s->bk + src, HS);
            copy_vec(d->bv + dst, s->bv + src, HS);
            for (int r = 0; r < H; r++)
                copy_vec(d->wo + (size_t)r * A + dst, s->wo + (size_t)r * nh * HS + src, HS);
        }
        if (nh > 0)
            copy_vec(d->bo, s->bo, H);
        if (f > 0) {
            copy_vec(d->w1, s->w1, f * H);
            copy_vec(d->b1, s->b1, f);
            for (int r = 0; r < H; r++)
                copy_vec(d->w2 + (size_t)r * F, s->w2 + (size_t)r * f, f);
            copy_vec(d->b2, s->b2, H);
        }
    }
    axf_model_free(cm);
    return o;
}

void axf_export_readers(const axf_model *cm, const axf_plan *hard, char *buf, size_t n)
{
    const axf_config *c = &cm->cfg;
    int widths = 0, gone = 0, heads = 0, order = 0, int8 = 0, hardl = 0;
    for (int i = 0; i < c->n_layers; i++) {
        widths |= c->layer_ffn[i] != c->ffn;
        gone |= c->layer_heads[i] == 0 || c->layer_ffn[i] == 0;
        heads |= c->layer_heads[i] != c->n_heads;
        for (int h = 1; h < c->layer_heads[i]; h++)
            order |= c->head_ids[i][h] <= c->head_ids[i][h - 1];
        int8 |= axf_model_has_int8(cm, i, 0) || axf_model_has_int8(cm, i, 1) || cm->word_q8.q;
        hardl |= hard && hard->layers[i].hard != AXF_HARD_OFF && c->layer_heads[i] > 0;
    }
    const char *why = int8    ? "int8 weight matrices or embeddings (I8 tensors)"
                      : gone  ? "a removed attention or FFN block (a layer without its tensors)"
                      : widths ? "per-layer FFN widths (axf_layer_ffn), which BertConfig cannot express"
                      : order ? "kept heads out of their original order"
                              : NULL;
    size_t at = (size_t)snprintf(buf, n, "readers: axf (eval, predict, tui, export-onnx)");
    if (!why && at < n)
        at += (size_t)snprintf(buf + at, n - at, "%s",
                               heads ? "; Hugging Face transformers v4 from_pretrained (pruned_heads)"
                                     : "; Hugging Face from_pretrained and any BERT loader (standard shapes)");
    if (at < n && (why || hardl))
        at += (size_t)snprintf(buf + at, n - at, "\nnot read correctly by: Hugging Face from_pretrained and other "
                               "standard loaders (%s%s%s)%s", why ? why : "", why && hardl ? "; " : "",
                               hardl ? "hard attention, recorded as axf_hard_attention, which they ignore: "
                                       "dense attention, other logits" : "",
                               "; use --onnx for ONNX Runtime, or --dense-compatible when the plan has no hard "
                               "attention and no int8");
}

/* ---- the axf_hard_attention config field ---- */

/* What each of this program's config.json fields means, for a reader of the file: "axf_fields"
 * lists every axf_* field the file holds with one line about it (other readers ignore them all). */
static void add_field_docs(cJSON *root)
{
    static const char *const doc[][2] = {
        {"axf_layer_heads", "attention heads kept in each layer (0: the attention block is removed); Hugging Face "
                            "reads pruned_heads instead, written when it can express the shapes"},
        {"axf_layer_ffn", "FFN neurons kept in each layer (0: the FFN block is removed); standard loaders have one "
                          "intermediate_size for all layers and cannot read this"},
        {"axf_layer_head_ids", "original index of each kept head, per layer"},
        {"axf_hard_attention", "sparse hard attention per layer: mode topk (k largest probabilities, not "
                               "renormalised), topk_renorm or threshold; other readers ignore it and compute dense "
                               "attention, so their logits differ"},
    };
    cJSON_DeleteItemFromObjectCaseSensitive(root, "axf_fields");
    cJSON *d = cJSON_CreateObject();
    for (const cJSON *f = root->child; f; f = f->next) {
        if (!f->string || strncmp(f->string, "axf_", 4))
            continue;
        const char *what = "a field of axf (include/axf/model.h)";
        for (size_t i = 0; i < sizeof doc / sizeof doc[0]; i++)
            if (!strcmp(f->string, doc[i][0]))
                what = doc[i][1];
        cJSON_AddStringToObject(d, f->string, what);
    }
    cJSON_AddItemToObject(root, "axf_fields", d);
}

int axf_compact_save(const axf_model *cm, const axf_plan *hard, const char *dir, const char *tok_dir,
                     axf_err *err)
{
    if (axf_model_save(cm, dir, err))
        return -1;
    int rc = -1;
    char *cfg_path = axf_io_join(dir, "config.json");
    char *text = NULL, *out = NULL;
    cJSON *root = NULL;
    int any = 0;
    for (int i = 0; hard && i < hard->n_layers; i++)
        any |= hard->layers[i].hard != AXF_HARD_OFF && hard->layers[i].attn_on;
    text = axf_io_read_file(cfg_path, 16u << 20, NULL, err);
    if (!text)
        goto done;
    root = cJSON_Parse(text);
    if (!root) {
        axf_err_set(err, "%s: cannot re-read the config just written", cfg_path);
        goto done;
    }
    if (any) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "axf_hard_attention");
        cJSON *arr = cJSON_AddArrayToObject(root, "axf_hard_attention");
        for (int i = 0; i < hard->n_layers; i++) {
            const axf_layer_plan *lp = &hard->layers[i];
            if (lp->hard == AXF_HARD_OFF || !lp->attn_on)
                continue;
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", i);
            cJSON_AddStringToObject(e, "mode", axf_hard_mode_name(lp->hard));
            if (lp->hard == AXF_HARD_THRESHOLD)
                cJSON_AddNumberToObject(e, "threshold", (double)lp->threshold);
            else
                cJSON_AddNumberToObject(e, "k", lp->k);
            cJSON_AddItemToArray(arr, e);
        }
    }
    add_field_docs(root);
    out = cJSON_Print(root);
    if (!out || axf_io_write_atomic(cfg_path, out, strlen(out), err))
        goto done;
    if (tok_dir && axf_vocab_copy_files(tok_dir, dir, err))
        goto done;
    rc = 0;
done:
    cJSON_Delete(root);
    AXF_FREE(text, out, cfg_path);
    return rc;
}

axf_plan *axf_plan_load_hard(const char *dir, const axf_model *m, axf_err *err)
{
    char *cfg_path = axf_io_join(dir, "config.json");
    size_t len;
    char *text = axf_io_read_file(cfg_path, 16u << 20, &len, err);
    axf_plan *p = NULL;
    cJSON *root = NULL;
    if (!text || axf_json_check(text, len, cfg_path, err) != 0)
        goto done;
    root = cJSON_ParseWithLength(text, len);
    if (!root) {
        axf_err_set(err, "%s: not valid JSON", cfg_path);
        goto done;
    }
    p = axf_plan_new(m);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "axf_hard_attention");
    if (!arr)
        goto done;
    if (!cJSON_IsArray(arr)) {
        axf_err_set(err, "%s: axf_hard_attention must be an array", cfg_path);
        goto fail;
    }
    int idx = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *jl = cJSON_GetObjectItemCaseSensitive(e, "layer");
        const cJSON *jm = cJSON_GetObjectItemCaseSensitive(e, "mode");
        const cJSON *jk = cJSON_GetObjectItemCaseSensitive(e, "k");
        const cJSON *jt = cJSON_GetObjectItemCaseSensitive(e, "threshold");
        int mode = cJSON_IsString(jm) ? axf_hard_mode_from_name(jm->valuestring) : -1;
        if (!cJSON_IsNumber(jl) || jl->valuedouble != floor(jl->valuedouble) || jl->valuedouble < 0 ||
            jl->valuedouble >= m->cfg.n_layers) {
            axf_err_set(err, "%s: axf_hard_attention[%d]: layer missing or outside 0..%d", cfg_path,
                        idx, m->cfg.n_layers - 1);
            goto fail;
        }
        if (mode <= 0) {
            axf_err_set(err, "%s: axf_hard_attention[%d]: mode must be topk, topk_renorm or threshold",
                        cfg_path, idx);
            goto fail;
        }
        axf_layer_plan *lp = &p->layers[(int)jl->valuedouble];
        if (!lp->attn_on) {
            axf_err_set(err, "%s: axf_hard_attention[%d]: layer %d has no attention", cfg_path, idx,
                        (int)jl->valuedouble);
            goto fail;
        }
        lp->hard = (axf_hard_mode)mode;
        if (mode == AXF_HARD_THRESHOLD) {
            if (!cJSON_IsNumber(jt) || !(jt->valuedouble > 0 && jt->valuedouble < 1)) {
                axf_err_set(err, "%s: axf_hard_attention[%d]: threshold must be in (0, 1)", cfg_path, idx);
                goto fail;
            }
            lp->threshold = (float)jt->valuedouble;
        } else {
            if (!cJSON_IsNumber(jk) || jk->valuedouble < 1 || jk->valuedouble > 1e9 ||
                jk->valuedouble != floor(jk->valuedouble)) {
                axf_err_set(err, "%s: axf_hard_attention[%d]: k must be a positive integer", cfg_path, idx);
                goto fail;
            }
            lp->k = (int)jk->valuedouble;
        }
        idx++;
    }
    goto done;
fail:
    axf_plan_free(p);
    p = NULL;
done:
    cJSON_Delete(root);
    free(text);
    free(cfg_path);
    return p;
}
