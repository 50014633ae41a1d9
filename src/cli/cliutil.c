/* Helpers shared by the sub-commands: errors, option values, progress lines. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "axf/common.h"
#include "axf/dist.h"

int axf_cli_fail(const char *msg)
{
    axf_dist_note(msg); /* shown by rank 0 when this rank fails alone (dist.h) */
    fprintf(stderr, "axf: %s\n", msg);
    return 1;
}

int axf_cli_usage(const char *cmd, const char *msg)
{
    fprintf(stderr, "axf %s: %s (see axf %s --help)\n", cmd, msg, cmd);
    return 2;
}

int axf_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int axf_cli_int(const char *s, int lo, int hi, int *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

void axf_cli_progress_init(axf_cli_progress *p, const char *label)
{
    p->label = label;
    p->start = axf_now();
    p->last = 0;
    p->tty = isatty(2);
}

int axf_cli_progress_cb(double done, double total, void *ud)
{
    axf_cli_progress *p = ud;
    double now = axf_now();
    if (now - p->last < (p->tty ? 0.1 : 5.0) && done < total)
        return 0;
    p->last = now;
    double frac = total > 0 ? done / total : 0;
    double el = now - p->start, eta = frac > 0 ? el * (1 - frac) / frac : 0;
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r%s [%s] %5.1f%%  %.0fs elapsed, ~%.0fs left ", p->label, bar, 100 * frac, el, eta);
    } else {
        fprintf(stderr, "%s: %.1f%% (%.0fs elapsed, ~%.0fs left)\n", p->label, 100 * frac, el, eta);
    }
    return 0;
}

void axf_cli_progress_end(axf_cli_progress *p)
{
    if (p->tty)
        fputc('\n', stderr);
}

double axf_cli_cpu_now(void) { return axf_cpu_now(0); }

double axf_cli_median(double *v, int n) { return axf_median(v, n); }
