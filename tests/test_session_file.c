/* Session files: save/load round trip (history, trials, cursor, plan, policy, seed), replay that
 * passes and replay that names the first tampered step, and bad files (truncated, garbled, newer
 * version, another model, other data, out-of-range actions, wrong types) refused with one line
 * while the session in use stays intact.
 *
 * Also the helper of the end-to-end test (tests/session_e2e.sh):
 *   test_session_file prepare DIR        writes DIR/model, DIR/data.tsv, DIR/s.json
 *   test_session_file verify-export DIR  loads DIR/exp like `axf eval` and compares with s.json */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "approx_testutil.h"
#include "axf/compact.h"
#include "axf/fileio.h"
#include "axf/session.h"
#include "axf/sessionfile.h"
#include "check.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = axf_xmalloc((size_t)len + 1);
    size_t got = fread(b, 1, (size_t)len, f);
    fclose(f);
    b[got] = 0;
    if (n)
        *n = got;
    return b;
}

static void spit(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static axf_session_opts opts(void)
{
    axf_session_opts o = axf_session_opts_default();
    o.task = "sst2";
    o.batch = 16;
    o.groups = 3;
    return o;
}

/* Model + data + a session with several kinds of steps, one undone. */
static axf_session *prepare(const char *dir, axf_err *err)
{
    char mdir[4200], data[4200];
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    snprintf(data, sizeof data, "%s/data.tsv", dir);
    axf_model *m = tu_model(200, 32, 4, 4, 36, 2, 77);
    tu_write_model_and_data(m, mdir, data, 80, 78);
    axf_model_free(m);
    axf_session_opts o = opts();
    axf_session *s = axf_session_open(mdir, data, &o, err);
    if (!s)
        return NULL;
    axf_action steps[] = {
        {.op = AXF_OP_DROP_HEAD, .layer = 3, .index = 0},
        {.op = AXF_OP_SET_HARD, .layer = 1, .hard = AXF_HARD_TOPK, .k = 4},
        {.op = AXF_OP_DROP_GROUP, .layer = 2, .index = 1},
        {.op = AXF_OP_SET_HARD, .layer = 2, .hard = AXF_HARD_THRESHOLD, .threshold = 0.1f},
        {.op = AXF_OP_DROP_FFN, .layer = 0},
        {.op = AXF_OP_DROP_LAYER, .layer = 3},
        {.op = AXF_OP_QUANTIZE, .layer = 2, .block = AXF_BLOCK_FFN},
        {.op = AXF_OP_QUANTIZE, .layer = 1, .block = AXF_BLOCK_ATTN},
        {.op = AXF_OP_QUANTIZE, .layer = 0, .block = AXF_BLOCK_EMBED},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char note[32];
        snprintf(note, sizeof note, "step \"%zu\"\n", i + 1);
        if (i == 2 && axf_session_try(s, &steps[i], 1, "tried first", NULL, err))
            return NULL;
        if (axf_session_apply(s, &steps[i], 1, note, NULL, err))
            return NULL;
    }
    axf_action probe = {.op = AXF_OP_DROP_HEAD, .layer = 1, .index = 2};
    if (axf_session_try(s, &probe, 1, NULL, NULL, err) || axf_session_undo(s, err))
        return NULL;
    axf_session_note_trial(s, "rejected: majority rule");
    axf_session_set_seed(s, 0x8000000000000005ull);
    /* the policy file lies beside the session, where `axf replay` finds it to check its sha256 */
    static const char policy[] = "function run(s, p) end\n";
    char ppath[4200], sha[65];
    snprintf(ppath, sizeof ppath, "%s/handmade.lua", dir);
    spit(ppath, policy, sizeof policy - 1);
    axf_sha256_buf(policy, sizeof policy - 1, sha);
    if (axf_session_set_policy(s, "handmade.lua", sha, "{\"K\":30,\"rule\":\"reference\"}", err))
        return NULL;
    return s;
}

static int metrics_eq(const axf_metrics *a, const axf_metrics *b)
{
    return a->loss == b->loss && a->accuracy == b->accuracy && a->metric == b->metric && a->n == b->n &&
           a->n_no_worse == b->n_no_worse && a->params == b->params && a->flops_per_token == b->flops_per_token &&
           a->size_bytes == b->size_bytes;
}

static void test_round_trip(axf_session *s, const char *path)
{
    axf_err err;
    CHECK(axf_session_dirty(s));
    CHECK_MSG(axf_session_save(s, path, &err) == 0, "%s", err.msg);
    CHECK(!axf_session_dirty(s));
    axf_session *t = axf_session_load(path, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t)
        return;
    CHECK(!axf_session_dirty(t));
    CHECK(axf_session_history_len(t) == axf_session_history_len(s) && axf_session_cursor(t) == axf_session_cursor(s));
    for (int i = 0; i < axf_session_history_len(s); i++) {
        axf_history_entry a, b;
        axf_session_history_get(s, i, &a);
        axf_session_history_get(t, i, &b);
        CHECK(a.n_actions == b.n_actions && !memcmp(a.actions, b.actions, sizeof *a.actions * (size_t)a.n_actions));
        CHECK(!strcmp(a.note, b.note) && a.seconds == b.seconds && a.time == b.time);
        CHECK(metrics_eq(&a.before, &b.before) && metrics_eq(&a.after, &b.after));
    }
    CHECK(axf_session_trials_len(t) == axf_session_trials_len(s));
    axf_trial_entry ta, tb;
    int last = axf_session_trials_len(s) - 1;
    CHECK(axf_session_trial_get(t, last, &tb) == 0 && axf_session_trial_get(s, last, &ta) == 0);
    CHECK(!strcmp(tb.note, "rejected: majority rule") && ta.cursor == tb.cursor && metrics_eq(&ta.metrics, &tb.metrics));
    CHECK(axf_plan_equal(axf_session_plan(s), axf_session_plan(t)));
    CHECK(axf_session_seed(t) == 0x8000000000000005ull);
    CHECK(!strcmp(axf_session_policy_name(t), "handmade.lua") &&
          !strcmp(axf_session_policy_sha256(t), axf_session_policy_sha256(s)) &&
          strlen(axf_session_policy_sha256(t)) == 64);
    CHECK(!strcmp(axf_session_policy_params(t), "{\"K\":30,\"rule\":\"reference\"}"));
    axf_metrics a, b;
    axf_session_current(s, &a);
    axf_session_current(t, &b);
    CHECK(metrics_eq(&a, &b));
    axf_session_baseline(s, &a);
    axf_session_baseline(t, &b);
    CHECK(metrics_eq(&a, &b));
    axf_replay_result rr;
    axf_replay_opts ro = axf_replay_opts_default();
    CHECK_MSG(axf_session_replay(t, &ro, &rr, &err) == 0, "%s", err.msg);
    CHECK_MSG(rr.n_diffs == 0, "%d differences, first %s", rr.n_diffs, rr.diffs[0].field);
    CHECK(rr.steps == axf_session_history_len(t) && rr.trials == axf_session_trials_len(t));
    CHECK(rr.tol > 0 && rr.tol < 1e-3 && rr.logit_tol > 0);
    ro.exact = 1; /* the same build: every number bit for bit */
    CHECK_MSG(axf_session_replay(t, &ro, &rr, &err) == 0 && rr.n_diffs == 0, "%d differences, first %s",
              rr.n_diffs, rr.diffs[0].field);
    CHECK(rr.identical == rr.records && rr.records == 1 + 2 * rr.steps + rr.trials);
    CHECK(axf_session_cursor(t) == axf_session_cursor(s) && axf_plan_equal(axf_session_plan(s), axf_session_plan(t)));
    /* redo the undone step after loading: the plan becomes the top of the history */
    CHECK(axf_session_redo(t, &err) == 0 && axf_session_cursor(t) == axf_session_history_len(t));
    axf_session_free(t);
}

/* Rewrites the file with fn applied to its JSON tree. */
static void rewrite(const char *src, const char *dst, void (*fn)(cJSON *))
{
    char *text = slurp(src, NULL);
    cJSON *r = cJSON_Parse(text);
    fn(r);
    char *out = cJSON_Print(r);
    spit(dst, out, strlen(out));
    free(out);
    cJSON_Delete(r);
    free(text);
}

static void tamper_loss(cJSON *r)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 2);
    cJSON *after = cJSON_GetObjectItem(h, "after");
    cJSON *loss = cJSON_GetObjectItem(after, "loss");
    cJSON_SetNumberValue(loss, loss->valuedouble + 1e-3);
}
static void future_version(cJSON *r) { cJSON_SetNumberValue(cJSON_GetObjectItem(r, "version"), 99); }
static void bad_layer(cJSON *r)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 1);
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "actions"), 0);
    cJSON_SetNumberValue(cJSON_GetObjectItem(a, "layer"), 9);
}
static void bad_head(cJSON *r)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 0);
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "actions"), 0);
    cJSON_SetNumberValue(cJSON_GetObjectItem(a, "head"), 7);
}
static void no_cursor(cJSON *r) { cJSON_DeleteItemFromObject(r, "cursor"); }
static void cursor_text(cJSON *r) { cJSON_ReplaceItemInObject(r, "cursor", cJSON_CreateString("x")); }
static void cursor_big(cJSON *r) { cJSON_SetNumberValue(cJSON_GetObjectItem(r, "cursor"), 1000); }
static void set_first_op(cJSON *r, const char *op)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 0);
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "actions"), 0);
    cJSON_ReplaceItemInObject(a, "op", cJSON_CreateString(op));
}
static void bad_op(cJSON *r) { set_first_op(r, "explode_everything"); }
static void bad_sha(cJSON *r)
{
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "model"), "sha256", cJSON_CreateString("zz"));
}
static void other_sha(cJSON *r)
{
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "model"), "sha256",
                              cJSON_CreateString("0000000000000000000000000000000000000000000000000000000000000000"));
}
static void not_format(cJSON *r) { cJSON_ReplaceItemInObject(r, "format", cJSON_CreateString("something-else")); }
static void empty_actions(cJSON *r)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 0);
    cJSON_ReplaceItemInObject(h, "actions", cJSON_CreateArray());
}
/* issue 13: text from the file reaches messages escaped, or is refused where it names a file */
static void op_escape(cJSON *r) { set_first_op(r, "drop\n\x1b[2J"); }
static void path_newline(cJSON *r)
{
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "data"), "path", cJSON_CreateString("data\n.tsv"));
}
static void task_escape(cJSON *r)
{
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "data"), "task", cJSON_CreateString("\x1b]0;x\x07"));
}
static void metrics_string(cJSON *r)
{
    cJSON_ReplaceItemInObject(r, "baseline", cJSON_CreateString("good"));
}

