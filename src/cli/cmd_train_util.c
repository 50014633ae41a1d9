/* Training progress line and option parsing shared by the training commands. */
#include "cmd_train_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void tu_progress_init(tu_progress *p)
{
    p->tty = isatty(2);
    p->last = 0;
    p->every = p->tty ? 0.2 : 10.0;
    p->live = 0;
}

void tu_duration(double s, char *buf, int n)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, (size_t)n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, (size_t)n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, (size_t)n, "%lds", t);
}

int tu_progress_cb(const axf_train_status *st, void *ud)
{
    tu_progress *p = ud;
    double now = axf_now();
    if (!st->evaluated && now - p->last < p->every && st->step < st->total_steps)
        return 0;
    p->last = now;
    char el[32], eta[32], dev[64] = "";
    tu_duration(st->elapsed, el, sizeof el);
    tu_duration(st->eta, eta, sizeof eta);
    if (!isnan(st->dev_metric)) {
        if (st->dev_metric <= 0)
            snprintf(dev, sizeof dev, "  dev loss %.4f", st->dev_loss);
        else
            snprintf(dev, sizeof dev, "  dev acc %.2f%% loss %.4f", 100 * st->dev_metric, st->dev_loss);
    }
    const char *ph = st->evaluated ? "eval" : st->phase;
    if (p->tty && !st->evaluated) {
        fprintf(stderr, "\r%s  step %ld/%ld  epoch %d  loss %.4f  %.0f tok/s  %s elapsed  ETA %s%s\033[K", ph, st->step,
                st->total_steps, st->epoch, st->loss, st->tokens_per_s, el, eta, dev);
        p->live = 1;
    } else {
        if (p->live)
            fputc('\n', stderr);
        p->live = 0;
        fprintf(stderr, "%s  step %ld/%ld  epoch %d  loss %.4f  %.0f tok/s  %s elapsed  ETA %s%s\n", ph, st->step,
                st->total_steps, st->epoch, st->loss, st->tokens_per_s, el, eta, dev);
    }
    fflush(stderr);
    return 0;
}

void tu_progress_end(tu_progress *p)
{
    if (p->live)
        fputc('\n', stderr);
    p->live = 0;
}

int tu_float(const char *s, double lo, double hi, float *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi))
        return -1;
    *out = (float)v;
    return 0;
}

int tu_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int tu_long(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}
