/* `axf report --svg`: three plots and a legend on a 2x2 grid, written as plain SVG 1.1 (no
 * dependency, renders in browsers, rsvg-convert and Inkscape):
 *   accuracy vs size (params kept), accuracy vs speedup (FLOP reduction hollow, measured filled),
 *   search-split accuracy over the search steps, one line per session.
 * Colour and marker shape both encode the policy (Okabe-Ito palette), so the figure also reads in
 * grey scale. Every point carries data-* attributes with its values, which is what the tests check
 * and what a reader can inspect. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 1120
#define H 860
#define PW 530 /* panel width and height */
#define PH 380
#define ML 72  /* plot margins inside a panel */
#define MR 18
#define MT 36
#define MB 54

static const char *font = "DejaVu Sans, Helvetica, Arial, sans-serif";

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            /* Control characters are not allowed in XML 1.0. */
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                fputc(*s, f);
        }
    }
}

/* ---- axes ---- */

typedef struct axis {
    double lo, hi;        /* data range shown */
    double step;          /* tick spacing */
    int decimals;
} axis;

typedef struct panel {
    double x0, y0;        /* top-left of the plot area in the SVG */
    double w, h;
    axis ax, ay;
} panel;

/* A range of "nice" ticks (1, 2, 2.5, 5 x 10^k) covering [lo, hi] with about 5 intervals. */
static axis nice_axis(double lo, double hi, double min_span)
{
    axis a;
    if (!(hi > lo)) {
        lo = isfinite(lo) ? lo : 0;
        hi = lo;
    }
    if (hi - lo < min_span) {
        double mid = (lo + hi) / 2;
        lo = mid - min_span / 2;
        hi = mid + min_span / 2;
    }
    double pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    double raw = (hi - lo) / 5, mag = pow(10, floor(log10(raw))), r = raw / mag;
    double m = r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10;
    a.step = m * mag;
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    a.decimals = 0;
    for (double s = a.step; a.decimals < 6 && fabs(s - round(s)) > 1e-9 * a.step * 1e3; s *= 10)
        a.decimals++;
    return a;
}

/* Unit of a shown metric: accuracy and F1 are percentages; MCC and Pearson are x100 scores. */
static const char *unit_of(const rep_set *set)
{
    if (set->delta)
        return "points";
    return strcmp(set->metric_name, "accuracy") && strcmp(set->metric_name, "f1") ? "×100" : "%";
}

static const char *title_of(const rep_set *set)
{
    const char *m = set->metric_name;
    return !strcmp(m, "accuracy") ? "Accuracy" : !strcmp(m, "f1") ? "F1" : !strcmp(m, "mcc") ? "MCC"
         : !strcmp(m, "pearson") ? "Pearson" : "Task metric";
}

static double px(const panel *p, double x) { return p->x0 + (x - p->ax.lo) / (p->ax.hi - p->ax.lo) * p->w; }
static double py(const panel *p, double y) { return p->y0 + p->h - (y - p->ay.lo) / (p->ay.hi - p->ay.lo) * p->h; }

static void draw_frame(FILE *f, const panel *p, const char *title, const char *xlabel, const char *ylabel,
                       const char *xunit)
{
    fprintf(f, "<g class=\"panel\">\n");
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"16\" font-weight=\"bold\">", p->x0 - ML + 12, p->y0 - 14);
    esc(f, title);
    fputs("</text>\n", f);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fbfbfb\" stroke=\"#444\" "
               "stroke-width=\"1\"/>\n",
            p->x0, p->y0, p->w, p->h);
    /* grid and ticks */
    for (double t = p->ax.lo; t <= p->ax.hi + p->ax.step * 1e-6; t += p->ax.step) {
        double x = px(p, t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n", x, p->y0, x,
                p->y0 + p->h);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", x, p->y0 + p->h, x,
                p->y0 + p->h + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\">%.*f%s</text>\n", x,
                p->y0 + p->h + 20, p->ax.decimals, t, xunit);
    }
    for (double t = p->ay.lo; t <= p->ay.hi + p->ay.step * 1e-6; t += p->ay.step) {
        double y = py(p, t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n", p->x0, y,
                p->x0 + p->w, y);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", p->x0 - 5, y, p->x0,
                y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"end\">%.*f</text>\n", p->x0 - 8,
                y + 4.5, p->ay.decimals, t);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\">", p->x0 + p->w / 2,
            p->y0 + p->h + 42);
    esc(f, xlabel);
    fputs("</text>\n", f);
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" font-size=\"14\" text-anchor=\"middle\">",
            p->x0 - 52, p->y0 + p->h / 2);
    esc(f, ylabel);
    fputs("</text>\n</g>\n", f);
}

