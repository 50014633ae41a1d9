/* The token ids axf feeds the engine, for tests against other tokenizers (tests/models):
 *   test_io_encode_tool MODEL_DIR DATA MAX_LEN
 * loads MODEL_DIR's config and tokenizer as `axf predict` does (axf_vocab_load_dir), reads DATA
 * without labels and prints, per example, its ids then a tab then its token types, each
 * space-separated. Errors: one line, exit 1. */
#include <stdio.h>
#include <stdlib.h>

#include "axf/data.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_io_encode_tool MODEL_DIR DATA MAX_LEN\n");
        return 2;
    }
    axf_err err;
    axf_model *m = axf_model_load(argv[1], &err);
    axf_vocab *v = m ? axf_vocab_load_dir(argv[1], &m->cfg, &err) : NULL;
    axf_dataset *d = v ? axf_dataset_load_for(argv[2], NULL, &m->cfg, AXF_DATA_NO_LABELS, &err) : NULL;
    axf_encoded *e = d ? axf_encode_dataset(d, v, m->cfg.do_lower_case, atoi(argv[3]), &err) : NULL;
    if (!e) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < e->n; i++) {
        for (int t = e->off[i]; t < e->off[i + 1]; t++)
            printf("%s%d", t > e->off[i] ? " " : "", e->ids[t]);
        putchar('\t');
        for (int t = e->off[i]; t < e->off[i + 1]; t++)
            printf("%s%d", t > e->off[i] ? " " : "", e->types[t]);
        putchar('\n');
    }
    axf_encoded_free(e);
    axf_dataset_free(d);
    axf_vocab_free(v);
    axf_model_free(m);
    return 0;
}
