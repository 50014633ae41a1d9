/* The option table (cli.h): parsing, checking and --help of every command's arguments. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/common.h"
#include "cli.h"

/* The entry named name in t (or in a table it includes); NULL when none. */
static const axf_opt *find(const axf_opt *t, const char *name)
{
    for (; t->kind != AXF_OPTK_END; t++) {
        if (t->kind == AXF_OPTK_TABLE) {
            const axf_opt *o = find(t->target, name);
            if (o)
                return o;
        } else if (t->name && !strcmp(t->name, name)) {
            return t;
        }
    }
    return NULL;
}

/* s as a whole number: decimal digits, or a number without fraction in any form strtod reads
 * ("1e9"). */
static int whole(const char *s, long double *out)
{
    if (!*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    if (*s == '-') {
        long long v = strtoll(s, &end, 10);
        if (!errno && !*end)
            return *out = v, 0;
    } else {
        unsigned long long v = strtoull(s, &end, 10);
        if (!errno && !*end)
            return *out = v, 0;
    }
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end || !isfinite(d) || d != floor(d))
        return -1;
    *out = d;
    return 0;
}

static int real(const char *s, double lo, double hi, double *out)
{
    if (!*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end || !(d >= lo && d <= hi))
        return -1;
    *out = d;
    return 0;
}

/* What the option accepts, for its error message. */
static void want_text(const axf_opt *o, char *buf, size_t n)
{
    if (o->want) {
        snprintf(buf, n, "%s", o->want);
        return;
    }
    switch (o->kind) {
    case AXF_OPTK_INT:
    case AXF_OPTK_LONG:
        snprintf(buf, n, "an integer in %.15g..%.15g", o->lo, o->hi);
        break;
    case AXF_OPTK_U64:
        snprintf(buf, n, "a non-negative integer");
        break;
    case AXF_OPTK_FLOAT:
    case AXF_OPTK_DOUBLE:
        snprintf(buf, n, "a number in %g..%g", o->lo, o->hi);
        break;
    case AXF_OPTK_CHOICE: {
        size_t l = 0;
        buf[0] = 0;
        for (int i = 0; o->choices[i] && l < n; i++)
            l += (size_t)snprintf(buf + l, n - l, "%s%s", i == 0 ? "" : o->choices[i + 1] ? ", " : " or ",
                                  o->choices[i]);
        break;
    }
    default:
        snprintf(buf, n, "a value");
    }
}

static int bad_value(const char *cmd, const axf_opt *o, const char *value)
{
    char want[200], shown[100], msg[400];
    want_text(o, want, sizeof want);
    snprintf(msg, sizeof msg, "%s needs %s, not '%s'", o->name, want, axf_escape_str(shown, sizeof shown, value));
    return axf_cli_usage(cmd, msg);
}

/* Stores value for o; 0, or the exit status of a usage error already printed. */
static int take(const char *cmd, const axf_opt *o, const char *v)
{
    long double w;
    double d;
    char msg[300];
    switch (o->kind) {
    case AXF_OPTK_STR:
        *(const char **)o->target = v;
        return 0;
    case AXF_OPTK_LIST:
        if (*o->count >= o->max) {
            snprintf(msg, sizeof msg, "too many %s (at most %d)", o->name, o->max);
            return axf_cli_usage(cmd, msg);
        }
        ((const char **)o->target)[(*o->count)++] = v;
        return 0;
    case AXF_OPTK_INT:
    case AXF_OPTK_LONG:
        if (whole(v, &w) || w < o->lo || w > o->hi)
            return bad_value(cmd, o, v);
        if (o->kind == AXF_OPTK_INT)
            *(int *)o->target = (int)w;
        else
            *(long *)o->target = (long)w;
        return 0;
    case AXF_OPTK_U64:
        if (whole(v, &w) || w < 0 || w >= 0x1p64L)
            return bad_value(cmd, o, v);
        *(uint64_t *)o->target = (uint64_t)w;
        return 0;
    case AXF_OPTK_FLOAT:
    case AXF_OPTK_DOUBLE:
        if (real(v, o->lo, o->hi, &d))
            return bad_value(cmd, o, v);
        if (o->kind == AXF_OPTK_FLOAT)
            *(float *)o->target = (float)d;
        else
            *(double *)o->target = d;
        return 0;
    case AXF_OPTK_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (!strcmp(v, o->choices[i]))
                return *(int *)o->target = i, 0;
        return bad_value(cmd, o, v);
    case AXF_OPTK_FN: {
        int rc = o->fn(cmd, v, o->target);
        return rc < 0 ? bad_value(cmd, o, v) : rc;
    }
    default:
        return 0;
    }
}