/* ---- markers: shape i, filled or hollow ---- */

static void marker(FILE *f, int shape, double x, double y, double r, const char *colour, int filled)
{
    const char *fill = filled ? colour : "white";
    char style[128];
    snprintf(style, sizeof style, "fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"", fill, colour,
             filled ? "1" : "2");
    switch (shape % 6) {
    case 0:
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" %s/>", x, y, r, style);
        break;
    case 1:
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s/>", x - r * 0.9, y - r * 0.9,
                r * 1.8, r * 1.8, style);
        break;
    case 2:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>", x, y - r * 1.2, x + r * 1.1,
                y + r * 0.8, x - r * 1.1, y + r * 0.8, style);
        break;
    case 3:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>", x, y - r * 1.25,
                x + r * 1.1, y, x, y + r * 1.25, x - r * 1.1, y, style);
        break;
    case 4:
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" %s/>", x, y + r * 1.2, x + r * 1.1,
                y - r * 0.8, x - r * 1.1, y - r * 0.8, style);
        break;
    default: /* hexagon */
        fprintf(f, "<polygon points=\"");
        for (int k = 0; k < 6; k++)
            fprintf(f, "%.1f,%.1f ", x + r * 1.05 * cos(k * M_PI / 3), y + r * 1.05 * sin(k * M_PI / 3));
        fprintf(f, "\" %s/>", style);
        break;
    }
}

static void star(FILE *f, double x, double y, double r)
{
    fprintf(f, "<polygon points=\"");
    for (int k = 0; k < 10; k++) {
        double a = -M_PI / 2 + k * M_PI / 5, rr = k % 2 ? r * 0.45 : r;
        fprintf(f, "%.1f,%.1f ", x + rr * cos(a), y + rr * sin(a));
    }
    fprintf(f, "\" fill=\"black\" stroke=\"white\" stroke-width=\"1\"/>");
}

/* ---- labels: index of each distinct label, in order of first appearance ---- */

static int label_index(const rep_set *set, int run)
{
    int k = 0;
    for (int i = 0; i < run; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= !strcmp(set->runs[i].label, set->runs[j].label);
        if (!seen) {
            if (!strcmp(set->runs[i].label, set->runs[run].label))
                return k;
            k++;
        }
    }
    return k;
}

/* A run is the first of its model: its baseline is drawn once. */
static int first_of_model(const rep_set *set, int i)
{
    for (int j = 0; j < i; j++)
        if (!strcmp(set->runs[j].model_sha, set->runs[i].model_sha))
            return 0;
    return 1;
}

/* The metric the accuracy plots use: report split when every run has it. */
static double y_base(const rep_set *set, const rep_run *r)
{
    return set->delta ? 0 : rep_show(set->all_report ? r->rep_base : r->base.metric);
}
static double y_final(const rep_set *set, const rep_run *r)
{
    double y = rep_show(set->all_report ? r->rep_final : r->final.metric);
    return set->delta ? y - rep_show(set->all_report ? r->rep_base : r->base.metric) : y;
}
/* Search-split metric after step s, against the run's own original model in delta mode. */
static double y_step(const rep_set *set, const rep_run *r, int s)
{
    return rep_show(r->step_metric[s]) - (set->delta ? rep_show(r->step_metric[0]) : 0);
}
/* In delta mode every run is measured against its own original: one star at 0. */
static int draws_baseline(const rep_set *set, int i)
{
    return set->delta ? i == 0 : first_of_model(set, i);
}

