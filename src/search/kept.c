/* Results kept per plan (session.h, "Results kept per plan"): importance, held-out metrics and
 * measured speed, each with the plan it was measured on, the history position it was measured at
 * and that position's metrics. One table; each sort of result has its own number of places and
 * drops its least recently used entry when full. */
#include "session_internal.h"

#include <stdlib.h>
#include <string.h>

/* Places per sort of result: an importance entry holds two value tables (~66 KB), the others a
 * few numbers. */
static const int kept_cap[AXF__KEPT_SORTS] = {24, 64, 128};
#define KEPT_PLACES (24 + 64 + 128)

static void kept_clear(axf__kept *k)
{
    axf_plan_free(k->plan);
    free(k->imp);
    memset(k, 0, sizeof *k);
}

void axf__kept_free(axf_session *s)
{
    for (int i = 0; i < s->n_kept; i++)
        kept_clear(&s->kept[i]);
    free(s->kept);
    s->kept = NULL;
    s->n_kept = 0;
}

void axf__kept_drop(axf_session *s, int sort)
{
    for (int i = 0; i < s->n_kept; i++) {
        axf__kept *k = &s->kept[i];
        if (k->plan && k->sort == sort)
            kept_clear(k);
    }
}

/* An importance entry answers for (kind, groups) and every granularity in gran. */
static int kept_matches(const axf__kept *k, int sort, int kind, int groups, int gran)
{
    if (!k->plan || k->sort != sort)
        return 0;
    if (sort == AXF__KEPT_IMP)
        return k->imp->kind == (axf_imp_kind)kind && k->imp->n_groups == groups && (k->imp->gran & gran) == gran;
    return 1;
}

axf__kept *axf__kept_find(axf_session *s, int sort, int kind, int groups, int gran)
{
    axf__kept *best = NULL;
    for (int i = 0; i < s->n_kept; i++) {
        axf__kept *k = &s->kept[i];
        if (kept_matches(k, sort, kind, groups, gran) && axf_plan_equal(k->plan, s->plan) &&
            (sort == AXF__KEPT_SPEED || k->wid == s->wid) && (!best || k->used > best->used))
            best = k;
    }
    if (best)
        best->used = ++s->kept_clock;
    return best;
}

/* The most recently used entry of its sort, whatever its plan. */
static const axf__kept *kept_latest(const axf_session *s, int sort, int kind, int groups, int gran)
{
    const axf__kept *best = NULL;
    for (int i = 0; i < s->n_kept; i++) {
        const axf__kept *k = &s->kept[i];
        if (kept_matches(k, sort, kind, groups, gran) && (!best || k->used > best->used))
            best = k;
    }
    return best;
}

/* Two entries of one sort hold the same thing: importance of one kind and G on one plan, held-out
 * metrics of one plan, speed of one plan at one history position (a plan at two positions shows
 * its speed at both). */
static int same_key(const axf__kept *k, const axf_session *s, int sort, int kind, int groups)
{
    if (!axf_plan_equal(k->plan, s->plan) || (sort != AXF__KEPT_SPEED && k->wid != s->wid))
        return 0;
    if (sort == AXF__KEPT_IMP)
        return k->imp->kind == (axf_imp_kind)kind && k->imp->n_groups == groups;
    if (sort == AXF__KEPT_SPEED)
        return k->step == s->cursor;
    return 1;
}

axf__kept *axf__kept_store(axf_session *s, int sort, int kind, int groups)
{
    if (!s->kept)
        s->kept = axf_xcalloc(KEPT_PLACES, sizeof *s->kept);
    axf__kept *same = NULL, *lru = NULL, *free_slot = NULL;
    int n_sort = 0;
    for (int i = 0; i < s->n_kept && !same; i++) {
        axf__kept *k = &s->kept[i];
        if (!k->plan) {
            free_slot = free_slot ? free_slot : k;
        } else if (k->sort == sort) {
            n_sort++;
            if (same_key(k, s, sort, kind, groups))
                same = k; /* measured again: the new result replaces the old */
            else if (!lru || k->used < lru->used)
                lru = k;
        }
    }
    axf__kept *slot = same                      ? same
                      : n_sort >= kept_cap[sort] ? lru
                      : free_slot               ? free_slot
                                                : &s->kept[s->n_kept++];
    kept_clear(slot);
    slot->sort = sort;
    slot->plan = axf_plan_clone(s->plan);
    slot->step = s->cursor;
    slot->wid = s->wid;
    slot->at = s->cursor > 0 ? s->hist[s->cursor - 1].after : s->base;
    slot->used = ++s->kept_clock;
    if (sort == AXF__KEPT_IMP)
        slot->imp = axf_xmalloc(sizeof *slot->imp);
    return slot;
}

/* ---- session.h ---- */

static int kept_out(const axf__kept *k, const axf_session *s, axf_kept_info *info)
{
    if (!k)
        return -1;
    if (info) {
        info->current = axf_plan_equal(k->plan, s->plan) && (k->sort == AXF__KEPT_SPEED || k->wid == s->wid);
        info->step = k->step;
    }
    return 0;
}

int axf_session_kept_importance(axf_session *s, axf_imp_kind kind, int gran, int groups, int latest,
                                axf_importance *out, axf_kept_info *info)
{
    if (groups <= 0)
        groups = s->defs.groups;
    gran &= AXF_IMP_ALL;
    const axf__kept *k = axf__kept_find(s, AXF__KEPT_IMP, kind, groups, gran);
    if (!k && latest)
        k = kept_latest(s, AXF__KEPT_IMP, kind, groups, gran);
    if (k && out)
        *out = *k->imp;
    return kept_out(k, s, info);
}

int axf_session_kept_holdout(axf_session *s, int latest, axf_metrics *base, axf_metrics *cur, axf_kept_info *info)
{
    const axf__kept *k = axf__kept_find(s, AXF__KEPT_HOLDOUT, 0, 0, 0);
    if (!k && latest)
        k = kept_latest(s, AXF__KEPT_HOLDOUT, 0, 0, 0);
    if (k && base)
        *base = s->ho_base;
    if (k && cur)
        *cur = k->ho;
    return kept_out(k, s, info);
}

int axf_session_kept_speed(axf_session *s, int latest, axf_speed *out, axf_kept_info *info)
{
    const axf__kept *k = axf__kept_find(s, AXF__KEPT_SPEED, 0, 0, 0);
    if (!k && latest)
        k = kept_latest(s, AXF__KEPT_SPEED, 0, 0, 0);
    if (k && out)
        *out = k->speed;
    return kept_out(k, s, info);
}

int axf_session_kept_step_speed(const axf_session *s, int i, axf_speed *out)
{
    if (i < 0 || i >= s->hist_len)
        return -1;
    const axf_metrics *after = &s->hist[i].after;
    const axf__kept *best = NULL;
    for (int j = 0; j < s->n_kept; j++) {
        const axf__kept *k = &s->kept[j];
        if (k->plan && k->sort == AXF__KEPT_SPEED && k->step == i + 1 && k->at.params == after->params &&
            k->at.loss == after->loss && (!best || k->used > best->used))
            best = k;
    }
    if (!best)
        return -1;
    *out = best->speed;
    return 0;
}
