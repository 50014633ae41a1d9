/* Importance of every element of the committed plan: exact loss/accuracy deltas through the layer
 * cache, first-order gate gradients (training module), attention entropy (engine observer) and
 * weight magnitude. */
#include "session_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/dist.h"
#include "axf/train.h"

static const char *const kind_names[AXF_IMP_KIND_COUNT] = {"exact", "gradient", "entropy", "magnitude"};

const char *axf_imp_kind_name(axf_imp_kind k)
{
    return (unsigned)k < AXF_IMP_KIND_COUNT ? kind_names[k] : "?";
}

int axf_imp_kind_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "loss") || !strcmp(name, "accuracy"))
        return AXF_IMP_EXACT;
    for (int i = 0; i < AXF_IMP_KIND_COUNT; i++)
        if (!strcmp(name, kind_names[i]))
            return i;
    return -1;
}

static void values_nan(axf_imp_values *v)
{
    float *f = (float *)v;
    for (size_t i = 0; i < sizeof *v / sizeof(float); i++)
        f[i] = NAN;
}

void axf_importance_init(axf_importance *imp, const axf_plan *p, axf_imp_kind kind, int gran, int groups)
{
    memset(imp, 0, sizeof *imp);
    imp->kind = kind;
    imp->gran = gran;
    imp->n_layers = p->n_layers;
    imp->n_groups = groups;
    for (int i = 0; i < p->n_layers; i++)
        imp->n_heads[i] = p->layers[i].nh;
    values_nan(&imp->v);
    values_nan(&imp->acc);
}

/* Groups actually usable on layer lp (G capped by the width). */
static int layer_groups(const axf_layer_plan *lp, int groups)
{
    return groups < lp->f ? groups : lp->f;
}

/* ---- exact ---- */

typedef struct elem {
    axf_action a;
    float *v, *acc;
} elem;

typedef struct prog {
    axf_progress_fn fn;
    void *ud;
    double base, total;
} prog;

static int prog_cb(double done, double total, void *ud)
{
    prog *p = ud;
    return p->fn ? p->fn(p->base + (total > 0 ? done / total : 0), p->total, p->ud) : 0;
}

static int collect(const axf_plan *plan, int gran, int groups, axf_importance *imp, elem *out)
{
    int n = 0;
    for (int i = plan->n_layers - 1; i >= 0; i--) {
        const axf_layer_plan *lp = &plan->layers[i];
        if (gran & AXF_IMP_BLOCKS) {
            if (lp->attn_on || lp->ffn_on)
                out[n++] = (elem){{.op = AXF_OP_DROP_LAYER, .layer = i}, &imp->v.layer[i], &imp->acc.layer[i]};
            if (lp->attn_on)
                out[n++] = (elem){{.op = AXF_OP_DROP_ATTN, .layer = i}, &imp->v.attn[i], &imp->acc.attn[i]};
            if (lp->ffn_on)
                out[n++] = (elem){{.op = AXF_OP_DROP_FFN, .layer = i}, &imp->v.ffn[i], &imp->acc.ffn[i]};
        }
        if ((gran & AXF_IMP_HEADS) && lp->attn_on)
            for (int h = 0; h < lp->nh; h++)
                if (lp->head_on[h])
                    out[n++] = (elem){{.op = AXF_OP_DROP_HEAD, .layer = i, .index = h},
                                      &imp->v.head[i][h], &imp->acc.head[i][h]};
        if ((gran & AXF_IMP_GROUPS) && lp->ffn_on) {
            int G = layer_groups(lp, groups);
            for (int g = 0; g < G; g++)
                if (axf_plan_group_state(lp, g, G) != 0)
                    out[n++] = (elem){{.op = AXF_OP_DROP_GROUP, .layer = i, .index = g, .groups = G},
                                      &imp->v.group[i][g], &imp->acc.group[i][g]};
        }
    }
    return n;
}

