/* `axf export SESSION --out DIR`: writes the physically compacted model of a session's committed
 * plan (loadable by `axf eval`), and with --bench measures it against the original. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "axf/compact.h"
#include "axf/fileio.h"
#include "axf/onnx.h"
#include "axf/session.h"
#include "cli.h"

static const char *usage =
    "usage: axf export SESSION.json [--out DIR [--dense-compatible]] [--onnx FILE [--external-data]\n"
    "                  [--opset N]] [--step N] [--model DIR] [--data FILE] [--bench] [--threads N]\n"
    "Writes DIR/config.json, DIR/model.safetensors, DIR/tokenizer_config.json and the tokenizer's\n"
    "files (vocab.txt, or vocab.json and merges.txt), in the checkpoint's own naming (BERT,\n"
    "DistilBERT, RoBERTa): the model with every removed head, neuron, block and layer cut out and\n"
    "hard attention recorded in config.json (\"axf_hard_attention\"). `axf eval DIR DATA` then\n"
    "reproduces the session's final metrics. --step N exports the plan after history step N\n"
    "(default: the session's cursor).\n";

static const char *footer =
    "--bench also times the original and the compacted model on the session's search split and\n"
    "prints key=value lines: tokens_per_s_{original,compact}, speedup, flops_per_token_{...},\n"
    "flop_reduction, params_{...}, file_bytes_{...}.\n"
    "--onnx FILE writes the same compacted model as an ONNX graph (axf export-onnx --help says what it\n"
    "holds): removed parts absent, hard attention and int8 blocks in standard operators. --out and\n"
    "--onnx may be given together; one of them is needed.\n"
    "--dense-compatible writes to DIR the original shapes instead, every removed head, neuron and block\n"
    "zeroed (biases too) and removed layers left out, which Hugging Face from_pretrained and any BERT\n"
    "loader read and run to the pruned model's logits (no speed-up); refused when the plan has hard\n"
    "attention or int8. The command prints which readers load what it wrote.\n";

/* Size of a model folder's weights file (model.safetensors, or the pytorch_model.bin it came as). */
static long long file_size(const char *dir)
{
    char *p = axf_model_weights_path(dir);
    struct stat st;
    long long n = stat(p, &st) == 0 ? (long long)st.st_size : -1;
    free(p);
    return n;
}

/* The dense-compatible folder (axf_dense_compatible) with the session model's tokenizer files. */
static int export_dense(axf_session *s, const char *model, const char *out, axf_err *err)
{
    axf_model *dm = axf_dense_compatible(axf_session_model(s), axf_session_plan(s), err);
    if (!dm)
        return -1;
    const char *mdir = model ? model : axf_session_model_dir(s);
    int rc = axf_compact_save(dm, NULL, out, mdir && mdir[0] ? mdir : NULL, err);
    axf_model_free(dm);
    return rc;
}

static void print_readers(axf_session *s, const char *out)
{
    axf_err err;
    axf_plan *hard = NULL;
    axf_model *cm = axf_compact(axf_session_model(s), axf_session_plan(s), &hard, &err);
    if (!cm)
        return;
    char buf[1024];
    axf_export_readers(cm, hard, buf, sizeof buf);
    printf("%s: %s\n", out, buf);
    axf_plan_free(hard);
    axf_model_free(cm);
}

/* What the command line asks for. */
typedef struct export_args {
    const char *path, *out, *model, *data, *onnx;
    int step, bench, dense;
    axf_onnx_opts oo;
    axf_session_opts so;
} export_args;

/* The option table into a; 1 when the command goes on, else 0 and *status. */
static int parse_args(int argc, char **argv, export_args *a, int *status)
{
    *a = (export_args){.step = -1, .oo = axf_onnx_opts_default(), .so = axf_session_opts_default()};
    a->so.cache_bytes = 0; /* no search here: nothing to cache */
    axf_opt onnx_opts[3];
    axf_cli_onnx_table(&a->oo, onnx_opts);
    axf_cmd_args args = {.cmd = "export", .usage = usage, .footer = footer, .pos = &a->path, .max_pos = 1};
    axf_opt opts[] = {
        AXF_OPT_HEAD("options:"),
        AXF_OPT_STR("--out", &a->out, "DIR", "the compacted model's folder"),
        AXF_OPT_STR("--onnx", &a->onnx, "FILE", "the same model as an ONNX graph"),
        AXF_OPT_TABLE(onnx_opts),
        AXF_OPT_FLAG("--dense-compatible", &a->dense, "the original shapes, removed parts zero (below)"),
        AXF_OPT_INT("--step", &a->step, 0, 1 << 30, "N", "the plan after history step N (default: the cursor)"),
        AXF_OPT_STR("--model", &a->model, "DIR", "the model, instead of the path the session records"),
        AXF_OPT_STR("--data", &a->data, "FILE", "the search split, instead of the recorded path"),
        AXF_OPT_FLAG("--bench", &a->bench, "time the original and the compacted model (below)"),
        AXF_OPT_INT("--threads", &a->so.threads, 1, 256, "N", "threads"),
        AXF_OPT_END};
    if (!axf_opt_parse(&args, opts, argc, argv, status))
        return 0;
    const char *bad = !a->path || (!a->out && !a->onnx) ? "need SESSION and --out DIR or --onnx FILE"
                      : a->bench && !a->out             ? "--bench needs --out DIR"
                      : a->dense && (!a->out || a->bench) ? "--dense-compatible needs --out DIR (and no --bench)"
                                                          : NULL;
    if (bad)
        *status = axf_cli_usage("export", bad);
    return !bad;
}

