/* Checkpoints of a training run: the model folder and the resume point DIR/last (model, optimiser
 * moments, loop position and RNG state), so an interrupted run continues bit for bit. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axf/compact.h"
#include "axf/fileio.h"
#include "axf/safetensors.h"
#include "internal.h"

int tr_save_model_dir(const axf_model *m, const axf_plan *plan, const axf_vocab *v, const char *dir,
                      axf_err *err)
{
    if (plan ? axf_compact_save(m, plan, dir, NULL, err) : axf_model_save(m, dir, err))
        return -1;
    return v ? axf_vocab_save_dir(v, dir, err) : 0;
}

static char *hex64(uint64_t x, char buf[17])
{
    snprintf(buf, 17, "%016" PRIx64, x);
    return buf;
}

int tr_state_save(const char *dir, const axf_model *m, const axf_plan *plan, const axf_vocab *v,
                  const axf_adamw *o, const tr_state *st, axf_err *err)
{
    char *last = axf_io_join(dir, "last");
    char *opt = axf_io_join(last, "optimizer.safetensors");
    char *js = axf_io_join(last, "trainer_state.json");
    int rc = -1;
    if (tr_save_model_dir(m, plan, v, last, err))
        goto out;
    axf_st_entry e[2] = {
        {.name = "adam.m", .data = o->m, .ndim = 1, .shape = {(int64_t)o->n}},
        {.name = "adam.v", .data = o->v, .ndim = 1, .shape = {(int64_t)o->n}},
    };
    if (axf_st_write(opt, e, 2, err))
        goto out;
    cJSON *r = cJSON_CreateObject();
    char h[2][17], seed[24];
    cJSON_AddStringToObject(r, "format", "axf-trainer-state");
    cJSON_AddNumberToObject(r, "version", 1);
    cJSON_AddStringToObject(r, "mode", st->mode);
    cJSON_AddNumberToObject(r, "step", (double)st->step);
    cJSON_AddNumberToObject(r, "total_steps", (double)st->total_steps);
    cJSON_AddNumberToObject(r, "epoch", st->epoch);
    cJSON_AddNumberToObject(r, "batch_in_epoch", st->batch_in_epoch);
    cJSON *rng = cJSON_AddArrayToObject(r, "rng");
    cJSON_AddItemToArray(rng, cJSON_CreateString(hex64(st->rng[0], h[0])));
    cJSON_AddItemToArray(rng, cJSON_CreateString(hex64(st->rng[1], h[1])));
    if (st->has_best)
        cJSON_AddNumberToObject(r, "best_metric", st->best_metric);
    else
        cJSON_AddNullToObject(r, "best_metric");
    cJSON_AddNumberToObject(r, "best_step", (double)st->best_step);
    cJSON_AddNumberToObject(r, "bad_evals", st->bad_evals);
    snprintf(seed, sizeof seed, "%" PRIu64, st->seed);
    cJSON_AddStringToObject(r, "seed", seed);
    cJSON_AddNumberToObject(r, "loss_ema", isfinite(st->loss_ema) ? st->loss_ema : 0.0);
    char *txt = cJSON_Print(r);
    cJSON_Delete(r);
    rc = axf_io_write_atomic(js, txt, strlen(txt), err);
    free(txt);
out:
    free(last);
    free(opt);
    free(js);
    return rc;
}

static int num(const cJSON *r, const char *key, double *out, const char *path, axf_err *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!cJSON_IsNumber(j))
        return axf_err_set(err, "%s: \"%s\" missing or not a number", path, key);
    *out = j->valuedouble;
    return 0;
}

int tr_state_load(const char *dir, axf_model *m, axf_adamw *o, tr_state *st, axf_err *err)
{
    char *last = axf_io_join(dir, "last");
    char *opt = axf_io_join(last, "optimizer.safetensors");
    char *js = axf_io_join(last, "trainer_state.json");
    char *txt = NULL;
    cJSON *r = NULL;
    axf_model *lm = NULL;
    axf_st_file *f = NULL;
    int rc = -1;
    if (access(js, F_OK) != 0) {
        rc = 0;
        goto out;
    }
    size_t len;
    if (!(txt = axf_io_read_file(js, 16u << 20, &len, err)) || axf_json_check(txt, len, js, err) != 0)
        goto out;
    r = cJSON_ParseWithLength(txt, len);
    if (!r) {
        axf_err_set(err, "%s: not valid JSON", js);
        goto out;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(r, "format");
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(r, "mode");
    const cJSON *rng = cJSON_GetObjectItemCaseSensitive(r, "rng");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(r, "seed");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "axf-trainer-state") != 0) {
        axf_err_set(err, "%s: not an axf trainer state", js);
        goto out;
    }
    double ver = 0, step = 0, total = 0, epoch = 0, bie = 0, bstep = 0, bad = 0, ema = 0;
    if (num(r, "version", &ver, js, err) || num(r, "step", &step, js, err) ||
        num(r, "total_steps", &total, js, err) || num(r, "epoch", &epoch, js, err) ||
        num(r, "batch_in_epoch", &bie, js, err) || num(r, "best_step", &bstep, js, err) ||
        num(r, "bad_evals", &bad, js, err))
        goto out;
    num(r, "loss_ema", &ema, js, NULL);
    if (ver != 1) {
        axf_err_set(err, "%s: trainer state version %g not supported (1 expected)", js, ver);
        goto out;
    }
    if (!cJSON_IsString(mode) || strlen(mode->valuestring) >= sizeof st->mode || !cJSON_IsArray(rng) ||
        cJSON_GetArraySize(rng) != 2 || !cJSON_IsString(seed)) {
        axf_err_set(err, "%s: \"mode\", \"rng\" or \"seed\" malformed", js);
        goto out;
    }
    memset(st, 0, sizeof *st);
    strcpy(st->mode, mode->valuestring);
    for (int i = 0; i < 2; i++) {
        const cJSON *h = cJSON_GetArrayItem(rng, i);
        char *end;
        if (!cJSON_IsString(h) || !*h->valuestring) {
            axf_err_set(err, "%s: rng[%d] is not a hex string", js, i);
            goto out;
        }
        st->rng[i] = strtoull(h->valuestring, &end, 16);
        if (*end) {
            axf_err_set(err, "%s: rng[%d] is not a hex string", js, i);
            goto out;
        }
    }
    st->seed = strtoull(seed->valuestring, NULL, 10);
    const cJSON *best = cJSON_GetObjectItemCaseSensitive(r, "best_metric");
    st->has_best = cJSON_IsNumber(best);
    st->best_metric = st->has_best ? best->valuedouble : 0;
    st->step = (long)step;
    st->total_steps = (long)total;
    st->epoch = (int)epoch;
    st->batch_in_epoch = (int)bie;
    st->best_step = (long)bstep;
    st->bad_evals = (int)bad;
    st->loss_ema = ema;
    if (st->step < 0 || st->epoch < 0 || st->batch_in_epoch < 0) {
        axf_err_set(err, "%s: negative step, epoch or batch index", js);
        goto out;
    }

    lm = axf_model_load(last, err);
    if (!lm)
        goto out;
    if (lm->n_floats != m->n_floats || lm->cfg.hidden != m->cfg.hidden || lm->cfg.n_layers != m->cfg.n_layers ||
        lm->cfg.vocab_size != m->cfg.vocab_size || (lm->mlm_bias != NULL) != (m->mlm_bias != NULL)) {
        axf_err_set(err, "%s: the saved model does not have the shape of this run's model", last);
        goto out;
    }
    memcpy(m->arena, lm->arena, m->n_floats * sizeof(float));
    f = axf_st_open(opt, err);
    if (!f)
        goto out;
    const axf_st_tensor *tm = axf_st_find(f, "adam.m"), *tv = axf_st_find(f, "adam.v");
    if (!tm || !tv) {
        axf_err_set(err, "%s: missing adam.m or adam.v", opt);
        goto out;
    }
    if (axf_st_read_f32(tm, o->m, o->n, err) || axf_st_read_f32(tv, o->v, o->n, err)) {
        axf_err_prefix(err, "%s", opt);
        goto out;
    }
    o->step = st->step;
    rc = 1;
out:
    axf_st_close(f);
    axf_model_free(lm);
    cJSON_Delete(r);
    AXF_FREE(txt, last, opt, js);
    return rc;
}
