/* Benchmarks of the approximation core on random weights (speed does not depend on the values;
 * the search's decisions do, which is why the cache counts are labelled "random weights").
 *
 *   test_approx_bench compact [--layers L --hidden H --heads NH --ffn F --n N --reps R]
 *       original vs masked vs compacted forward passes for a ladder of plans: tokens/s,
 *       FLOPs/token, params, safetensors file size; speedup against FLOP reduction.
 *   test_approx_bench search [--layers L --hidden H --heads NH --ffn F --n N --groups G]
 *       the method's stage B (top-down: FFN block, near-miss FFN groups, attention block,
 *       near-miss heads; reference acceptance rule; --near-miss 1e9 refines every block, the most
 *       evaluations the method can make) through the session API, once with the layer
 *       cache and once without: evaluations, layer-evaluations, wall time; checks both runs made
 *       the same decisions.
 *   test_approx_bench quick      both on tiny sizes (the ctest: it must run, not be fast)
 * Output: key=value lines on stdout. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "approx_testutil.h"
#include "axf/compact.h"
#include "axf/session.h"
#include "check.h"

typedef struct cfg {
    int layers, hidden, heads, ffn, n, reps, groups, minlen, maxlen;
    double near_miss;
} cfg;

/* CPU seconds of the process: on a machine shared with other jobs, wall time measures the other
 * jobs too; with OPENBLAS_NUM_THREADS=1 CPU time is the work of this pass alone. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int use_cpu_time;

/* Seconds of one pass over e (batches of 32). */
static double pass_seconds(axf_engine *eng, const axf_plan *p, const axf_encoded *e, float *lg)
{
    axf_err err;
    double (*clock_fn)(void) = use_cpu_time ? cpu_now : axf_now;
    double t0 = clock_fn();
    for (int s = 0; s < e->n; s += 32) {
        int cnt = e->n - s < 32 ? e->n - s : 32;
        axf_batch b = axf_encoded_batch(e, s, cnt);
        axf_engine_forward(eng, p, &b, lg, &err);
    }
    return clock_fn() - t0;
}

/* Tokens/s of k (model, plan) pairs, timed in turns within each repetition so that a change in
 * the machine's load hits all of them alike; best of reps after one warm-up turn. */
static void time_fwd_many(const axf_model **m, const axf_plan **p, int k, const axf_encoded *e, int reps,
                          double *tps)
{
    int maxt = 1;
    for (int s = 0; s < e->n; s += 32) {
        int cnt = e->n - s < 32 ? e->n - s : 32, t = e->off[s + cnt] - e->off[s];
        maxt = t > maxt ? t : maxt;
    }
    axf_err err;
    axf_engine *eng[8];
    float *lg = axf_xmalloc(sizeof(float) * 32 * AXF_MAX_LABELS);
    double best[8];
    for (int j = 0; j < k; j++) {
        eng[j] = axf_engine_new(m[j], maxt, &err);
        best[j] = INFINITY;
    }
    for (int r = 0; r < reps + 1; r++)
        for (int j = 0; j < k; j++) {
            double dt = pass_seconds(eng[j], p[j], e, lg);
            if (r > 0 && dt < best[j])
                best[j] = dt;
        }
    for (int j = 0; j < k; j++) {
        tps[j] = e->off[e->n] / best[j];
        axf_engine_free(eng[j]);
    }
    free(lg);
}

