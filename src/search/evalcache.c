/* Split evaluation with the per-layer hidden-state cache (see evalcache.h for the contract). */
#include "axf/evalcache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/dist.h"

struct axf_evalcache {
    const axf_model *m;
    const axf_encoded *d;
    axf_engine *eng;
    int L, H, C;
    int nb, *bstart;          /* batches: examples [bstart[b], bstart[b+1]) */
    int blo, bhi;             /* this rank's batches (dist.h); all of them in one process */
    int whole;                /* axf_evalcache_new_whole: all batches here, no collectives */
    size_t tok0;              /* first token of this rank's batches: slot row 0 */
    float *gather;            /* [n, C + 1] logits and loss per example, for the gather */
    float *h;                 /* [max batch tokens, H] working buffer */
    float *keep;              /* [max batch tokens, H] input of the [CLS] layer, lazily (see run) */
    int max_tok;
    float *logit_buf;         /* [n * C] when the caller wants no logits */
    float *slot[AXF_MAX_LAYERS];   /* [shard tokens, H] hidden states entering layer i, or NULL */
    unsigned char valid[AXF_MAX_LAYERS];
    axf_plan *committed;
    axf_evalcache_stats st;
};

float axf_sample_loss(const float *logits, int C, axf_task_kind kind, int label, float target)
{
    if (kind == AXF_TASK_REGRESS) {
        double e = (double)logits[0] - target;
        return (float)(e * e);
    }
    double mx = logits[0];
    for (int c = 1; c < C; c++)
        if (logits[c] > mx)
            mx = logits[c];
    double s = 0;
    for (int c = 0; c < C; c++)
        s += exp((double)logits[c] - mx);
    return (float)(mx + log(s) - logits[label]);
}

static int check_data(const axf_model *m, const axf_encoded *d, axf_err *err)
{
    const axf_config *c = &m->cfg;
    if (d->n < 1)
        return axf_err_set(err, "evaluation data: no examples");
    if (c->task == AXF_TASK_REGRESS ? d->kind != AXF_TASK_REGRESS : d->kind == AXF_TASK_REGRESS)
        return axf_err_set(err, "evaluation data: %s data for a %s model",
                           d->kind == AXF_TASK_REGRESS ? "regression" : "classification",
                           c->task == AXF_TASK_REGRESS ? "regression" : "classification");
    for (int i = 0; i < d->n; i++) {
        int len = d->off[i + 1] - d->off[i];
        if (len < 1 || len > axf_config_max_len(c))
            return axf_err_set(err, "evaluation data: example %d has %d tokens (model takes 1..%d)",
                               i, len, axf_config_max_len(c));
        if (c->task == AXF_TASK_CLASSIFY && (d->labels[i] < 0 || d->labels[i] >= c->num_labels))
            return axf_err_set(err, "evaluation data: example %d has label %d, model has %d labels",
                               i, d->labels[i], c->num_labels);
        if (c->task == AXF_TASK_REGRESS && !isfinite(d->targets[i]))
            return axf_err_set(err, "evaluation data: example %d has no numeric target", i);
        for (int t = d->off[i]; t < d->off[i + 1]; t++)
            if (d->ids[t] < 0 || d->ids[t] >= c->vocab_size ||
                (c->type_vocab > 0 && (d->types[t] < 0 || d->types[t] >= c->type_vocab)))
                return axf_err_set(err, "evaluation data: example %d: token id %d / type %d outside the "
                                   "model's vocabulary (%d) / types (%d)", i, d->ids[t], d->types[t],
                                   c->vocab_size, c->type_vocab);
    }
    return 0;
}

static axf_evalcache *make(const axf_model *m, const axf_encoded *d, int batch, size_t cache_bytes,
                           int whole, axf_err *err)
{
    if (batch < 1)
        batch = 1;
    if (check_data(m, d, err))
        return NULL;
    axf_evalcache *c = axf_xcalloc(1, sizeof *c);
    c->m = m;
    c->d = d;
    c->L = m->cfg.n_layers;
    c->H = m->cfg.hidden;
    c->C = m->cfg.num_labels;
    c->nb = (d->n + batch - 1) / batch;
    c->bstart = axf_xmalloc(sizeof(int) * (size_t)(c->nb + 1));
    int max_tok = 1;
    for (int b = 0; b <= c->nb; b++)
        c->bstart[b] = b * batch < d->n ? b * batch : d->n;
    for (int b = 0; b < c->nb; b++) {
        int t = d->off[c->bstart[b + 1]] - d->off[c->bstart[b]];
        if (t > max_tok)
            max_tok = t;
    }
    c->eng = axf_engine_new(m, max_tok, err);
    if (!c->eng) {
        axf_evalcache_free(c);
        return NULL;
    }
    axf_engine_freeze_weights(c->eng, 1);   /* the contract already keeps m's weights fixed */
    c->max_tok = max_tok;
    c->whole = whole;
    c->blo = 0;
    c->bhi = c->nb;
    if (!whole)
        axf_dist_range(c->nb, &c->blo, &c->bhi);
    c->tok0 = (size_t)d->off[c->bstart[c->blo]];
    c->h = axf_xmalloc(sizeof(float) * (size_t)max_tok * (size_t)c->H);
    c->logit_buf = axf_xmalloc(sizeof(float) * (size_t)d->n * (size_t)c->C);
    c->committed = axf_plan_new(m);

    size_t slot_bytes = sizeof(float) * ((size_t)d->off[c->bstart[c->bhi]] - c->tok0) * (size_t)c->H;
    int want = c->L - 1, fit = slot_bytes ? (int)(cache_bytes / slot_bytes) : 0;
    if (fit > want)
        fit = want;
    if (fit > 0) {
        /* evenly spread from the top: layer L-1, L-1-stride, ... */
        int stride = (want + fit - 1) / fit;
        for (int i = c->L - 1, k = 0; i >= 1 && k < fit; i -= stride, k++) {
            c->slot[i] = malloc(slot_bytes);
            if (!c->slot[i])
                break; /* fewer slots, still correct */
            c->st.bytes += slot_bytes;
            c->st.slots++;
        }
    }
    return c;
}

