/* Task file readers (GLUE TSV and relatives, sentence-level SST, plain text), Windows-1252 text
 * lines, and tokenized packed data sets.
 *
 * Every line is checked before use (length, NUL, UTF-8, column count, label) and every refusal is
 * one line "FILE:LINE: problem": these files come from many re-hosts with small format drifts. */
#include "axf/data.h"
#include "axf/fileio.h"
#include "axf/labels.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (1u << 20)
#define DATA_MAX_BYTES ((size_t)1 << 32)

/* ---------- data sets ---------- */

axf_dataset *axf_dataset_new(const char *task, int num_labels, axf_task_kind kind)
{
    axf_dataset *d = axf_xcalloc(1, sizeof *d);
    snprintf(d->task, sizeof d->task, "%s", task ? task : "");
    d->num_labels = num_labels;
    d->kind = kind;
    return d;
}

void axf_dataset_add(axf_dataset *d, const char *a, const char *b, int label, float target)
{
    /* capacity is the next power of two >= max(n, 16), so it need not be stored */
    if (d->n == 0 || (d->n >= 16 && (d->n & (d->n - 1)) == 0)) {
        size_t cap = d->n ? 2 * (size_t)d->n : 16;
        d->ex = axf_xrealloc(d->ex, cap * sizeof *d->ex);
    }
    axf_example *e = &d->ex[d->n++];
    e->a = axf_xstrdup(a ? a : "");
    e->b = b ? axf_xstrdup(b) : NULL;
    e->label = label;
    e->target = target;
}

void axf_dataset_free(axf_dataset *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++) {
        free(d->ex[i].a);
        free(d->ex[i].b);
    }
    AXF_FREE(d->ex, d->path, d);
}

void axf_dataset_split(const axf_dataset *d, float frac, uint64_t seed, axf_dataset **train,
                       axf_dataset **dev)
{
    int n = d->n, nd = frac > 0 ? (int)lround(frac * n) : 0;
    nd = frac > 0 && nd < 1 ? 1 : nd;
    nd = nd > n - 1 ? n - 1 : nd;
    nd = nd < 0 ? 0 : nd;
    int *perm = axf_xmalloc(sizeof *perm * (size_t)(n > 0 ? n : 1));
    unsigned char *is_dev = axf_xcalloc((size_t)(n > 0 ? n : 1), 1);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    axf_rng r;
    axf_rng_seed(&r, seed);
    axf_rng_shuffle(&r, perm, n);
    for (int i = 0; i < nd; i++)
        is_dev[perm[i]] = 1;
    *train = axf_dataset_new(d->task, d->num_labels, d->kind);
    *dev = axf_dataset_new(d->task, d->num_labels, d->kind);
    for (int i = 0; i < n; i++)
        axf_dataset_add(is_dev[i] ? *dev : *train, d->ex[i].a, d->ex[i].b, d->ex[i].label, d->ex[i].target);
    AXF_FREE(perm, is_dev);
}

/* ---------- line reader ---------- */

typedef struct {
    const char *path;
    char *buf;          /* whole file, untouched */
    size_t len, pos;
    int lineno;
    char *line;         /* copy of the current line */
    size_t cap;
} lines;

/* Next line (newline and a trailing CR removed) as a NUL-terminated copy; NULL at the end or on
 * an error (*bad set, message names the line). check_utf8 = 0 for Windows-1252 text. */