static void merge(axf_importance *dst, const axf_importance *src, int gran)
{
    for (int i = 0; i < src->n_layers; i++) {
        if (gran & AXF_IMP_BLOCKS) {
            dst->v.layer[i] = src->v.layer[i], dst->acc.layer[i] = src->acc.layer[i];
            dst->v.attn[i] = src->v.attn[i], dst->acc.attn[i] = src->acc.attn[i];
            dst->v.ffn[i] = src->v.ffn[i], dst->acc.ffn[i] = src->acc.ffn[i];
        }
        if (gran & AXF_IMP_HEADS) {
            memcpy(dst->v.head[i], src->v.head[i], sizeof dst->v.head[i]);
            memcpy(dst->acc.head[i], src->acc.head[i], sizeof dst->acc.head[i]);
        }
        if (gran & AXF_IMP_GROUPS) {
            memcpy(dst->v.group[i], src->v.group[i], sizeof dst->v.group[i]);
            memcpy(dst->acc.group[i], src->acc.group[i], sizeof dst->acc.group[i]);
        }
    }
    dst->gran |= gran;
}

static int exact(axf_session *s, int gran, int groups, axf_importance *out, axf_err *err)
{
    axf__kept *k = axf__kept_find(s, AXF__KEPT_IMP, AXF_IMP_EXACT, groups, 0);
    axf_importance *have = k ? k->imp : NULL;
    int need = have ? gran & ~have->gran : gran;
    if (need) {
        double t0 = axf_now();
        int rc = axf__ensure_current(s, err);
        if (rc)
            return rc;
        axf_importance *imp = axf_xmalloc(sizeof *imp);
        axf_importance_init(imp, s->plan, AXF_IMP_EXACT, need, groups);
        int cap = 0;
        for (int i = 0; i < s->plan->n_layers; i++)
            cap += 3 + s->plan->layers[i].nh + groups;
        elem *el = axf_xmalloc(sizeof *el * (size_t)(cap > 0 ? cap : 1));
        int n = collect(s->plan, need, groups, imp, el);
        axf_plan *p = axf_plan_clone(s->plan);
        prog pg = {s->opts.progress, s->opts.progress_ud, 0, n};
        s->trial_valid = 0;
        for (int e = 0; e < n && rc == 0; e++) {
            axf_plan_copy(p, s->plan);
            if (axf_plan_apply(p, &el[e].a, &s->defs, NULL, NULL))
                continue; /* cannot be removed: stays NAN */
            axf_metrics m;
            pg.base = e;
            rc = axf__eval_plan(s, p, &s->trial_buf, &m, NULL, prog_cb, &pg, err);
            if (rc == 0) {
                *el[e].v = (float)(m.loss - s->cur.loss);
                *el[e].acc = isnan(m.accuracy) ? NAN : (float)(m.accuracy - s->cur.accuracy);
            }
        }
        axf_plan_free(p);
        free(el);
        if (rc) {
            free(imp);
            return rc;
        }
        if (have) {
            merge(have, imp, need);
            have->seconds += axf_now() - t0; /* the kept values took the time of every part */
        } else {
            have = axf__kept_store(s, AXF__KEPT_IMP, AXF_IMP_EXACT, groups)->imp;
            *have = *imp;
            have->seconds = axf_now() - t0;
        }
        free(imp);
    }
    axf_importance_init(out, s->plan, AXF_IMP_EXACT, gran, groups);
    merge(out, have, gran);
    out->gran = gran;
    return 0;
}

/* ---- sharded passes over the split (gradient, entropy) ----
 * Each batch yields a row of per-batch sums; over MPI each rank fills the rows of its batches and
 * the rows are gathered, and every rank adds them up in batch order, as one process does. */

/* The lock-step check before such a pass (dist.h). */
static void agree_pass(const axf_session *s, const char *kind)
{
    if (axf_dist_size() < 2)
        return;
    char what[96];
    uint64_t h = axf_dist_hash_plan(axf_dist_hash_str(AXF_DIST_HASH0, kind), s->plan);
    snprintf(what, sizeof what, "%s importance under plan %016llx", kind, (unsigned long long)h);
    axf_dist_agree(h, what);
}

/* rc of this rank's part -> the pass's outcome on every rank; on success gathers the rows and readies
 * out for the kind of importance (axf_importance_init). */