axf_evalcache *axf_evalcache_new(const axf_model *m, const axf_encoded *d, int batch,
                                 size_t cache_bytes, axf_err *err)
{
    return make(m, d, batch, cache_bytes, 0, err);
}

axf_evalcache *axf_evalcache_new_whole(const axf_model *m, const axf_encoded *d, int batch,
                                       size_t cache_bytes, axf_err *err)
{
    return make(m, d, batch, cache_bytes, 1, err);
}

void axf_evalcache_free(axf_evalcache *c)
{
    if (!c)
        return;
    axf_engine_free(c->eng);
    for (int i = 0; i < AXF_MAX_LAYERS; i++)
        free(c->slot[i]);
    axf_plan_free(c->committed);
    AXF_FREE(c->bstart, c->h, c->keep, c->logit_buf, c->gather, c);
}

void axf_evalcache_commit(axf_evalcache *c, const axf_plan *p)
{
    int d = axf_plan_first_diff(p, c->committed);
    for (int i = d + 1; i < c->L; i++)
        c->valid[i] = 0;
    axf_plan_copy(c->committed, p);
}

const axf_plan *axf_evalcache_committed(const axf_evalcache *c)
{
    return c->committed;
}

int axf_evalcache_start_layer(const axf_evalcache *c, int layer)
{
    if (layer > c->L - 1)
        layer = c->L - 1;
    for (int i = layer; i >= 1; i--)
        if (c->slot[i] && c->valid[i])
            return i;
    return 0;
}

axf_engine *axf_evalcache_engine(axf_evalcache *c)
{
    return c->eng;
}

int axf_evalcache_n_batches(const axf_evalcache *c)
{
    return c->nb;
}

void axf_evalcache_shard(const axf_evalcache *c, int *lo, int *hi)
{
    *lo = c->blo;
    *hi = c->bhi;
}

axf_batch axf_evalcache_batch(const axf_evalcache *c, int b, int *first)
{
    if (first)
        *first = c->bstart[b];
    return axf_encoded_batch(c->d, c->bstart[b], c->bstart[b + 1] - c->bstart[b]);
}

void axf_evalcache_stats_get(const axf_evalcache *c, axf_evalcache_stats *out)
{
    *out = c->st;
}

/* Every rank gets every example's logits and loss, in example order. */
static void gather(axf_evalcache *c, float *logits, float *losses)
{
    const axf_encoded *d = c->d;
    int C = c->C, lo = c->bstart[c->blo], hi = c->bstart[c->bhi];
    size_t row = (size_t)C + 1;
    if (!c->gather)
        c->gather = axf_xmalloc(sizeof(float) * (size_t)d->n * row);
    for (int j = lo; j < hi; j++) {
        float *g = c->gather + (size_t)j * row;
        memcpy(g, logits + (size_t)j * C, sizeof(float) * (size_t)C);
        g[C] = losses ? losses[j] : 0;
    }
    axf_dist_allgather_rows(c->gather, sizeof(float) * row, d->n, lo, hi - lo);
    for (int j = 0; j < d->n; j++) {
        const float *g = c->gather + (size_t)j * row;
        memcpy(logits + (size_t)j * C, g, sizeof(float) * (size_t)C);
        if (losses)
            losses[j] = g[C];
    }
}

/* Batch b under plan p from layer start on (the slot of layer start holds its input when start > 0):
 * the layers below cls in full, layer cls for the [CLS] rows only (after running it in full
 * first when full_too: slots above it to fill), the head; logits and losses of its examples.
 * Slots marked in fill receive the layer inputs they cache. */