static char *next_line(lines *lr, int check_utf8, int *bad, axf_err *err)
{
    *bad = 0;
    if (lr->pos >= lr->len)
        return NULL;
    const char *s = lr->buf + lr->pos;
    const char *nl = memchr(s, '\n', lr->len - lr->pos);
    size_t n = nl ? (size_t)(nl - s) : lr->len - lr->pos;
    lr->pos += n + (nl ? 1 : 0);
    lr->lineno++;
    if (n > LINE_MAX_BYTES) {
        *bad = 1;
        axf_err_set(err, "%s:%d: line longer than 1 MiB (%zu bytes)", lr->path, lr->lineno, n);
        return NULL;
    }
    if (n && s[n - 1] == '\r')
        n--;
    if (memchr(s, '\r', n)) {
        *bad = 1;
        axf_err_set(err, "%s:%d: carriage return inside a line (line ends of CR alone? convert them "
                    "to LF)", lr->path, lr->lineno);
        return NULL;
    }
    if (memchr(s, 0, n)) {
        *bad = 1;
        axf_err_set(err, "%s:%d: NUL byte in line (binary file?)", lr->path, lr->lineno);
        return NULL;
    }
    if (check_utf8 && !axf_utf8_valid(s, n)) {
        *bad = 1;
        axf_err_set(err, "%s:%d: invalid UTF-8 (a Latin-1 file? convert it to UTF-8)", lr->path,
                    lr->lineno);
        return NULL;
    }
    if (n + 1 > lr->cap) {
        lr->cap = n + 1 > 256 ? 2 * (n + 1) : 256;
        lr->line = axf_xrealloc(lr->line, lr->cap);
    }
    memcpy(lr->line, s, n);
    lr->line[n] = 0;
    return lr->line;
}

