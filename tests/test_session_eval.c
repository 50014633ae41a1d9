/* The evaluation cache: cached and uncached evaluation give bit-identical logits and losses over a
 * random sequence of trials and commits (full cache and a budget that holds only some layers); a
 * trial at layer L runs only L..end; cancelling leaves the cache consistent. */
#include <string.h>

#include "approx_testutil.h"
#include "axf/evalcache.h"
#include "check.h"

static int cancel_after;
static int cancel_cb(double done, double total, void *ud)
{
    (void)total;
    (void)ud;
    return done >= cancel_after;
}

typedef struct out {
    float *logits, *losses;
} out;

static out out_new(int n, int C)
{
    out o = {axf_xmalloc(sizeof(float) * (size_t)n * C), axf_xmalloc(sizeof(float) * (size_t)n)};
    return o;
}

static void out_free(out *o)
{
    free(o->logits);
    free(o->losses);
}

static int same(const out *a, const out *b, int n, int C)
{
    return !memcmp(a->logits, b->logits, sizeof(float) * (size_t)n * C) &&
           !memcmp(a->losses, b->losses, sizeof(float) * (size_t)n);
}

static void run_sequence(const axf_model *m, const axf_encoded *e, size_t budget, long long *saved)
{
    axf_err err;
    int L = m->cfg.n_layers, C = m->cfg.num_labels, n = e->n;
    axf_evalcache *c = axf_evalcache_new(m, e, 16, budget, &err);
    axf_evalcache *u = axf_evalcache_new(m, e, 16, 0, &err);
    CHECK(c && u);
    if (!c || !u)
        return;
    out a = out_new(n, C), b = out_new(n, C);
    axf_plan *committed = axf_plan_new(m), *p = axf_plan_new(m);
    CHECK(axf_evalcache_run(c, committed, 1, a.logits, a.losses, NULL, NULL, &err) == 0);
    CHECK(axf_evalcache_run(u, committed, 0, b.logits, b.losses, NULL, NULL, &err) == 0);
    CHECK(same(&a, &b, n, C));
    axf_rng r;
    axf_rng_seed(&r, 99);
    int mismatches = 0;
    for (int step = 0; step < 40; step++) {
        axf_plan_copy(p, committed);
        tu_random_plan(p, &r, 1, 2);   /* int8 blocks too: a change invalidates from its layer */
        CHECK(axf_evalcache_run(c, p, 1, a.logits, a.losses, NULL, NULL, &err) == 0);
        CHECK(axf_evalcache_run(u, p, 0, b.logits, b.losses, NULL, NULL, &err) == 0);
        mismatches += !same(&a, &b, n, C);
        if (axf_rng_below(&r, 2)) {
            axf_plan_copy(committed, p);
            axf_evalcache_commit(c, committed);
        }
    }
    CHECK_MSG(mismatches == 0, "%d of 40 cached evaluations differ from uncached ones", mismatches);
    axf_evalcache_stats sc, su;
    axf_evalcache_stats_get(c, &sc);
    axf_evalcache_stats_get(u, &su);
    CHECK(su.layer_evals == (long long)L * 41 && su.layer_evals_saved == 0);
    CHECK(sc.layer_evals + sc.layer_evals_saved == su.layer_evals);
    *saved = sc.layer_evals_saved;
    fprintf(stderr, "budget %zu bytes (%d slots): %lld layer-evaluations instead of %lld\n", budget, sc.slots,
            sc.layer_evals, su.layer_evals);
    axf_plan_free(p);
    axf_plan_free(committed);
    out_free(&a);
    out_free(&b);
    axf_evalcache_free(c);
    axf_evalcache_free(u);
}

