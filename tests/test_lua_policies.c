/* Every policy in scripts/ runs to completion on a small model, and the axformer policy's
 * decisions equal those of a C implementation of the same method written here against the session
 * API (same trials, same accepted actions, same order), for each acceptance rule.
 * argv[1]: the scripts folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lua_testutil.h"

static const char *g_scripts = "scripts";

/* ---- the method in C (docs/method.md), mirroring scripts/axformer.lua's parameters ---- */

typedef struct {
    const char *rule;
    double near_miss, majority, eps;
    int K, groups;
} ref_params;

static int ref_judge(axf_session *s, const ref_params *p, const axf_metrics *r,
                     const axf_metrics *cur)
{
    int lower = r->loss < cur->loss;
    if (!strcmp(p->rule, "accuracy"))
        return r->metric > cur->metric || (r->metric == cur->metric && lower);
    if (!lower)
        return 0;
    if (!strcmp(p->rule, "loss"))
        return 1;
    long long need = (long long)floor(r->n * p->majority);
    long long ok = r->n_no_worse;
    if (!strcmp(p->rule, "tolerance")) {
        const float *l = axf_session_trial_losses(s), *l0 = axf_session_baseline_losses(s);
        ok = 0;
        for (int j = 0; j < r->n; j++)
            ok += (double)l[j] <= (double)l0[j] + p->eps;
    }
    return ok > need;
}