static long long st_size(const axf_model *m, const char *dir)
{
    axf_err err;
    char p[4200];
    struct stat st;
    if (axf_model_save(m, dir, &err))
        return -1;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static void act(axf_plan *p, axf_op op, int layer, int index, int groups)
{
    axf_action a = {.op = op, .layer = layer, .index = index, .groups = groups};
    axf_err err;
    if (axf_plan_apply(p, &a, NULL, NULL, &err))
        fprintf(stderr, "bench plan: %s\n", err.msg);
}

static int bench_compact(const cfg *c)
{
    axf_model *m = tu_model(1000, c->hidden, c->layers, c->heads, c->ffn, 2, 1);
    axf_encoded *e = tu_data(c->n, c->minlen, c->maxlen, 1000, 2, 2);
    char *dir = tu_tmpdir("bench");
    char sub[4200];
    int L = c->layers;
    const char *thr = getenv("OPENBLAS_NUM_THREADS");
    use_cpu_time = thr && !strcmp(thr, "1");
    printf("model=random layers=%d hidden=%d heads=%d ffn=%d examples=%d tokens=%d mean_len=%.1f threads=%s "
           "clock=%s\n", L, c->hidden, c->heads, c->ffn, e->n, e->off[e->n], (double)e->off[e->n] / e->n,
           thr ? thr : "default", use_cpu_time ? "cpu" : "wall");
    snprintf(sub, sizeof sub, "%s/orig", dir);
    long long size0 = st_size(m, sub);
    double mean = (double)e->off[e->n] / e->n;
    double fl0 = axf_model_flops_per_token(m, (int)lround(mean));
    size_t par0 = axf_model_params(m);
    printf("plan=original flops_per_token=%.4g params=%zu file_bytes=%lld\n", fl0, par0, size0);
    const char *names[] = {"ffn_half_layers", "heads_half", "groups_half", "mixed", "drop_half_layers"};
    for (int k = 0; k < 5; k++) {
        axf_plan *p = axf_plan_new(m), *hard = NULL;
        for (int i = 0; i < L; i++) {
            if (k == 0 && i % 2)
                act(p, AXF_OP_DROP_FFN, i, 0, 0);
            if (k == 1)
                for (int h = 0; h < c->heads; h += 2)
                    act(p, AXF_OP_DROP_HEAD, i, h, 0);
            if (k == 2)
                for (int g = 0; g < c->groups; g += 2)
                    act(p, AXF_OP_DROP_GROUP, i, g, c->groups);
            if (k == 3) { /* what a search typically leaves: a few blocks, heads and groups */
                if (i % 3 == 0)
                    act(p, AXF_OP_DROP_FFN, i, 0, 0);
                if (i % 4 == 1)
                    act(p, AXF_OP_DROP_ATTN, i, 0, 0);
                if (i % 3 == 1)
                    for (int g = 0; g < c->groups / 3; g++)
                        act(p, AXF_OP_DROP_GROUP, i, g, c->groups);
                if (i % 3 == 2 && p->layers[i].attn_on)
                    act(p, AXF_OP_DROP_HEAD, i, 1, 0);
            }
            if (k == 4 && i >= L / 2)
                act(p, AXF_OP_DROP_LAYER, i, 0, 0);
        }
        axf_err err;
        axf_model *cm = axf_compact(m, p, &hard, &err);
        snprintf(sub, sizeof sub, "%s/%s", dir, names[k]);
        long long size = st_size(cm, sub);
        const axf_model *ms[3] = {m, m, cm};
        const axf_plan *ps[3] = {NULL, p, hard};
        double tps[3];
        time_fwd_many(ms, ps, 3, e, c->reps, tps);
        double fl = axf_model_flops_per_token(cm, (int)lround(mean));
        printf("plan=%s tokens_per_s_original=%.0f tokens_per_s_masked=%.0f tokens_per_s_compact=%.0f "
               "speedup=%.3f flop_reduction=%.3f flops_per_token=%.4g params=%zu file_bytes=%lld "
               "size_reduction=%.3f\n",
               names[k], tps[0], tps[1], tps[2], tps[2] / tps[0], fl0 / fl, fl, axf_model_params(cm), size,
               (double)size0 / size);
        axf_model_free(cm);
        axf_plan_free(hard);
        axf_plan_free(p);
    }
    tu_rm_rf(dir);
    free(dir);
    axf_encoded_free(e);
    axf_model_free(m);
    return 0;
}

/* ---- the method's stage B through the session API ---- */

typedef struct search_res {
    int evals, accepted;
    long long layer_evals, saved;
    double seconds;
    unsigned char decisions[4096];
} search_res;

static int accept_rule(const axf_metrics *m, double best)
{
    return m->loss < best && m->n_no_worse > m->n / 2;
}

static int try_accept(axf_session *s, const axf_action *a, double *best, double *loss, search_res *r)
{
    axf_metrics m;
    axf_err err;
    if (axf_session_check(s, a, 1, &err))
        return -1;
    if (axf_session_try(s, a, 1, NULL, &m, &err)) {
        fprintf(stderr, "search: %s\n", err.msg);
        return -1;
    }
    int ok = accept_rule(&m, *best);
    if (r->evals < 4096)
        r->decisions[r->evals] = (unsigned char)ok;
    r->evals++;
    *loss = m.loss;
    if (ok) {
        axf_session_apply(s, a, 1, "accepted", NULL, &err);
        *best = m.loss;
        r->accepted++;
    }
    return ok;
}

static void stage_b(axf_session *s, int G, double near_miss, search_res *r)
{
    axf_metrics base;
    axf_session_baseline(s, &base);
    double best = base.loss, loss;
    axf_facts f;
    axf_session_facts(s, &f);
    double (*clock_fn)(void) = use_cpu_time ? cpu_now : axf_now;
    double t0 = clock_fn();
    for (int i = f.n_layers - 1; i >= 0; i--) {
        axf_action a = {.op = AXF_OP_DROP_FFN, .layer = i};
        if (try_accept(s, &a, &best, &loss, r) == 0 && loss < near_miss * best)
            for (int g = 0; g < G; g++) {
                axf_action ag = {.op = AXF_OP_DROP_GROUP, .layer = i, .index = g, .groups = G};
                try_accept(s, &ag, &best, &loss, r);
            }
        a.op = AXF_OP_DROP_ATTN;
        if (try_accept(s, &a, &best, &loss, r) == 0 && loss < near_miss * best)
            for (int h = 0; h < f.layer_heads[i]; h++) {
                axf_action ah = {.op = AXF_OP_DROP_HEAD, .layer = i, .index = h};
                try_accept(s, &ah, &best, &loss, r);
            }
    }
    r->seconds = clock_fn() - t0;
    axf_counters cn;
    axf_session_counters(s, &cn);
    r->layer_evals = cn.layer_evals;
    r->saved = cn.layer_evals_saved;
}

static int bench_search(const cfg *c)
{
    const char *thr = getenv("OPENBLAS_NUM_THREADS");
    use_cpu_time = thr && !strcmp(thr, "1");
    search_res res[2];
    memset(res, 0, sizeof res);
    for (int k = 0; k < 2; k++) {
        axf_model *m = tu_model(1000, c->hidden, c->layers, c->heads, c->ffn, 2, 11);
        axf_encoded *e = tu_data(c->n, c->minlen, c->maxlen, 1000, 2, 12);
        axf_session_opts o = axf_session_opts_default();
        o.batch = 32;
        o.groups = c->groups;
        o.cache_bytes = k == 0 ? (size_t)4 << 30 : 0;
        axf_err err;
        axf_session *s = axf_session_new(m, e, "sst2", &o, &err);
        if (!s) {
            fprintf(stderr, "search: %s\n", err.msg);
            return 1;
        }
        axf_counters c0;
        axf_session_counters(s, &c0);
        stage_b(s, c->groups, c->near_miss, &res[k]);
        /* the baseline evaluation is not part of the search */
        res[k].layer_evals -= c0.layer_evals;
        res[k].saved -= c0.layer_evals_saved;
        axf_session_free(s);
    }
    printf("search=stage_b weights=random near_miss=%g layers=%d hidden=%d heads=%d ffn=%d groups=%d examples=%d "
           "clock=%s\n", c->near_miss, c->layers, c->hidden, c->heads, c->ffn, c->groups, c->n,
           use_cpu_time ? "cpu" : "wall");
    for (int k = 0; k < 2; k++)
        printf("cache=%s evaluations=%d accepted=%d layer_evals=%lld layer_evals_saved=%lld seconds=%.2f\n",
               k ? "off" : "on", res[k].evals, res[k].accepted, res[k].layer_evals, res[k].saved, res[k].seconds);
    printf("layer_eval_ratio=%.3f time_ratio=%.3f\n", (double)res[1].layer_evals / res[0].layer_evals,
           res[1].seconds / res[0].seconds);
    int n = res[0].evals < 4096 ? res[0].evals : 4096;
    CHECK(res[0].evals == res[1].evals && !memcmp(res[0].decisions, res[1].decisions, (size_t)n));
    CHECK(res[1].layer_evals == (long long)res[1].evals * c->layers);
    CHECK(res[0].layer_evals < res[1].layer_evals);
    return check_failures != 0;
}

static int parse(cfg *c, int argc, char **argv)
{
    for (int i = 2; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--layers")) c->layers = v;
        else if (!strcmp(argv[i], "--hidden")) c->hidden = v;
        else if (!strcmp(argv[i], "--heads")) c->heads = v;
        else if (!strcmp(argv[i], "--ffn")) c->ffn = v;
        else if (!strcmp(argv[i], "--n")) c->n = v;
        else if (!strcmp(argv[i], "--reps")) c->reps = v;
        else if (!strcmp(argv[i], "--groups")) c->groups = v;
        else if (!strcmp(argv[i], "--maxlen")) c->maxlen = v;
        else if (!strcmp(argv[i], "--near-miss")) c->near_miss = atof(argv[i + 1]);
        else return fprintf(stderr, "unknown option %s\n", argv[i]), -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cfg c = {12, 384, 12, 1536, 2000, 5, 12, 4, 50, 1.1};
    const char *mode = argc > 1 ? argv[1] : "quick";
    if (!strcmp(mode, "quick")) {
        cfg q = {3, 32, 4, 64, 40, 1, 4, 3, 20, 1.1};
        int rc = bench_compact(&q);
        return rc | bench_search(&q);
    }
    if (parse(&c, argc, argv))
        return 2;
    if (!strcmp(mode, "compact"))
        return bench_compact(&c);
    if (!strcmp(mode, "search"))
        return bench_search(&c);
    fprintf(stderr, "usage: test_approx_bench compact|search|quick [--layers L ...]\n");
    return 2;
}
