/* The [CLS]-only last layer (axf_engine_layer_cls, used by axf_engine_forward and the evaluation
 * cache) against the full path (every layer in full, then the head): the same bits (the products'
 * arithmetic is fixed, axf/matmul.h, and the [CLS] rows go through the same operations) over random
 * plans with removed heads / neurons, blocks and layers off, layers with nh == 0 or f == 0 and every
 * hard-attention mode (top-k on the one [CLS] row must select as row 0 of the full matrix does).
 * Also: an observer gets the full path bit for bit; axf_engine_gemm_floor issues the very products
 * of the forward pass (recorded through the engine's axf__gemm_trace hook) and fewer multiply-adds than the
 * full path; the evaluation cache refills slots above the [CLS] layer and stays bit-identical to
 * an uncached run. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approx_testutil.h"
#include "axf/evalcache.h"
#include "check.h"
#include "../src/engine/gemm.h"

/* ---------- product call recorder (the engine's test hook) ---------- */

typedef struct {
    int T, N, K, ldx, ldy, acc;
} gemm_call;

#define MAX_CALLS 4096
static gemm_call calls[MAX_CALLS];
static int n_calls, recording;
static double macs;
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;

static void record(int T, int N, int K, int ldx, int ldy, int acc)
{
    if (!recording)
        return;
    pthread_mutex_lock(&rec_mu);
    if (n_calls < MAX_CALLS)
        calls[n_calls] = (gemm_call){T, N, K, ldx, ldy, acc};
    n_calls++;
    macs += (double)T * N * K;
    pthread_mutex_unlock(&rec_mu);
}

static void rec_start(void)
{
    axf__gemm_trace = record;
    n_calls = 0;
    macs = 0;
    recording = 1;
}

/* ---------- fixtures ---------- */

static axf_model *model_widths(const int *nh, const int *f, int L, uint64_t seed)
{
    axf_model *base = tu_model(50, 32, L, 4, 48, 3, seed);
    axf_config c = base->cfg;
    for (int i = 0; i < L; i++) {
        c.layer_heads[i] = nh[i];
        c.layer_ffn[i] = f[i];
        for (int h = 0; h < nh[i]; h++)
            c.head_ids[i][h] = (unsigned char)h;
    }
    axf_err err;
    axf_model *m = axf_model_new(&c, 0, &err);
    axf_rng r;
    axf_rng_seed(&r, seed + 5);
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] = 0.12f * axf_rng_normal(&r);
    for (int i = 0; i < L; i++) {
        tu_fill(m->layers[i].ln1_g, 32, &r, 1, 0.1f);
        tu_fill(m->layers[i].ln2_g, 32, &r, 1, 0.1f);
    }
    tu_fill(m->emb_ln_g, 32, &r, 1, 0.1f);
    axf_model_free(base);
    return m;
}

static unsigned char nbuf[AXF_MAX_LAYERS][256];

/* Random plan straight on the struct (not through actions): any mask, blocks off, layers skipped
 * (the top ones more often, which moves the [CLS] layer down), every hard mode, small k. */
static void random_plan(axf_plan *p, const axf_model *m, axf_rng *r, int allow_hard)
{
    memset(p, 0, sizeof *p);
    p->n_layers = m->cfg.n_layers;
    int top_off = axf_rng_below(r, 4) == 0 ? 1 + axf_rng_below(r, p->n_layers) : 0;
    for (int i = 0; i < p->n_layers; i++) {
        axf_layer_plan *lp = &p->layers[i];
        lp->nh = m->cfg.layer_heads[i];
        lp->f = m->cfg.layer_ffn[i];
        lp->attn_on = axf_rng_below(r, 5) != 0;
        lp->ffn_on = axf_rng_below(r, 5) != 0;
        if (i >= p->n_layers - top_off)
            lp->attn_on = lp->ffn_on = 0;
        for (int h = 0; h < lp->nh; h++)
            lp->head_on[h] = axf_rng_below(r, 3) != 0;
        lp->neuron_on = nbuf[i];
        for (int j = 0; j < lp->f; j++)
            lp->neuron_on[j] = axf_rng_below(r, 4) != 0;
        if (axf_rng_below(r, 4) == 0)
            memset(lp->neuron_on, 1, (size_t)lp->f);
        lp->hard = allow_hard ? (axf_hard_mode)axf_rng_below(r, 4) : AXF_HARD_OFF;
        lp->k = 1 + axf_rng_below(r, 8);
        lp->threshold = 0.02f + 0.1f * axf_rng_uniform(r);
    }
}

/* The full path: every layer in full, then the head. */
static void full_forward(axf_engine *e, const axf_plan *p, const axf_batch *b, float *h, float *logits)
{
    axf_engine_embed(e, NULL, b, h);
    for (int i = 0; i < p->n_layers; i++)
        axf_engine_layer(e, i, &p->layers[i], b, h);
    axf_engine_head(e, b, h, logits);
}

