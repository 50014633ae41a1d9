/* `axf demo-model`: generate the synthetic demo task and train its model (the embedded default
 * of `axf demo`). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "axf/demo.h"
#include "axf/fileio.h"
#include "cli.h"

static const char *usage =
    "usage: axf demo-model --out DIR [--seed N] [--threads N]\n"
    "\n"
    "Generates the synthetic sentiment task of the teaching demo (sentiment words, negation,\n"
    "intensifiers and distractors; see include/axf/demo.h for the grammar) and trains a small\n"
    "over-parameterised model on it from scratch (4 layers x 64, 4 heads, FFN 256).\n"
    "\n"
    "Writes DIR/model/ (config.json, model.safetensors, vocab.txt), DIR/train.tsv,\n"
    "DIR/search.tsv, DIR/heldout.tsv and DIR/demo.json (time and accuracies).\n"
    "\n";

static int prog(double done, double total, void *ud)
{
    axf_cli_progress *p = ud;
    if (axf_cli_progress_due(p, done >= total))
        axf_cli_progress_print(p, 0, "%s: step %.0f/%.0f", p->label, done, total);
    return 0;
}

int axf_cmd_demo_model(int argc, char **argv)
{
    const char *out = NULL;
    uint64_t seed = AXF_DEMO_SEED;
    int threads = 2;
    int rc;
    axf_opt opts[] = {
        AXF_OPT_STR("--out", &out, "DIR", "output folder (created)"),
        AXF_OPT_U64("--seed", &seed, "N", "task and training seed (default {}); the same seed gives the same model"),
        AXF_OPT_INT("--threads", &threads, 1, 256, "N",
                    "threads outside training (default {}); training itself runs on one\n"
                    "thread, faster for a model this small and independent of this setting"),
        AXF_OPT_END};
    if (!axf_opt_parse(&(axf_cmd_args){.cmd = "demo-model", .usage = usage}, opts, argc, argv, &rc))
        return rc;
    if (!out)
        return axf_cli_usage("demo-model", "--out DIR is required");
    axf_set_threads(threads);
    axf_demo_result r;
    axf_err err;
    if (axf_io_check_dir_writable(out, &err))
        return axf_cli_fail(err.msg);
    axf_cli_progress p;
    axf_cli_progress_init(&p, "training demo model", 0.2, 5.0);
    rc = axf_demo_build_ex(out, seed, prog, &p, &r, &err);
    axf_cli_progress_end(&p);
    if (rc)
        return axf_cli_fail(err.msg);
    printf("demo model written to %s/model (data: train.tsv, search.tsv, heldout.tsv)\n", out);
    printf("trained in %.1f s (%ld steps, %.0f tokens/s); accuracy: search %.2f%%, held-out %.2f%%\n",
           r.train_seconds, r.steps, r.tokens_per_s, 100 * r.search_acc, 100 * r.heldout_acc);
    return 0;
}
