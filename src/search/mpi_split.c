/* The candidate split (dist.h, axf_dist_split): the trials of one batch, all on the committed
 * plan, are shared out whole among the ranks (trial k on rank k mod N), each rank evaluating its
 * trials over the whole split with a layer cache of its own (s->cand_ec). The trials' records are
 * then gathered in one collective, and the outputs of the batch's last trial are sent by the rank
 * that ran it, so that every rank leaves the batch in the state one process leaves it in. */
#include "session_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/dist.h"

/* What every rank learns of a trial, ahead of the caller's record. */
typedef struct split_head {
    double seconds;
    long long layer_evals, layer_evals_saved;
} split_head;

int axf__split_by_candidate(axf_session *s, int n)
{
    int N = axf_dist_size();
    axf_dist_split mode = axf_dist_split_mode();
    if (n < 2 || mode == AXF_DIST_SPLIT_EXAMPLES || s->cand_fits < 0)
        return 0;
    if (mode == AXF_DIST_SPLIT_AUTO && (N < 2 || n < N))
        return 0; /* CANDIDATES in one process: every trial here, through the second cache (tests) */
    if (s->cand_fits == 0) {
        /* Decided once, alike on every rank. The cache's slots are allocated here but their
         * pages are not touched until a trial fills them. */
        char what[96];
        snprintf(what, sizeof what, "deciding the candidate split (%s)", axf_dist_split_name(mode));
        axf_dist_agree(axf_dist_hash(axf_dist_hash_str(AXF_DIST_HASH0, what), &mode, sizeof mode), what);
        axf_err e = {{0}};
        if (!s->cand_ec)
            s->cand_ec = axf_evalcache_new_whole(s->m, s->enc, s->opts.batch, s->opts.cache_bytes, &e);
        int bad = !s->cand_ec;
        if (!bad && mode == AXF_DIST_SPLIT_AUTO) {
            axf_evalcache_stats shard, whole;
            axf_evalcache_stats_get(s->ec, &shard);
            axf_evalcache_stats_get(s->cand_ec, &whole);
            bad = whole.slots < shard.slots;
        }
        s->cand_fits = axf_dist_max(bad) ? -1 : 1;
        if (s->cand_fits < 0) {
            axf_evalcache_free(s->cand_ec);
            s->cand_ec = NULL;
        }
    }
    return s->cand_fits > 0;
}

/* Trial k's row in the gathered buffer: rank r's trials r, r + N, ... lie together and the ranks
 * in order, as axf_dist_allgather_rows wants its rows. */
static int share_count(int n, int N, int r)
{
    return r < n ? (n - r + N - 1) / N : 0;
}

static int row_of(int n, int N, int k)
{
    int at = 0;
    for (int q = 0; q < k % N; q++)
        at += share_count(n, N, q);
    return at + k / N;
}