static void noop_observer(int layer, int seq, int head, int n, const float *probs, void *ud)
{
    (void)layer, (void)seq, (void)head, (void)n, (void)probs;
    ++*(int *)ud;
}

/* ---------- tests ---------- */

static void test_against_full(const char *name, axf_model *m, int trials, uint64_t seed)
{
    const int C = m->cfg.num_labels, H = m->cfg.hidden;
    axf_encoded *d = tu_data(40, 1, 40, m->cfg.vocab_size, C, seed);
    axf_err err;
    axf_engine *e = axf_engine_new(m, 4096, &err);
    float *h = axf_xmalloc(sizeof(float) * 4096 * (size_t)H);
    axf_rng r;
    axf_rng_seed(&r, seed + 1);
    double worst = 0;
    int same_bits = 0, seqs = 0, moved = 0;
    for (int t = 0; t < trials; t++) {
        axf_plan p;
        random_plan(&p, m, &r, 1);
        int first = axf_rng_below(&r, 30), cnt = 1 + axf_rng_below(&r, 10);
        axf_batch b = axf_encoded_batch(d, first, cnt);
        float want[16 * AXF_MAX_LABELS], got[16 * AXF_MAX_LABELS];
        full_forward(e, &p, &b, h, want);
        CHECK_MSG(axf_engine_forward(e, &p, &b, got, &err) == 0, "%s", err.msg);
        moved += axf_engine_last_live_layer(e, &p) < p.n_layers - 1;
        for (int i = 0; i < cnt * C; i++) {
            double dd = fabs((double)got[i] - want[i]);
            worst = dd > worst ? dd : worst;
            CHECK_MSG(dd == 0, "%s trial %d logit %d: %.9g vs %.9g", name, t, i, got[i], want[i]);
        }
        same_bits += !memcmp(got, want, sizeof(float) * (size_t)cnt * C);
        seqs += cnt;
        /* the [CLS] rows of the engine's hidden states are the full path's, bit for bit */
        const float *eh = axf_engine_hidden(e);
        for (int s = 0; s < cnt; s++) {
            size_t row = (size_t)(b.seq_off[s] - b.seq_off[0]) * H;
            for (int j = 0; j < H; j++)
                CHECK(eh[row + j] == h[row + j]);
        }
        /* an observer sees every query row: the full path, bit for bit */
        int obs_calls = 0;
        axf_engine_set_observer(e, noop_observer, &obs_calls);
        CHECK(axf_engine_forward(e, &p, &b, got, &err) == 0);
        axf_engine_set_observer(e, NULL, NULL);
        CHECK(!memcmp(got, want, sizeof(float) * (size_t)cnt * C));
    }
    fprintf(stderr, "%s: %d trials (%d with the [CLS] layer below the top), %d sequences, max |dlogit| "
                    "%.3g, %d trials bit-identical\n", name, trials, moved, seqs, worst, same_bits);
    CHECK(moved > 0);
    CHECK(same_bits == trials);
    free(h);
    axf_engine_free(e);
    axf_encoded_free(d);
}

static int same_calls(const gemm_call *a, int na, const gemm_call *b, int nb)
{
    return na == nb && !memcmp(a, b, sizeof *a * (size_t)na);
}

/* The bench's floor issues the forward pass's sgemm calls (dense attention: the sparse gather of
 * hard attention is not an sgemm), and the forward pass does fewer multiply-adds than the full
 * path. */
static void test_gemm_floor(axf_model *m)
{
    axf_encoded *d = tu_data(12, 3, 30, m->cfg.vocab_size, m->cfg.num_labels, 77);
    axf_err err;
    axf_engine *e = axf_engine_new(m, 4096, &err);
    float *h = axf_xmalloc(sizeof(float) * 4096 * (size_t)m->cfg.hidden), lg[12 * AXF_MAX_LABELS];
    static gemm_call fwd[MAX_CALLS];
    axf_rng r;
    axf_rng_seed(&r, 78);
    axf_batch b = axf_encoded_batch(d, 0, 12);
    int fewer = 0;
    axf_plan *dense = axf_plan_new(m);
    for (int t = 0; t < 20; t++) {
        axf_plan rp, *p = t ? &rp : dense;
        random_plan(&rp, m, &r, 0);
        rec_start();
        CHECK(axf_engine_forward(e, t ? p : NULL, &b, lg, &err) == 0);
        int nf = n_calls;
        double mf = macs;
        memcpy(fwd, calls, sizeof *fwd * (size_t)(nf < MAX_CALLS ? nf : MAX_CALLS));
        rec_start();
        CHECK(axf_engine_gemm_floor(e, t ? p : NULL, &b, lg, &err) == 0);
        CHECK_MSG(same_calls(fwd, nf, calls, n_calls), "trial %d: floor issues %d sgemm calls, forward %d", t,
                  n_calls, nf);
        rec_start();
        full_forward(e, p, &b, h, lg);
        recording = 0;
        CHECK_MSG(mf <= macs, "trial %d: forward %.0f multiply-adds, full path %.0f", t, mf, macs);
        fewer += mf < macs; /* equal when the [CLS] layer has no product left */
    }
    recording = 0;
    CHECK(fewer >= 10);
    axf_plan_free(dense);
    free(h);
    axf_engine_free(e);
    axf_encoded_free(d);
}