int axf_opt_parse(axf_cmd_args *a, const axf_opt *opts, int argc, char **argv, int *status)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            axf_opt_help(a, opts, stdout);
            *status = 0;
            return 0;
        }
    a->n_pos = 0;
    char msg[300], shown[200];
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (k[0] != '-' || !k[1]) {
            if (a->n_pos < a->max_pos) {
                a->pos[a->n_pos++] = k;
                continue;
            }
            snprintf(msg, sizeof msg, "unexpected argument '%s'", axf_escape_str(shown, sizeof shown, k));
            *status = axf_cli_usage(a->cmd, msg);
            return 0;
        }
        const axf_opt *o = find(opts, k);
        if (!o) {
            snprintf(msg, sizeof msg, "unknown option '%s'", axf_escape_str(shown, sizeof shown, k));
            *status = axf_cli_usage(a->cmd, msg);
            return 0;
        }
        if (o->kind == AXF_OPTK_REFUSE) {
            snprintf(msg, sizeof msg, "%s: %s", o->name, o->help);
            *status = axf_cli_usage(a->cmd, msg);
            return 0;
        }
        if (o->kind == AXF_OPTK_FLAG) {
            *(int *)o->target = 1;
            continue;
        }
        if (i + 1 >= argc) {
            snprintf(msg, sizeof msg, "%s needs a value", o->name);
            *status = axf_cli_usage(a->cmd, msg);
            return 0;
        }
        if ((*status = take(a->cmd, o, argv[++i])) != 0)
            return 0;
    }
    return 1;
}

/* The target's value as --help shows a default. */
static void value_text(const axf_opt *o, char *buf, size_t n)
{
    switch (o->kind) {
    case AXF_OPTK_INT:
        snprintf(buf, n, "%d", *(const int *)o->target);
        break;
    case AXF_OPTK_LONG:
        snprintf(buf, n, "%ld", *(const long *)o->target);
        break;
    case AXF_OPTK_U64:
        snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)o->target);
        break;
    case AXF_OPTK_FLOAT:
        snprintf(buf, n, "%g", (double)*(const float *)o->target);
        break;
    case AXF_OPTK_DOUBLE:
        snprintf(buf, n, "%g", *(const double *)o->target);
        break;
    case AXF_OPTK_CHOICE:
        snprintf(buf, n, "%s", o->choices[*(const int *)o->target]);
        break;
    case AXF_OPTK_STR: {
        const char *s = *(const char *const *)o->target;
        snprintf(buf, n, "%s", s ? s : "none");
        break;
    }
    default:
        buf[0] = 0;
    }
}

#define HELP_COL 24 /* where the help text of an option starts */

static void list(const axf_opt *t, FILE *f)
{
    for (; t->kind != AXF_OPTK_END; t++) {
        if (t->kind == AXF_OPTK_TABLE) {
            list(t->target, f);
            continue;
        }
        if (!t->help || t->kind == AXF_OPTK_REFUSE)
            continue;
        if (t->kind == AXF_OPTK_HEAD) {
            fprintf(f, "%s\n", t->help);
            continue;
        }
        int w = fprintf(f, "  %s%s%s", t->name, t->arg ? " " : "", t->arg ? t->arg : "");
        if (w >= HELP_COL - 1) {
            fputc('\n', f);
            w = 0;
        }
        fprintf(f, "%*s", HELP_COL - w, "");
        for (const char *h = t->help; *h; h++) {
            if (h[0] == '{' && h[1] == '}') {
                char v[64];
                value_text(t, v, sizeof v);
                fputs(v, f);
                h++;
            } else if (*h == '\n') {
                fprintf(f, "\n%*s", HELP_COL, "");
            } else {
                fputc(*h, f);
            }
        }
        fputc('\n', f);
    }
}

void axf_opt_help(const axf_cmd_args *a, const axf_opt *opts, FILE *f)
{
    fputs(a->usage, f);
    list(opts, f);
    if (a->footer)
        fputs(a->footer, f);
}
