/* Metrics: the original model against the committed plan, on the search split (and held out),
 * with the cost side: parameters, FLOPs per token, size and measured speed. A table when there is
 * room, two columns of "base → now" when the layout is compact. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "pane.h"

typedef struct mrow {
    char label[32], base[24], cur[24], delta[24];
    char dshort[24];  /* the change in at most 8 columns (compact layout), "" = delta fits */
    int sign;   /* +1 better, -1 worse, 0 neutral */
    int cost;   /* a cost row (params, FLOPs, size, speed): right-hand column when compact */
    int stale;  /* numbers of an earlier plan: "now" is that plan's value, the change column says
                   which step it was measured at */
} mrow;

/* A row whose numbers belong to the plan of an earlier step: never shown as current. */
static void mark_stale(mrow *r, int stale, int step)
{
    r->stale = stale;
    if (stale) {
        snprintf(r->delta, sizeof r->delta, "@step %d", step);
        r->dshort[0] = 0;
        r->sign = 0;
    }
}

static int better(double d, int lower_is_better)
{
    if (d == 0 || !isfinite(d))
        return 0;
    return (d < 0) == (lower_is_better != 0) ? 1 : -1;
}

static void pct(char *b, size_t n, double x)
{
    if (isfinite(x))
        snprintf(b, n, "%.2f%%", 100 * x);
    else
        snprintf(b, n, "—");
}

/* merged: the speed in one row (the speed-up and its range) for the compact layout, else the
 * tokens per CPU second and the range in two */
