/* Test helpers for the Lua host: a small random BERT written to a temporary folder with a
 * vocabulary and a TSV search split (so sessions can be saved AND loaded again), whose labels
 * agree with the model's own predictions on most examples (a "fine-tuned" model in miniature:
 * removals change losses in both directions, so acceptance rules have something to decide). */
#ifndef AXF_LUA_TESTUTIL_H
#define AXF_LUA_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/luahost.h"
#include "axf/model.h"
#include "axf/session.h"

typedef struct lt_fixture {
    char dir[256], model[300], data[300], holdout[300];
} lt_fixture;

static inline void lt_write_data(const char *path, int n, uint64_t seed, const int *labels)
{
    FILE *f = fopen(path, "w");
    axf_rng r;
    axf_rng_seed(&r, seed);
    fprintf(f, "sentence\tlabel\n");
    for (int i = 0; i < n; i++) {
        int len = 3 + axf_rng_below(&r, 14);
        for (int w = 0; w < len; w++)
            fprintf(f, "%sw%d", w ? " " : "", axf_rng_below(&r, 60));
        int random_label = axf_rng_below(&r, 2); /* drawn either way: same sentences */
        fprintf(f, "\t%d\n", labels ? labels[i] : random_label);
    }
    fclose(f);
}

/* Builds the fixture; returns 0 on success. */
static inline int lt_fixture_make(lt_fixture *fx, int layers, int hidden, int heads, int ffn, int n,
                           uint64_t seed)
{
    snprintf(fx->dir, sizeof fx->dir, "/tmp/axf_lua_test_XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->model, sizeof fx->model, "%s/model", fx->dir);
    snprintf(fx->data, sizeof fx->data, "%s/search.tsv", fx->dir);
    snprintf(fx->holdout, sizeof fx->holdout, "%s/heldout.tsv", fx->dir);
    axf_err err;
    axf_config cfg = axf_config_default(65, hidden, layers, heads, ffn, 2);
    cfg.max_pos = 64;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    if (!m)
        return -1;
    axf_model_init_random(m, seed);
    /* livelier than BERT's 0.02 (layers matter, logits are not ~0), LayerNorm gains left at 1 */
    for (size_t i = 0; i < m->n_floats; i++)
        m->arena[i] *= 4.0f;
    for (int i = 0; i < cfg.hidden; i++) {
        m->emb_ln_g[i] = 1;
        for (int l = 0; l < layers; l++)
            m->layers[l].ln1_g[i] = m->layers[l].ln2_g[i] = 1;
    }
    for (int i = 0; i < 2 * cfg.hidden; i++)
        m->cls_w[i] *= 15.0f; /* confident, like a fine-tuned classifier */
    char vp[400];
    snprintf(vp, sizeof vp, "%s/vocab.txt", fx->model);
    lt_write_data(fx->data, n, seed + 1, NULL);
    for (int pass = 0; pass < 2; pass++) {
        if (axf_model_save(m, fx->model, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            axf_model_free(m);
            return -1;
        }
        FILE *v = fopen(vp, "w");
        fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", v);
        for (int i = 0; i < 60; i++)
            fprintf(v, "w%d\n", i);
        fclose(v);
        if (pass == 1)
            break;
        /* centre the classifier so that both classes are predicted (median logit gap -> 0) */
        axf_session *s0 = axf_session_open(fx->model, fx->data, NULL, &err);
        if (!s0) {
            fprintf(stderr, "fixture: %s\n", err.msg);
            axf_model_free(m);
            return -1;
        }
        const float *lg = axf_session_logits(s0, &err);
        float *gap = malloc(sizeof(float) * (size_t)n);
        for (int i = 0; i < n; i++)
            gap[i] = lg[2 * i + 1] - lg[2 * i];
        for (int i = 1; i < n; i++) /* insertion sort: n is small */
            for (int j = i; j > 0 && gap[j - 1] > gap[j]; j--) {
                float t = gap[j];
                gap[j] = gap[j - 1];
                gap[j - 1] = t;
            }
        m->cls_b[1] -= gap[n / 2];
        free(gap);
        axf_session_free(s0);
    }
    axf_model_free(m);
    /* labels = the model's predictions, 30% flipped */
    axf_session *s = axf_session_open(fx->model, fx->data, NULL, &err);
    if (!s) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return -1;
    }
    const int *pred = axf_session_preds(s, &err);
    int *lab = malloc(sizeof(int) * (size_t)n);
    axf_rng r;
    axf_rng_seed(&r, seed + 7);
    for (int i = 0; i < n; i++)
        lab[i] = axf_rng_uniform(&r) < 0.3f ? 1 - pred[i] : pred[i];
    axf_session_free(s);
    lt_write_data(fx->data, n, seed + 1, lab);
    lt_write_data(fx->holdout, n / 2, seed + 2, NULL);
    free(lab);
    return 0;
}

static inline void lt_fixture_remove(lt_fixture *fx)
{
    char cmd[600];
    if (fx->dir[0] && strncmp(fx->dir, "/tmp/axf_lua_test_", 18) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", fx->dir);
    }
}

static inline axf_session *lt_open(const lt_fixture *fx)
{
    axf_err err;
    axf_session *s = axf_session_open(fx->model, fx->data, NULL, &err);
    if (!s)
        fprintf(stderr, "open: %s\n", err.msg);
    return s;
}

/* Collects log lines of a host. */
typedef struct lt_log {
    char buf[1 << 16];
    size_t n;
    int steps, trials, prints, status;
} lt_log;

static inline void lt_log_fn(axf_lua_log_kind kind, const char *line, void *ud)
{
    lt_log *l = ud;
    if (kind == AXF_LUA_LOG_STEP)
        l->steps++;
    else if (kind == AXF_LUA_LOG_TRIAL)
        l->trials++;
    else if (kind == AXF_LUA_LOG_PRINT)
        l->prints++;
    else
        l->status++;
    size_t len = strlen(line);
    if (l->n + len + 2 < sizeof l->buf) {
        memcpy(l->buf + l->n, line, len);
        l->n += len;
        l->buf[l->n++] = '\n';
        l->buf[l->n] = 0;
    }
}

static inline axf_luahost *lt_host(axf_session *s, lt_log *log, long long budget, size_t mem)
{
    axf_luahost_opts o = axf_luahost_opts_default();
    if (budget >= 0)
        o.budget = budget;
    if (mem)
        o.mem_cap = mem;
    o.log = log ? lt_log_fn : NULL;
    o.log_ud = log;
    axf_err err;
    axf_luahost *h = axf_luahost_new(s, &o, &err);
    if (!h)
        fprintf(stderr, "host: %s\n", err.msg);
    return h;
}

static inline int lt_load(axf_luahost *h, const char *name, const char *src, const char *const *sets,
                   int n_sets, axf_err *err)
{
    return axf_luahost_load_string(h, name, src, strlen(src), sets, n_sets, err);
}

#endif
