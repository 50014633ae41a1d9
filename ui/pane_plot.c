/* Accuracy (the task metric) and model size over the history steps, as braille line plots (two
 * dots across and four down per cell; '*' without UTF-8). The step at the cursor is marked, the
 * redo tail is drawn dim so a replay shows where it is going. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "pane.h"

#define PMAX_W 256
#define PMAX_H 64

typedef struct canvas {
    int cw, ch;                          /* cells */
    unsigned char dots[PMAX_H][PMAX_W];  /* braille bits */
    unsigned char tail[PMAX_H][PMAX_W];  /* cell belongs to the redo tail */
} canvas;

static void dot(canvas *c, int x, int y, int tail)
{
    static const unsigned char bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    if (x < 0 || y < 0 || x >= c->cw * 2 || y >= c->ch * 4)
        return;
    c->dots[y / 4][x / 2] |= bit[y % 4][x % 2];
    if (tail)
        c->tail[y / 4][x / 2] = 1;
}

static void line(canvas *c, int x0, int y0, int x1, int y1, int tail)
{
    int dx = x1 > x0 ? x1 - x0 : x0 - x1, dy = y1 > y0 ? y1 - y0 : y0 - y1;
    int n = dx > dy ? dx : dy;
    if (n == 0) {
        dot(c, x0, y0, tail);
        return;
    }
    for (int i = 0; i <= n; i++)
        dot(c, x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n, tail);
}

static void put_cell(WINDOW *w, int y, int x, unsigned char bits, attr_t at)
{
    if (!bits)
        return;
    if (axf_th.utf8) {
        char s[4];
        unsigned cp = 0x2800u + bits;
        s[0] = (char)(0xE0 | (cp >> 12));
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        s[3] = 0;
        wattron(w, at);
        mvwaddstr(w, y, x, s);
        wattroff(w, at);
    } else {
        mvwaddch(w, y, x, '*' | at);
    }
}

/* The canvas for a plot of cw x ch cells (clamped to the canvas), cleared; NULL when smaller than
 * min_w x min_h. */
static canvas *canvas_begin(int *cw, int *ch, int min_w, int min_h)
{
    static canvas c;
    *cw = *cw > PMAX_W ? PMAX_W : *cw;
    *ch = *ch > PMAX_H ? PMAX_H : *ch;
    if (*cw < min_w || *ch < min_h)
        return NULL;
    memset(&c, 0, sizeof c);
    c.cw = *cw;
    c.ch = *ch;
    return &c;
}

/* Draws the canvas at (y, x): the redo tail dim, the rest in at. */
static void canvas_draw(WINDOW *w, int y, int x, const canvas *c, attr_t at)
{
    for (int r = 0; r < c->ch; r++)
        for (int q = 0; q < c->cw; q++)
            put_cell(w, y + r, x + q, c->dots[r][q], c->tail[r][q] ? axf_th.dim : at);
}

/* One series over steps 0..n in a box of cw x ch cells at (y, x); vals[n+1]; returns 0 when
 * nothing could be drawn. fmt prints an axis label. */
static void series(WINDOW *w, int y, int x, int cw, int ch, const double *vals, int n, int cursor, attr_t at,
                   const char *name, int percent)
{
    canvas *c = canvas_begin(&cw, &ch, 4, 1);
    if (!c)
        return;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i <= n; i++)
        if (isfinite(vals[i])) {
            lo = vals[i] < lo ? vals[i] : lo;
            hi = vals[i] > hi ? vals[i] : hi;
        }
    if (!isfinite(lo))
        return;
    int flat = hi - lo < 1e-9;
    if (flat) { /* a level line in the middle, labelled with its value */
        double pad = fabs(hi) * 0.01 + 1e-4;
        lo -= pad;
        hi += pad;
    }
    int W = cw * 2 - 1, H = ch * 4 - 1;
    int px = -1, py = -1;
    for (int i = 0; i <= n; i++) {
        if (!isfinite(vals[i]))
            continue;
        int xx = n ? (int)lround((double)i * W / n) : 0;
        int yy = H - (int)lround((vals[i] - lo) / (hi - lo) * H);
        if (px >= 0)
            line(c, px, py, xx, yy, i > cursor);
        else
            dot(c, xx, yy, i > cursor);
        px = xx;
        py = yy;
    }
    canvas_draw(w, y, x, c, at);
    char lab[32];
    if (flat) {
        double mid = (hi + lo) / 2;
        int row = ch - 1 - (int)lround(((mid - lo) / (hi - lo) * H) / 4.0);
        if (percent)
            snprintf(lab, sizeof lab, "%.2f%%", 100 * mid);
        else
            snprintf(lab, sizeof lab, "%.4g", mid);
        axf_put_right(w, y + (row >= 0 && row < ch ? row : 0), x - 8, 7, axf_th.dim, lab);
    } else if (percent)
        snprintf(lab, sizeof lab, "%.1f%%", 100 * hi);
    else
        snprintf(lab, sizeof lab, "%.3g", hi);
    if (!flat)
        axf_put_right(w, y, x - 8, 7, axf_th.dim, lab);
    if (ch > 1 && !flat) {
        if (percent)
            snprintf(lab, sizeof lab, "%.1f%%", 100 * lo);
        else
            snprintf(lab, sizeof lab, "%.3g", lo);
        axf_put_right(w, y + ch - 1, x - 8, 7, axf_th.dim, lab);
    }
    if (ch > 2 && !flat)
        axf_put_right(w, y + ch / 2, x - 8, 7, at, name);
    else
        axf_put(w, y, x + cw - (int)strlen(name), (int)strlen(name), at, name);
}

