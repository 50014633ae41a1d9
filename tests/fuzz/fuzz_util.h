/* Shared by the fuzz targets (tests/fuzz/fuzz_*.c, built for libFuzzer by scripts/fuzz.sh and, in
 * the ordinary build, with replay_main.c so that every committed input is a regression test):
 * a private scratch folder, an input written to a named file in it (every reader takes a path),
 * and a tiny model + search split the session and policy targets open. The fixture is built
 * from integers only (weights k/4096), so its files, and the sha256 the seed sessions pin, are the
 * same on every machine. */
#ifndef AXF_FUZZ_UTIL_H
#define AXF_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axf/fileio.h"
#include "axf/model.h"
#include "axf/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Inputs the reader accepted (replay_main.c checks that a seed corpus is not all rejects). */
static long fz_accepted;
long fz_accepted_count(void) { return fz_accepted; }

static char fz_root[64];

static void fz_cleanup(void)
{
    if (fz_root[0] && strstr(fz_root, "/axf_fuzz_")) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", fz_root);
    }
}

/* The scratch folder (made once, removed at exit), in memory when /dev/shm is there: every
 * input is written to a file, so this is what bounds executions per second. */
static const char *fz_dir(void)
{
    if (!fz_root[0]) {
        snprintf(fz_root, sizeof fz_root, "/dev/shm/axf_fuzz_XXXXXX");
        if (!mkdtemp(fz_root)) {
            snprintf(fz_root, sizeof fz_root, "/tmp/axf_fuzz_XXXXXX");
            if (!mkdtemp(fz_root)) {
                perror("mkdtemp");
                abort();
            }
        }
        atexit(fz_cleanup);
    }
    return fz_root;
}

/* Writes data to <scratch>/<name> (plain stdio: the atomic writer is not under test here). */
__attribute__((unused)) static const char *fz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(path);
        abort();
    }
    return path;
}

/* What every reader of tensors must give (the safetensors and the pytorch_model.bin targets):
 * each tensor inside the mapping, names unique, the float32 read of each small one done (the
 * converters run on every dtype the reader lets through). Aborts, a crash for libFuzzer, when not. */
__attribute__((unused)) static void fz_check_tensors(const axf_st_file *f)
{
    axf_err err;
    const unsigned char *lo = f->map, *hi = lo + f->map_size;
    for (int i = 0; i < f->n; i++) {
        const axf_st_tensor *t = &f->t[i];
        if (t->data < lo || t->data > hi || t->nbytes > (size_t)(hi - t->data))
            abort(); /* validated offsets stay inside the file, an empty tensor's too */
        if (axf_st_find(f, t->name) != t)
            abort(); /* names are unique */
        size_t count = 1;
        for (int k = 0; k < t->ndim; k++)
            count *= (size_t)t->shape[k];
        if (count > ((size_t)1 << 20))
            continue;
        float *out = malloc(count * sizeof(float) + sizeof(float));
        axf_st_read_f32(t, out, count, &err);
        free(out);
    }
}

/* The fixture: <scratch>/model (2 layers, hidden 8, 2 heads, FFN 16, vocab of 5 specials + 20
 * words w0..w19, 2 labels) and <scratch>/search.tsv (12 labelled sentences of those words). */
typedef struct fz_fixture {
    char model[128], data[128];
} fz_fixture;

__attribute__((unused)) static int fz_fixture_make(const char *root, fz_fixture *fx)
{
    snprintf(fx->model, sizeof fx->model, "%s/model", root);
    snprintf(fx->data, sizeof fx->data, "%s/search.tsv", root);
    axf_config cfg = axf_config_default(25, 8, 2, 2, 16, 2);
    cfg.max_pos = 32;
    axf_err err;
    axf_model *m = axf_model_new(&cfg, 0, &err);
    if (!m)
        return -1;
    uint64_t x = 88172645463325252ULL; /* xorshift64: integers only */
    for (size_t i = 0; i < m->n_floats; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        m->arena[i] = (float)((int)(x % 2001) - 1000) / 4096.0f;
    }
    for (int i = 0; i < cfg.hidden; i++) {
        m->emb_ln_g[i] = 1;
        for (int l = 0; l < cfg.n_layers; l++)
            m->layers[l].ln1_g[i] = m->layers[l].ln2_g[i] = 1;
    }
    int rc = axf_model_save(m, fx->model, &err);
    axf_model_free(m);
    if (rc)
        return -1;
    char vp[160];
    snprintf(vp, sizeof vp, "%s/vocab.txt", fx->model);
    FILE *v = fopen(vp, "w");
    if (!v)
        return -1;
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", v);
    for (int i = 0; i < 20; i++)
        fprintf(v, "w%d\n", i);
    fclose(v);
    FILE *d = fopen(fx->data, "w");
    if (!d)
        return -1;
    fputs("sentence\tlabel\n", d);
    for (int i = 0; i < 12; i++)
        fprintf(d, "w%d w%d w%d\t%d\n", i, (i * 7) % 20, (i * 3 + 1) % 20, i % 2);
    fclose(d);
    return 0;
}

/* The fixture in the scratch folder, made on the first call (aborts when it cannot be). */
__attribute__((unused)) static const fz_fixture *fz_fixture_once(void)
{
    static fz_fixture fx;
    static int made;
    if (!made) {
        axf_set_threads(1);
        if (fz_fixture_make(fz_dir(), &fx)) {
            fprintf(stderr, "fuzz: cannot build the fixture in %s\n", fz_dir());
            abort();
        }
        made = 1;
    }
    return &fx;
}

#endif
