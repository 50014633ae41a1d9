/* Plans and actions: every operation, the range and state checks (one-line messages naming the
 * layer / head / group), the block invariant, names and parsing, and the FLOP / parameter
 * accounting against the compacted model's own numbers. */
#include <math.h>
#include <string.h>

#include "approx_testutil.h"
#include "axf/compact.h"
#include "check.h"

static int apply(axf_plan *p, axf_op op, int layer, int index, axf_err *err)
{
    axf_action a;
    memset(&a, 0, sizeof a);
    a.op = op;
    a.layer = layer;
    a.index = index;
    a.count = 1;
    return axf_plan_apply(p, &a, NULL, NULL, err);
}

static void test_basics(const axf_model *m)
{
    axf_plan *p = axf_plan_new(m), *q = axf_plan_clone(p);
    CHECK(axf_plan_is_dense(p));
    CHECK(axf_plan_equal(p, q));
    CHECK(axf_plan_first_diff(p, q) == m->cfg.n_layers);
    axf_err err;
    CHECK(apply(p, AXF_OP_DROP_HEAD, 2, 1, &err) == 0);
    CHECK(!axf_plan_is_dense(p));
    CHECK(axf_plan_first_diff(p, q) == 2);
    axf_plan_copy(q, p);
    CHECK(axf_plan_equal(p, q));
    /* unused hard parameters do not make plans differ */
    q->layers[0].k = 7;
    CHECK(axf_plan_equal(p, q));
    axf_plan_free(p);
    axf_plan_free(q);
}

static void test_checks(const axf_model *m)
{
    axf_plan *p = axf_plan_new(m), *before = axf_plan_new(m);
    axf_err err;
    err.msg[0] = 0;
    CHECK(apply(p, AXF_OP_DROP_HEAD, 9, 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "layer 9 out of range") != NULL, "%s", err.msg);
    CHECK(apply(p, AXF_OP_DROP_HEAD, 1, 4, &err) == -1);
    CHECK_MSG(strstr(err.msg, "head 4 out of range") && strstr(err.msg, "L1.h4"), "%s", err.msg);
    CHECK(apply(p, AXF_OP_DROP_HEAD, -1, 0, &err) == -1);
    axf_action a = {.op = AXF_OP_DROP_GROUP, .layer = 0, .index = 12, .groups = 12};
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "group 12 out of range"), "%s", err.msg);
    a = (axf_action){.op = AXF_OP_DROP_NEURONS, .layer = 0, .index = 30, .count = 5};
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "out of range"), "%s", err.msg);
    a = (axf_action){.op = AXF_OP_SET_HARD, .layer = 0, .hard = AXF_HARD_THRESHOLD, .threshold = 2};
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == -1);
    a = (axf_action){.op = (axf_op)99, .layer = 0};
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == -1);
    CHECK(apply(p, AXF_OP_RESTORE_HEAD, 0, 0, &err) == -1); /* present */
    CHECK_MSG(strstr(err.msg, "present"), "%s", err.msg);
    CHECK(axf_plan_equal(p, before)); /* failures change nothing */

    CHECK(apply(p, AXF_OP_DROP_ATTN, 1, 0, &err) == 0);
    CHECK(apply(p, AXF_OP_DROP_ATTN, 1, 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "already removed"), "%s", err.msg);
    CHECK(apply(p, AXF_OP_DROP_HEAD, 1, 0, &err) == -1);
    a = (axf_action){.op = AXF_OP_SET_HARD, .layer = 1, .hard = AXF_HARD_TOPK};
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == -1); /* no attention to harden */
    CHECK(apply(p, AXF_OP_RESTORE_ATTN, 1, 0, &err) == 0);
    CHECK(axf_plan_equal(p, before));
    axf_plan_free(p);
    axf_plan_free(before);
}

static void test_invariant(const axf_model *m)
{
    axf_plan *p = axf_plan_new(m);
    axf_err err;
    int nh = m->cfg.layer_heads[0];
    for (int h = 0; h < nh; h++)
        CHECK(apply(p, AXF_OP_DROP_HEAD, 0, h, &err) == 0);
    CHECK(p->layers[0].attn_on == 0); /* last head gone = block gone */
    CHECK(axf_plan_heads_on(&p->layers[0]) == 0);
    CHECK(apply(p, AXF_OP_RESTORE_HEAD, 0, 2, &err) == 0);
    CHECK(p->layers[0].attn_on && axf_plan_heads_on(&p->layers[0]) == 1 && p->layers[0].head_on[2]);

    axf_action g = {.op = AXF_OP_DROP_GROUP, .layer = 1, .groups = 3};
    for (int i = 0; i < 3; i++) {
        g.index = i;
        CHECK(axf_plan_apply(p, &g, NULL, NULL, &err) == 0);
    }
    CHECK(p->layers[1].ffn_on == 0);
    CHECK(axf_plan_neurons_on(&p->layers[1]) == 0);
    g.op = AXF_OP_RESTORE_GROUP;
    g.index = 1;
    CHECK(axf_plan_apply(p, &g, NULL, NULL, &err) == 0);
    int lo, hi;
    axf_plan_group_range(m->cfg.layer_ffn[1], 3, 1, &lo, &hi);
    CHECK(axf_plan_neurons_on(&p->layers[1]) == hi - lo);
    CHECK(axf_plan_group_state(&p->layers[1], 1, 3) == 1 && axf_plan_group_state(&p->layers[1], 0, 3) == 0);

    /* groups cover every neuron once even when G does not divide f */
    int covered = 0;
    for (int k = 0; k < 7; k++) {
        axf_plan_group_range(30, 7, k, &lo, &hi);
        covered += hi - lo;
        CHECK(hi > lo);
    }
    CHECK(covered == 30);

    /* drop_layer, then restore_layer brings both blocks back (with what they had) */
    CHECK(apply(p, AXF_OP_DROP_LAYER, 2, 0, &err) == 0);
    CHECK(!p->layers[2].attn_on && !p->layers[2].ffn_on);
    CHECK(apply(p, AXF_OP_DROP_LAYER, 2, 0, &err) == -1);
    CHECK(apply(p, AXF_OP_RESTORE_LAYER, 2, 0, &err) == 0);
    CHECK(p->layers[2].attn_on && p->layers[2].ffn_on);
    axf_plan_free(p);
}

