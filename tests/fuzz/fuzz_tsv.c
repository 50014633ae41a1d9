/* Fuzz target: task data files (axf_dataset_load with the format detected from the header and the
 * file name, or a forced task), tokenized with the fixture's vocabulary when accepted, and the
 * plain-text line reader (UTF-8 and cp1252). The first byte picks the file name, the task and
 * max_len; the rest is the file. */
#include "axf/data.h"
#include "axf/tokenizer.h"
#include "fuzz_util.h"

static axf_vocab *g_vocab;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_vocab) {
        char vp[300];
        snprintf(vp, sizeof vp, "%s/vocab.txt", fz_fixture_once()->model);
        axf_err err;
        if (!(g_vocab = axf_vocab_load(vp, &err)))
            abort();
    }
    static const char *const names[] = {"dev.tsv",      "sst2_dev.tsv", "cola/train.tsv",
                                        "mrpc.tsv",     "rte.tsv",      "stsb.tsv",
                                        "qnli.tsv",     "mnli.tsv",     "qqp.tsv",
                                        "stsa.binary.dev", "plain.txt", "wnli.tsv"};
    static const char *const tasks[] = {NULL, NULL, NULL, NULL, "sst2", "text", "sst2-sent",
                                        "single", "pair", "cola", "stsb", "mnli", "rte"};
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    const char *name = names[sel % 12];
    const char *task = tasks[(sel / 12) % 13];
    int max_len = 2 + (int)(sel % 31);
    char rel[64];
    snprintf(rel, sizeof rel, "%s", name);
    if (strchr(rel, '/')) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s/cola", fz_dir());
        axf_err e;
        axf_io_mkdir_p(sub, &e);
    }
    const char *path = fz_write(rel, data + 1, size - 1);
    axf_err err;
    axf_dataset *d = axf_dataset_load(path, task, &err);
    if (d) {
        fz_accepted++;
        axf_encoded *e = axf_encode_dataset(d, g_vocab, 1, max_len, &err);
        if (e) {
            for (int i = 0; i < e->n; i++)
                if (e->off[i + 1] - e->off[i] > max_len || e->off[i + 1] < e->off[i])
                    abort();
            axf_encoded_free(e);
        }
        axf_dataset_free(d);
    }
    int n = 0;
    char **lines = axf_text_read_lines(path, sel & 1, &n, &err);
    if (lines)
        axf_text_lines_free(lines, n);
    return 0;
}