static double speed_measured(const rep_run *r) { return r->tok_final / r->tok_base; } /* NAN if unknown */
static double speed_flops(const rep_run *r)
{
    return r->final.flops > 0 ? r->base.flops / r->final.flops : NAN;
}

static void point_attrs(FILE *f, const char *kind, const rep_run *r, double x, double y)
{
    fprintf(f, "<g class=\"pt\" data-kind=\"%s\" data-label=\"", kind);
    esc(f, r->label);
    fprintf(f, "\" data-x=\"%.6g\" data-y=\"%.6g\"><title>", x, y);
    esc(f, r->label);
    if (*r->seed)
        fprintf(f, ", seed %s", r->seed);
    fprintf(f, ": %.4g, %.2f</title>", x, y);
}

static void range_add(double *lo, double *hi, double v)
{
    if (!isfinite(v))
        return;
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

static panel make_panel(int col, int row)
{
    panel p;
    p.x0 = 20 + col * (PW + 20) + ML;
    p.y0 = 64 + row * (PH + 14) + MT;
    p.w = PW - ML - MR;
    p.h = PH - MT - MB;
    return p;
}

/* The zero line of delta mode: above it a run beat its own original model. */
static void zero_line(FILE *f, const rep_set *set, const panel *p)
{
    if (set->delta)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
                p->x0, py(p, 0), p->x0 + p->w, py(p, 0));
}

static void baselines(FILE *f, const rep_set *set, const panel *p, double x)
{
    zero_line(f, set, p);
    for (int i = 0; i < set->n; i++) {
        if (!draws_baseline(set, i))
            continue;
        const rep_run *r = &set->runs[i];
        double y = y_base(set, r);
        fprintf(f, "<g class=\"pt\" data-kind=\"baseline\" data-label=\"original\" data-x=\"%.6g\" "
                   "data-y=\"%.6g\"><title>original model (",
                x, y);
        esc(f, r->config);
        fprintf(f, "): %.2f</title>", y);
        star(f, px(p, x), py(p, y), 9);
        fputs("</g>\n", f);
    }
}

/* One marker of run r at (x, y), in a <g> with its data attributes. */
static void point(FILE *f, const panel *p, const char *kind, const rep_run *r, int li, double x, double y,
                  const char *colour, int filled)
{
    point_attrs(f, kind, r, x, y);
    marker(f, li, px(p, x), py(p, y), 6, colour, filled);
    fputs("</g>\n", f);
}

/* The frame of "TITLE against WHAT" and a dashed vertical line at the original model's x (ref). */
static void frame_against(FILE *f, const panel *p, const rep_set *set, const char *what, const char *xlabel,
                          const char *ylabel, const char *xunit, double ref)
{
    char title[64];
    snprintf(title, sizeof title, "%s against %s", title_of(set), what);
    draw_frame(f, p, title, xlabel, ylabel, xunit);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
            px(p, ref), p->y0, px(p, ref), p->y0 + p->h);
}

static void plot_size(FILE *f, const rep_set *set, const char *ylabel)
{
    panel p = make_panel(0, 0);
    double xlo = 100, xhi = 100, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < set->n; i++) {
        const rep_run *r = &set->runs[i];
        range_add(&xlo, &xhi, 100 * r->final.params / r->base.params);
        range_add(&ylo, &yhi, y_base(set, r));
        range_add(&ylo, &yhi, y_final(set, r));
    }
    p.ax = nice_axis(xlo, xhi, 10);
    if (p.ax.hi > 100 && xhi <= 100) /* nothing grows: no ticks past the original */
        p.ax.hi = 100 + p.ax.step * 0.25;
    p.ay = nice_axis(ylo, yhi, 1);
    frame_against(f, &p, set, "size", "parameters kept (% of the original model)", ylabel, "", 100);
    for (int i = 0; i < set->n; i++) {
        const rep_run *r = &set->runs[i];
        int li = label_index(set, i);
        point(f, &p, "size", r, li, 100 * r->final.params / r->base.params, y_final(set, r), rep_colour(li), 1);
    }
    baselines(f, set, &p, 100);
}

