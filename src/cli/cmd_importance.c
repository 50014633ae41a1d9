/* `axf importance MODEL_DIR DATA`: per-element importance of a model (or of a session's current
 * plan) on data, as a table per layer or as JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/session.h"
#include "cli.h"

static const char *usage =
    "usage: axf importance MODEL_DIR DATA [--kind K] [--gran LIST] [--groups G] [--max-examples N]\n"
    "                      [--max-len N] [--threads N] [--json]\n"
    "       axf importance --session SESSION.json [same options]\n"
    "Importance of every layer, attention / FFN block, head and FFN neuron group of the model (or of\n"
    "the session's committed plan) on DATA.\n";

static void jnum(double v)
{
    if (isnan(v))
        fputs("null", stdout);
    else
        printf("%.6g", v);
}

static void jarr(const float *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++) {
        if (i)
            putchar(',');
        jnum(v[i]);
    }
    putchar(']');
}

static void cell(double v)
{
    if (isnan(v))
        printf(" %9s", "-");
    else
        printf(" %9.4g", v);
}

/* One layer's values of v as JSON members: "layer_value", "attn", ... or (acc) "layer_acc",
 * "attn_acc", ... */
static void json_values(const axf_importance *imp, const axf_imp_values *v, int i, int acc)
{
    const char *sfx = acc ? "_acc" : "";
    printf(",\"%s\":", acc ? "layer_acc" : "layer_value");
    jnum(v->layer[i]);
    printf(",\"attn%s\":", sfx);
    jnum(v->attn[i]);
    printf(",\"ffn%s\":", sfx);
    jnum(v->ffn[i]);
    printf(",\"heads%s\":", sfx);
    jarr(v->head[i], imp->n_heads[i]);
    printf(",\"groups%s\":", sfx);
    jarr(v->group[i], imp->n_groups);
}

static void print_json(const axf_importance *imp, axf_imp_kind kind)
{
    printf("{\"kind\":\"%s\",\"groups\":%d,\"seconds\":%.3f,\"layers\":[", axf_imp_kind_name(kind), imp->n_groups,
           imp->seconds);
    for (int i = 0; i < imp->n_layers; i++) {
        printf("%s{\"layer\":%d", i ? "," : "", i);
        json_values(imp, &imp->v, i, 0);
        if (kind == AXF_IMP_EXACT)
            json_values(imp, &imp->acc, i, 1);
        putchar('}');
    }
    printf("]}\n");
}

/* One table of v: a row per layer (top first), then the FFN groups when asked for. */
static void print_values(const axf_importance *imp, const axf_imp_values *v, int n_heads, int gran)
{
    printf("%-5s %9s %9s %9s |", "layer", "layer", "attn", "ffn");
    for (int h = 0; h < n_heads; h++) {
        char hn[16];
        snprintf(hn, sizeof hn, "h%d", h);
        printf(" %9s", hn);
    }
    printf("\n");
    for (int i = imp->n_layers - 1; i >= 0; i--) {
        printf("L%-4d", i);
        cell(v->layer[i]);
        cell(v->attn[i]);
        cell(v->ffn[i]);
        printf(" |");
        for (int h = 0; h < imp->n_heads[i]; h++)
            cell(v->head[i][h]);
        printf("\n");
    }
    if (gran & AXF_IMP_GROUPS) {
        printf("FFN groups (G=%d):\n", imp->n_groups);
        for (int i = imp->n_layers - 1; i >= 0; i--) {
            printf("L%-4d", i);
            for (int g = 0; g < imp->n_groups; g++)
                cell(v->group[i][g]);
            printf("\n");
        }
    }
}

static void print_table(axf_session *s, const axf_importance *imp, axf_imp_kind kind, int gran)
{
    axf_facts f;
    axf_session_facts(s, &f);
    printf("importance: %s on %d examples (%.1fs)%s\n", axf_imp_kind_name(kind), f.n_search, imp->seconds,
           kind == AXF_IMP_EXACT ? "; loss change when removed (accuracy change below)" : "");
    print_values(imp, &imp->v, f.n_heads, gran);
    if (kind == AXF_IMP_EXACT) {
        printf("accuracy change when removed:\n");
        print_values(imp, &imp->acc, f.n_heads, gran);
    }
}