static void test_trial_cost(const axf_model *m, const axf_encoded *e)
{
    axf_err err;
    int L = m->cfg.n_layers;
    axf_evalcache *c = axf_evalcache_new(m, e, 16, (size_t)1 << 30, &err);
    axf_plan *p = axf_plan_new(m);
    axf_evalcache_stats s0, s1;
    CHECK(axf_evalcache_run(c, p, 1, NULL, NULL, NULL, NULL, &err) == 0); /* fills every slot */
    for (int layer = L - 1; layer >= 0; layer--) {
        axf_plan *t = axf_plan_clone(p);
        axf_action a = {.op = AXF_OP_DROP_FFN, .layer = layer};
        CHECK(axf_plan_apply(t, &a, NULL, NULL, &err) == 0);
        axf_evalcache_stats_get(c, &s0);
        CHECK(axf_evalcache_run(c, t, 1, NULL, NULL, NULL, NULL, &err) == 0);
        axf_evalcache_stats_get(c, &s1);
        CHECK_MSG(s1.layer_evals - s0.layer_evals == L - layer, "trial at layer %d ran %lld layers", layer,
                  s1.layer_evals - s0.layer_evals);
        axf_plan_free(t);
    }
    /* committing at layer 2 keeps slots <= 2 and drops the ones above */
    axf_action a = {.op = AXF_OP_DROP_HEAD, .layer = 2, .index = 0};
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == 0);
    axf_evalcache_commit(c, p);
    CHECK(axf_evalcache_start_layer(c, 2) == 2);
    CHECK(axf_evalcache_start_layer(c, L - 1) == 2);
    axf_plan_free(p);
    axf_evalcache_free(c);
}

static void test_cancel(const axf_model *m, const axf_encoded *e)
{
    axf_err err;
    int C = m->cfg.num_labels, n = e->n;
    axf_evalcache *c = axf_evalcache_new(m, e, 8, (size_t)1 << 30, &err);
    axf_evalcache *u = axf_evalcache_new(m, e, 8, 0, &err);
    out a = out_new(n, C), b = out_new(n, C);
    axf_plan *p = axf_plan_new(m);
    cancel_after = 2;
    err.msg[0] = 0;
    CHECK(axf_evalcache_run(c, p, 1, a.logits, a.losses, cancel_cb, NULL, &err) == AXF_CANCELLED);
    CHECK(strstr(err.msg, "cancelled") != NULL);
    CHECK(axf_evalcache_start_layer(c, m->cfg.n_layers - 1) == 0); /* nothing half-filled is trusted */
    CHECK(axf_evalcache_run(c, p, 1, a.logits, a.losses, NULL, NULL, &err) == 0);
    CHECK(axf_evalcache_run(u, p, 0, b.logits, b.losses, NULL, NULL, &err) == 0);
    CHECK(same(&a, &b, n, C));
    axf_plan_free(p);
    out_free(&a);
    out_free(&b);
    axf_evalcache_free(c);
    axf_evalcache_free(u);
}

static void test_bad_data(const axf_model *m)
{
    axf_err err;
    axf_encoded *e = tu_data(5, 3, 6, m->cfg.vocab_size, 2, 1);
    e->ids[4] = m->cfg.vocab_size + 3;
    err.msg[0] = 0;
    CHECK(axf_evalcache_new(m, e, 4, 0, &err) == NULL);
    CHECK(strstr(err.msg, "example") != NULL);
    e->ids[4] = 5;
    e->labels[2] = 7;
    CHECK(axf_evalcache_new(m, e, 4, 0, &err) == NULL);
    CHECK(strstr(err.msg, "label 7") != NULL);
    axf_encoded_free(e);
}

int main(void)
{
    axf_model *m = tu_model(90, 32, 6, 4, 40, 2, 3);
    axf_encoded *e = tu_data(70, 2, 30, 90, 2, 4);
    long long saved_full = 0, saved_part = 0;
    run_sequence(m, e, (size_t)1 << 30, &saved_full);
    size_t slot = sizeof(float) * (size_t)e->off[e->n] * 32;
    run_sequence(m, e, 2 * slot, &saved_part);
    CHECK(saved_full > saved_part && saved_part > 0);
    test_trial_cost(m, e);
    test_cancel(m, e);
    test_bad_data(m);
    axf_encoded_free(e);
    axf_model_free(m);
    return CHECK_DONE();
}
