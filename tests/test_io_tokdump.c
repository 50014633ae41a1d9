/* Prints the WordPiece ids (lower-cased) of every line of FILE, one line of ids per input line,
 * for the differential test tests/tokref.py. A UTF-8 BOM on the first line is skipped.
 * usage: test_io_tokdump VOCAB FILE */
#include "axf/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_io_tokdump VOCAB FILE\n");
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
    int first = 1, idcap = 1 << 16;
    int *ids = malloc((size_t)idcap * sizeof *ids);
    while ((n = getline(&line, &cap, fp)) >= 0) {
        if (n && line[n - 1] == '\n')
            line[--n] = 0;
        char *s = line;
        if (first && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        first = 0;
        int k = axf_wordpiece(v, s, 1, ids, idcap, &err);
        if (k < 0) {
            printf("ERROR %s\n", err.msg);
            continue;
        }
        for (int i = 0; i < k; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    free(line);
    fclose(fp);
    axf_vocab_free(v);
    return 0;
}