/* Skips a UTF-8 byte order mark (MRPC files start with one). */
static void rewind_lines(lines *lr)
{
    lr->pos = lr->len >= 3 && memcmp(lr->buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    lr->lineno = 0;
}

static int open_lines(lines *lr, const char *path, axf_err *err)
{
    memset(lr, 0, sizeof *lr);
    lr->path = path;
    lr->buf = axf_io_read_file(path, DATA_MAX_BYTES, &lr->len, err);
    if (!lr->buf)
        return -1;
    rewind_lines(lr);
    return 0;
}

static void close_lines(lines *lr)
{
    free(lr->buf);
    free(lr->line);
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

/* Windows-1252 bytes 0x80-0x9F; the five undefined ones keep their Latin-1 code point. */
static const uint16_t cp1252[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

static char *to_utf8_1252(const char *s)
{
    size_t n = strlen(s);
    char *out = axf_xmalloc(3 * n + 1), *o = out;
    for (; *s; s++) {
        unsigned c = (unsigned char)*s;
        if (c >= 0x80 && c < 0xA0)
            c = cp1252[c - 0x80];
        if (c < 0x80) {
            *o++ = (char)c;
        } else if (c < 0x800) {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3F));
        } else {
            *o++ = (char)(0xE0 | (c >> 12));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *o = 0;
    return out;
}

char **axf_text_read_lines(const char *path, int latin1, int *n, axf_err *err)
{
    lines lr;
    *n = 0;
    if (open_lines(&lr, path, err) != 0)
        return NULL;
    char **out = NULL;
    int cnt = 0, cap = 0, bad;
    char *s;
    while ((s = next_line(&lr, !latin1, &bad, err)) != NULL) {
        if (blank(s))
            continue;
        out = axf_grow(out, sizeof *out, cnt, &cap, 256);
        out[cnt++] = latin1 ? to_utf8_1252(s) : axf_xstrdup(s);
    }
    close_lines(&lr);
    if (bad) {
        axf_text_lines_free(out, cnt);
        return NULL;
    }
    *n = cnt;
    if (!out)
        out = axf_xcalloc(1, sizeof *out);
    return out;
}

void axf_text_lines_free(char **lines, int n)
{
    if (!lines)
        return;
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

/* ---------- fields ---------- */

typedef struct {
    char **f;
    int n, cap;
} fields;

/* Splits line in place at tabs. quoting: a field that starts with '"' is CSV-quoted ("" inside
 * stands for ") as written by pandas for Hugging Face exports. */
static int split(char *line, int quoting, fields *fs, const lines *lr, axf_err *err)
{
    fs->n = 0;
    char *p = line;
    for (;;) {
        fs->f = axf_grow(fs->f, sizeof *fs->f, fs->n, &fs->cap, 16);
        if (quoting && *p == '"') {
            char *o = p, *q = p + 1;
            fs->f[fs->n++] = o;
            for (;;) {
                if (*q == 0)
                    return axf_err_set(err, "%s:%d: unterminated quoted field %d", lr->path,
                                       lr->lineno, fs->n);
                if (*q == '"') {
                    if (q[1] == '"') {
                        *o++ = '"';
                        q += 2;
                        continue;
                    }
                    q++;
                    break;
                }
                *o++ = *q++;
            }
            if (*q != '\t' && *q != 0)
                return axf_err_set(err, "%s:%d: characters after the closing quote of field %d",
                                   lr->path, lr->lineno, fs->n);
            char c = *q;
            *o = 0;
            if (c == 0)
                return 0;
            p = q + 1;
        } else {
            fs->f[fs->n++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                return 0;
            *t = 0;
            p = t + 1;
        }
    }
}

/* ---------- tasks and labels ---------- */

/* LAB_REAL: any finite number, a generic file read for a regression model */
typedef enum { LAB_INT, LAB_NLI2, LAB_NLI3, LAB_SCORE, LAB_REAL } label_kind;

typedef struct {
    const char *name;
    int num_labels;     /* 0: from the largest label seen */
    label_kind lab;
} task_info;

static const task_info tasks[] = {
    {"sst2", 2, LAB_INT}, {"cola", 2, LAB_INT},  {"mrpc", 2, LAB_INT},  {"rte", 2, LAB_NLI2},
    {"qnli", 2, LAB_NLI2}, {"mnli", 3, LAB_NLI3}, {"qqp", 2, LAB_INT},  {"stsb", 1, LAB_SCORE},
    {"wnli", 2, LAB_INT}, {"sst2-sent", 0, LAB_INT}, {"text", 0, LAB_INT}, {"single", 0, LAB_INT},
    {"pair", 0, LAB_INT},
};

static const task_info *find_task(const char *name)
{
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
        if (strcmp(tasks[i].name, name) == 0)
            return &tasks[i];
    return NULL;
}

/* How one file's labels are read: the task's own rules, or the classes of the model the data is
 * read for (model non-NULL, classification). */
typedef struct {
    const task_info *t;
    label_kind lab;
    const axf_config *model;
} label_rules;

/* Parses a label; *label = -1 for an unlabelled row ("-1" as in HF test exports). */
static int parse_label(const label_rules *r, const char *s, int *label, float *target, const lines *lr,
                       axf_err *err)
{
    const task_info *t = r->t;
    while (*s == ' ')
        s++;
    char buf[64], shown[80];
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        n--;
    if (n == 0 || n >= sizeof buf)
        return axf_err_set(err, "%s:%d: bad label '%s' for task %s", lr->path, lr->lineno,
                           axf_escape(shown, 48, s, n), t->name);
    memcpy(buf, s, n);
    buf[n] = 0;
    axf_escape_str(shown, sizeof shown, buf);
    *target = 0;
    if (r->lab == LAB_SCORE || r->lab == LAB_REAL) {
        char *end;
        double v = strtod(buf, &end);
        if (r->lab == LAB_REAL && (*end || !isfinite(v) || fabs(v) > 3e38))
            return axf_err_set(err, "%s:%d: bad label '%s' (a number expected: the model is a regression "
                               "model)", lr->path, lr->lineno, shown);
        if (r->lab == LAB_SCORE && (*end || !(v >= 0 && v <= 5)))
            return axf_err_set(err, "%s:%d: bad label '%s' for task %s (a score in 0..5 expected)",
                               lr->path, lr->lineno, shown, t->name);
        *label = -1;
        *target = (float)v;
        return 0;
    }
    if (strcmp(buf, "-1") == 0) {
        *label = -1;
        return 0;
    }
    const axf_config *m = r->model;
    int id = m ? axf_labels_find(m, buf) : -1;
    if (id >= 0) {
        *label = id;
        return 0;
    }
    static const char *nli[3] = {"entailment", "neutral", "contradiction"};
    id = -1;
    if (r->lab == LAB_NLI2 && strcmp(buf, "not_entailment") == 0)
        id = 1;
    if (r->lab == LAB_NLI2 && strcmp(buf, "entailment") == 0)
        id = 0;
    for (int i = 0; r->lab == LAB_NLI3 && i < 3; i++)
        if (strcmp(buf, nli[i]) == 0)
            id = i;
    if (m) {
        if (id >= 0 && id < m->num_labels) {
            *label = id;
            return 0;
        }
        char cls[200];
        return axf_err_set(err, "%s:%d: label '%s' is not one of the model's %d classes: %s", lr->path,
                           lr->lineno, shown, m->num_labels, axf_labels_describe(m, cls, sizeof cls));
    }
    if (id >= 0) {
        *label = id;
        return 0;
    }
    char *end;
    long v = strtol(buf, &end, 10);
    int max = t->num_labels ? t->num_labels - 1 : AXF_MAX_LABELS - 1;
    if (*end || v < -1 || v > max) {
        const char *want = r->lab == LAB_NLI2 ? "0, 1, entailment or not_entailment"
                           : r->lab == LAB_NLI3 ? "0..2, entailment, neutral or contradiction"
                                                : NULL;
        if (want)
            return axf_err_set(err, "%s:%d: bad label '%s' for task %s (%s expected)", lr->path,
                               lr->lineno, shown, t->name, want);
        return axf_err_set(err, "%s:%d: bad label '%s' for task %s (an integer in 0..%d expected)",
                           lr->path, lr->lineno, shown, t->name, max);
    }
    *label = (int)v;
    return 0;
}

/* ---------- formats ---------- */

typedef enum { FMT_HEADER, FMT_STSA, FMT_TWO_COL, FMT_COLA_GLUE, FMT_TEXT } fmt;

static const char *const header_names[] = {
    "sentence", "sentence1", "sentence2", "question", "question1", "question2", "label",
    "gold_label", "is_duplicate", "score", "Quality", "#1 String", "#2 String", "premise",
    "hypothesis"};

static int col(const fields *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->f[i], name) == 0)
            return i;
    return -1;
}

static int looks_like_header(const fields *h)
{
    for (size_t k = 0; k < sizeof header_names / sizeof header_names[0]; k++)
        if (col(h, header_names[k]) >= 0)
            return 1;
    return 0;
}

/* Lower-cased "parent/base" of path, for task keywords. */
static void path_key(const char *path, char *out, size_t n)
{
    const char *p = strrchr(path, '/');
    if (p) {
        while (p > path && p[-1] != '/')
            p--;
    } else {
        p = path;
    }
    size_t i = 0;
    for (; *p && i + 1 < n; p++)
        out[i++] = (char)tolower((unsigned char)*p);
    out[i] = 0;
}

static const char *task_from_path(const char *path)
{
    char k[512];
    path_key(path, k, sizeof k);
    if (strstr(k, "stsa."))
        return "sst2-sent";
    if (strstr(k, "sts-b") || strstr(k, "stsb") || strstr(k, "sts_b"))
        return "stsb";
    static const char *const names[] = {"cola", "mrpc", "rte", "qnli", "mnli", "qqp", "wnli", "sst"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strstr(k, names[i]))
            return strcmp(names[i], "sst") == 0 ? "sst2" : names[i];
    return NULL;
}

/* "<digits> <text>" */
static int stsa_line(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    return *s == ' ';
}

typedef struct {
    int a, b, label;    /* column indices, -1 when absent */
    int ncol;
    int quoting;
} layout;

/* Chooses the columns of a header line and, when task is NULL, the task. */
static const char *header_layout(const fields *h, const char *path, const char *task, layout *L)
{
    int q = col(h, "question"), s = col(h, "sentence");
    L->ncol = h->n;
    L->quoting = col(h, "idx") >= 0; /* Hugging Face datasets export (pandas quoting) */
    if (q >= 0 && s >= 0) {
        L->a = q;
        L->b = s;
    } else {
        static const char *const an[] = {"sentence1", "question1", "#1 String", "premise",
                                         "sentence", "question", "text"};
        static const char *const bn[] = {"sentence2", "question2", "#2 String", "hypothesis"};
        L->a = L->b = -1;
        for (size_t i = 0; i < sizeof an / sizeof an[0] && L->a < 0; i++)
            L->a = col(h, an[i]);
        for (size_t i = 0; i < sizeof bn / sizeof bn[0] && L->b < 0; i++)
            L->b = col(h, bn[i]);
    }
    static const char *const ln[] = {"gold_label", "label", "is_duplicate", "score", "Quality"};
    L->label = -1;
    for (size_t i = 0; i < sizeof ln / sizeof ln[0] && L->label < 0; i++)
        L->label = col(h, ln[i]);
    if (task)
        return task;
    if (col(h, "#1 String") >= 0)
        return "mrpc";
    if (col(h, "question1") >= 0)
        return "qqp";
    if (q >= 0 && s >= 0)
        return "qnli";
    if (col(h, "gold_label") >= 0 || col(h, "premise") >= 0)
        return "mnli";
    if (col(h, "score") >= 0)
        return "stsb";
    const char *p = task_from_path(path);
    if (L->b >= 0)
        return p && strcmp(p, "sst2") != 0 && strcmp(p, "cola") != 0 && strcmp(p, "sst2-sent") != 0
                   ? p : "pair";
    /* the GLUE SST-2 header when the name says so; otherwise a file of any label set */
    return p && (strcmp(p, "cola") == 0 || strcmp(p, "sst2") == 0) ? p : "single";
}

static int ensure_text(const char *s, const char *what, const lines *lr, axf_err *err)
{
    if (blank(s))
        return axf_err_set(err, "%s:%d: empty %s", lr->path, lr->lineno, what);
    return 0;
}

axf_dataset *axf_dataset_load(const char *path, const char *task, axf_err *err)
{
    return axf_dataset_load_for(path, task, NULL, 0, err);
}

/* The format of a file whose first non-blank line (line first_lineno, split into fs) is first:
 * *f, a header's columns *L and the task *tname (task when given). */
static int pick_format(const char *first, const fields *fs, const char *path, const char *task, int first_lineno,
                       fmt *f, layout *L, const char **tname, axf_err *err)
{
    *tname = task;
    if (task && strcmp(task, "text") == 0) {
        *f = FMT_TEXT;
    } else if (task && strcmp(task, "sst2-sent") == 0) {
        *f = FMT_STSA;
    } else if (looks_like_header(fs)) {
        *f = FMT_HEADER;
        *tname = header_layout(fs, path, task, L);
    } else if (task && strcmp(task, "cola") != 0 && strcmp(task, "sst2") != 0 && strcmp(task, "single") != 0) {
        return axf_err_set(err, "%s:%d: task %s needs a header line naming the columns (sentence1, "
                           "sentence2, label, ...)", path, first_lineno, task);
    } else if (fs->n == 4 && (!task || strcmp(task, "cola") == 0)) {
        *f = FMT_COLA_GLUE;
        *tname = "cola";
    } else if (fs->n == 2) {
        *f = FMT_TWO_COL;
        if (!task) {
            const char *p = task_from_path(path);
            *tname = p && strcmp(p, "sst2") == 0 ? "sst2" : "cola"; /* CoLA nlpdatasets layout */
        }
    } else if (fs->n == 1 && !task) {
        const char *p = task_from_path(path);
        if ((p && strcmp(p, "sst2-sent") == 0) || stsa_line(first)) {
            *f = FMT_STSA;
            *tname = "sst2-sent";
        } else {
            *f = FMT_TEXT;
            *tname = "text";
        }
    } else {
        return axf_err_set(err, "%s:%d: no header and %d columns: cannot tell the format (give the task)", path,
                           first_lineno, fs->n);
    }
    if (*f == FMT_HEADER && L->a < 0)
        return axf_err_set(err, "%s:%d: header names no text column (sentence, sentence1, question, ...)", path,
                           first_lineno);
    return 0;
}

/* Reads up to the first non-blank line and decides the format from it (pick_format). */
static int detect_format(lines *lr, const char *task, fields *fs, fmt *f, layout *L, const char **tname,
                         axf_err *err)
{
    int bad = 0;
    char *first;
    while ((first = next_line(lr, 1, &bad, err)) != NULL && blank(first))
        ;
    if (!first)
        return bad ? -1 : axf_err_set(err, "%s: empty file", lr->path);
    if (!task && (first[0] == '{' || first[0] == '['))
        return axf_err_set(err, "%s:%d: a JSON file, not a task TSV or text file", lr->path, lr->lineno);
    char *firstcopy = axf_xstrdup(first);
    int rc = split(firstcopy, 0, fs, lr, err) ? -1
             : pick_format(first, fs, lr->path, task, lr->lineno, f, L, tname, err);
    free(firstcopy);
    return rc;
}

/* One example of a file in format f: its text(s), and its label or target when labelled. */
typedef struct row {
    const char *a, *b;
    int label;
    float target;
} row;

static int read_row(char *s, fmt f, const layout *L, int labelled, const label_rules *rules, fields *fs, lines *lr,
                    row *r, axf_err *err)
{
    *r = (row){NULL, NULL, -1, 0};
    if (f == FMT_TEXT) {
        r->a = s;
    } else if (f == FMT_STSA) {
        if (!stsa_line(s))
            return axf_err_set(err, "%s:%d: expected '<label> <sentence>'", lr->path, lr->lineno);
        char *sp = strchr(s, ' ');
        *sp = 0;
        if (labelled && parse_label(rules, s, &r->label, &r->target, lr, err) != 0)
            return -1;
        r->a = sp + 1;
    } else {
        if (split(s, L->quoting, fs, lr, err) != 0)
            return -1;
        int want = f == FMT_HEADER ? L->ncol : f == FMT_COLA_GLUE ? 4 : 2;
        if (fs->n != want)
            return axf_err_set(err, "%s:%d: expected %d columns, found %d", lr->path, lr->lineno, want, fs->n);
        int ca = f == FMT_HEADER ? L->a : f == FMT_COLA_GLUE ? 3 : 0;
        int cl = f == FMT_HEADER ? L->label : 1;
        r->a = fs->f[ca];
        r->b = f == FMT_HEADER && L->b >= 0 ? fs->f[L->b] : NULL;
        if (labelled && cl >= 0 && parse_label(rules, fs->f[cl], &r->label, &r->target, lr, err) != 0)
            return -1;
    }
    if (ensure_text(r->a, r->b ? "first sentence" : "sentence", lr, err) != 0 ||
        (r->b && ensure_text(r->b, "second sentence", lr, err) != 0))
        return -1;
    return 0;
}

axf_dataset *axf_dataset_load_for(const char *path, const char *task, const axf_config *model, int flags,
                                  axf_err *err)
{
    const task_info *ti = NULL;
    if (task) {
        ti = find_task(task);
        if (!ti || strcmp(task, "demo") == 0) {
            char shown[48];
            axf_err_set(err, "%s: unknown task '%s' (sst2, cola, mrpc, rte, qnli, mnli, qqp, stsb, "
                        "wnli, sst2-sent, text, single, pair)", path, axf_escape_str(shown, sizeof shown, task));
            return NULL;
        }
    }
    lines lr;
    if (open_lines(&lr, path, err) != 0)
        return NULL;
    fields fs = {0};
    axf_dataset *d = NULL;
    int bad = 0;
    fmt f;
    layout L = {-1, -1, -1, 0, 0};
    const char *tname = task;
    if (detect_format(&lr, task, &fs, &f, &L, &tname, err))
        goto fail;
    ti = find_task(tname);
    AXF_ASSERT(ti != NULL);
    int labelled = (flags & AXF_DATA_NO_LABELS) ? 0 : f == FMT_HEADER ? L.label >= 0 : f != FMT_TEXT;
    /* the generic tasks take their label set from the model: its classes, or numbers when it is a
     * regression model */
    int generic = ti->num_labels == 0;
    label_rules rules = {ti, ti->lab, model && model->task == AXF_TASK_CLASSIFY ? model : NULL};
    if (model && model->task == AXF_TASK_REGRESS && generic)
        rules.lab = LAB_REAL;
    int regress = rules.lab == LAB_SCORE || rules.lab == LAB_REAL;
    d = axf_dataset_new(ti->name, 0, regress ? AXF_TASK_REGRESS : AXF_TASK_CLASSIFY);
    d->path = axf_xstrdup(path);
    int max_label = -1;
    if (f != FMT_HEADER)
        rewind_lines(&lr); /* the first line is data */
    char *s;
    while ((s = next_line(&lr, 1, &bad, err)) != NULL) {
        if (blank(s))
            continue;
        row r;
        if (read_row(s, f, &L, labelled, &rules, &fs, &lr, &r, err))
            goto fail;
        if (r.label > max_label)
            max_label = r.label;
        axf_dataset_add(d, r.a, r.b, r.label, r.target);
    }
    if (bad)
        goto fail;
    if (d->n == 0) {
        axf_err_set(err, "%s: no examples after the header", path);
        goto fail;
    }
    if (!labelled)
        d->num_labels = 0;
    else if (regress)
        d->num_labels = 1;
    else if (rules.model)
        d->num_labels = max_label < 0 ? 0 : rules.model->num_labels;
    else if (ti->num_labels)
        d->num_labels = max_label < 0 ? 0 : ti->num_labels;
    else
        d->num_labels = max_label < 0 ? 0 : max_label + 1 < 2 ? 2 : max_label + 1;
    free(fs.f);
    close_lines(&lr);
    return d;
fail:
    free(fs.f);
    close_lines(&lr);
    axf_dataset_free(d);
    return NULL;
}

/* ---------- encoded data sets ---------- */

axf_encoded *axf_encode_dataset(const axf_dataset *d, const axf_vocab *v, int lower, int max_len,
                                axf_err *err)
{
    if (max_len < 3)
        return axf_err_set(err, "%s: max_len %d too small (at least 3: [CLS] a [SEP])", d->path ? d->path : d->task,
                           max_len), NULL;
    axf_encoded *e = axf_xcalloc(1, sizeof *e);
    e->n = d->n;
    e->off = axf_xmalloc(((size_t)d->n + 1) * sizeof *e->off);
    e->labels = axf_xmalloc(((size_t)d->n + 1) * sizeof *e->labels);
    e->targets = axf_xmalloc(((size_t)d->n + 1) * sizeof *e->targets);
    e->num_labels = d->num_labels;
    e->kind = d->kind;
    size_t cap = (size_t)d->n * 32 + 64;
    e->ids = axf_xmalloc(cap * sizeof *e->ids);
    e->types = axf_xmalloc(cap * sizeof *e->types);
    int *ids = axf_xmalloc((size_t)max_len * sizeof *ids), *types = axf_xmalloc((size_t)max_len * sizeof *types);
    size_t tot = 0;
    e->off[0] = 0;
    for (int i = 0; i < d->n; i++) {
        int n = axf_encode_pair(v, d->ex[i].a, d->ex[i].b, lower, max_len, ids, types, err);
        if (n < 0) {
            axf_err_prefix(err, "%s: example %d", d->path ? d->path : d->task, i + 1);
            free(ids);
            free(types);
            axf_encoded_free(e);
            return NULL;
        }
        if (tot + (size_t)n > cap) {
            cap = 2 * cap + (size_t)n;
            e->ids = axf_xrealloc(e->ids, cap * sizeof *e->ids);
            e->types = axf_xrealloc(e->types, cap * sizeof *e->types);
        }
        if (tot + (size_t)n > (size_t)2147483647) {
            axf_err_set(err, "%s: more than 2^31 tokens", d->path ? d->path : d->task);
            free(ids);
            free(types);
            axf_encoded_free(e);
            return NULL;
        }
        memcpy(e->ids + tot, ids, (size_t)n * sizeof *ids);
        memcpy(e->types + tot, types, (size_t)n * sizeof *types);
        tot += (size_t)n;
        e->off[i + 1] = (int)tot;
        e->labels[i] = d->ex[i].label;
        e->targets[i] = d->ex[i].target;
        if (n > e->max_len)
            e->max_len = n;
    }
    free(ids);
    free(types);
    return e;
}

void axf_encoded_free(axf_encoded *e)
{
    if (!e)
        return;
    AXF_FREE(e->ids, e->types, e->off, e->labels, e->targets, e);
}

axf_batch axf_encoded_batch(const axf_encoded *e, int start, int count)
{
    AXF_ASSERT(start >= 0 && count >= 0 && start + count <= e->n);
    axf_batch b;
    b.n_seq = count;
    b.n_tok = e->off[start + count] - e->off[start];
    b.ids = e->ids + e->off[start];
    b.types = e->types + e->off[start];
    b.seq_off = e->off + start;
    return b;
}
