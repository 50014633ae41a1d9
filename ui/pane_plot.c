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

/* One series over steps 0..n in a box of cw x ch cells at (y, x); vals[n+1]; returns 0 when
 * nothing could be drawn. fmt prints an axis label. */
static void series(WINDOW *w, int y, int x, int cw, int ch, const double *vals, int n, int cursor, attr_t at,
                   const char *name, int percent)
{
    static canvas c;
    if (cw > PMAX_W)
        cw = PMAX_W;
    if (ch > PMAX_H)
        ch = PMAX_H;
    if (cw < 4 || ch < 1)
        return;
    memset(&c, 0, sizeof c);
    c.cw = cw;
    c.ch = ch;
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
            line(&c, px, py, xx, yy, i > cursor);
        else
            dot(&c, xx, yy, i > cursor);
        px = xx;
        py = yy;
    }
    for (int r = 0; r < ch; r++)
        for (int q = 0; q < cw; q++)
            put_cell(w, y + r, x + q, c.dots[r][q], c.tail[r][q] ? axf_th.dim : at);
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
    /* the cursor's column */
    int cx = n ? (int)lround((double)cursor * W / n) / 2 : 0;
    (void)cx;
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
        axf_put(w, 1, 2, p->w - 4, axf_th.dim, "no steps yet: p removes the selected element, s steps the policy");
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
 * cw x ch cells at (y, x); the step at the cursor is drawn as a bold 'o'. Axis ends labelled. */
static void scatter(WINDOW *w, int y, int x, int cw, int ch, const double *xs, const double *ys, const int *have,
                    int n, int cursor, const char *xname, int x_percent, const char *yname)
{
    static canvas c;
    if (cw > PMAX_W)
        cw = PMAX_W;
    if (ch > PMAX_H)
        ch = PMAX_H;
    if (cw < 8 || ch < 2)
        return;
    memset(&c, 0, sizeof c);
    c.cw = cw;
    c.ch = ch;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i <= n; i++)
        if (have[i] && isfinite(xs[i]) && isfinite(ys[i])) {
            xlo = fmin(xlo, xs[i]), xhi = fmax(xhi, xs[i]);
            ylo = fmin(ylo, ys[i]), yhi = fmax(yhi, ys[i]);
        }
    if (!isfinite(xlo))
        return;
    if (xhi - xlo < 1e-9)
        xlo -= 0.01, xhi += 0.01;
    if (yhi - ylo < 1e-9)
        ylo -= 0.001, yhi += 0.001;
    int W = cw * 2 - 1, H = ch * 4 - 1, px = -1, py = -1, cx = -1, cy = -1;
    for (int i = 0; i <= n; i++) {
        if (!have[i] || !isfinite(xs[i]) || !isfinite(ys[i]))
            continue;
        int xx = (int)lround((xs[i] - xlo) / (xhi - xlo) * W);
        int yy = H - (int)lround((ys[i] - ylo) / (yhi - ylo) * H);
        if (px >= 0)
            line(&c, px, py, xx, yy, i > cursor);
        else
            dot(&c, xx, yy, i > cursor);
        px = xx, py = yy;
        if (i == cursor)
            cx = xx / 2, cy = yy / 4;
    }
    for (int r = 0; r < ch; r++)
        for (int q = 0; q < cw; q++)
            put_cell(w, y + r, x + q, c.dots[r][q], c.tail[r][q] ? axf_th.dim : axf_th.plot_a);
    if (cx >= 0)
        axf_put(w, y + cy, x + cx, 1, axf_th.accent | A_BOLD, "o");
    char lab[32];
    snprintf(lab, sizeof lab, "%.2f%%", 100 * yhi);
    axf_put_right(w, y, x - 9, 8, axf_th.dim, lab);
    snprintf(lab, sizeof lab, "%.2f%%", 100 * ylo);
    axf_put_right(w, y + ch - 1, x - 9, 8, axf_th.dim, lab);
    axf_put_right(w, y + ch / 2, x - 9, 8, axf_th.plot_a, yname);
    if (x_percent)
        snprintf(lab, sizeof lab, "%.1f%%", 100 * xlo);
    else
        snprintf(lab, sizeof lab, "%.2f%s", xlo, axf_th.utf8 ? "×" : "x");
    axf_put(w, y + ch, x, 10, axf_th.dim, lab);
    if (x_percent)
        snprintf(lab, sizeof lab, "%.1f%%", 100 * xhi);
    else
        snprintf(lab, sizeof lab, "%.2f%s", xhi, axf_th.utf8 ? "×" : "x");
    axf_put_right(w, y + ch, x + cw - 10, 10, axf_th.dim, lab);
    axf_put(w, y + ch, x + cw / 2 - axf_text_cols(xname) / 2, axf_text_cols(xname), axf_th.plot_b, xname);
}

void axf_plot_tradeoff(axf_app *a)
{
    const axf_view *v = &a->view;
    int W = a->cols - 2, H = a->rows - 2;
    if (W < 40 || H < 12 || !v->have_snap)
        return;
    WINDOW *win = newwin(H, W, 1, 1);
    werase(win);
    axf_draw_box(win, "trade-off: accuracy against size and speed, every step", "any key closes", 1);
    static double acc[4096], size[4096], spd[4096];
    static int all[4096], measured[4096];
    int n = v->n_steps > 4095 ? 4095 : v->n_steps, n_meas = 0;
    double base = (double)v->snap.baseline.params;
    acc[0] = metric_of(&v->snap.baseline);
    size[0] = 1;
    spd[0] = 1; /* the original model against itself */
    all[0] = measured[0] = 1;
    for (int i = 1; i <= n; i++) {
        const axf_view_step *s = &v->steps[i - 1];
        acc[i] = metric_of(&s->after);
        size[i] = base > 0 ? (double)s->after.params / base : NAN;
        all[i] = 1;
        measured[i] = s->have_speed;
        spd[i] = s->have_speed ? s->speedup : NAN;
        n_meas += s->have_speed;
    }
    const char *mn = isfinite(v->snap.baseline.accuracy) ? "accuracy" : v->snap.facts.metric_name;
    int inner = H - 2, x0 = 11, cw = W - x0 - 3;
    int ph = (inner - 4) / 2; /* two plots, each with its axis row and a caption row */
    axf_putf(win, 1, 2, W - 4, axf_th.head, "%s (search split) against parameters kept; o = step %d of %d, "
             "dim = redo tail", mn, v->snap.cursor, n);
    scatter(win, 2, x0, cw, ph - 1, size, acc, all, n, v->snap.cursor, "parameters kept", 1, mn[0] == 'a' ? "acc" : mn);
    int y2 = 2 + ph + 1;
    axf_putf(win, y2, 2, W - 4, axf_th.head, "%s against measured speed-up (one thread, CPU time): %d of %d "
             "steps measured", mn, n_meas, n);
    scatter(win, y2 + 1, x0, cw, ph - 1, spd, acc, measured, n, v->snap.cursor, "speed-up", 0,
            mn[0] == 'a' ? "acc" : mn);
    axf_put(win, H - 2, 2, W - 4, axf_th.dim, "the speed of a step is measured when the cursor is on it "
            "([ ] walk the history); the original model is 1.00x");
    wnoutrefresh(win);
    delwin(win);
}