static void test_defaults_and_names(void)
{
    for (int op = 0; op < AXF_OP_COUNT; op++)
        CHECK(axf_op_from_name(axf_op_name((axf_op)op)) == op);
    CHECK(axf_op_from_name("explode") == -1);
    for (int h = 0; h < 4; h++)
        CHECK(axf_hard_mode_from_name(axf_hard_mode_name((axf_hard_mode)h)) == h);

    axf_action a;
    axf_err err;
    CHECK(axf_action_parse("drop_head 3 5", &a, &err) == 0);
    CHECK(a.op == AXF_OP_DROP_HEAD && a.layer == 3 && a.index == 5);
    CHECK(axf_action_parse("drop_group 2 7 groups=12", &a, &err) == 0);
    CHECK(a.op == AXF_OP_DROP_GROUP && a.index == 7 && a.groups == 12);
    CHECK(axf_action_parse("set_hard 0 mode=threshold threshold=0.05", &a, &err) == 0);
    CHECK(a.hard == AXF_HARD_THRESHOLD && fabsf(a.threshold - 0.05f) < 1e-7f);
    CHECK(axf_action_parse("set_hard 1", &a, &err) == 0 && a.hard == AXF_HARD_TOPK);
    CHECK(axf_action_parse("frobnicate 1", &a, &err) == -1);
    CHECK(axf_action_parse("drop_head", &a, &err) == -1);
    CHECK(axf_action_parse("drop_head 1 2 3", &a, &err) == -1);
    CHECK(axf_action_parse("drop_head 1 x", &a, &err) == -1);
    CHECK(axf_action_parse("set_hard 1 mode=sideways", &a, &err) == -1);
    char buf[64];
    a = (axf_action){.op = AXF_OP_DROP_HEAD, .layer = 3, .index = 5};
    axf_action_describe(&a, buf, sizeof buf);
    CHECK(!strcmp(buf, "drop_head L3.h5"));
}

static void test_resolve(const axf_model *m)
{
    axf_plan *p = axf_plan_new(m);
    axf_plan_defaults d = {3, 7, 0.2f};
    axf_action a = {.op = AXF_OP_SET_HARD, .layer = 0, .hard = AXF_HARD_TOPK}, r;
    axf_err err;
    CHECK(axf_plan_apply(p, &a, &d, &r, &err) == 0);
    CHECK(r.k == 7 && p->layers[0].k == 7 && p->layers[0].hard == AXF_HARD_TOPK);
    CHECK(axf_plan_apply(p, &r, &d, NULL, &err) == -1); /* same setting: nothing to change */
    a = (axf_action){.op = AXF_OP_DROP_GROUP, .layer = 0, .index = 2};
    CHECK(axf_plan_apply(p, &a, &d, &r, &err) == 0);
    CHECK(r.groups == 3);
    axf_plan_free(p);
}

static void test_accounting(const axf_model *m)
{
    axf_rng r;
    axf_rng_seed(&r, 7);
    for (int t = 0; t < 40; t++) {
        axf_plan *p = axf_plan_new(m);
        tu_random_plan(p, &r, t % 13, 0);
        axf_err err;
        axf_model *cm = axf_compact(m, p, NULL, &err);
        CHECK_MSG(cm != NULL, "%s", err.msg);
        if (!cm) {
            axf_plan_free(p);
            continue;
        }
        CHECK(axf_plan_params(m, p) == axf_model_params(cm));
        for (int n = 1; n <= 40; n += 13) {
            double a = axf_plan_flops_per_token(m, p, n), b = axf_model_flops_per_token(cm, n);
            CHECK_NEAR(a, b, 1e-9 * b + 1e-9);
        }
        axf_model_free(cm);
        axf_plan_free(p);
    }
    /* top-k counts min(K, n) keys in the value aggregation */
    axf_plan *p = axf_plan_new(m);
    double dense = axf_plan_flops_per_token(m, p, 20);
    axf_action a = {.op = AXF_OP_SET_HARD, .layer = 0, .hard = AXF_HARD_TOPK, .k = 5};
    axf_err err;
    CHECK(axf_plan_apply(p, &a, NULL, NULL, &err) == 0);
    double hard = axf_plan_flops_per_token(m, p, 20);
    CHECK_NEAR(dense - hard, 2.0 * (20 - 5) * m->cfg.layer_heads[0] * m->cfg.head_dim, 1e-6);
    CHECK_NEAR(axf_plan_flops_per_token(m, p, 4), axf_model_flops_per_token(m, 4), 1e-6);
    axf_plan_free(p);
}

int main(void)
{
    axf_model *m = tu_model(60, 16, 4, 4, 30, 2, 11);
    test_basics(m);
    test_checks(m);
    test_invariant(m);
    test_defaults_and_names();
    test_resolve(m);
    test_accounting(m);
    axf_model_free(m);
    return CHECK_DONE();
}
