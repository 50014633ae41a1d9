/* Prints the WordPiece ids (lower-cased) of every line of FILE, one line of ids per input line,
 * for the differential tests tests/tokref.py and tests/hf_tokenizer.py. A UTF-8 BOM on the first
 * line is skipped.
 * With --encode MAX_LEN each line is a sentence or a pair "A<TAB>B", encoded as the models see it
 * (axf_encode_pair: [CLS] A [SEP] (B [SEP]), truncated longest-first to MAX_LEN); the line printed
 * is the ids, " | ", then the token types.
 * usage: test_io_tokdump VOCAB FILE [--encode MAX_LEN] */
#include "axf/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_ints(const int *x, int n)
{
    for (int i = 0; i < n; i++)
        printf(i ? " %d" : "%d", x[i]);
}

int main(int argc, char **argv)
{
    int max_len = 0;
    if (argc == 5 && !strcmp(argv[3], "--encode"))
        max_len = atoi(argv[4]);
    if ((argc != 3 && argc != 5) || (argc == 5 && max_len < 3)) {
        fprintf(stderr, "usage: test_io_tokdump VOCAB FILE [--encode MAX_LEN]\n");
        return 2;
    }
    axf_err err;
    axf_vocab *v = axf_vocab_load(argv[1], &err);
    FILE *fp = fopen(argv[2], "rb");
    if (!v || !fp) {
        fprintf(stderr, "%s\n", v ? argv[2] : err.msg);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int first = 1, idcap = max_len > (1 << 16) ? max_len : 1 << 16;
    int *ids = malloc((size_t)idcap * sizeof *ids), *types = malloc((size_t)idcap * sizeof *types);
    while ((n = getline(&line, &cap, fp)) >= 0) {
        if (n && line[n - 1] == '\n')
            line[--n] = 0;
        char *s = line;
        if (first && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        first = 0;
        int k;
        if (max_len) {
            char *b = strchr(s, '\t');
            if (b)
                *b++ = 0;
            k = axf_encode_pair(v, s, b, 1, max_len, ids, types, &err);
        } else {
            k = axf_wordpiece(v, s, 1, ids, idcap, &err);
        }
        if (k < 0) {
            printf("ERROR %s\n", err.msg);
            continue;
        }
        print_ints(ids, k);
        if (max_len) {
            printf(" | ");
            print_ints(types, k);
        }
        printf("\n");
    }
    free(ids);
    free(types);
    free(line);
    fclose(fp);
    axf_vocab_free(v);
    return 0;
}