static int build_rows(const axf_view *v, mrow *r, int merged)
{
    int n = 0;
    if (!v->have_snap)
        return 0;
    const axf_metrics *b = &v->snap.baseline, *c = &v->snap.current;
    int hc = v->snap.have_current;
    const char *mn = v->snap.facts.metric_name;
    /* loss */
    memset(&r[n], 0, sizeof r[n]);
    snprintf(r[n].label, sizeof r[n].label, "search loss");
    int dl = axf_loss_decimals(b->loss);
    snprintf(r[n].base, sizeof r[n].base, "%.*f", dl, b->loss);
    if (hc) {
        snprintf(r[n].cur, sizeof r[n].cur, "%.*f", dl, c->loss);
        snprintf(r[n].delta, sizeof r[n].delta, "%+.*f", dl, c->loss - b->loss);
        snprintf(r[n].dshort, sizeof r[n].dshort, "%+.2g", c->loss - b->loss);
        r[n].sign = better(c->loss - b->loss, 1);
    }
    n++;
    /* accuracy (classification) and the task metric when it is something else */
    if (isfinite(b->accuracy)) {
        memset(&r[n], 0, sizeof r[n]);
        snprintf(r[n].label, sizeof r[n].label, "search accuracy");
        pct(r[n].base, sizeof r[n].base, b->accuracy);
        if (hc) {
            pct(r[n].cur, sizeof r[n].cur, c->accuracy);
            snprintf(r[n].delta, sizeof r[n].delta, "%+.2f", 100 * (c->accuracy - b->accuracy));
            r[n].sign = better(c->accuracy - b->accuracy, 0);
        }
        n++;
    }
    if (strcmp(mn, "accuracy") && *mn) {
        memset(&r[n], 0, sizeof r[n]);
        snprintf(r[n].label, sizeof r[n].label, "search %.15s", mn);
        snprintf(r[n].base, sizeof r[n].base, "%.4f", b->metric);
        if (hc) {
            snprintf(r[n].cur, sizeof r[n].cur, "%.4f", c->metric);
            snprintf(r[n].delta, sizeof r[n].delta, "%+.4f", c->metric - b->metric);
            r[n].sign = better(c->metric - b->metric, 0);
        }
        n++;
    }
    if (hc) {
        memset(&r[n], 0, sizeof r[n]);
        snprintf(r[n].label, sizeof r[n].label, "no worse");
        snprintf(r[n].base, sizeof r[n].base, "%d", b->n);
        snprintf(r[n].cur, sizeof r[n].cur, "%d", c->n_no_worse);
        snprintf(r[n].delta, sizeof r[n].delta, "%.1f%%", c->n ? 100.0 * c->n_no_worse / c->n : 0.0);
        r[n].sign = c->n_no_worse * 2 > c->n ? 1 : -1;
        n++;
    }
    if (v->have_holdout) {
        const axf_metrics *hb = &v->ho_base, *hcur = &v->ho_cur;
        memset(&r[n], 0, sizeof r[n]);
        int acc = isfinite(hb->accuracy);
        snprintf(r[n].label, sizeof r[n].label, acc ? "held-out accuracy" : "held-out %.12s", mn);
        if (acc) {
            pct(r[n].base, sizeof r[n].base, hb->accuracy);
            pct(r[n].cur, sizeof r[n].cur, hcur->accuracy);
            snprintf(r[n].delta, sizeof r[n].delta, "%+.2f", 100 * (hcur->accuracy - hb->accuracy));
            r[n].sign = better(hcur->accuracy - hb->accuracy, 0);
        } else {
            snprintf(r[n].base, sizeof r[n].base, "%.4f", hb->metric);
            snprintf(r[n].cur, sizeof r[n].cur, "%.4f", hcur->metric);
            snprintf(r[n].delta, sizeof r[n].delta, "%+.4f", hcur->metric - hb->metric);
            r[n].sign = better(hcur->metric - hb->metric, 0);
        }
        mark_stale(&r[n], v->holdout_stale, v->holdout_step);
        n++;
        memset(&r[n], 0, sizeof r[n]);
        snprintf(r[n].label, sizeof r[n].label, "held-out loss");
        int hl = axf_loss_decimals(hb->loss);
        snprintf(r[n].base, sizeof r[n].base, "%.*f", hl, hb->loss);
        snprintf(r[n].cur, sizeof r[n].cur, "%.*f", hl, hcur->loss);
        snprintf(r[n].delta, sizeof r[n].delta, "%+.*f", hl, hcur->loss - hb->loss);
        snprintf(r[n].dshort, sizeof r[n].dshort, "%+.2g", hcur->loss - hb->loss);
        r[n].sign = better(hcur->loss - hb->loss, 1);
        mark_stale(&r[n], v->holdout_stale, v->holdout_step);
        n++;
    }
    /* cost: from the plan, known at once */
    const axf_metrics *cc = hc ? c : b;
    struct {
        const char *label;
        double b, c;
        int bytes;
    } cost[] = {
        {"parameters", (double)b->params, (double)cc->params, 0},
        {"FLOPs/token", b->flops_per_token, cc->flops_per_token, 0},
        {"size (fp32)", (double)b->size_bytes, (double)cc->size_bytes, 1},
    };
    for (int i = 0; i < 3; i++) {
        memset(&r[n], 0, sizeof r[n]);
        snprintf(r[n].label, sizeof r[n].label, "%s", cost[i].label);
        if (cost[i].bytes) {
            axf_fmt_bytes(r[n].base, sizeof r[n].base, cost[i].b);
            axf_fmt_bytes(r[n].cur, sizeof r[n].cur, cost[i].c);
        } else {
            axf_fmt_count(r[n].base, sizeof r[n].base, cost[i].b);
            axf_fmt_count(r[n].cur, sizeof r[n].cur, cost[i].c);
        }
        double d = cost[i].b > 0 ? (cost[i].c - cost[i].b) / cost[i].b : 0;
        snprintf(r[n].delta, sizeof r[n].delta, "%+.1f%%", 100 * d);
        r[n].sign = better(d, 1);
        r[n].cost = 1;
        n++;
    }
    memset(&r[n], 0, sizeof r[n]);
    r[n].cost = 1;
    snprintf(r[n].label, sizeof r[n].label, "speed (tok/CPU-s)");
    const axf_speed *sp = &v->speed;
    const char *x = axf_th.utf8 ? "×" : "x", *dash = axf_th.utf8 ? "–" : "-";
    if (v->have_speed) {
        /* medians of interleaved one-thread runs; the change is the median of the per-pair ratios,
         * called better or worse only when every pair agrees */
        axf_fmt_count(r[n].base, sizeof r[n].base, sp->tok_s_base);
        axf_fmt_count(r[n].cur, sizeof r[n].cur, sp->tok_s_cur);
        snprintf(r[n].delta, sizeof r[n].delta, "%.2f%s", sp->ratio, x);
        r[n].sign = sp->unchanged ? 0 : sp->ratio_lo > 1 ? 1 : sp->ratio_hi < 1 ? -1 : 0;
        mark_stale(&r[n], v->speed_stale, v->speed_step);
    } else {
        snprintf(r[n].base, sizeof r[n].base, "…");
        snprintf(r[n].cur, sizeof r[n].cur, "…");
    }
    n++;
    /* the spread of the speed-up over the pairs */
    memset(&r[n], 0, sizeof r[n]);
    r[n].cost = 1;
    snprintf(r[n].label, sizeof r[n].label, "speed-up range");
    if (v->have_speed && sp->unchanged) {
        snprintf(r[n].cur, sizeof r[n].cur, "same model");
    } else if (v->have_speed) {
        snprintf(r[n].cur, sizeof r[n].cur, "%.2f%s%.2f%s", sp->ratio_lo, dash, sp->ratio_hi, x);
        snprintf(r[n].delta, sizeof r[n].delta, "%d runs", sp->reps);
    } else {
        snprintf(r[n].cur, sizeof r[n].cur, "…");
    }
    mark_stale(&r[n], v->have_speed && v->speed_stale, v->speed_step);
    if (merged) { /* "speed-up  1.02× 0.99–1.07×" */
        mrow *q = &r[n - 1];
        snprintf(q->label, sizeof q->label, "speed-up");
        q->base[0] = 0;
        if (v->have_speed && !v->speed_stale) {
            snprintf(q->cur, sizeof q->cur, "%s", q->delta);
            snprintf(q->delta, sizeof q->delta, "%s", r[n].cur);
        } else if (v->have_speed) {
            snprintf(q->cur, sizeof q->cur, "%.2f%s", sp->ratio, x);
        }
        return n;
    }
    n++;
    return n;
}