static void eval_both(axf_evalcache *c, axf_evalcache *u, const axf_plan *p, int n, int C, const char *what)
{
    axf_err err;
    float *a = axf_xmalloc(sizeof(float) * (size_t)n * C), *b = axf_xmalloc(sizeof(float) * (size_t)n * C);
    CHECK(axf_evalcache_run(c, p, 1, a, NULL, NULL, NULL, &err) == 0);
    CHECK(axf_evalcache_run(u, p, 0, b, NULL, NULL, NULL, &err) == 0);
    CHECK_MSG(!memcmp(a, b, sizeof(float) * (size_t)n * C), "%s: cached differs from uncached", what);
    free(a);
    free(b);
}

static axf_plan *with(const axf_plan *p, const char *action)
{
    axf_plan *q = axf_plan_clone(p);
    axf_action a;
    axf_err err;
    CHECK_MSG(axf_action_parse(action, &a, &err) == 0 && axf_plan_apply(q, &a, NULL, NULL, &err) == 0, "%s: %s",
              action, err.msg);
    return q;
}

/* Slots above the [CLS] layer: committing "layer 2 dropped" from a change at layer 0 leaves slots
 * 1..3 stale; a trial that also drops layer 3 makes layer 1 the [CLS] layer and refills slots 2 and
 * 3 with layer 1's full output; a later trial at layer 3 starts from slot 3. */
static void test_cache(void)
{
    axf_model *m = tu_model(40, 32, 4, 4, 32, 2, 31);
    axf_encoded *d = tu_data(30, 2, 20, 40, 2, 32);
    axf_err err;
    int n = d->n, C = 2;
    axf_evalcache *c = axf_evalcache_new(m, d, 8, (size_t)1 << 30, &err);
    axf_evalcache *u = axf_evalcache_new(m, d, 8, 0, &err);
    axf_plan *dense = axf_plan_new(m);
    eval_both(c, u, dense, n, C, "dense");
    axf_plan *p1 = with(dense, "drop_layer 2"), *p = with(p1, "drop_head 0 1");
    axf_evalcache_commit(c, p);
    axf_plan *t1 = with(p, "drop_layer 3");
    CHECK(axf_engine_last_live_layer(axf_evalcache_engine(c), t1) == 1);
    eval_both(c, u, t1, n, C, "drop layer 3 over stale slots");
    CHECK(axf_evalcache_start_layer(c, 3) == 3);
    axf_plan *t2 = with(p, "drop_head 3 0");
    axf_evalcache_stats s0, s1;
    axf_evalcache_stats_get(c, &s0);
    eval_both(c, u, t2, n, C, "trial at layer 3 from the refilled slot");
    axf_evalcache_stats_get(c, &s1);
    CHECK(s1.layer_evals - s0.layer_evals == 1);
    /* dropping the top layer from a full cache re-runs the one below it, in [CLS] form */
    axf_plan *t3 = with(p, "drop_ffn 3"), *t4 = with(t3, "drop_attn 3");
    eval_both(c, u, t3, n, C, "drop ffn 3");
    eval_both(c, u, t4, n, C, "drop layer 3 from valid slots");
    axf_plan_free(dense);
    axf_plan_free(p1);
    axf_plan_free(p);
    axf_plan_free(t1);
    axf_plan_free(t2);
    axf_plan_free(t3);
    axf_plan_free(t4);
    axf_evalcache_free(c);
    axf_evalcache_free(u);
    axf_encoded_free(d);
    axf_model_free(m);
}

int main(void)
{
    axf_set_threads(1);
    axf_model *m = tu_model(50, 32, 3, 4, 48, 3, 1);
    test_against_full("uniform", m, 150, 2);
    test_gemm_floor(m);
    axf_model_free(m);
    int nh[4] = {4, 0, 2, 0}, f[4] = {48, 20, 0, 17};
    m = model_widths(nh, f, 4, 3);
    test_against_full("widths, top layer without heads", m, 150, 4);
    test_gemm_floor(m);
    axf_model_free(m);
    int nh2[3] = {3, 2, 4}, f2[3] = {0, 30, 0};
    m = model_widths(nh2, f2, 3, 5);
    test_against_full("widths, top layer without FFN", m, 150, 6);
    axf_model_free(m);
    test_cache();
    axf_set_threads(2);
    m = tu_model(50, 32, 3, 4, 48, 3, 7);
    test_against_full("uniform, 2 threads", m, 40, 8);
    axf_model_free(m);
    axf_set_threads(1);
    return CHECK_DONE();
}