static int finish_pass(const axf_session *s, int rc, double *rows, int K, axf_importance *out, axf_imp_kind kind,
                       int gran, int groups, axf_err *err)
{
    int nb = axf_evalcache_n_batches(s->ec), lo, hi;
    axf_evalcache_shard(s->ec, &lo, &hi);
    int worst = axf_dist_max(rc == 0 ? 0 : rc == AXF_CANCELLED ? 1 : 2);
    if (worst == 2)
        return rc == -1 ? -1 : axf_err_set(err, "importance: another MPI rank failed (see its message)");
    if (worst == 1)
        return axf_err_set(err, "cancelled"), AXF_CANCELLED;
    axf_dist_allgather_rows(rows, sizeof(double) * (size_t)K, nb, lo, hi - lo);
    axf_importance_init(out, s->plan, kind, gran, groups);
    return 0;
}

/* ---- gradient ---- */

static int gradient(axf_session *s, int gran, int groups, axf_importance *out, axf_err *err)
{
    const axf_plan *p = s->plan;
    int L = p->n_layers, per = 2 + AXF_MAX_HEADS + groups, K = L * per;
    int nb = axf_evalcache_n_batches(s->ec), lo, hi, rc = 0;
    axf_evalcache_shard(s->ec, &lo, &hi);
    agree_pass(s, "gradient");
    /* row of batch b, layer i: |g attn|, |g ffn|, |g head h| at 2 + h, |sum of group k| at
     * 2 + AXF_MAX_HEADS + k */
    double *rows = axf_xcalloc((size_t)nb * (size_t)K, sizeof *rows);
    axf_gate_grads *g = axf_gate_grads_new(s->m);
    for (int b = lo; b < hi && rc == 0; b++) {
        int first;
        axf_batch bt = axf_evalcache_batch(s->ec, b, &first);
        const int *labels = s->enc->labels ? s->enc->labels + first : NULL;
        const float *targets = s->enc->targets ? s->enc->targets + first : NULL;
        if (s->m->cfg.task == AXF_TASK_CLASSIFY)
            targets = NULL;
        else
            labels = NULL;
        if (axf_gate_grads_batch(s->m, p, &bt, labels, targets, g, err)) {
            rc = -1;
            break;
        }
        for (int i = 0; i < L; i++) {
            const axf_layer_plan *lp = &p->layers[i];
            double *r = rows + (size_t)b * K + (size_t)i * per;
            r[0] = fabs(g->attn[i]);
            r[1] = fabs(g->ffn[i]);
            for (int h = 0; h < lp->nh; h++)
                r[2 + h] = fabs(g->head[i][h]);
            int G = layer_groups(lp, groups);
            for (int k = 0; k < G && lp->f > 0; k++) {
                int glo, ghi;
                double sum = 0;
                axf_plan_group_range(lp->f, G, k, &glo, &ghi);
                for (int j = glo; j < ghi; j++)
                    sum += g->neuron[i][j];
                r[2 + AXF_MAX_HEADS + k] = fabs(sum);
            }
        }
        if (s->opts.progress && s->opts.progress(b + 1 - lo, hi - lo, s->opts.progress_ud))
            rc = AXF_CANCELLED;
    }
    axf_gate_grads_free(g);
    rc = finish_pass(s, rc, rows, K, out, AXF_IMP_GRADIENT, gran, groups, err);
    if (rc == 0) {
        for (int i = 0; i < L; i++) {
            const axf_layer_plan *lp = &p->layers[i];
            double acc[2 + AXF_MAX_HEADS + AXF_MAX_GROUPS] = {0};
            for (int b = 0; b < nb; b++)
                for (int k = 0; k < per; k++)
                    acc[k] += rows[(size_t)b * K + (size_t)i * per + k];
            if ((gran & AXF_IMP_BLOCKS) && lp->attn_on)
                out->v.attn[i] = (float)acc[0];
            if ((gran & AXF_IMP_BLOCKS) && lp->ffn_on)
                out->v.ffn[i] = (float)acc[1];
            if ((gran & AXF_IMP_HEADS) && lp->attn_on)
                for (int h = 0; h < lp->nh; h++)
                    if (lp->head_on[h])
                        out->v.head[i][h] = (float)acc[2 + h];
            if ((gran & AXF_IMP_GROUPS) && lp->ffn_on) {
                int G = layer_groups(lp, groups);
                for (int k = 0; k < G; k++)
                    if (axf_plan_group_state(lp, k, G))
                        out->v.group[i][k] = (float)acc[2 + AXF_MAX_HEADS + k];
            }
        }
    }
    free(rows);
    return rc;
}

