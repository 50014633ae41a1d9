/* The byte-level BPE tokenizer as a command for tests/test_io_bpe.py:
 *   test_io_bpe_tool train CORPUS MERGES OUTDIR   learn vocab.json + merges.txt from CORPUS's lines
 *   test_io_bpe_tool encode DIR CORPUS PREFIX     one line of space-separated ids per CORPUS line
 *   test_io_bpe_tool pair DIR A B MAXLEN          ids and types of <s> A </s></s> B </s>, truncated
 *   test_io_bpe_tool load DIR                     loads and prints the size (errors: exit 1, one line) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/bpe.h"
#include "axf/fileio.h"

static char **lines_of(const char *path, int *n, char **textp)
{
    axf_err err;
    size_t len;
    char *text = *textp = axf_io_read_file(path, (size_t)1 << 30, &len, &err);
    if (!text) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    int cap = 1024;
    char **l = malloc((size_t)cap * sizeof *l);
    *n = 0;
    for (char *p = text; p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        if (nl)
            *nl = 0;
        if (*n == cap)
            l = realloc(l, (size_t)(cap *= 2) * sizeof *l);
        l[(*n)++] = p;
        p = nl ? nl + 1 : text + len;
    }
    return l;
}

static axf_bpe *load(const char *dir)
{
    axf_err err;
    char *v = axf_io_join(dir, "vocab.json"), *m = axf_io_join(dir, "merges.txt");
    axf_bpe *b = axf_bpe_load(v, m, &err);
    free(v);
    free(m);
    if (!b) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return b;
}

int main(int argc, char **argv)
{
    axf_err err;
    if (argc == 5 && !strcmp(argv[1], "train")) {
        int n;
        char *text;
        char **l = lines_of(argv[2], &n, &text);
        axf_bpe *b = axf_bpe_train((const char *const *)l, n, atoi(argv[3]), &err);
        free(l);
        free(text);
        if (!b || axf_bpe_save(b, argv[4], &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        printf("%d tokens\n", axf_bpe_size(b));
        axf_bpe_free(b);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "encode")) {
        axf_bpe *b = load(argv[2]);
        int n;
        char *text;
        char **l = lines_of(argv[3], &n, &text);
        int cap = 1 << 16, *ids = malloc((size_t)cap * sizeof *ids);
        for (int i = 0; i < n; i++) {
            int k = axf_bpe_ids(b, l[i], atoi(argv[4]), ids, cap, &err);
            if (k < 0) {
                fprintf(stderr, "%s:%d: %s\n", argv[3], i + 1, err.msg);
                return 1;
            }
            for (int j = 0; j < k && j < cap; j++)
                printf(j ? " %d" : "%d", ids[j]);
            putchar('\n');
        }
        free(ids);
        free(l);
        free(text);
        axf_bpe_free(b);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "pair")) {
        axf_bpe *b = load(argv[2]);
        int max = atoi(argv[5]), *ids = malloc((size_t)max * sizeof *ids), *ty = malloc((size_t)max * sizeof *ty);
        int k = axf_bpe_encode_pair(b, argv[3], argv[4][0] ? argv[4] : NULL, 0, max, ids, ty, &err);
        if (k < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        for (int j = 0; j < k; j++)
            printf(j ? " %d" : "%d", ids[j]);
        putchar('\n');
        free(ids);
        free(ty);
        axf_bpe_free(b);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "load")) {
        axf_bpe *b = load(argv[2]);
        printf("%d\n", axf_bpe_size(b));
        axf_bpe_free(b);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of tests/test_io_bpe_tool.c\n");
    return 2;
}