static const char *short_label(const char *l)
{
    static const char *map[][2] = {{"search loss", "loss"}, {"search accuracy", "accuracy"},
                                   {"held-out accuracy", "held acc"}, {"held-out loss", "held loss"},
                                   {"parameters", "params"},
                                   {"FLOPs/token", "FLOPs/tok"}, {"size (fp32)", "size"},
                                   {"speed (tok/CPU-s)", "tok/CPU-s"}, {"speed-up range", "range"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(l, map[i][0]))
            return map[i][1];
    return !strncmp(l, "search ", 7) ? l + 7 : l;
}

static attr_t sign_attr(int s)
{
    return s > 0 ? axf_th.good : s < 0 ? axf_th.bad : A_NORMAL;
}

static void metrics_draw(axf_pane *p, axf_app *a)
{
    WINDOW *w = p->win;
    const axf_theme *t = &axf_th;
    werase(w);
    mrow r[16];
    int n = build_rows(&a->view, r, 0);
    char rt[64] = "";
    if (a->view.have_snap)
        snprintf(rt, sizeof rt, "step %d/%d", a->view.snap.cursor, a->view.snap.history_len);
    axf_draw_box(w, "metrics", rt, 0);
    int inner_w = p->w - 4, inner_h = p->h - 2;
    if (!n) {
        axf_put(w, 1, 2, inner_w, t->dim, "waiting for the baseline…");
        wnoutrefresh(w);
        return;
    }
    int any_stale = 0;
    if (!a->compact || inner_h >= n + 1) {
        /* table: label | baseline | now | change */
        int cw = 10, lw = inner_w - 3 * (cw + 1);
        if (lw > 20)
            lw = 20;
        int x0 = 2, xb = x0 + lw, xc = xb + cw + 1, xd = xc + cw + 1;
        axf_put_right(w, 1, xb, cw, t->head, "baseline");
        axf_put_right(w, 1, xc, cw, t->head, "now");
        axf_put_right(w, 1, xd, cw, t->head, "change");
        for (int i = 0; i < n && i + 2 <= inner_h; i++) {
            int y = 2 + i;
            axf_put(w, y, x0, lw, A_NORMAL, r[i].label);
            axf_put_right(w, y, xb, cw, t->dim, r[i].base);
            axf_put_right(w, y, xc, cw, r[i].stale ? t->dim : A_BOLD, r[i].cur);
            axf_put_right(w, y, xd, cw, r[i].stale ? t->dim : sign_attr(r[i].sign), r[i].delta);
            any_stale |= r[i].stale;
        }
        if (any_stale) { /* on the bottom border, whole or not at all */
            const char *note = " @step N: that step's plan; this one pending ";
            if (axf_text_cols(note) > p->w - 4)
                note = " @step N: an earlier plan ";
            int nw = axf_text_cols(note);
            if (nw <= p->w - 4)
                axf_put(w, p->h - 1, p->w - 2 - nw, nw, t->dim, note);
        }
    } else {
        /* two columns of "label base → now change" */
        n = build_rows(&a->view, r, 1);
        int colw = inner_w / 2, seen[2] = {0, 0};
        for (int i = 0; i < n; i++) {
            int col = r[i].cost, row = seen[col]++;
            if (row >= inner_h)
                continue;
            int x = 2 + col * (colw + 1), y = 1 + row;
            char line[96];
            snprintf(line, sizeof line, "%s %s ", r[i].base, t->g_arrow);
            if (!r[i].base[0])
                line[0] = 0; /* a value without a baseline */
            int lw = 10;
            axf_put(w, y, x, lw - 1, A_NORMAL, short_label(r[i].label));
            int cx = x + lw;
            int rem = colw - lw;
            cx += axf_put(w, y, cx, rem, t->dim, line);
            rem = x + colw - cx;
            cx += axf_put(w, y, cx, rem, r[i].stale ? t->dim : A_BOLD, r[i].cur);
            rem = x + colw - cx - 1;
            const char *d = r[i].dshort[0] && axf_text_cols(r[i].delta) > rem ? r[i].dshort : r[i].delta;
            if (rem > 0)
                axf_put_right(w, y, cx + 1, rem, r[i].stale ? t->dim : sign_attr(r[i].sign), d);
        }
    }
    wnoutrefresh(w);
}

const axf_pane_class axf_pane_metrics = {"metrics", metrics_draw, NULL};