static void bad_block(cJSON *r)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 6);
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "actions"), 0);
    cJSON_ReplaceItemInObject(a, "block", cJSON_CreateString("conv"));
}
static void no_block(cJSON *r)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 7);
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "actions"), 0), "block");
}

static void seed_negative(cJSON *r) { cJSON_ReplaceItemInObject(r, "seed", cJSON_CreateString("-1")); }
static void seed_overflow(cJSON *r)
{
    cJSON_ReplaceItemInObject(r, "seed", cJSON_CreateString("18446744073709551616"));
}

static void expect_load_fails(const char *path, const char *want, const char *label)
{
    axf_err err;
    err.msg[0] = 0;
    axf_session *t = axf_session_load(path, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(t == NULL, "%s: loaded", label);
    CHECK_MSG(err.msg[0] && !strchr(err.msg, '\n') && (!want || strstr(err.msg, want)), "%s: '%s' (want '%s')",
              label, err.msg, want ? want : "");
    axf_session_free(t);
}

static void test_bad_files(axf_session *s, const char *dir, const char *good)
{
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    axf_err err;

    /* replay of a tampered record names the step */
    rewrite(good, bad, tamper_loss);
    axf_session *t = axf_session_load(bad, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    axf_replay_result rr;
    CHECK(t && axf_session_replay(t, NULL, &rr, &err) == 0);
    CHECK_MSG(rr.n_diffs == 1 && !strcmp(rr.diffs[0].field, "history[2].after.loss") &&
                  strstr(rr.diffs[0].what, "step 3") && rr.diffs[0].recorded > rr.diffs[0].measured,
              "%d: %s %s", rr.n_diffs, rr.diffs[0].field, rr.diffs[0].what);
    axf_session_free(t);

    struct {
        void (*fn)(cJSON *);
        const char *want;
    } cases[] = {
        {future_version, "newer"},          {bad_layer, "history step 2"}, {bad_head, "head 7 out of range"},
        {no_cursor, "cursor: missing"},     {cursor_text, "cursor"},       {cursor_big, "cursor"},
        {bad_op, "unknown operation"},      {bad_sha, "sha256"},           {other_sha, "another model"},
        {not_format, "not a session file"}, {empty_actions, "actions"},    {metrics_string, "baseline"},
        {seed_negative, "seed"},            {seed_overflow, "seed"},
        {op_escape, "unknown operation 'drop\\n\\x1b[2J'"},
        {path_newline, "data.path: 'data\\n.tsv' holds a control character"},
        {task_escape, "data.task: '\\x1b]0;x\\x07' holds a control character"},
        {bad_block, "unknown block 'conv'"}, {no_block, "block"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite(good, bad, cases[i].fn);
        char label[32];
        snprintf(label, sizeof label, "case %zu", i);
        expect_load_fails(bad, cases[i].want, label);
    }

    size_t n;
    char *text = slurp(good, &n);
    /* issue 13: a key given twice (cJSON reads the first, Python the last) and text after the
     * closing brace were accepted */
    {
        char *dup = axf_xmalloc(n + 64);
        int k = snprintf(dup, n + 64, "{\"cursor\": 0,\n");
        memcpy(dup + k, text + 1, n); /* the rest, after the opening brace, with its NUL */
        spit(bad, dup, strlen(dup));
        expect_load_fails(bad, "line ", "duplicate key");
        expect_load_fails(bad, "key 'cursor' appears twice in one object (first at line 1)", "duplicate key");
        memcpy(dup, text, n);
        memcpy(dup + n, "\n{}\n", 5);
        spit(bad, dup, n + 4);
        expect_load_fails(bad, "trailing text after the JSON value", "text after the object");
        free(dup);
    }
    /* every truncation is refused */
    for (size_t cut = 0; cut < n - 2; cut += n / 97 + 1) {
        spit(bad, text, cut);
        char label[48];
        snprintf(label, sizeof label, "truncated at %zu", cut);
        expect_load_fails(bad, NULL, label);
    }
    /* garbled bytes: refused or loaded, never a crash, a leak or a half-built session */
    axf_rng r;
    axf_rng_seed(&r, 5);
    int refused = 0;
    for (int k = 0; k < 60; k++) {
        char *g = axf_xmalloc(n + 1);
        memcpy(g, text, n + 1);
        for (int j = 0; j < 3; j++)
            g[axf_rng_below(&r, (int)n)] = (char)(32 + axf_rng_below(&r, 95));
        spit(bad, g, n);
        free(g);
        t = axf_session_load(bad, NULL, NULL, NULL, NULL, &err);
        if (!t) {
            refused++;
            CHECK_MSG(err.msg[0] && !strchr(err.msg, '\n'), "garbled %d: '%s'", k, err.msg);
            if (getenv("AXF_TEST_VERBOSE")) fprintf(stderr, "garbled %d: %s\n", k, err.msg);
        }
        axf_session_free(t);
    }
    fprintf(stderr, "garbled files: %d of 60 refused, the rest still valid\n", refused);
    free(text);
    spit(bad, "", 0);
    expect_load_fails(bad, "empty file", "empty");
    spit(bad, "[1, 2]", 6);
    expect_load_fails(bad, "not a session file", "array");
    snprintf(bad, sizeof bad, "%s/missing.json", dir);
    expect_load_fails(bad, "missing.json", "missing file");

    /* the session in use is intact after all of that */
    axf_metrics before, after;
    axf_session_current(s, &before);
    const float *l = axf_session_losses(s, &err);
    double sum = 0;
    for (int j = 0; l && j < before.n; j++)
        sum += l[j];
    CHECK(l && fabs(sum / before.n - before.loss) < 1e-9);
    axf_action a = {.op = AXF_OP_DROP_HEAD, .layer = 0, .index = 1};
    CHECK(axf_session_apply(s, &a, 1, NULL, &after, &err) == 0);
    CHECK(axf_session_undo(s, &err) == 0);
}

static void test_identity_checks(axf_session *s, const char *dir, const char *good)
{
    axf_err err;
    char other[4200], data2[4200];
    snprintf(other, sizeof other, "%s/other", dir);
    snprintf(data2, sizeof data2, "%s/data2.tsv", dir);
    axf_model *m = tu_model(200, 32, 4, 4, 36, 2, 1234);
    tu_write_model_and_data(m, other, data2, 80, 79);
    axf_model_free(m);
    err.msg[0] = 0;
    CHECK(axf_session_load(good, other, NULL, NULL, NULL, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "another model"), "%s", err.msg);
    CHECK(axf_session_load(good, NULL, data2, NULL, NULL, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "other data"), "%s", err.msg);

    /* a failed save leaves the old file and the dirty flag alone */
    axf_session_set_seed(s, 3);
    char nowhere[4200];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/s.json", dir);
    CHECK(axf_session_save(s, nowhere, &err) == -1 && axf_session_dirty(s));
    axf_session *t = axf_session_load(good, NULL, NULL, NULL, NULL, &err);
    CHECK(t != NULL);
    axf_session_free(t);
}

/* Two sessions saving the same file: the one whose file was replaced since it saved refuses to
 * overwrite the other's, and says so; the other goes on saving. */
static void test_two_writers(axf_session *s, const char *dir, const char *good)
{
    axf_err err;
    char shared[4200];
    snprintf(shared, sizeof shared, "%s/shared.json", dir);
    axf_session *t = axf_session_load(good, NULL, NULL, NULL, NULL, &err);
    CHECK_MSG(t != NULL, "%s", err.msg);
    if (!t)
        return;
    CHECK(axf_session_save(s, shared, &err) == 0);
    CHECK(!axf_session_replaced(s, shared));
    CHECK(axf_session_save(s, shared, &err) == 0); /* its own file: saved again */
    CHECK(axf_session_save(t, shared, &err) == 0); /* t never saved here: it may replace it */
    CHECK(axf_session_replaced(s, shared) && !axf_session_replaced(t, shared));
    CHECK_MSG(axf_session_save(s, shared, &err) == -1 && strstr(err.msg, "shared.json: replaced "
                                                                    "by another writer"),
              "%s", err.msg);
    CHECK(axf_session_save(t, shared, &err) == 0);
    axf_file_id id;
    CHECK(axf_io_file_id(shared, &id) == 0);
    /* deleted in between: nothing to lose, saved again */
    unlink(shared);
    CHECK(axf_session_save(s, shared, &err) == 0 && !axf_session_replaced(s, shared));
    axf_session_free(t);
}

static int do_prepare(const char *dir)
{
    axf_err err;
    axf_session *s = prepare(dir, &err);
    if (!s) {
        fprintf(stderr, "prepare: %s\n", err.msg);
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/s.json", dir);
    CHECK(axf_session_redo(s, &err) == 0);
    CHECK(axf_session_save(s, path, &err) == 0);
    axf_metrics m;
    axf_session_current(s, &m);
    printf("loss=%.9f\naccuracy=%.9f\n", m.loss, m.accuracy);
    axf_session_free(s);
    return CHECK_DONE();
}

/* What `axf eval DIR/exp DIR/data.tsv` must reproduce, computed the way an evaluator of an export
 * does it: axf_model_load + axf_plan_load_hard + a dense forward pass. */
static int do_verify(const char *dir)
{
    axf_err err;
    char path[4200], expdir[4200], data[4200], vocab[4300];
    snprintf(path, sizeof path, "%s/s.json", dir);
    snprintf(expdir, sizeof expdir, "%s/exp", dir);
    snprintf(data, sizeof data, "%s/data.tsv", dir);
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", expdir);
    axf_session *s = axf_session_load(path, NULL, NULL, NULL, NULL, &err);
    axf_model *m = axf_model_load(expdir, &err);
    axf_plan *p = m ? axf_plan_load_hard(expdir, m, &err) : NULL;
    axf_vocab *v = axf_vocab_load(vocab, &err);
    axf_dataset *d = axf_dataset_load(data, "sst2", &err);
    CHECK_MSG(s && m && p && v && d, "%s", err.msg);
    if (!(s && m && p && v && d))
        return CHECK_DONE();
    axf_encoded *e = axf_encode_dataset(d, v, m->cfg.do_lower_case, 128, &err);
    float *lg = tu_logits(m, p, e, 16);
    double sum = 0;
    int correct = 0;
    for (int j = 0; j < e->n; j++) {
        const float *x = lg + 2 * j;
        double mx = fmax(x[0], x[1]);
        sum += mx + log(exp(x[0] - mx) + exp(x[1] - mx)) - x[e->labels[j]];
        correct += (x[1] > x[0]) == e->labels[j];
    }
    axf_metrics cur;
    axf_session_current(s, &cur);
    CHECK_NEAR(sum / e->n, cur.loss, 1e-5);
    CHECK_NEAR((double)correct / e->n, cur.accuracy, 1e-12);
    CHECK(axf_model_params(m) == cur.params);
    /* the export holds the session's int8 blocks as int8 (the file's bytes) and computes the very
     * logits of the session's plan */
    CHECK_MSG(axf_model_bytes(m) == cur.size_bytes, "%zu vs %zu bytes", axf_model_bytes(m), cur.size_bytes);
    CHECK(axf_model_has_int8(m, 2, AXF_BLOCK_FFN) && p->layers[2].int8_ffn);
    CHECK(m->word_q8.q && p->int8_embed);
    const float *sl = axf_session_logits(s, &err);
    CHECK_MSG(sl && !memcmp(sl, lg, sizeof(float) * 2 * (size_t)e->n), "export logits differ from the session's");
    fprintf(stderr, "export: loss %.7f vs session %.7f, accuracy %.4f vs %.4f\n", sum / e->n, cur.loss,
            (double)correct / e->n, cur.accuracy);
    free(lg);
    axf_encoded_free(e);
    axf_dataset_free(d);
    axf_vocab_free(v);
    axf_plan_free(p);
    axf_model_free(m);
    axf_session_free(s);
    return CHECK_DONE();
}

static void trial_f1(cJSON *r)
{
    cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "trials"), 1);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(t, "metrics"), "metric_name", cJSON_CreateString("f1"));
}
static void holdout_sha_bad(cJSON *r)
{
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "path", "held.tsv");
    cJSON_AddStringToObject(h, "sha256", "xyz");
    cJSON_ReplaceItemInObject(r, "holdout", h);
}
static void loss_null(cJSON *r) { cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "baseline"), "loss", cJSON_CreateNull()); }
static void no_worse_over_n(cJSON *r)
{
    cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "history"), 4);
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "before"), "n_no_worse"), 81);
}

