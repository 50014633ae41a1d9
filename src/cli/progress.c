/* The one progress printer of every command (cli.h): a line redrawn in place on a terminal,
 * throttled plain lines otherwise, on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "axf/common.h"
#include "cli.h"

static axf_cli_progress *g_live; /* the printer whose line is being redrawn, if any */

void axf_cli_progress_init(axf_cli_progress *p, const char *label, double tty_every, double plain_every)
{
    p->label = label;
    p->start = axf_now();
    p->last = 0;
    p->tty = isatty(2);
    p->every = p->tty ? tty_every : plain_every;
    p->live = 0;
}

int axf_cli_progress_due(axf_cli_progress *p, int final)
{
    if (!p->tty && p->every <= 0)
        return 0;
    double now = axf_now();
    if (!final && now - p->last < p->every)
        return 0;
    p->last = now;
    return 1;
}

void axf_cli_progress_print(axf_cli_progress *p, int keep, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (p->tty && !keep) {
        fputc('\r', stderr);
        vfprintf(stderr, fmt, ap);
        fputs("\033[K", stderr);
        p->live = 1;
        g_live = p;
    } else {
        axf_cli_progress_end(p);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
    fflush(stderr);
}

const char *axf_cli_progress_bar(axf_cli_progress *p, double frac)
{
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        p->bar[i] = i < fill ? '#' : '.';
    p->bar[30] = 0;
    return p->bar;
}

/* Stops redrawing p's line, leaving on the terminal `how` (erased, or kept with a newline). */
static void stop(axf_cli_progress *p, const char *how)
{
    if (p->live)
        fputs(how, stderr);
    p->live = 0;
    if (g_live == p)
        g_live = NULL;
}

void axf_cli_progress_clear(axf_cli_progress *p) { stop(p, "\r\033[K"); }

void axf_cli_progress_end(axf_cli_progress *p) { stop(p, "\n"); }

void axf_cli_progress_break(void)
{
    if (g_live)
        axf_cli_progress_end(g_live);
}

int axf_cli_progress_cb(double done, double total, void *ud)
{
    axf_cli_progress *p = ud;
    if (!axf_cli_progress_due(p, done >= total))
        return 0;
    double frac = total > 0 ? done / total : 0;
    double el = axf_now() - p->start, eta = frac > 0 ? el * (1 - frac) / frac : 0;
    if (p->tty)
        axf_cli_progress_print(p, 0, "%s [%s] %5.1f%%  %.0fs elapsed, ~%.0fs left", p->label,
                               axf_cli_progress_bar(p, frac), 100 * frac, el, eta);
    else
        axf_cli_progress_print(p, 0, "%s: %.1f%% (%.0fs elapsed, ~%.0fs left)", p->label, 100 * frac, el, eta);
    return 0;
}

void axf_cli_duration(double s, char *buf, int n)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, (size_t)n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, (size_t)n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, (size_t)n, "%lds", t);
}