static int kind_opt(const char *cmd, const char *v, void *target)
{
    int k = axf_imp_kind_from_name(v);
    if (k < 0)
        return -1;
    *(axf_imp_kind *)target = (axf_imp_kind)k;
    return 0;
}

static int gran_opt(const char *cmd, const char *g, void *target)
{
    int gran = (strstr(g, "block") ? AXF_IMP_BLOCKS : 0) | (strstr(g, "head") ? AXF_IMP_HEADS : 0) |
               (strstr(g, "group") ? AXF_IMP_GROUPS : 0);
    if (!gran)
        return -1;
    *(int *)target = gran;
    return 0;
}

int axf_cmd_importance(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL}, *session = NULL;
    int json = 0, groups = 0, gran = AXF_IMP_ALL;
    axf_imp_kind kind = AXF_IMP_EXACT;
    axf_session_opts o = axf_session_opts_default();
    axf_cmd_args args = {.cmd = "importance", .usage = usage, .pos = pos, .max_pos = 2};
    int rc;
    axf_opt opts[] = {
        AXF_OPT_FN("--kind", kind_opt, &kind, "exact, gradient, entropy or magnitude", "K",
                   "exact      loss change when the element alone is removed (and\n"
                   "           accuracy change) [default]\n"
                   "gradient   sum over batches of |dL/dgate| (Michel et al. 2019)\n"
                   "entropy    mean attention entropy of each head (nats)\n"
                   "magnitude  L2 norm of the element's weights"),
        AXF_OPT_FN("--gran", gran_opt, &gran, "a list of blocks, heads and/or groups", "LIST",
                   "blocks,heads,groups (default all)"),
        AXF_OPT_INT("--groups", &groups, 1, 64, "G", "FFN neuron groups (default 12)"),
        AXF_OPT_INT("--max-examples", &o.max_examples, 1, 1 << 30, "N", "first N examples only"),
        AXF_OPT_INT("--max-len", &o.max_len, 3, 1 << 20, "N", "tokens per example ({})"),
        AXF_OPT_INT("--threads", &o.threads, 1, 256, "N", "threads"),
        AXF_OPT_STR("--session", &session, "FILE", "the session's committed plan, model and data"),
        AXF_OPT_FLAG("--json", &json,
                     "one JSON object on stdout: {kind, layers:[{layer, layer_value, attn,\n"
                     "ffn, heads:[], groups:[], and for exact: *_acc}]} with null for\n"
                     "removed elements"),
        AXF_OPT_END};
    if (!axf_opt_parse(&args, opts, argc, argv, &rc))
        return rc;
    if (!session && args.n_pos != 2)
        return axf_cli_usage("importance", "need MODEL_DIR and DATA (or --session FILE)");
    if (groups)
        o.groups = groups;

    axf_cli_progress pr;
    axf_cli_progress_init(&pr, "importance", 0.1, 5.0);
    o.progress = axf_cli_progress_cb;
    o.progress_ud = &pr;
    axf_err err;
    axf_session *s = session ? axf_session_load(session, pos[0], pos[1], NULL, &o, &err)
                             : axf_session_open(pos[0], pos[1], &o, &err);
    if (!s) {
        axf_cli_progress_end(&pr);
        return axf_cli_fail(err.msg);
    }
    axf_importance *imp = axf_xmalloc(sizeof *imp);
    rc = axf_session_importance(s, kind, gran, groups, imp, &err);
    axf_cli_progress_end(&pr);
    if (rc) {
        free(imp);
        axf_session_free(s);
        return axf_cli_fail(err.msg);
    }
    if (json)
        print_json(imp, kind);
    else
        print_table(s, imp, kind, gran);
    free(imp);
    axf_session_free(s);
    return 0;
}
