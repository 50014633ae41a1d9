/* Golden test: the models of tests/golden/fixture (written by gen_golden.py with PyTorch) loaded
 * with axf_model_load, the inputs tokenized by the project's tokenizer (ids must equal the
 * reference ids) and run by the engine, packed in one batch and in small batches, then in one
 * batch again with frozen (packed) weights; every logit
 * must be within 1e-4 * max(1, |logit|) of PyTorch's. Prints the max difference per model.
 *
 * usage: test_engine_golden FIXTURE_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/engine.h"
#include "axf/tokenizer.h"
#include "check.h"

#define MAX_INPUTS 256
#define MAX_TOK 512

typedef struct {
    char mode[8];
    char *a, *b; /* b NULL for a single sentence */
    int n, ids[MAX_TOK], types[MAX_TOK];
} input;

static char *read_line(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    if (len < 0) {
        free(line);
        return NULL;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = 0;
    return line;
}

static int parse_ints(const char *s, int *out, int cap)
{
    int n = 0;
    char *end;
    while (*s && n < cap) {
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        out[n++] = (int)v;
        s = end;
    }
    return n;
}

static int load_inputs(const char *dir, input *in)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/inputs.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        exit(1);
    }
    int n = 0;
    char *line;
    while ((line = read_line(f)) && n < MAX_INPUTS) {
        char *field[5];
        char *p = line;
        for (int i = 0; i < 5; i++) {
            field[i] = p;
            char *tab = strchr(p, '\t');
            if (!tab && i < 4) {
                fprintf(stderr, "%s:%d: expected 5 fields\n", path, n + 1);
                exit(1);
            }
            if (tab) {
                *tab = 0;
                p = tab + 1;
            }
        }
        input *x = &in[n++];
        snprintf(x->mode, sizeof x->mode, "%s", field[0]);
        x->a = strdup(field[1]);
        x->b = field[2][0] ? strdup(field[2]) : NULL;
        x->n = parse_ints(field[3], x->ids, MAX_TOK);
        int nt = parse_ints(field[4], x->types, MAX_TOK);
        if (nt != x->n || x->n < 1) {
            fprintf(stderr, "%s:%d: ids and types differ in length\n", path, n);
            exit(1);
        }
        free(line);
    }
    fclose(f);
    return n;
}

/* Runs inputs [0, n) in batches of `chunk` sequences; out is [n, C]. */
static void run(axf_engine *e, const input *in, int n, int chunk, int C, float *out)
{
    static int ids[MAX_INPUTS * MAX_TOK], types[MAX_INPUTS * MAX_TOK], off[MAX_INPUTS + 1];
    for (int s0 = 0; s0 < n; s0 += chunk) {
        int nb = n - s0 < chunk ? n - s0 : chunk;
        off[0] = 0;
        for (int i = 0; i < nb; i++) {
            const input *x = &in[s0 + i];
            memcpy(ids + off[i], x->ids, sizeof(int) * x->n);
            memcpy(types + off[i], x->types, sizeof(int) * x->n);
            off[i + 1] = off[i] + x->n;
        }
        axf_batch b = {nb, off[nb], ids, types, off};
        axf_err err;
        int rc = axf_engine_forward(e, NULL, &b, out + (size_t)s0 * C, &err);
        CHECK_MSG(rc == 0, "forward: %s", err.msg);
    }
}

static void check_model(const char *fixture, const char *name, const input *in, int n)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", fixture, name);
    axf_err err;
    axf_model *m = axf_model_load(dir, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    axf_vocab *v = axf_vocab_load(path, &err);
    CHECK_MSG(v != NULL, "%s", err.msg);
    if (!m || !v) {
        axf_model_free(m);
        axf_vocab_free(v);
        return;
    }
    const int C = m->cfg.num_labels;

    /* tokenizer */
    int texts = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(in[i].mode, "text"))
            continue;
        texts++;
        int ids[MAX_TOK], types[MAX_TOK];
        int k = axf_encode_pair(v, in[i].a, in[i].b, m->cfg.do_lower_case, 128, ids, types, &err);
        int same = k == in[i].n && !memcmp(ids, in[i].ids, sizeof(int) * k) &&
                   !memcmp(types, in[i].types, sizeof(int) * k);
        if (!same) {
            bad++;
            if (bad <= 3) {
                fprintf(stderr, "%s: input %d: tokenizer gives %d ids, reference %d:", name, i + 1, k, in[i].n);
                for (int j = 0; j < k && j < 40; j++)
                    fprintf(stderr, " %d", ids[j]);
                fputc('\n', stderr);
            }
        }
    }
    CHECK_MSG(bad == 0, "%s: %d of %d texts tokenized differently from the reference", name, bad, texts);

    /* reference logits */
    snprintf(path, sizeof path, "%s/logits.tsv", dir);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s: cannot open", path);
    double *want = calloc((size_t)n * C, sizeof *want);
    for (int i = 0; f && i < n; i++) {
        char *line = read_line(f), *p = line;
        CHECK_MSG(line != NULL, "%s: %d lines, expected %d", path, i, n);
        for (int c = 0; line && c < C; c++) {
            char *end;
            want[i * C + c] = strtod(p, &end);
            CHECK_MSG(end != p, "%s:%d: expected %d logits", path, i + 1, C);
            p = end;
        }
        free(line);
    }
    if (f)
        fclose(f);

    /* engine: one packed batch, then batches of 5 */
    int total = 0;
    for (int i = 0; i < n; i++)
        total += in[i].n;
    axf_engine *e = axf_engine_new(m, total, &err);
    CHECK_MSG(e != NULL, "%s", err.msg);
    float *got = calloc((size_t)n * C, sizeof *got);
    double worst = 0, worst_rel = 0;
    int chunks[3] = {n, 5, n};
    for (int r = 0; e && r < 3; r++) {
        if (r == 2)   /* the third pass on the engine's own GEMM over packed weights */
            axf_engine_freeze_weights(e, 1);
        run(e, in, n, chunks[r], C, got);
        for (int i = 0; i < n * C; i++) {
            double d = fabs(got[i] - want[i]), rel = d / fmax(1.0, fabs(want[i]));
            worst = d > worst ? d : worst;
            worst_rel = rel > worst_rel ? rel : worst_rel;
            CHECK_MSG(rel <= 1e-4, "%s: input %d logit %d: engine %.9g, PyTorch %.9g", name, i / C + 1, i % C,
                      got[i], want[i]);
        }
    }
    double span = 0;
    for (int i = 0; i < n * C; i++)
        span = fabs(want[i]) > span ? fabs(want[i]) : span;
    printf("golden %s: %d inputs (%d texts, %d tokenized differently), max |logit| %.3g, "
           "max |dlogit| %.3g (relative %.3g, limit 1e-4)\n",
           name, n, texts, bad, span, worst, worst_rel);
    free(got);
    free(want);
    axf_engine_free(e);
    axf_vocab_free(v);
    axf_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_engine_golden FIXTURE_DIR\n");
        return 2;
    }
    static input in[MAX_INPUTS];
    int n = load_inputs(argv[1], in);
    CHECK(n >= 64);
    char path[1024];
    snprintf(path, sizeof path, "%s/models.txt", argv[1]);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s: cannot open", path);
    char *line;
    int models = 0;
    while (f && (line = read_line(f))) {
        if (line[0]) {
            check_model(argv[1], line, in, n);
            models++;
        }
        free(line);
    }
    if (f)
        fclose(f);
    CHECK(models >= 2);
    for (int i = 0; i < n; i++) {
        free(in[i].a);
        free(in[i].b);
    }
    return CHECK_DONE();
}
