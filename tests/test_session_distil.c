/* Distillation as a session step (issue 18) on the demo model: the step and its record, undo and
 * redo switching the weights (bit for bit the numbers from before), bad options and a cancel
 * changing nothing, save and load (the folder beside the file, its sha256), replay from the
 * original model, and the folder missing (the recorded distillation re-made, same sha256).
 * usage: test_session_distil DEMO_DIR OUT_DIR  (OUT_DIR/s.json is left for tests/session_distil.sh) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "axf/session.h"
#include "axf/train.h"
#include "check.h"

static int cancel_at;
static long last_step;
static int train_cb(const axf_train_status *st, void *ud)
{
    (void)ud;
    last_step = st->step;
    return cancel_at > 0 && st->step >= cancel_at;
}

static int same(const axf_metrics *a, const axf_metrics *b)
{
    return a->loss == b->loss && a->accuracy == b->accuracy && a->metric == b->metric &&
           a->n_no_worse == b->n_no_worse && a->params == b->params && a->size_bytes == b->size_bytes;
}

static void losses_eq(axf_session *s, const float *want, int n, const char *what)
{
    axf_err err;
    const float *l = axf_session_losses(s, &err);
    CHECK(l != NULL);
    int diff = 0;
    for (int i = 0; l && i < n; i++)
        diff += l[i] != want[i];
    if (diff)
        fprintf(stderr, "%s: %d per-sample losses differ\n", what, diff);
    CHECK(diff == 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_session_distil DEMO_DIR OUT_DIR\n");
        return 2;
    }
    char model[512], search[512], heldout[512], train[512], path[600], dir[640], cmd[1400];
    snprintf(model, sizeof model, "%s/model", argv[1]);
    snprintf(search, sizeof search, "%s/search.tsv", argv[1]);
    snprintf(heldout, sizeof heldout, "%s/heldout.tsv", argv[1]);
    snprintf(train, sizeof train, "%s/train.tsv", argv[1]);
    snprintf(path, sizeof path, "%s/s.json", argv[2]);
    snprintf(dir, sizeof dir, "%s.distil-3", path);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", argv[2], argv[2]);
    CHECK(system(cmd) == 0);

    axf_err err;
    axf_session_opts so = axf_session_opts_default();
    so.max_examples = 400; /* seconds, not minutes */
    axf_session *s = axf_session_open(model, search, &so, &err);
    if (!s) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    CHECK(axf_session_set_holdout(s, heldout, &err) == 0);
    axf_action a1, a2;
    CHECK(axf_action_parse("drop_layer 0", &a1, &err) == 0);
    CHECK(axf_action_parse("drop_ffn 1", &a2, &err) == 0);
    CHECK(axf_session_apply(s, &a1, 1, "by hand", NULL, &err) == 0);
    CHECK(axf_session_apply(s, &a2, 1, "by hand", NULL, &err) == 0);
    axf_metrics pruned, hb0, hc0;
    axf_session_current(s, &pruned);
    CHECK(axf_session_holdout_metrics(s, &hb0, &hc0, &err) == 0);
    int n = pruned.n;
    float *l_pruned = malloc(sizeof(float) * (size_t)n);
    memcpy(l_pruned, axf_session_losses(s, &err), sizeof(float) * (size_t)n);

    /* bad options: one line each, nothing changes */
    axf_session_distil_opts o = axf_session_distil_opts_default();
    o.train = train;
    o.steps = 60;
    o.eval_every = 20;
    o.lr = 1e-3f;
    o.progress = train_cb;
    axf_session_distil_opts bad = o;
    bad.alpha = 2;
    CHECK(axf_session_distil(s, &bad, NULL, NULL, &err) == -1 && strstr(err.msg, "alpha") && !strchr(err.msg, '\n'));
    bad = o;
    bad.train = "/nonexistent/train.tsv";
    CHECK(axf_session_distil(s, &bad, NULL, NULL, &err) == -1 && strstr(err.msg, "/nonexistent/train.tsv"));
    bad = o;
    bad.batch = 0;
    CHECK(axf_session_distil(s, &bad, NULL, NULL, &err) == -1 && strstr(err.msg, "batch"));
    /* a cancel in the middle changes nothing */
    cancel_at = 10;
    CHECK(axf_session_distil(s, &o, NULL, NULL, &err) == AXF_CANCELLED);
    CHECK(last_step >= 10 && last_step < 60);
    cancel_at = 0;
    CHECK(axf_session_history_len(s) == 2 && axf_session_cursor(s) == 2);
    axf_metrics m;
    axf_session_current(s, &m);
    CHECK(same(&m, &pruned));
    losses_eq(s, l_pruned, n, "after the cancel");

    /* the step (the counters since open go on across the weights switch) */
    axf_counters c0, c1;
    axf_session_counters(s, &c0);
    axf_metrics after;
    CHECK(axf_session_distil(s, &o, "by hand", &after, &err) == 0);
    printf("distil: search accuracy %.4f -> %.4f, loss %.4f -> %.4f\n", pruned.accuracy, after.accuracy, pruned.loss,
           after.loss);
    CHECK(axf_session_history_len(s) == 3 && axf_session_cursor(s) == 3);
    axf_session_counters(s, &c1);
    CHECK(c1.layer_evals > c0.layer_evals && c1.evals == c0.evals + 1 && c1.eval_seconds >= c0.eval_seconds);
    axf_history_entry h;
    CHECK(axf_session_history_get(s, 2, &h) == 0 && h.distil && h.n_actions == 0);
    CHECK(h.distil->steps_run == 60 && strlen(h.distil->sha) == 64);
    CHECK(same(&h.before, &pruned) && same(&h.after, &after));
    CHECK(after.loss != pruned.loss);                  /* the weights changed */
    CHECK(after.params == pruned.params && after.size_bytes == pruned.size_bytes); /* the structure did not */
    CHECK(after.accuracy >= pruned.accuracy - 0.01);   /* selected on the search split, the start included */
    char sha[65];
    memcpy(sha, h.distil->sha, 65);
    float *l_after = malloc(sizeof(float) * (size_t)n);
    memcpy(l_after, axf_session_losses(s, &err), sizeof(float) * (size_t)n);
    axf_metrics hb1, hc1;
    CHECK(axf_session_holdout_metrics(s, &hb1, &hc1, &err) == 0);
    CHECK(same(&hb1, &hb0));  /* the held-out baseline stays the original model's */
    CHECK(hc1.loss != hc0.loss);

    /* a prune after the distil step acts on the distilled weights; undo twice, redo */
    axf_action a3;
    CHECK(axf_action_parse("drop_head 2 0", &a3, &err) == 0);
    CHECK(axf_session_apply(s, &a3, 1, "by hand", NULL, &err) == 0);
    CHECK(axf_session_undo(s, &err) == 0);
    axf_session_current(s, &m);
    CHECK(same(&m, &after));
    losses_eq(s, l_after, n, "undo of the prune after the distil step");
    CHECK(axf_session_undo(s, &err) == 0);
    axf_session_current(s, &m);
    CHECK(same(&m, &pruned));
    losses_eq(s, l_pruned, n, "undo of the distil step");
    axf_metrics hb2, hc2;
    CHECK(axf_session_holdout_metrics(s, &hb2, &hc2, &err) == 0 && same(&hc2, &hc0));
    CHECK(axf_session_redo(s, &err) == 0);
    losses_eq(s, l_after, n, "redo of the distil step");
    CHECK(axf_session_redo(s, &err) == 0);
    axf_metrics with_prune;
    axf_session_current(s, &with_prune);

    /* save, load, replay from the original model; a folder of a step that is not a distil step
     * (left by an older history) is removed */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s.distil-2' && touch '%s.distil-2/model.safetensors'", path, path);
    CHECK(system(cmd) == 0);
    CHECK(axf_session_save(s, path, &err) == 0);
    struct stat st;
    snprintf(cmd, sizeof cmd, "%s.distil-2", path);
    CHECK(stat(cmd, &st) != 0);
    char wfile[700];
    snprintf(wfile, sizeof wfile, "%s/model.safetensors", dir);
    CHECK(stat(wfile, &st) == 0);
    axf_session_free(s);
    s = axf_session_load(path, NULL, NULL, NULL, NULL, &err);
    if (!s)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(s != NULL);
    if (!s)
        return CHECK_DONE();
    axf_session_current(s, &m);
    CHECK(same(&m, &with_prune));
    CHECK(axf_session_history_get(s, 2, &h) == 0 && h.distil && !strcmp(h.distil->sha, sha));
    axf_replay_opts ro = axf_replay_opts_default();
    ro.exact = 1;
    axf_replay_result rr;
    CHECK(axf_session_replay(s, &ro, &rr, &err) == 0);
    if (rr.n_diffs)
        fprintf(stderr, "replay: %s %s: recorded %.17g measured %.17g\n", rr.diffs[0].field, rr.diffs[0].what,
                rr.diffs[0].recorded, rr.diffs[0].measured);
    CHECK(rr.n_diffs == 0 && rr.steps == 4);
    CHECK(axf_session_goto(s, 3, &err) == 0);
    losses_eq(s, l_after, n, "the loaded distil step");
    axf_session_free(s);

    /* the folder missing: the recorded distillation is run again and gives the same weights */
    snprintf(cmd, sizeof cmd, "mv '%s' '%s.away'", dir, dir);
    CHECK(system(cmd) == 0);
    s = axf_session_load(path, NULL, NULL, NULL, NULL, &err);
    if (!s)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(s != NULL);
    if (s) {
        CHECK(axf_session_history_get(s, 2, &h) == 0 && !strcmp(h.distil->sha, sha));
        CHECK(axf_session_replay(s, &ro, &rr, &err) == 0 && rr.n_diffs == 0);
        axf_session_free(s);
    }
    snprintf(cmd, sizeof cmd, "mv '%s.away' '%s'", dir, dir);
    CHECK(system(cmd) == 0);
    free(l_pruned);
    free(l_after);
    return CHECK_DONE();
}