/* The reader alone (axf/sessionfile.h): what the session holds, without model or data; every
 * problem names the file and the field's path. */
static void test_reader(axf_session *s, const char *dir, const char *good)
{
    axf_err err;
    axf_sessionfile f;
    CHECK_MSG(axf_sessionfile_read(good, &f, &err) == 0, "%s", err.msg);
    /* without distil steps the file is a version 1 file (session.h) */
    CHECK(f.version == 1 && f.n_steps == axf_session_history_len(s) &&
          f.cursor == axf_session_cursor(s) && f.n_trials == axf_session_trials_len(s));
    CHECK(f.has_policy && !strcmp(f.policy_name, "handmade.lua") && f.seed == 0x8000000000000005ull);
    CHECK(!strcmp(f.metric_name, "accuracy") && !strcmp(f.task, "sst2") && f.batch == 16 && f.groups == 3);
    CHECK(!strcmp(f.model_sha, axf_session_model_sha256(s)) && !strcmp(f.holdout_path, ""));
    axf_history_entry h;
    axf_session_history_get(s, 2, &h);
    CHECK(metrics_eq(&f.steps[2].after, &h.after) && f.steps[2].n_actions == h.n_actions &&
          !strcmp(f.steps[2].note, h.note));
    axf_trial_entry t;
    axf_session_trial_get(s, 1, &t);
    CHECK(metrics_eq(&f.trials[1].metrics, &t.metrics) && f.trials[1].cursor == t.cursor);
    axf_sessionfile_free(&f);

    char bad[4200];
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    struct {
        void (*fn)(cJSON *);
        const char *want; /* NULL: reads */
    } cases[] = {
        {trial_f1, "bad.json: trials[1].metrics.metric_name: 'f1' where the baseline has 'accuracy'"},
        {holdout_sha_bad, "bad.json: holdout.sha256: expected 64 lowercase hex digits"},
        {no_worse_over_n, "bad.json: history[4].before.n_no_worse: 81 is out of range [0, 80]"},
        {bad_op, "bad.json: history[0].actions[0].op: unknown operation 'explode_everything'"},
        {loss_null, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite(good, bad, cases[i].fn);
        int rc = axf_sessionfile_read(bad, &f, &err);
        if (cases[i].want)
            CHECK_MSG(rc == -1 && strstr(err.msg, cases[i].want), "reader case %zu: '%s'", i, rc ? err.msg : "read");
        else
            CHECK_MSG(rc == 0 && isnan(f.baseline.loss), "reader case %zu: %s", i, rc ? err.msg : "");
        axf_sessionfile_free(&f);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "prepare"))
        return do_prepare(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "verify-export"))
        return do_verify(argv[2]);
    char *dir = tu_tmpdir("session");
    axf_err err;
    axf_session *s = prepare(dir, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (s) {
        char good[4200];
        snprintf(good, sizeof good, "%s/s.json", dir);
        test_round_trip(s, good);
        test_reader(s, dir, good);
        test_bad_files(s, dir, good);
        test_identity_checks(s, dir, good);
        test_two_writers(s, dir, good);
        axf_session_free(s);
    }
    tu_rm_rf(dir);
    free(dir);
    return CHECK_DONE();
}