static double metric_of(const axf_metrics *m)
{
    return isfinite(m->accuracy) ? m->accuracy : m->metric;
}

static void plot_draw(axf_pane *p, axf_app *a)
{
    WINDOW *w = p->win;
    const axf_view *v = &a->view;
    werase(w);
    const char *mn = v->have_snap && isfinite(v->snap.baseline.accuracy) ? "accuracy" :
                     v->have_snap ? v->snap.facts.metric_name : "metric";
    char title[64];
    snprintf(title, sizeof title, "%s and size over steps", mn);
    axf_draw_box(w, title, NULL, 0);
    int n = v->n_steps;
    if (!v->have_snap || p->h < 4) {
        wnoutrefresh(w);
        return;
    }
    if (n == 0) {
        axf_draw_wrapped(w, 1, 2, p->w - 4, p->h - 2, 0, axf_th.dim, 0, 0,
                         "No steps yet: p removes the selected element, s steps the policy.");
        wnoutrefresh(w);
        return;
    }
    static double acc[4096], size[4096];
    if (n > 4095)
        n = 4095;
    acc[0] = metric_of(&v->snap.baseline);
    size[0] = 1.0;
    double base_size = (double)v->snap.baseline.params;
    for (int i = 0; i < n; i++) {
        acc[i + 1] = metric_of(&v->steps[i].after);
        size[i + 1] = base_size > 0 ? (double)v->steps[i].after.params / base_size : NAN;
    }
    int inner_h = p->h - 3; /* last inner row: the step axis */
    int x0 = 10, cw = p->w - x0 - 2;
    int ha = inner_h >= 6 ? inner_h * 2 / 3 : inner_h - 1, hb = inner_h - ha;
    if (ha < 1)
        ha = 1;
    series(w, 1, x0, cw, ha, acc, n, v->snap.cursor, axf_th.plot_a, mn[0] == 'a' ? "acc" : mn, 1);
    if (hb >= 1)
        series(w, 1 + ha, x0, cw, hb, size, n, v->snap.cursor, axf_th.plot_b, "size", 1);
    /* step axis with the cursor marked */
    int W = cw * 2 - 1;
    int cx = (int)lround((double)v->snap.cursor * W / n) / 2;
    int ay = p->h - 2;
    axf_putf(w, ay, x0 - 8, 8, axf_th.dim, "step");
    axf_put(w, ay, x0, 1, axf_th.dim, "0");
    char last[16];
    snprintf(last, sizeof last, "%d", n);
    axf_put_right(w, ay, x0, cw, axf_th.dim, last);
    if (cx >= 0 && cx < cw) {
        char cur[16];
        snprintf(cur, sizeof cur, "%s%d", axf_th.g_up, v->snap.cursor);
        int cl = axf_text_cols(cur);
        int px = x0 + cx;
        if (px + cl > x0 + cw)
            px = x0 + cw - cl;
        axf_put(w, ay, px, cl, axf_th.accent, cur);
    }
    wnoutrefresh(w);
}

const axf_pane_class axf_pane_plot = {"plot", plot_draw, NULL};

/* ---- the trade-off overlay (key o): accuracy against size and against measured speed ---- */

/* Points (xs[i], ys[i]) for the steps i = 0..n with have[i], joined in step order, in a box of
 * cw x ch cells at (y, x); the step at the cursor is drawn as a bold 'o'; the nc points (cx, cy)
 * of a control, when given, as '+' (plot_b). Axis ends labelled. */
typedef struct pts {
    const double *x, *y;
    const int *have;      /* NULL: every point */
    int n;                /* points 0..n */
} pts;

static int pt_ok(const pts *p, int i)
{
    return (!p->have || p->have[i]) && isfinite(p->x[i]) && isfinite(p->y[i]);
}