/* ---- entropy ---- */

/* One batch's sums, for heads [L][nh]: entropy of the rows, then the rows. */
typedef struct ent_acc {
    double *sum, *rows;
    int L, nh;
} ent_acc;

static void ent_observer(int layer, int seq, int head, int n, const float *probs, void *ud)
{
    ent_acc *a = ud;
    if (layer < 0 || layer >= a->L || head < 0 || head >= a->nh)
        return;
    double *sum = &a->sum[layer * a->nh + head];
    for (int q = 0; q < n; q++) {
        const float *row = probs + (size_t)q * n;
        double h = 0;
        for (int k = 0; k < n; k++)
            if (row[k] > 0)
                h -= (double)row[k] * log((double)row[k]);
        *sum += h;
    }
    a->rows[layer * a->nh + head] += n;
}

static int entropy(axf_session *s, int gran, int groups, axf_importance *out, axf_err *err)
{
    const axf_plan *p = s->plan;
    int L = p->n_layers, nh = 1;
    for (int i = 0; i < L; i++)
        nh = p->layers[i].nh > nh ? p->layers[i].nh : nh;
    int K = 2 * L * nh, C = s->m->cfg.num_labels;
    int nb = axf_evalcache_n_batches(s->ec), lo, hi, rc = 0;
    axf_evalcache_shard(s->ec, &lo, &hi);
    agree_pass(s, "entropy");
    double *rows = axf_xcalloc((size_t)nb * (size_t)K, sizeof *rows);
    axf_engine *e = axf_evalcache_engine(s->ec);
    float *lg = axf_xmalloc(sizeof(float) * (size_t)s->enc->n * (size_t)C);
    ent_acc acc = {NULL, NULL, L, nh};
    axf_engine_set_observer(e, ent_observer, &acc);
    for (int b = lo; b < hi && rc == 0; b++) {
        int first;
        axf_batch bt = axf_evalcache_batch(s->ec, b, &first);
        acc.sum = rows + (size_t)b * K;
        acc.rows = acc.sum + L * nh;
        if (axf_engine_forward(e, p, &bt, lg + (size_t)first * C, err))
            rc = -1;
        else if (s->opts.progress && s->opts.progress(b + 1 - lo, hi - lo, s->opts.progress_ud))
            rc = AXF_CANCELLED;
    }
    axf_engine_set_observer(e, NULL, NULL);
    free(lg);
    rc = finish_pass(s, rc, rows, K, out, AXF_IMP_ENTROPY, gran, groups, err);
    if (rc == 0) {
        for (int i = 0; i < L; i++) {
            const axf_layer_plan *lp = &p->layers[i];
            double tot = 0;
            int n_on = 0;
            for (int h = 0; h < lp->nh && lp->attn_on; h++) {
                double sum = 0, nrows = 0;
                for (int b = 0; b < nb; b++) {
                    sum += rows[(size_t)b * K + (size_t)i * nh + h];
                    nrows += rows[(size_t)b * K + (size_t)(L + i) * nh + h];
                }
                if (lp->head_on[h] && nrows > 0) {
                    double v = sum / nrows;
                    if (gran & AXF_IMP_HEADS)
                        out->v.head[i][h] = (float)v;
                    tot += v;
                    n_on++;
                }
            }
            if ((gran & AXF_IMP_BLOCKS) && n_on > 0)
                out->v.attn[i] = (float)(tot / n_on);
        }
    }
    free(rows);
    return rc;
}

/* ---- magnitude ---- */

