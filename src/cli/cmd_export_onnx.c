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
    "[batch, num_labels].\n";

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

void axf_cli_onnx_table(axf_onnx_opts *o, axf_opt t[3])
{
    axf_opt ext = AXF_OPT_FLAG("--external-data", &o->external_data,
                               "weights in FILE.data beside FILE (always so when they exceed 2 GB)");
    axf_opt opset = AXF_OPT_INT("--opset", &o->opset, 17, 99, "N", "default-domain opset to declare (default {})");
    t[0] = ext;
    t[1] = opset;
    t[2] = (axf_opt)AXF_OPT_END;
}

int axf_cmd_export_onnx(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    axf_onnx_opts o = axf_onnx_opts_default();
    axf_opt onnx[3];
    axf_cli_onnx_table(&o, onnx);
    axf_cmd_args args = {.cmd = "export-onnx", .usage = usage, .pos = &dir, .max_pos = 1};
    int rc;
    axf_opt opts[] = {
        AXF_OPT_STR("--out", &out, "FILE", "where the graph goes (default MODEL_DIR/model.onnx)"),
        AXF_OPT_TABLE(onnx),
        AXF_OPT_END};
    if (!axf_opt_parse(&args, opts, argc, argv, &rc))
        return rc;
    if (!dir)
        return axf_cli_usage("export-onnx", "need MODEL_DIR");
    char *def = out ? NULL : axf_io_join(dir, "model.onnx");
    if (!out)
        out = def;
    axf_err err;
    rc = 1;
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