static void scatter(WINDOW *w, int y, int x, int cw, int ch, const pts *s, const pts *ctl, int cursor,
                    const char *xname, int x_percent, const char *yname)
{
    canvas *c = canvas_begin(&cw, &ch, 8, 2);
    if (!c)
        return;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < 2; k++) {
        const pts *p = k ? ctl : s;
        for (int i = 0; p && i <= p->n; i++)
            if (pt_ok(p, i)) {
                xlo = fmin(xlo, p->x[i]), xhi = fmax(xhi, p->x[i]);
                ylo = fmin(ylo, p->y[i]), yhi = fmax(yhi, p->y[i]);
            }
    }
    if (!isfinite(xlo))
        return;
    if (xhi - xlo < 1e-9)
        xlo -= 0.01, xhi += 0.01;
    if (yhi - ylo < 1e-9)
        ylo -= 0.001, yhi += 0.001;
    int W = cw * 2 - 1, H = ch * 4 - 1, px = -1, py = -1, cx = -1, cy = -1;
#define PX(v) ((int)lround(((v) - xlo) / (xhi - xlo) * W))
#define PY(v) (H - (int)lround(((v) - ylo) / (yhi - ylo) * H))
    for (int i = 0; i <= s->n; i++) {
        if (!pt_ok(s, i))
            continue;
        int xx = PX(s->x[i]), yy = PY(s->y[i]);
        if (px >= 0)
            line(c, px, py, xx, yy, i > cursor);
        else
            dot(c, xx, yy, i > cursor);
        px = xx, py = yy;
        if (i == cursor)
            cx = xx / 2, cy = yy / 4;
    }
    canvas_draw(w, y, x, c, axf_th.plot_a);
    for (int i = 0; ctl && i <= ctl->n; i++)
        if (pt_ok(ctl, i))
            axf_put(w, y + PY(ctl->y[i]) / 4, x + PX(ctl->x[i]) / 2, 1, axf_th.plot_b | A_BOLD, "+");
#undef PX
#undef PY
    if (cx >= 0)
        axf_put(w, y + cy, x + cx, 1, axf_th.accent | A_BOLD, "o");
    char lab[32];
    snprintf(lab, sizeof lab, "%.2f%%", 100 * yhi);
    axf_put_right(w, y, x - 9, 8, axf_th.dim, lab);
    snprintf(lab, sizeof lab, "%.2f%%", 100 * ylo);
    axf_put_right(w, y + ch - 1, x - 9, 8, axf_th.dim, lab);
    axf_put_right(w, y + ch / 2, x - 9, 8, axf_th.plot_a, yname);
    const char *times = axf_th.utf8 ? "×" : "x";
    for (int end = 0; end < 2; end++) {
        double v = end ? xhi : xlo;
        if (x_percent)
            snprintf(lab, sizeof lab, "%.1f%%", 100 * v);
        else
            snprintf(lab, sizeof lab, "%.2f%s", v, times);
        if (end)
            axf_put_right(w, y + ch, x + cw - 10, 10, axf_th.dim, lab);
        else
            axf_put(w, y + ch, x, 10, axf_th.dim, lab);
    }
    axf_put(w, y + ch, x + cw / 2 - axf_text_cols(xname) / 2, axf_text_cols(xname), axf_th.plot_b, xname);
}

/* The control's step nearest in parameters to frac (the original model counts): its index. */
static int control_nearest(const axf_control *ctl, double frac)
{
    int best = 0;
    for (int i = 1; i <= ctl->n; i++)
        if (fabs(ctl->frac[i] - frac) < fabs(ctl->frac[best] - frac))
            best = i;
    return best;
}

/* The control is of this session's model and search split: the same number of examples and the
 * same baseline loss (to the replay tolerance's order: deterministic kernels give the same bits
 * on every machine, libm's exp/log aside). */
static int control_matches(const axf_control *ctl, const axf_metrics *base)
{
    return ctl->base_n == base->n && fabs(ctl->base_loss - base->loss) <= 1e-6 * fmax(1.0, fabs(base->loss));
}

/* The line under the first plot: the control beside this session at the cursor's size, or how to
 * make one of the size of the session's last step (last_frac; 1 = no step yet). */
