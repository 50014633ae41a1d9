/* `axf demo-model`: generate the synthetic demo task and train its model (the embedded default
 * of `axf demo`). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "axf/demo.h"
#include "axf/fileio.h"
#include "cli.h"
#include "cmd_train_util.h"

static const char *usage =
    "usage: axf demo-model --out DIR [--seed N] [--threads N]\n"
    "\n"
    "Generates the synthetic sentiment task of the teaching demo (sentiment words, negation,\n"
    "intensifiers and distractors; see include/axf/demo.h for the grammar) and trains a small\n"
    "over-parameterised model on it from scratch (4 layers x 64, 4 heads, FFN 256).\n"
    "\n"
    "Writes DIR/model/ (config.json, model.safetensors, vocab.txt), DIR/train.tsv,\n"
    "DIR/search.tsv, DIR/heldout.tsv and DIR/demo.json (time and accuracies).\n"
    "\n"
    "  --out DIR     output folder (created)\n"
    "  --seed N      task and training seed (default 2024); the same seed gives the same model\n"
    "  --threads N   OpenBLAS threads outside training (default 2); training itself runs on one\n"
    "                thread, faster for a model this small and independent of this setting\n";

typedef struct {
    double last;
    int tty;
} demo_prog;

static int prog(double done, double total, void *ud)
{
    demo_prog *p = ud;
    double now = axf_now();
    if (now - p->last < (p->tty ? 0.2 : 5.0) && done < total)
        return 0;
    p->last = now;
    if (p->tty)
        fprintf(stderr, "\rtraining demo model: step %.0f/%.0f\033[K", done, total);
    else
        fprintf(stderr, "training demo model: step %.0f/%.0f\n", done, total);
    return 0;
}

int axf_cmd_demo_model(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    const char *out = NULL;
    uint64_t seed = AXF_DEMO_SEED;
    int threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--out") && v)
            out = v, i++;
        else if (!strcmp(a, "--seed") && v) {
            if (tu_u64(v, &seed))
                return axf_cli_usage("demo-model", "--seed needs a non-negative integer");
            i++;
        } else if (!strcmp(a, "--threads") && v) {
            if (axf_cli_int(v, 1, 256, &threads))
                return axf_cli_usage("demo-model", "--threads needs an integer 1..256");
            i++;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "unexpected argument '%s'", a);
            return axf_cli_usage("demo-model", msg);
        }
    }
    if (!out)
        return axf_cli_usage("demo-model", "--out DIR is required");
    axf_set_threads(threads);
    demo_prog p = {0, isatty(2)};
    axf_demo_result r;
    axf_err err;
    if (axf_io_check_dir_writable(out, &err))
        return axf_cli_fail(err.msg);
    int rc = axf_demo_build_ex(out, seed, prog, &p, &r, &err);
    if (p.tty)
        fputc('\n', stderr);
    if (rc)
        return axf_cli_fail(err.msg);
    printf("demo model written to %s/model (data: train.tsv, search.tsv, heldout.tsv)\n", out);
    printf("trained in %.1f s (%ld steps, %.0f tokens/s); accuracy: search %.2f%%, held-out %.2f%%\n",
           r.train_seconds, r.steps, r.tokens_per_s, 100 * r.search_acc, 100 * r.heldout_acc);
    return 0;
}