int axf__eval_split(axf_session *s, axf_plan *const *plans, int n, axf__summarize_fn summarize, void *ud,
                    void *recs, size_t rec_bytes, double *seconds, axf_progress_fn progress, void *pud,
                    axf_err *err)
{
    int N = axf_dist_size(), me = axf_dist_rank();
    if (!s->cand_ec)
        return axf_err_set(err, "internal error: a candidate split without its cache");
    uint64_t h = axf_dist_hash_str(AXF_DIST_HASH0, "candidate split");
    h = axf_dist_hash(h, &n, sizeof n);
    for (int k = 0; k < n; k++)
        h = axf_dist_hash_plan(h, plans[k]);
    char what[96];
    snprintf(what, sizeof what, "a batch of %d trials split by candidate (%016llx)", n, (unsigned long long)h);
    axf_dist_agree(h, what);
    axf_evalcache_commit(s->cand_ec, s->plan);
    s->trial_valid = 0;

    size_t row = (sizeof(split_head) + rec_bytes + 7) / 8 * 8;
    unsigned char *rows = axf_xcalloc((size_t)n, row);
    int rc = 0;
    for (int k = me; k < n; k += N) {
        axf_evalcache_stats a, b;
        axf_evalcache_stats_get(s->cand_ec, &a);
        double t0 = axf_now();
        rc = axf_evalcache_run(s->cand_ec, plans[k], s->opts.cache_bytes > 0, s->trial_buf.logits,
                               s->trial_buf.losses, progress, pud, err);
        if (rc)
            break;
        unsigned char *r = rows + (size_t)row_of(n, N, k) * row;
        summarize(s, k, plans[k], &s->trial_buf, r + sizeof(split_head), ud);
        axf_evalcache_stats_get(s->cand_ec, &b);
        split_head hd = {axf_now() - t0, b.layer_evals - a.layer_evals, b.layer_evals_saved - a.layer_evals_saved};
        memcpy(r, &hd, sizeof hd);
    }
    /* a cancel or a failure on one rank ends the batch on all, before anything is shared */
    int worst = axf_dist_max(rc == 0 ? 0 : rc == AXF_CANCELLED ? 1 : 2);
    if (worst) {
        free(rows);
        if (worst == 1)
            return axf_err_set(err, "cancelled"), AXF_CANCELLED;
        if (rc == 0 || rc == AXF_CANCELLED)
            axf_err_set(err, "another MPI rank failed in a batch of trials split by candidate");
        return -1;
    }
    axf_dist_allgather_rows(rows, row, n, row_of(n, N, me), share_count(n, N, me));
    int owner = (n - 1) % N;
    size_t nx = (size_t)s->enc->n, C = (size_t)s->m->cfg.num_labels;
    axf_dist_bcast_from(s->trial_buf.losses, sizeof(float) * nx, owner, "the last trial's losses");
    axf_dist_bcast_from(s->trial_buf.logits, sizeof(float) * nx * C, owner, "the last trial's logits");
    axf_dist_bcast_from(s->trial_buf.preds, sizeof(int) * nx, owner, "the last trial's predictions");
    for (int k = 0; k < n; k++) {
        const unsigned char *r = rows + (size_t)row_of(n, N, k) * row;
        split_head hd;
        memcpy(&hd, r, sizeof hd);
        memcpy((unsigned char *)recs + (size_t)k * rec_bytes, r + sizeof hd, rec_bytes);
        if (seconds)
            seconds[k] = hd.seconds;
        s->cand_layer_evals += hd.layer_evals;
        s->cand_layer_evals_saved += hd.layer_evals_saved;
    }
    s->evals += n;
    axf_dist_count_split(n);
    free(rows);
    return 0;
}

static void summarize_try(axf_session *s, int k, const axf_plan *p, evalbuf *b, void *rec, void *ud)
{
    (void)k, (void)ud;
    axf__metrics_compute(s, s->enc, p, s->l0, b, rec);
}

int axf_session_try_batch(axf_session *s, const axf_action *const *cands, const int *n_acts, int n,
                          const char *note, axf_metrics *out, int *done, axf_err *err)
{
    int i = 0;
    *done = 0;
    for (; i < n; i++) { /* taken from the record of an interrupted run while it lasts */
        int r = axf__try_recorded(s, cands[i], n_acts[i], &out[i], err);
        if (r < 0)
            return -1;
        if (r > 0)
            break;
        *done = i + 1;
    }
    /* the candidates left that apply, up to the first that does not */
    int m = 0, left = n - i;
    axf_plan **plans = axf_xcalloc((size_t)(left > 0 ? left : 1), sizeof *plans);
    axf_action **res = axf_xcalloc((size_t)(left > 0 ? left : 1), sizeof *res);
    axf_err bad = {{0}};
    for (; m < left; m++) {
        int na = n_acts[i + m];
        plans[m] = axf_plan_clone(s->plan);
        res[m] = axf_xmalloc(sizeof **res * (size_t)(na > 0 ? na : 1));
        if (axf__plan_with(s, cands[i + m], na, plans[m], res[m], &bad))
            break; /* freed below */
    }
    int rc = 0, split = m >= 2 && axf__split_by_candidate(s, m);
    if (split) {
        double *secs = axf_xmalloc(sizeof *secs * (size_t)m);
        rc = axf__eval_split(s, plans, m, summarize_try, NULL, out + i, sizeof *out, secs, s->opts.progress,
                             s->opts.progress_ud, err);
        for (int k = 0; rc == 0 && k < m; k++) {
            axf__trial_push(s, plans[k], res[k], n_acts[i + k], note, &out[i + k], secs[k]);
            res[k] = NULL; /* the journal's */
        }
        free(secs);
        if (rc == 0) {
            *done = i + m;
            if (m < left) {
                *err = bad;
                rc = -1;
            }
        }
    }
    for (int k = 0; k < left && k <= m; k++) {
        axf_plan_free(plans[k]);
        free(res[k]);
    }
    free(plans);
    free(res);
    if (split)
        return rc;
    for (; i < n; i++) { /* one after the other, each split by example */
        rc = axf_session_try(s, cands[i], n_acts[i], note, &out[i], err);
        if (rc)
            return rc;
        *done = i + 1;
    }
    return 0;
}