/* The session at the step asked for, once the outputs are known to be writable (checked before
 * loading and evaluating). NULL after printing the error. */
static axf_session *open_session(const export_args *a)
{
    axf_err err;
    if ((a->out && axf_io_check_dir_writable(a->out, &err)) || (a->onnx && axf_io_check_writable(a->onnx, &err))) {
        axf_cli_fail(err.msg);
        return NULL;
    }
    axf_session *s = axf_session_load(a->path, a->model, a->data, NULL, &a->so, &err);
    if (!s) {
        axf_cli_fail(err.msg);
        return NULL;
    }
    if (a->step >= 0 && axf_session_goto(s, a->step, &err)) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: --step %d: %s", a->path, a->step, err.msg);
        axf_session_free(s);
        axf_cli_fail(msg);
        return NULL;
    }
    return s;
}

/* The model folder (compacted or dense-compatible) and the ONNX file, as asked; 0, or 1 after
 * printing the error. */
static int write_outputs(axf_session *s, const export_args *a)
{
    axf_err err;
    if (a->out && (a->dense ? export_dense(s, a->model, a->out, &err) : axf_session_export(s, a->out, &err)))
        return axf_cli_fail(err.msg);
    if (a->onnx && axf_cli_onnx_write(axf_session_model(s), axf_session_plan(s), a->onnx, &a->oo))
        return 1;
    return 0;
}

/* What went where: the step, the search split's metrics and the cost before and after, and which
 * readers load the folder. */
static void print_summary(axf_session *s, const export_args *a)
{
    axf_metrics base, cur;
    axf_facts f;
    axf_session_baseline(s, &base);
    axf_session_current(s, &cur);
    axf_session_facts(s, &f);
    const char *out = a->out, *onnx = a->onnx;
    printf("%s: step %d of %d exported to %s%s%s\n", a->path, axf_session_cursor(s), axf_session_history_len(s),
           out ? out : "", out && onnx ? " and " : "", onnx ? onnx : "");
    printf("search split (%d examples): loss %.6f -> %.6f, accuracy %.4f -> %.4f, %s %.4f -> %.4f\n", cur.n,
           base.loss, cur.loss, base.accuracy, cur.accuracy, f.metric_name, base.metric, cur.metric);
    printf("params %zu -> %zu (%.1f%%), FLOPs/token %.4g -> %.4g (%.1f%%)\n", base.params, cur.params,
           100.0 * cur.params / base.params, base.flops_per_token, cur.flops_per_token,
           100.0 * cur.flops_per_token / base.flops_per_token);
    if (out && a->dense)
        printf("%s: dense-compatible: readers: axf, Hugging Face from_pretrained and any BERT loader (original "
               "shapes, removed parts zero: no speed-up)\n", out);
    else if (out)
        print_readers(s, out);
}

/* --bench: the original and the compacted model timed on the search split, as key=value lines.
 * 0, or 1 after printing the error. */
static int print_bench(axf_session *s, const export_args *a)
{
    axf_err err;
    axf_metrics base, cur;
    axf_facts f;
    double tc, tb;
    if (axf_session_measure_speed(s, &tc, &tb, &err))
        return axf_cli_fail(err.msg);
    axf_session_baseline(s, &base);
    axf_session_current(s, &cur);
    axf_session_facts(s, &f);
    const char *mdir = a->model ? a->model : axf_session_model_dir(s);
    printf("tokens_per_s_original=%.1f\ntokens_per_s_compact=%.1f\nspeedup=%.3f\n", tb, tc, tc / tb);
    printf("flops_per_token_original=%.6g\nflops_per_token_compact=%.6g\nflop_reduction=%.3f\n",
           base.flops_per_token, cur.flops_per_token, base.flops_per_token / cur.flops_per_token);
    printf("params_original=%zu\nparams_compact=%zu\n", base.params, cur.params);
    printf("file_bytes_original=%lld\nfile_bytes_compact=%lld\n", file_size(mdir), file_size(a->out));
    printf("mean_tokens_per_example=%.2f\n", f.mean_len);
    return 0;
}

int axf_cmd_export(int argc, char **argv)
{
    export_args a;
    int rc;
    if (!parse_args(argc, argv, &a, &rc))
        return rc;
    axf_session *s = open_session(&a);
    if (!s)
        return 1;
    rc = write_outputs(s, &a);
    if (!rc) {
        print_summary(s, &a);
        if (a.bench)
            rc = print_bench(s, &a);
    }
    axf_session_free(s);
    return rc;
}