static void plot_speed(FILE *f, const rep_set *set, const char *ylabel)
{
    panel p = make_panel(1, 0);
    double xlo = 1, xhi = 1, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < set->n; i++) {
        const rep_run *r = &set->runs[i];
        range_add(&xlo, &xhi, speed_flops(r));
        range_add(&xlo, &xhi, speed_measured(r));
        range_add(&ylo, &yhi, y_base(set, r));
        range_add(&ylo, &yhi, y_final(set, r));
    }
    p.ax = nice_axis(xlo, xhi, 0.5);
    p.ay = nice_axis(ylo, yhi, 1);
    frame_against(f, &p, set, "speed", "speedup over the original model", ylabel, "×", 1);
    for (int i = 0; i < set->n; i++) {
        const rep_run *r = &set->runs[i];
        int li = label_index(set, i);
        const char *c = rep_colour(li);
        double y = y_final(set, r), xf = speed_flops(r), xm = speed_measured(r);
        if (isfinite(xf) && isfinite(xm))
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-opacity=\"0.5\"/>\n",
                    px(&p, xf), py(&p, y), px(&p, xm), py(&p, y), c);
        if (isfinite(xf))
            point(f, &p, "flops", r, li, xf, y, c, 0);
        if (isfinite(xm))
            point(f, &p, "measured", r, li, xm, y, c, 1);
    }
    baselines(f, set, &p, 1);
}

static void plot_steps(FILE *f, const rep_set *set)
{
    panel p = make_panel(0, 1);
    double xlo = 0, xhi = 1, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < set->n; i++) {
        const rep_run *r = &set->runs[i];
        range_add(&xlo, &xhi, r->n_steps);
        for (int s = 0; s <= r->n_steps; s++)
            range_add(&ylo, &yhi, y_step(set, r, s));
    }
    p.ax = nice_axis(0, xhi, 1);
    if (p.ax.step != floor(p.ax.step)) /* steps are whole numbers: 0.5 -> 1, 2.5 -> 2 */
        p.ax.step = p.ax.step < 1 ? 1 : floor(p.ax.step);
    p.ax.decimals = 0;
    p.ax.lo = 0;
    p.ax.hi = ceil(xhi / p.ax.step) * p.ax.step;
    p.ay = nice_axis(ylo, yhi, 1);
    char ylabel[80];
    snprintf(ylabel, sizeof ylabel, "%ssearch-split %s (%s)", set->delta ? "change in " : "", set->metric_name,
             unit_of(set));
    draw_frame(f, &p, "Search progress (split the policy scored on)", "committed steps", ylabel, "");
    zero_line(f, set, &p);
    for (int i = 0; i < set->n; i++) {
        const rep_run *r = &set->runs[i];
        int li = label_index(set, i);
        const char *c = rep_colour(li);
        fprintf(f, "<g class=\"line\" data-label=\"");
        esc(f, r->label);
        fprintf(f, "\" data-steps=\"%d\"><title>", r->n_steps);
        esc(f, r->label);
        fprintf(f, "</title>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-opacity=\"0.85\" points=\"", c);
        for (int s = 0; s <= r->n_steps; s++)
            fprintf(f, "%.1f,%.1f ", px(&p, s), py(&p, y_step(set, r, s)));
        fputs("\"/>\n", f);
        /* Markers only where they stay apart. */
        double gap = p.w / (p.ax.hi - p.ax.lo);
        for (int s = 1; s <= r->n_steps && gap >= 6; s++) {
            fprintf(f, "<g class=\"pt\" data-kind=\"step\" data-x=\"%d\" data-y=\"%.6g\">", s, y_step(set, r, s));
            marker(f, li, px(&p, s), py(&p, y_step(set, r, s)), 3.5, c, 1);
            fputs("</g>", f);
        }
        fputs("</g>\n", f);
    }
    for (int i = 0; i < set->n; i++)
        if (draws_baseline(set, i)) {
            fprintf(f, "<g class=\"pt\" data-kind=\"baseline\" data-label=\"original\" data-x=\"0\" data-y=\"%.6g\">",
                    y_step(set, &set->runs[i], 0));
            star(f, px(&p, 0), py(&p, y_step(set, &set->runs[i], 0)), 8);
            fputs("</g>\n", f);
        }
}

