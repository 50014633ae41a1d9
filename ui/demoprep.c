/* The demo's model, built once per seed and cached (see demoprep.h). The build goes into a
 * private temporary folder that is renamed into place when complete, so two screens starting at
 * once, or a build killed halfway, never leave a broken cache behind. */
#include "demoprep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axf/demo.h"
#include "axf/fileio.h"

/* Threads used for training (the model must not depend on who starts the demo). */
#define DEMO_THREADS 2

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void rm_tree(const char *dir)
{
    /* only our own build folder: model/ and the split files, nothing else */
    static const char *files[] = {"model/config.json", "model/model.safetensors", "model/vocab.txt",
                                  "model/tokenizer_config.json", "train.tsv", "search.tsv", "heldout.tsv",
                                  "demo.json", "complete"};
    char p[1200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/model", dir);
    rmdir(p);
    rmdir(dir);
}

/* A fingerprint of the generated task (every split and the vocabulary): a binary whose demo
 * grammar changed does not pick up a model cached by an older one. */
static void task_fingerprint(uint64_t seed, char out[17])
{
    axf_demo_set *sets[AXF_DEMO_NSPLITS];
    axf_demo_generate(seed, sets);
    int nv;
    const char *const *vocab = axf_demo_vocab(&nv);
    size_t cap = 64, used = 0;
    for (int k = 0; k < AXF_DEMO_NSPLITS; k++)
        for (int i = 0; i < sets[k]->n; i++)
            cap += strlen(sets[k]->text[i]) + 4;
    for (int i = 0; i < nv; i++)
        cap += strlen(vocab[i]) + 1;
    char *buf = axf_xmalloc(cap);
    for (int k = 0; k < AXF_DEMO_NSPLITS; k++) {
        for (int i = 0; i < sets[k]->n; i++)
            used += (size_t)snprintf(buf + used, cap - used, "%s\t%d\n", sets[k]->text[i], sets[k]->label[i]);
        axf_demo_set_free(sets[k]);
    }
    for (int i = 0; i < nv; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s\n", vocab[i]);
    char hex[65];
    axf_sha256_buf(buf, used, hex);
    free(buf);
    memcpy(out, hex, 16);
    out[16] = 0;
}

int axf_demoprep(uint64_t seed, axf_progress_fn fn, void *ud, char *model_dir, size_t model_n, char *data,
                 size_t data_n, char *holdout, size_t holdout_n, axf_err *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char root[900], dir[1000], mark[1100];
    if (xdg && *xdg)
        snprintf(root, sizeof root, "%s/axformer", xdg);
    else if (home && *home)
        snprintf(root, sizeof root, "%s/.cache/axformer", home);
    else
        return axf_err_set(err, "demo: neither XDG_CACHE_HOME nor HOME is set: no place to cache the model");
    char fp[17];
    task_fingerprint(seed, fp);
    snprintf(dir, sizeof dir, "%s/demo-v%s-s%llu-%s", root, AXF_VERSION, (unsigned long long)seed, fp);
    snprintf(mark, sizeof mark, "%s/complete", dir);
    if (!exists(mark)) {
        if (axf_io_mkdir_p(root, err))
            return axf_err_prefix(err, "demo: cannot create the cache folder");
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dir, (long)getpid());
        rm_tree(tmp);
        axf_set_threads(DEMO_THREADS);
        if (axf_demo_build(tmp, seed, fn, ud, err)) {
            rm_tree(tmp);
            return axf_err_prefix(err, "demo model");
        }
        char tmark[1200];
        snprintf(tmark, sizeof tmark, "%s/complete", tmp);
        FILE *f = fopen(tmark, "w");
        if (!f || fclose(f)) {
            rm_tree(tmp);
            return axf_err_set(err, "demo: cannot write %s", tmark);
        }
        if (rename(tmp, dir)) {
            /* another screen finished first: use its copy */
            rm_tree(tmp);
            if (!exists(mark))
                return axf_err_set(err, "demo: cannot move the built model to %s: %s", dir, strerror(errno));
        }
    }
    snprintf(model_dir, model_n, "%s/model", dir);
    snprintf(data, data_n, "%s/search.tsv", dir);
    snprintf(holdout, holdout_n, "%s/heldout.tsv", dir);
    return 0;
}
