/* Read-only views of a search session: facts, accessors, the history and journal entries, the
 * counters, the policy's bookkeeping and the snapshot the screen draws. Split from session.c by job. */
#include "session_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- facts and accessors ---- */

void axf_session_facts(const axf_session *s, axf_facts *f)
{
    const axf_config *c = &s->m->cfg;
    memset(f, 0, sizeof *f);
    f->n_layers = c->n_layers;
    f->hidden = c->hidden;
    f->n_heads = c->n_heads;
    f->head_dim = c->head_dim;
    f->ffn = c->ffn;
    for (int i = 0; i < c->n_layers; i++) {
        f->layer_heads[i] = c->layer_heads[i];
        f->layer_ffn[i] = c->layer_ffn[i];
    }
    f->groups = s->defs.groups;
    f->hard_k = s->opts.hard_k;
    f->hard_threshold = s->opts.hard_threshold;
    f->num_labels = c->num_labels;
    f->task_kind = c->task;
    snprintf(f->task, sizeof f->task, "%s", s->task);
    snprintf(f->metric_name, sizeof f->metric_name, "%s", s->metric_name);
    f->params = axf_plan_params(s->m, s->orig);
    f->size_bytes = axf_plan_bytes(s->m, s->orig);
    f->flops_per_token = axf_plan_flops_per_token(s->m, s->orig, s->mean_len);
    f->mean_len = s->mean_len;
    f->n_search = s->enc->n;
    f->n_holdout = s->ho ? s->ho->n : 0;
    f->n_tokens = s->enc->off[s->enc->n] - s->enc->off[0];
}

const axf_model *axf_session_model(const axf_session *s) { return s->m; }

void axf_session_baseline(const axf_session *s, axf_metrics *out) { *out = s->base; }

const float *axf_session_baseline_losses(const axf_session *s) { return s->l0; }

const axf_plan *axf_session_plan(const axf_session *s) { return s->plan; }

axf_plan_defaults axf_session_defaults(const axf_session *s) { return s->defs; }

const char *axf_session_model_dir(const axf_session *s) { return s->model_dir_use; }

const char *axf_session_data_path(const axf_session *s) { return s->data_path; }

const char *axf_session_model_sha256(const axf_session *s) { return s->model_sha; }

/* ---- history ---- */

int axf_session_history_len(const axf_session *s) { return s->hist_len; }

int axf_session_cursor(const axf_session *s) { return s->cursor; }

int axf_session_history_get(const axf_session *s, int i, axf_history_entry *out)
{
    if (i < 0 || i >= s->hist_len)
        return -1;
    const hentry *h = &s->hist[i];
    *out = (axf_history_entry){.distil = h->kd, .n_actions = h->n, .actions = h->acts, .note = h->note, .seconds = h->seconds,
                               .time = h->time, .before = h->before, .after = h->after};
    return 0;
}

int axf_session_trials_len(const axf_session *s) { return s->trials_len; }

int axf_session_trial_get(const axf_session *s, int i, axf_trial_entry *out)
{
    if (i < 0 || i >= s->trials_len)
        return -1;
    const tentry *t = &s->trials[i];
    *out = (axf_trial_entry){.cursor = t->cursor, .n_actions = t->n, .actions = t->acts, .note = t->note,
                             .seconds = t->seconds, .metrics = t->m};
    return 0;
}

/* ---- counters ---- */

void axf_session_counters(const axf_session *s, axf_counters *out)
{
    axf_evalcache_stats st;
    axf_evalcache_stats_get(s->ec, &st);
    memset(out, 0, sizeof *out);
    out->evals = s->evals;
    out->evals_reused = s->evals_reused;
    out->layer_evals = st.layer_evals + s->cand_layer_evals + s->ec_past.layer_evals;
    out->layer_evals_saved = st.layer_evals_saved + s->cand_layer_evals_saved + s->ec_past.layer_evals_saved;
    out->eval_seconds = st.seconds + s->ec_past.seconds;
    out->cache_bytes = st.bytes;
    out->cache_slots = st.slots;
    if (s->cand_ec) { /* the candidate split's cache of the whole split (mpi_split.c) */
        axf_evalcache_stats_get(s->cand_ec, &st);
        out->eval_seconds += st.seconds;
        out->cache_bytes += st.bytes;
    }
}

/* ---- policy bookkeeping ---- */

void axf_session_set_seed(axf_session *s, uint64_t seed)
{
    if (s->seed != seed)
        s->dirty = 1;
    s->seed = seed;
}

uint64_t axf_session_seed(const axf_session *s) { return s->seed; }

const char *axf_session_policy_name(const axf_session *s) { return s->policy_name; }

const char *axf_session_policy_sha256(const axf_session *s) { return s->policy_sha; }

const char *axf_session_policy_params(const axf_session *s) { return s->policy_params; }

/* ---- snapshot ---- */

void axf_session_snapshot(const axf_session *s, axf_snapshot *o)
{
    memset(o, 0, sizeof *o);
    axf_session_facts(s, &o->facts);
    for (int i = 0; i < s->plan->n_layers; i++) {
        const axf_layer_plan *lp = &s->plan->layers[i];
        axf_layer_view *v = &o->layers[i];
        v->attn_on = lp->attn_on;
        v->ffn_on = lp->ffn_on;
        v->nh = lp->nh;
        for (int h = 0; h < lp->nh; h++)
            v->head_on[h] = lp->attn_on && lp->head_on[h];
        v->f = lp->f;
        v->f_on = axf_plan_neurons_on(lp);
        v->n_groups = s->defs.groups < lp->f ? s->defs.groups : lp->f;
        if (v->n_groups > AXF_MAX_GROUPS)
            v->n_groups = AXF_MAX_GROUPS;
        for (int g = 0; g < v->n_groups; g++)
            v->group_state[g] = (unsigned char)axf_plan_group_state(lp, g, v->n_groups);
        v->hard = lp->attn_on ? lp->hard : AXF_HARD_OFF;
        v->k = lp->k;
        v->threshold = lp->threshold;
        v->int8_attn = lp->attn_on && lp->int8_attn;
        v->int8_ffn = lp->ffn_on && lp->int8_ffn;
    }
    o->int8_embed = s->plan->int8_embed;
    o->baseline = s->base;
    o->current = s->cur;
    o->have_current = 1;
    o->history_len = s->hist_len;
    o->cursor = s->cursor;
    axf_session_counters(s, &o->counters);
    o->dirty = s->dirty;
    snprintf(o->policy, sizeof o->policy, "%s", s->policy_name);
}