static double sq_rows(const float *w, int row0, int nrows, int width)
{
    double s = 0;
    const float *p = w + (size_t)row0 * width;
    for (size_t k = 0; k < (size_t)nrows * width; k++)
        s += (double)p[k] * p[k];
    return s;
}

static double sq_cols(const float *w, int nr, int width, int c0, int nc)
{
    double s = 0;
    for (int r = 0; r < nr; r++)
        for (int c = c0; c < c0 + nc; c++) {
            double x = w[(size_t)r * width + c];
            s += x * x;
        }
    return s;
}

static void magnitude(axf_session *s, int gran, int groups, axf_importance *out)
{
    const axf_plan *p = s->plan;
    int H = s->m->cfg.hidden, HS = s->m->cfg.head_dim;
    axf_importance_init(out, p, AXF_IMP_MAGNITUDE, gran, groups);
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        const axf_layer *ly = &s->m->layers[i];
        double attn = 0, ffn = 0;
        for (int h = 0; h < lp->nh && lp->attn_on; h++) {
            if (!lp->head_on[h])
                continue;
            double v = sq_rows(ly->wq, h * HS, HS, H) + sq_rows(ly->wk, h * HS, HS, H) +
                       sq_rows(ly->wv, h * HS, HS, H) + sq_cols(ly->wo, H, lp->nh * HS, h * HS, HS);
            attn += v;
            if (gran & AXF_IMP_HEADS)
                out->v.head[i][h] = (float)sqrt(v);
        }
        int G = layer_groups(lp, groups);
        for (int g = 0; g < G && lp->ffn_on; g++) {
            int lo, hi;
            double v = 0;
            axf_plan_group_range(lp->f, G, g, &lo, &hi);
            for (int j = lo; j < hi; j++)
                if (lp->neuron_on[j])
                    v += sq_rows(ly->w1, j, 1, H) + sq_cols(ly->w2, H, lp->f, j, 1);
            ffn += v;
            if ((gran & AXF_IMP_GROUPS) && axf_plan_group_state(lp, g, G))
                out->v.group[i][g] = (float)sqrt(v);
        }
        if (gran & AXF_IMP_BLOCKS) {
            if (lp->attn_on)
                out->v.attn[i] = (float)sqrt(attn);
            if (lp->ffn_on)
                out->v.ffn[i] = (float)sqrt(ffn);
            if (lp->attn_on || lp->ffn_on)
                out->v.layer[i] = (float)sqrt(attn + ffn);
        }
    }
}

int axf_session_importance(axf_session *s, axf_imp_kind kind, int gran, int groups, axf_importance *out,
                           axf_err *err)
{
    double t0 = axf_now();
    if (groups <= 0)
        groups = s->defs.groups;
    if (groups > AXF_MAX_GROUPS)
        return axf_err_set(err, "importance: %d groups, at most %d", groups, AXF_MAX_GROUPS);
    gran &= AXF_IMP_ALL;
    if (!gran)
        return axf_err_set(err, "importance: empty granularity (use blocks, heads and/or groups)");
    int rc;
    axf_importance tmp;
    switch (kind) {
    case AXF_IMP_EXACT:
        rc = exact(s, gran, groups, &tmp, err);
        break;
    case AXF_IMP_GRADIENT:
        rc = gradient(s, gran, groups, &tmp, err);
        break;
    case AXF_IMP_ENTROPY:
        rc = entropy(s, gran, groups, &tmp, err);
        break;
    case AXF_IMP_MAGNITUDE:
        magnitude(s, gran, groups, &tmp);
        rc = 0;
        break;
    default:
        return axf_err_set(err, "importance: unknown kind %d", (int)kind);
    }
    if (rc)
        return rc;
    tmp.seconds = axf_now() - t0;
    if (kind != AXF_IMP_EXACT) { /* EXACT keeps its own, merged over granularities */
        axf__kept *k = axf__kept_find(s, AXF__KEPT_IMP, kind, groups, 0);
        if (k)
            merge(k->imp, &tmp, gran);
        else
            *axf__kept_store(s, AXF__KEPT_IMP, kind, groups)->imp = tmp;
    }
    *out = tmp;
    return 0;
}
