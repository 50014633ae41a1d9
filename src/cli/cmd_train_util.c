/* Training progress line and option parsing shared by the training commands. */
#include "cmd_train_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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

void tu_common_defaults(tu_common *c)
{
    memset(c, 0, sizeof *c);
    c->layers = 4;
    c->hidden = 256;
    c->heads = 4;
    c->ffn = 1024;
    c->max_len = 128;
    c->threads = 2;
    c->act = AXF_ACT_GELU;
    c->o = axf_train_opts_default();
}

int tu_bad(const char *cmd, const char *opt, const char *want)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s needs %s", opt, want);
    return axf_cli_usage(cmd, msg);
}

static int is_any(const char *k, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(k, *names))
            return 1;
    return 0;
}

int tu_common_opt(const char *cmd, int argc, char **argv, int *i, tu_common *c)
{
    static const char *const ints[] = {"--layers", "--hidden", "--heads", "--ffn", "--max-len", "--threads",
                                       "--epochs", "--batch", "--eval-every", "--steps", NULL};
    static const char *const reals[] = {"--lr", "--warmup", "--weight-decay", "--clip", "--dropout",
                                        "--attn-dropout", NULL};
    const char *k = argv[*i];
    if (!strcmp(k, "--resume")) {
        c->o.resume = 1;
        return 1;
    }
    if (!strcmp(k, "--cased")) {
        c->cased = 1;
        return 1;
    }
    if (strcmp(k, "--act") && strcmp(k, "--seed") && !is_any(k, ints) && !is_any(k, reals))
        return 0;
    if (*i + 1 >= argc) {
        tu_bad(cmd, k, "a value");
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(k, "--act")) {
        if (!strcmp(v, "gelu"))
            c->act = AXF_ACT_GELU;
        else if (!strcmp(v, "gelu_tanh"))
            c->act = AXF_ACT_GELU_TANH;
        else if (!strcmp(v, "relu"))
            c->act = AXF_ACT_RELU;
        else
            return tu_bad(cmd, k, "gelu, gelu_tanh or relu"), -1;
    } else if (!strcmp(k, "--seed")) {
        if (tu_u64(v, &c->o.seed))
            return tu_bad(cmd, k, "a non-negative integer"), -1;
    } else if (is_any(k, ints)) {
        /* [CLS] x [SEP] is the shortest useful sequence */
        long lo = !strcmp(k, "--eval-every") ? 0 : !strcmp(k, "--max-len") ? 3 : 1, lv;
        long hi = !strcmp(k, "--layers") ? AXF_MAX_LAYERS : !strcmp(k, "--heads") ? AXF_MAX_HEADS
                  : !strcmp(k, "--threads") ? 256 : 100000000L;
        if (tu_long(v, lo, hi, &lv)) {
            char want[64];
            snprintf(want, sizeof want, "an integer in %ld..%ld", lo, hi);
            return tu_bad(cmd, k, want), -1;
        }
        if (!strcmp(k, "--layers")) c->layers = (int)lv;
        else if (!strcmp(k, "--hidden")) c->hidden = (int)lv;
        else if (!strcmp(k, "--heads")) c->heads = (int)lv;
        else if (!strcmp(k, "--ffn")) c->ffn = (int)lv;
        else if (!strcmp(k, "--max-len")) c->max_len = (int)lv;
        else if (!strcmp(k, "--threads")) c->threads = (int)lv;
        else if (!strcmp(k, "--epochs")) c->o.epochs = (int)lv;
        else if (!strcmp(k, "--batch")) c->o.batch_size = (int)lv;
        else if (!strcmp(k, "--eval-every")) c->o.eval_every = (int)lv;
        else c->o.max_steps = lv;
    } else {
        float f;
        double hi = !strcmp(k, "--lr") ? 1.0 : !strcmp(k, "--clip") ? 1e6 : !strcmp(k, "--weight-decay") ? 10.0 : 0.95;
        if (tu_float(v, 0.0, hi, &f)) {
            char want[64];
            snprintf(want, sizeof want, "a number in 0..%g", hi);
            return tu_bad(cmd, k, want), -1;
        }
        if (!strcmp(k, "--lr")) c->o.lr = f;
        else if (!strcmp(k, "--warmup")) c->o.warmup = f;
        else if (!strcmp(k, "--weight-decay")) c->o.weight_decay = f;
        else if (!strcmp(k, "--clip")) c->o.clip = f;
        else if (!strcmp(k, "--dropout")) c->o.hidden_dropout = f;
        else c->o.attn_dropout = f;
    }
    return 1;
}
