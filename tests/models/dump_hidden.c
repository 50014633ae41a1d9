/* The encoder's hidden states as axf computes them, for the comparison with Hugging Face
 * transformers (tests/models/hf_encoder.py). Loads MODEL_DIR as `axf finetune --init` does
 * (axf_model_load_encoder: a bare BertModel is fine), tokenizes every line of FILE with the
 * folder's vocab.txt (axf_encode_pair, longest-first to MAX_LEN, default 128) and runs batches of
 * up to 32 sentences twice: axf_engine_forward, the path classification takes, whose last layer
 * runs for the [CLS] rows only, and every layer on every token (axf_engine_embed + axf_engine_layer).
 * Writes OUT: int32 count, then per sentence int32 n, int32 ids[n], float32 hidden[n][H] (last
 * layer, every token), float32 cls[H] (the [CLS] row of the forward path); little-endian.
 * usage: dump_hidden MODEL_DIR FILE OUT [MAX_LEN] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/engine.h"
#include "axf/tokenizer.h"

#define BATCH 32

static int fail(const char *msg)
{
    fprintf(stderr, "dump_hidden: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: dump_hidden MODEL_DIR FILE OUT [MAX_LEN]\n");
        return 2;
    }
    int max_len = argc == 5 ? atoi(argv[4]) : 128, rc = 1;
    axf_err err;
    axf_vocab *v = NULL;
    axf_engine *e = NULL;
    FILE *in = NULL, *out = NULL;
    int *ids = NULL, *types = NULL;
    float *h = NULL, *cls = NULL, *logits = NULL;
    char *line = NULL;
    axf_model *m = axf_model_load_encoder(argv[1], NULL, &err);
    if (!m) {
        fail(err.msg);
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", argv[1]);
    if (!(v = axf_vocab_load(path, &err))) {
        fail(err.msg);
        goto done;
    }
    const int H = m->cfg.hidden;
    if (max_len < 3 || max_len > m->cfg.max_pos) {
        fail("MAX_LEN out of range");
        goto done;
    }
    if (!(in = fopen(argv[2], "r")) || !(out = fopen(argv[3], "wb"))) {
        fail("cannot open FILE or OUT");
        goto done;
    }
    if (!(e = axf_engine_new(m, BATCH * max_len, &err))) {
        fail(err.msg);
        goto done;
    }
    ids = malloc(sizeof(int) * BATCH * max_len);
    types = malloc(sizeof(int) * BATCH * max_len);
    h = malloc(sizeof(float) * BATCH * max_len * H);
    cls = malloc(sizeof(float) * BATCH * H);
    logits = malloc(sizeof(float) * BATCH * (m->cfg.num_labels > 0 ? m->cfg.num_labels : 1));
    int off[BATCH + 1];
    int32_t count = 0;
    fwrite(&count, 4, 1, out);
    size_t cap = 0;
    ssize_t len;
    int eof = 0;
    while (!eof) {
        int nb = 0;
        off[0] = 0;
        while (nb < BATCH) {
            if ((len = getline(&line, &cap, in)) < 0) {
                eof = 1;
                break;
            }
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                line[--len] = 0;
            int k = axf_encode_pair(v, line, NULL, m->cfg.do_lower_case, max_len, ids + off[nb],
                                    types + off[nb], &err);
            if (k < 0) {
                fail(err.msg);
                goto done;
            }
            off[nb + 1] = off[nb] + k;
            nb++;
        }
        if (!nb)
            break;
        axf_batch b = {nb, off[nb], ids, types, off};
        /* the classification path first: its [CLS] rows */
        if (axf_engine_forward(e, NULL, &b, logits, &err)) {
            fail(err.msg);
            goto done;
        }
        const float *hid = axf_engine_hidden(e);
        for (int i = 0; i < nb; i++)
            memcpy(cls + (size_t)i * H, hid + (size_t)off[i] * H, sizeof(float) * H);
        /* then every layer on every token */
        axf_engine_embed(e, NULL, &b, h);
        for (int l = 0; l < m->cfg.n_layers; l++)
            axf_engine_layer(e, l, NULL, &b, h);
        for (int i = 0; i < nb; i++) {
            int32_t n = off[i + 1] - off[i];
            fwrite(&n, 4, 1, out);
            fwrite(ids + off[i], 4, (size_t)n, out);
            fwrite(h + (size_t)off[i] * H, sizeof(float), (size_t)n * H, out);
            fwrite(cls + (size_t)i * H, sizeof(float), (size_t)H, out);
        }
        count += nb;
    }
    fseek(out, 0, SEEK_SET);
    fwrite(&count, 4, 1, out);
    rc = 0;
done:
    if (out && fclose(out) && rc == 0)
        rc = fail("write failed");
    if (in)
        fclose(in);
    free(line);
    free(ids);
    free(types);
    free(h);
    free(cls);
    free(logits);
    axf_engine_free(e);
    axf_vocab_free(v);
    axf_model_free(m);
    return rc;
}
