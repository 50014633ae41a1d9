/* `axf export-onnx MODEL_DIR`: the ONNX graph (axf/onnx.h) of any model the program loads, run
 * with the hard attention its config.json records; `axf export SESSION --onnx FILE` uses the same
 * writer on a session's plan (cmd_export.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/compact.h"
#include "axf/fileio.h"
#include "axf/onnx.h"
#include "cli.h"

static const char *usage =
    "usage: axf export-onnx MODEL_DIR [--out FILE] [--external-data] [--opset N]\n"
    "Writes the model of MODEL_DIR (hard attention from its config.json, int8 blocks as stored) as\n"
    "an ONNX graph for ONNX Runtime or any ONNX reader: inputs input_ids, attention_mask (and\n"
    "token_type_ids where the architecture has them), int64 [batch, sequence]; output logits\n"
    "[batch, num_labels]. Default FILE: MODEL_DIR/model.onnx.\n"
    "  --external-data  weights in FILE.data beside FILE (always so when they exceed 2 GB)\n"
    "  --opset N        default-domain opset to declare (17 or later; default 17)\n";

int axf_cli_onnx_write(const axf_model *m, const axf_plan *plan, const char *file, const axf_onnx_opts *o)
{
    axf_err err;
    axf_onnx_info info;
    if (axf_onnx_save(m, plan, file, o, &info, &err))
        return axf_cli_fail(err.msg);
    printf("%s: ONNX opset %d, %d layers, %zu nodes, %.2f MB of weights%s\n", file, o->opset, info.n_layers,
           info.n_nodes, info.weight_bytes / 1e6, info.external ? " (in FILE.data)" : "");
    printf("readers: ONNX Runtime and any ONNX runtime with opset %d (the graph holds the compacted shapes, "
           "hard attention and int8 blocks in standard operators)\n", o->opset);
    return 0;
}

/* Parses the ONNX options shared by export and export-onnx at argv[*i]; 1 when it took one, 0 when
 * argv[*i] is not one of them, -1 on a bad value (usage printed: return 2). */
int axf_cli_onnx_opt(const char *cmd, int argc, char **argv, int *i, axf_onnx_opts *o)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--external-data")) {
        o->external_data = 1;
        return 1;
    }
    if (!strcmp(a, "--opset") && *i + 1 < argc) {
        if (axf_cli_int(argv[++*i], 17, 99, &o->opset))
            return axf_cli_usage(cmd, "--opset needs 17..99"), -1;
        return 1;
    }
    return 0;
}

int axf_cmd_export_onnx(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    const char *dir = NULL, *out = NULL;
    axf_onnx_opts o = axf_onnx_opts_default();
    for (int i = 1; i < argc; i++) {
        int r = axf_cli_onnx_opt("export-onnx", argc, argv, &i, &o);
        if (r < 0)
            return 2;
        if (r)
            continue;
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-')
            return axf_cli_usage("export-onnx", "unknown option or missing value");
        else if (!dir)
            dir = argv[i];
        else
            return axf_cli_usage("export-onnx", "one model folder only");
    }
    if (!dir)
        return axf_cli_usage("export-onnx", "need MODEL_DIR");
    char *def = out ? NULL : axf_io_join(dir, "model.onnx");
    if (!out)
        out = def;
    axf_err err;
    int rc = 1;
    axf_plan *plan = NULL;
    axf_model *m = NULL;
    if (axf_io_check_writable(out, &err)) {
        rc = axf_cli_fail(err.msg);
        goto done;
    }
    m = axf_model_load(dir, &err);
    if (!m) {
        rc = axf_cli_fail(err.msg);
        goto done;
    }
    plan = axf_plan_load_hard(dir, m, &err);
    if (!plan) {
        rc = axf_cli_fail(err.msg);
        goto done;
    }
    rc = axf_cli_onnx_write(m, plan, out, &o);
done:
    axf_plan_free(plan);
    axf_model_free(m);
    free(def);
    return rc;
}