static int run_batch(axf_evalcache *c, const axf_plan *p, int b, int start, int cls, const unsigned char *fill,
                     int full_too, float *logits, float *losses, axf_progress_fn progress, void *ud)
{
    const axf_encoded *d = c->d;
    int L = c->L, H = c->H, C = c->C;
    size_t tok0 = c->tok0;
    int first;
    axf_batch bt = axf_evalcache_batch(c, b, &first);
    size_t at = ((size_t)d->off[first] - tok0) * (size_t)H, nf = (size_t)bt.n_tok * (size_t)H;
    if (start > 0)
        memcpy(c->h, c->slot[start] + at, nf * sizeof(float));
    else
        axf_engine_embed(c->eng, p, &bt, c->h);
    for (int i = start; i < L; i++) {
        if (cls < 0 || i < cls) {
            axf_engine_layer(c->eng, i, &p->layers[i], &bt, c->h);
            if (i + 1 < L && fill[i + 1])
                memcpy(c->slot[i + 1] + at, c->h, nf * sizeof(float));
            /* asked between layers too: a batch of a large model takes long, and an edit must
             * not wait for background work to finish it (the batch is left unfinished) */
            if (progress && progress(b - c->blo, c->bhi - c->blo, ud))
                return 1;
            continue;
        }
        if (i > cls)
            break; /* skipped whole, their slots filled below */
        if (full_too) {
            memcpy(c->keep, c->h, nf * sizeof(float));
            axf_engine_layer(c->eng, i, &p->layers[i], &bt, c->h);
            for (int j = i + 1; j < L; j++)
                if (fill[j])
                    memcpy(c->slot[j] + at, c->h, nf * sizeof(float));
            memcpy(c->h, c->keep, nf * sizeof(float));
        }
        axf_engine_layer_cls(c->eng, i, &p->layers[i], &bt, c->h);
    }
    float *lg = logits + (size_t)first * (size_t)C;
    axf_engine_head(c->eng, &bt, c->h, lg);
    if (losses)
        for (int s = 0; s < bt.n_seq; s++) {
            int j = first + s;
            losses[j] = axf_sample_loss(lg + (size_t)s * C, C, d->kind, d->labels ? d->labels[j] : 0,
                                        d->targets ? d->targets[j] : 0);
        }
    return 0;
}

int axf_evalcache_run(axf_evalcache *c, const axf_plan *p, int use_cache, float *logits, float *losses,
                      axf_progress_fn progress, void *ud, axf_err *err)
{
    if (p->n_layers != c->L)
        return axf_err_set(err, "evaluate: plan has %d layers, model %d", p->n_layers, c->L);
    for (int i = 0; i < c->L; i++)
        if (p->layers[i].nh != c->m->cfg.layer_heads[i] || p->layers[i].f != c->m->cfg.layer_ffn[i])
            return axf_err_set(err, "evaluate: plan of layer %d does not fit the model", i);
    double t0 = axf_now();
    const axf_encoded *d = c->d;
    int L = c->L, H = c->H;
    int dist = axf_dist_size() > 1 && !c->whole;
    if (dist) {
        char what[96];
        uint64_t hash = axf_dist_hash_plan(AXF_DIST_HASH0, p);
        snprintf(what, sizeof what, "evaluating %d examples under plan %016llx", d->n, (unsigned long long)hash);
        hash = axf_dist_hash(hash, &d->n, sizeof d->n);
        axf_dist_agree(hash, what);
    }
    /* The last layer that runs computes the [CLS] rows only (engine.h); it always runs, from the
     * state entering it, so that a cached evaluation gives the same floats as an uncached one even
     * when the trial removes the layers above it. */
    int cls = axf_engine_last_live_layer(c->eng, p);
    int diff = use_cache ? axf_plan_first_diff(p, c->committed) : -1;
    int start = use_cache ? axf_evalcache_start_layer(c, cls >= 0 && cls < diff ? cls : diff) : 0;
    unsigned char fill[AXF_MAX_LAYERS] = {0};
    for (int j = start + 1; use_cache && j <= diff && j < L; j++)
        fill[j] = c->slot[j] && !c->valid[j];
    if (!logits)
        logits = c->logit_buf;
    /* A slot above the [CLS] layer to refill holds that layer's full output (the layers between
     * are skipped): the full layer runs on the same buffer first, its input kept and restored. */
    int full_too = 0;
    for (int j = cls + 1; cls >= 0 && j < L; j++)
        full_too |= fill[j];
    if (full_too && !c->keep)
        c->keep = axf_xmalloc(sizeof(float) * (size_t)c->max_tok * (size_t)H);

    int cancelled = 0;
    for (int b = c->blo; b < c->bhi && !cancelled; b++) {
        if (run_batch(c, p, b, start, cls, fill, full_too, logits, losses, progress, ud) ||
            (progress && progress(b + 1 - c->blo, c->bhi - c->blo, ud)))
            cancelled = 1;
    }
    /* a cancel seen by one rank stops them all (the slots stay consistent: none is marked) */
    if (dist ? axf_dist_max(cancelled) : cancelled) {
        c->st.seconds += axf_now() - t0;
        return axf_err_set(err, "cancelled"), AXF_CANCELLED;
    }
    if (dist)
        gather(c, logits, losses);
    for (int j = 0; j < L; j++)
        if (fill[j])
            c->valid[j] = 1;
    c->st.runs++;
    c->st.layer_evals += L - start;
    c->st.layer_evals_saved += start;
    c->st.seconds += axf_now() - t0;
    return 0;
}