static void control_text(const axf_app *a, double frac, double metric, double last_frac, const char *mn, char *buf,
                         size_t n)
{
    const axf_control *ctl = &a->control;
    const axf_view *v = &a->view;
    if (!ctl->n && !ctl->file[0]) {
        if (!(last_frac < 1))
            snprintf(buf, n, "No random-pruning control (--control FILE): once steps remove something, a "
                             "random.lua run to the same size is their control.");
        else
            snprintf(buf, n, "No random-pruning control: make one of this size with  axf search MODEL DATA "
                             "--policy scripts/random.lua --set keep=%.2f --out control.json  and open the "
                             "screen with --control control.json.", last_frac);
        return;
    }
    if (!control_matches(ctl, &v->snap.baseline)) {
        snprintf(buf, n, "The control %s is not of this model and search split (its baseline: %d examples, loss "
                         "%.6g; here %d, %.6g): not drawn.", ctl->file, ctl->base_n, ctl->base_loss,
                 v->snap.baseline.n, v->snap.baseline.loss);
        return;
    }
    int k = control_nearest(ctl, frac);
    snprintf(buf, n, "+ control: %s (%s, %d steps). At %.1f%% of the parameters: this session %.2f%% %s, the "
                     "control %.2f%% (its step %d, %.1f%%).", ctl->file, ctl->policy, ctl->n, 100 * frac,
             100 * metric, mn, 100 * ctl->metric[k], k, 100 * ctl->frac[k]);
}

void axf_plot_tradeoff(axf_app *a)
{
    const axf_view *v = &a->view;
    int W = a->cols, H = a->rows - 2;
    if (W < 40 || H < 12 || !v->have_snap)
        return;
    WINDOW *win = newwin(H, W, 1, 0);
    werase(win);
    axf_draw_box(win, "trade-off: accuracy against size and speed, every step", "any key closes", 1);
    static double acc[4096], size[4096], spd[4096];
    static int measured[4096];
    int n = v->n_steps > 4095 ? 4095 : v->n_steps, n_meas = 0;
    double base = (double)v->snap.baseline.params;
    acc[0] = metric_of(&v->snap.baseline);
    size[0] = 1;
    spd[0] = 1; /* the original model against itself */
    measured[0] = 1;
    for (int i = 1; i <= n; i++) {
        const axf_view_step *s = &v->steps[i - 1];
        acc[i] = metric_of(&s->after);
        size[i] = base > 0 ? (double)s->after.params / base : NAN;
        measured[i] = s->have_speed;
        spd[i] = s->have_speed ? s->speedup : NAN;
        n_meas += s->have_speed;
    }
    const char *mn = isfinite(v->snap.baseline.accuracy) ? "accuracy" : v->snap.facts.metric_name;
    const char *yn = mn[0] == 'a' ? "acc" : mn;
    int cur = v->snap.cursor > n ? n : v->snap.cursor;
    /* rows: heading, plot + axis, two caption rows; heading, plot + axis; footer */
    int x0 = 11, cw = W - x0 - 3, ph = (H - 2 - 7) / 2;
    /* headings and footer as items that wrap whole (the ones that do not fit are left out) */
    char h1[96], h2[96], h3[64], h4[64];
    snprintf(h1, sizeof h1, "%s (search split) against parameters kept", mn);
    snprintf(h2, sizeof h2, "o = step %d of %d", cur, n);
    axf_seg sg1[] = {{axf_th.head, h1, 0}, {axf_th.head, h2, 0}, {axf_th.dim, "dim = redo tail", 0}};
    axf_put_segs(win, 1, 2, W - 4, 1, sg1, 3);
    const axf_control *ctl = &a->control;
    pts ps = {size, acc, NULL, n}, pc = {ctl->frac, ctl->metric, NULL, ctl->n};
    int show_ctl = ctl->n > 0 && control_matches(ctl, &v->snap.baseline);
    scatter(win, 2, x0, cw, ph, &ps, show_ctl ? &pc : NULL, cur, "parameters kept", 1, yn);
    char cap[512];
    control_text(a, size[cur], acc[cur], size[n], yn, cap, sizeof cap);
    axf_draw_wrapped(win, 3 + ph, 2, W - 4, 2, 0, show_ctl ? axf_th.plot_b : axf_th.dim, 2, 0, cap);
    int y2 = 5 + ph;
    snprintf(h3, sizeof h3, "%s against measured speed-up:", mn);
    snprintf(h4, sizeof h4, "%d of %d steps measured", n_meas, n);
    axf_seg sg2[] = {{axf_th.head, h3, 0}, {axf_th.head, h4, 0}, {axf_th.dim, "(one thread, CPU time)", 0}};
    axf_put_segs(win, y2, 2, W - 4, 1, sg2, 3);
    pts pspd = {spd, acc, measured, n};
    scatter(win, y2 + 1, x0, cw, ph, &pspd, NULL, cur, "speed-up", 0, yn);
    axf_seg sg3[] = {{axf_th.dim, "speed is measured for the step at the cursor", 0},
                     {axf_th.dim, "([ ] walk the history)", 0}, {axf_th.dim, "the original model is 1.00x", 0}};
    axf_put_segs(win, H - 2, 2, W - 4, 1, sg3, 3);
    wnoutrefresh(win);
    delwin(win);
}