static void legend(FILE *f, const rep_set *set)
{
    double x = 20 + PW + 20 + 30, y = 64 + PH + 14 + MT;
    fprintf(f, "<g class=\"legend\">\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"16\" font-weight=\"bold\">Legend</text>\n", x,
            y - 14);
    int any_measured = 0;
    for (int i = 0; i < set->n; i++)
        any_measured |= isfinite(speed_measured(&set->runs[i]));
    int rows = 0;
    for (int i = 0; i < set->n && rows < 14; i++) {
        int li = label_index(set, i), seen = 0;
        for (int j = 0; j < i; j++)
            seen |= label_index(set, j) == li;
        if (seen)
            continue;
        int count = 0;
        for (int j = 0; j < set->n; j++)
            count += label_index(set, j) == li;
        double yy = y + 8 + rows * 24;
        marker(f, li, x + 8, yy, 6, rep_colour(li), 1);
        fprintf(f, "\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\">", x + 24, yy + 5);
        esc(f, set->runs[i].label);
        if (count > 1)
            fprintf(f, " (%d runs)", count);
        fputs("</text>\n", f);
        rows++;
    }
    double yy = y + 8 + rows * 24;
    star(f, x + 8, yy, 9);
    fprintf(f, "\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\">original fine-tuned model%s</text>\n", x + 24, yy + 5,
            set->delta ? "s (at 0)" : "");
    yy += 24;
    marker(f, 0, x + 8, yy, 6, "#555", 0);
    fprintf(f, "\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\">hollow: FLOP reduction (computed)</text>\n", x + 24,
            yy + 5);
    yy += 24;
    marker(f, 0, x + 8, yy, 6, "#555", 1);
    fprintf(f, "\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\">filled: %s</text>\n", x + 24, yy + 5,
            any_measured ? "measured tokens/s, same run" : "measured speed (none given)");
    yy += 34;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#333\">Top plots: %s on the %s.</text>\n",
            x, yy, set->metric_name,
            set->all_report ? "report split (never searched)" : "search split (optimistic: no --results)");
    fputs("\n</g>\n", f);
}

int rep_write_svg(const rep_set *set, FILE *f)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"%s\">\n",
            W, H, W, H, font);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    /* title: configurations present */
    char configs[512] = "";
    size_t n = 0;
    for (int i = 0; i < set->n && n < sizeof configs - 64; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= !strcmp(set->runs[i].config, set->runs[j].config);
        if (!seen)
            n += (size_t)snprintf(configs + n, sizeof configs - n, "%s%s", n ? ", " : "", set->runs[i].config);
    }
    fprintf(f, "<text x=\"24\" y=\"34\" font-size=\"20\" font-weight=\"bold\">AxFormer report: ");
    esc(f, configs);
    fprintf(f, "</text>\n<text x=\"24\" y=\"56\" font-size=\"14\" fill=\"#444\">%d session%s, one point per "
               "session; star = original model%s</text>\n",
            set->n, set->n == 1 ? "" : "s",
            set->delta ? "; several original models (seeds): each run is shown against its own" : "");
    char ylabel[80];
    snprintf(ylabel, sizeof ylabel, "%s%s %s (%s)", set->delta ? "change in " : "",
             set->all_report ? "report-split" : "search-split", set->metric_name, unit_of(set));
    plot_size(f, set, ylabel);
    plot_speed(f, set, ylabel);
    plot_steps(f, set);
    legend(f, set);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