/* Returns 1 accepted, 0 rejected, -1 not applicable; *loss = trial loss, *best = loss before. */
static int ref_attempt(axf_session *s, const ref_params *p, const axf_action *a, double *loss,
                       double *best)
{
    axf_err err;
    *loss = INFINITY;
    *best = NAN;
    if (axf_session_check(s, a, 1, &err))
        return -1;
    axf_metrics cur, r;
    axf_session_current(s, &cur);
    if (axf_session_try(s, a, 1, NULL, &r, &err)) {
        fprintf(stderr, "ref: %s\n", err.msg);
        return -1;
    }
    *loss = r.loss;
    *best = cur.loss;
    if (ref_judge(s, p, &r, &cur)) {
        if (axf_session_apply(s, a, 1, "ref", NULL, &err))
            fprintf(stderr, "ref apply: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static void ref_axformer(axf_session *s, const ref_params *p)
{
    axf_facts f;
    axf_session_facts(s, &f);
    double loss, best;
    for (int i = 0; i < f.n_layers; i++) { /* stage A, bottom up */
        const axf_layer_plan *lp = &axf_session_plan(s)->layers[i];
        if (lp->attn_on && lp->hard == AXF_HARD_OFF) {
            axf_action a = {.op = AXF_OP_SET_HARD, .layer = i, .hard = AXF_HARD_TOPK, .k = p->K};
            ref_attempt(s, p, &a, &loss, &best);
        }
    }
    for (int i = f.n_layers - 1; i >= 0; i--) { /* stage B, top down */
        if (axf_session_plan(s)->layers[i].ffn_on) {
            axf_action a = {.op = AXF_OP_DROP_FFN, .layer = i};
            int acc = ref_attempt(s, p, &a, &loss, &best);
            if (acc == 0 && loss < p->near_miss * best)
                for (int g = 0; g < p->groups; g++) {
                    if (!axf_session_plan(s)->layers[i].ffn_on)
                        break;
                    axf_action ag = {.op = AXF_OP_DROP_GROUP, .layer = i, .index = g,
                                     .groups = p->groups};
                    ref_attempt(s, p, &ag, &loss, &best);
                }
        }
        if (axf_session_plan(s)->layers[i].attn_on) {
            axf_action a = {.op = AXF_OP_DROP_ATTN, .layer = i};
            int acc = ref_attempt(s, p, &a, &loss, &best);
            if (acc == 0 && loss < p->near_miss * best)
                for (int h = 0; h < f.layer_heads[i]; h++) {
                    const axf_layer_plan *lp = &axf_session_plan(s)->layers[i];
                    if (!lp->attn_on)
                        break;
                    if (!lp->head_on[h])
                        continue;
                    axf_action ah = {.op = AXF_OP_DROP_HEAD, .layer = i, .index = h};
                    ref_attempt(s, p, &ah, &loss, &best);
                }
        }
    }
}

static int same_action(const axf_action *a, const axf_action *b)
{
    return a->op == b->op && a->layer == b->layer && a->index == b->index &&
           a->groups == b->groups && a->count == b->count && a->hard == b->hard && a->k == b->k &&
           a->threshold == b->threshold;
}

/* Both sessions made the same trials and committed the same steps, in the same order. */
static void compare_sessions(axf_session *a, axf_session *b, const char *what)
{
    int ta = axf_session_trials_len(a), tb = axf_session_trials_len(b);
    int ha = axf_session_history_len(a), hb = axf_session_history_len(b);
    CHECK_MSG(ta == tb, "%s: %d trials in Lua, %d in C", what, ta, tb);
    CHECK_MSG(ha == hb, "%s: %d steps in Lua, %d in C", what, ha, hb);
    for (int i = 0; i < ta && i < tb; i++) {
        axf_trial_entry x, y;
        axf_session_trial_get(a, i, &x);
        axf_session_trial_get(b, i, &y);
        char dx[128], dy[128];
        axf_action_describe(&x.actions[0], dx, sizeof dx);
        axf_action_describe(&y.actions[0], dy, sizeof dy);
        CHECK_MSG(x.n_actions == 1 && y.n_actions == 1 && same_action(x.actions, y.actions) &&
                      x.metrics.loss == y.metrics.loss,
                  "%s: trial %d: Lua %s (%.6f), C %s (%.6f)", what, i, dx, x.metrics.loss, dy,
                  y.metrics.loss);
        if (!same_action(x.actions, y.actions))
            break;
    }
    for (int i = 0; i < ha && i < hb; i++) {
        axf_history_entry x, y;
        axf_session_history_get(a, i, &x);
        axf_session_history_get(b, i, &y);
        char dx[128], dy[128];
        axf_action_describe(&x.actions[0], dx, sizeof dx);
        axf_action_describe(&y.actions[0], dy, sizeof dy);
        CHECK_MSG(same_action(x.actions, y.actions) && x.after.loss == y.after.loss,
                  "%s: step %d: Lua %s, C %s", what, i + 1, dx, dy);
    }
}

static axf_luahost *run_policy(axf_session *s, const char *script, const char *const *sets,
                               int n_sets, lt_log *log, int *rc_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_scripts, script);
    axf_luahost *h = lt_host(s, log, -1, 0);
    axf_err err;
    int rc = axf_luahost_load(h, path, sets, n_sets, &err);
    CHECK_MSG(rc == 0, "%s: load: %s", script, err.msg);
    if (rc) {
        *rc_out = -1;
        return h;
    }
    int n = 0;
    while ((rc = axf_luahost_step(h, &err)) == AXF_LUA_STEPPED)
        n++;
    CHECK_MSG(rc == AXF_LUA_FINISHED, "%s: %s", script, rc ? err.msg : "");
    CHECK(axf_luahost_state(h) == AXF_LUA_DONE);
    CHECK(axf_luahost_steps(h) == n);
    CHECK_MSG(axf_session_history_len(s) == n, "%s: %d steps, history %d", script, n,
              axf_session_history_len(s));
    *rc_out = rc;
    return h;
}

static void test_axformer_matches_c(const lt_fixture *fx, const char *rule, double majority,
                                    double eps)
{
    char setrule[64], setmaj[64], seteps[64];
    snprintf(setrule, sizeof setrule, "rule=%s", rule);
    snprintf(setmaj, sizeof setmaj, "majority=%g", majority);
    snprintf(seteps, sizeof seteps, "eps=%g", eps);
    const char *sets[] = {setrule, setmaj, seteps};
    axf_session *sl = lt_open(fx), *sc = lt_open(fx);
    if (!sl || !sc) {
        CHECK(0);
        return;
    }
    lt_log log = {0};
    int rc;
    axf_luahost *h = run_policy(sl, "axformer.lua", sets, 3, &log, &rc);
    ref_params p = {rule, 1.1, majority, eps, 30, 12};
    ref_axformer(sc, &p);
    char what[64];
    snprintf(what, sizeof what, "axformer rule=%s majority=%g eps=%g", rule, majority, eps);
    compare_sessions(sl, sc, what);
    fprintf(stderr, "%s: %d trials, %d steps (C: %d, %d)\n", what, axf_session_trials_len(sl),
            axf_session_history_len(sl), axf_session_trials_len(sc), axf_session_history_len(sc));
    CHECK(axf_session_trials_len(sl) > 10);
    /* the recorded policy: name, file hash, params */
    CHECK(!strcmp(axf_session_policy_name(sl), "axformer.lua"));
    CHECK(strlen(axf_session_policy_sha256(sl)) == 64);
    CHECK(strstr(axf_session_policy_params(sl), rule) != NULL);
    /* one trial line per trial, one explanation per step */
    CHECK(log.trials == axf_session_trials_len(sl));
    CHECK(log.steps == axf_session_history_len(sl));
    axf_luahost_free(h);
    axf_session_free(sl);
    axf_session_free(sc);
}

static void test_all_policies(const lt_fixture *fx)
{
    struct {
        const char *script;
        const char *sets[3];
        int n_sets, min_steps;
    } cases[] = {
        {"axformer.lua", {NULL}, 0, 0},
        {"axformer.lua", {"stages=BA", "prune_order=bottom_up", "ffn_first=false"}, 3, 0},
        {"heads_gradient.lua", {NULL}, 0, 1},
        {"heads_gradient.lua", {"importance=magnitude", "keep_last=true"}, 2, 1},
        {"drop_layers.lua", {"strategy=top", "count=2"}, 2, 2},
        {"drop_layers.lua", {"strategy=bottom", "count=1"}, 2, 1},
        {"drop_layers.lua", {"strategy=alternate", "count=2"}, 2, 2},
        {"random.lua", {"target=elements", "elements=6"}, 2, 6},
        {"random.lua", {"target=params", "keep=0.8", "kinds=heads,groups,ffn"}, 3, 1},
        {"random.lua", {"target=flops", "keep=0.9"}, 2, 1},
        {"hard_attention_sweep.lua", {NULL}, 0, 0},
        {"hard_attention_sweep.lua", {"mode=threshold", "rule=reference"}, 2, 0},
        {"quantize_all.lua", {NULL}, 0, 8},
        {"quantize_all.lua", {"blocks=ffn"}, 1, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        axf_session *s = lt_open(fx);
        if (!s) {
            CHECK(0);
            continue;
        }
        lt_log log = {0};
        int rc;
        double t0 = axf_now();
        axf_luahost *h = run_policy(s, cases[i].script, cases[i].sets, cases[i].n_sets, &log, &rc);
        CHECK_MSG(axf_session_history_len(s) >= cases[i].min_steps, "%s: %d steps",
                  cases[i].script, axf_session_history_len(s));
        fprintf(stderr, "%-26s %-40s %2d steps %3d trials %.2fs\n", cases[i].script,
                cases[i].n_sets ? cases[i].sets[0] : "(defaults)", axf_session_history_len(s),
                axf_session_trials_len(s), axf_now() - t0);
        axf_luahost_free(h);
        axf_session_free(s);
    }
    /* quantize_all: every block int8, one step each, then the word embeddings (embed=false: not
     * them); the model a quarter of its encoder size */
    for (int embed = 1; embed >= 0; embed--) {
        axf_session *s = lt_open(fx);
        lt_log log = {0};
        int rc;
        const char *no_embed[] = {"embed=false"};
        axf_luahost *h = run_policy(s, "quantize_all.lua", embed ? NULL : no_embed, embed ? 0 : 1, &log, &rc);
        const axf_plan *p = axf_session_plan(s);
        int all = axf_session_history_len(s) == 2 * p->n_layers + embed && p->int8_embed == embed;
        for (int i = 0; i < p->n_layers; i++)
            all &= p->layers[i].int8_attn && p->layers[i].int8_ffn;
        CHECK_MSG(all, "quantize_all.lua embed=%d: %d steps", embed, axf_session_history_len(s));
        axf_metrics m, b;
        axf_session_current(s, &m);
        axf_session_baseline(s, &b);
        CHECK(m.size_bytes < b.size_bytes && m.params == b.params && m.loss != b.loss);
        axf_luahost_free(h);
        axf_session_free(s);
    }
    /* axformer with int8: after each layer's pruning, int8 for its blocks is tried (and judged) */
    {
        axf_session *s = lt_open(fx);
        lt_log log = {0};
        int rc, tried = 0;
        const char *sets[] = {"int8=true", "rule=loss", "stages=B"};
        axf_luahost *h = run_policy(s, "axformer.lua", sets, 3, &log, &rc);
        for (int i = 0; i < axf_session_trials_len(s); i++) {
            axf_trial_entry t;
            axf_session_trial_get(s, i, &t);
            tried += t.n_actions == 1 && t.actions[0].op == AXF_OP_QUANTIZE;
        }
        int embed_tried = 0;
        for (int i = 0; i < axf_session_trials_len(s); i++) {
            axf_trial_entry t;
            axf_session_trial_get(s, i, &t);
            embed_tried += t.n_actions == 1 && t.actions[0].op == AXF_OP_QUANTIZE && t.actions[0].block == AXF_BLOCK_EMBED;
        }
        fprintf(stderr, "axformer int8=true: %d quantize trials (%d of the embeddings), %d steps\n", tried, embed_tried,
                axf_session_history_len(s));
        CHECK(tried >= 5 && embed_tried == 1);
        axf_luahost_free(h);
        axf_session_free(s);
    }
    /* random.lua is seeded: the same seed removes the same elements */
    const char *sets[] = {"target=elements", "elements=5", "seed=42"};
    axf_session *a = lt_open(fx), *b = lt_open(fx);
    lt_log la = {0}, lb = {0};
    int rc;
    axf_luahost *ha = run_policy(a, "random.lua", sets, 3, &la, &rc);
    axf_luahost *hb = run_policy(b, "random.lua", sets, 3, &lb, &rc);
    compare_sessions(a, b, "random.lua twice with seed=42");
    axf_luahost_free(ha);
    axf_luahost_free(hb);
    axf_session_free(a);
    axf_session_free(b);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_scripts = argv[1];
    axf_set_threads(1);
    lt_fixture fx;
    if (lt_fixture_make(&fx, 4, 32, 4, 64, 200, 12)) {
        fprintf(stderr, "cannot build the fixture\n");
        return 1;
    }
    test_all_policies(&fx);
    test_axformer_matches_c(&fx, "reference", 0.5, 0);
    test_axformer_matches_c(&fx, "reference", 0.6, 0);
    test_axformer_matches_c(&fx, "loss", 0.5, 0);
    test_axformer_matches_c(&fx, "tolerance", 0.6, 0.005);
    test_axformer_matches_c(&fx, "accuracy", 0.5, 0);
    lt_fixture_remove(&fx);
    return CHECK_DONE();
}
