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
    "the session's committed plan) on DATA:\n"
    "  --kind exact      loss change when the element alone is removed (and accuracy change) [default]\n"
    "         gradient   sum over batches of |dL/dgate| (Michel et al. 2019)\n"
    "         entropy    mean attention entropy of each head (nats)\n"
    "         magnitude  L2 norm of the element's weights\n"
    "  --gran blocks,heads,groups (default all)   --groups G: FFN neuron groups (default 12)\n"
    "  --json  one JSON object on stdout: {kind, layers:[{layer, layer_value, attn, ffn, heads:[],\n"
    "          groups:[], and for exact: *_acc}]} with null for removed elements.\n";

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

static int progress_quiet(double d, double t, void *ud)
{
    return axf_cli_progress_cb(d, t, ud);
}

int axf_cmd_importance(int argc, char **argv)
{
    if (axf_cli_wants_help(argc, argv))
        return fputs(usage, stdout), 0;
    const char *pos[2] = {NULL, NULL}, *session = NULL;
    int np = 0, json = 0, groups = 0, gran = AXF_IMP_ALL;
    axf_imp_kind kind = AXF_IMP_EXACT;
    axf_session_opts o = axf_session_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--kind") && i + 1 < argc) {
            int k = axf_imp_kind_from_name(argv[++i]);
            if (k < 0)
                return axf_cli_usage("importance", "--kind is exact, gradient, entropy or magnitude");
            kind = (axf_imp_kind)k;
        } else if (!strcmp(a, "--gran") && i + 1 < argc) {
            const char *g = argv[++i];
            gran = (strstr(g, "block") ? AXF_IMP_BLOCKS : 0) | (strstr(g, "head") ? AXF_IMP_HEADS : 0) |
                   (strstr(g, "group") ? AXF_IMP_GROUPS : 0);
            if (!gran)
                return axf_cli_usage("importance", "--gran lists blocks, heads and/or groups");
        } else if (!strcmp(a, "--groups") && i + 1 < argc) {
            if (axf_cli_int(argv[++i], 1, 64, &groups))
                return axf_cli_usage("importance", "--groups needs 1..64");
        } else if (!strcmp(a, "--max-examples") && i + 1 < argc) {
            if (axf_cli_int(argv[++i], 1, 1 << 30, &o.max_examples))
                return axf_cli_usage("importance", "--max-examples needs a positive number");
        } else if (!strcmp(a, "--max-len") && i + 1 < argc) {
            if (axf_cli_int(argv[++i], 3, 1 << 20, &o.max_len))
                return axf_cli_usage("importance", "--max-len needs a number >= 3");
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (axf_cli_int(argv[++i], 1, 256, &o.threads))
                return axf_cli_usage("importance", "--threads needs 1..256");
        } else if (!strcmp(a, "--session") && i + 1 < argc)
            session = argv[++i];
        else if (!strcmp(a, "--json"))
            json = 1;
        else if (a[0] == '-')
            return axf_cli_usage("importance", "unknown option or missing value");
        else if (np < 2)
            pos[np++] = a;
        else
            return axf_cli_usage("importance", "too many arguments");
    }
    if (!session && np != 2)
        return axf_cli_usage("importance", "need MODEL_DIR and DATA (or --session FILE)");
    if (groups)
        o.groups = groups;

    axf_cli_progress pr;
    axf_cli_progress_init(&pr, "importance");
    o.progress = progress_quiet;
    o.progress_ud = &pr;
    axf_err err;
    axf_session *s = session ? axf_session_load(session, np > 0 ? pos[0] : NULL, np > 1 ? pos[1] : NULL, NULL, &o, &err)
                             : axf_session_open(pos[0], pos[1], &o, &err);
    if (!s) {
        axf_cli_progress_end(&pr);
        return axf_cli_fail(err.msg);
    }
    axf_importance *imp = axf_xmalloc(sizeof *imp);
    int rc = axf_session_importance(s, kind, gran, groups, imp, &err);
    axf_cli_progress_end(&pr);
    if (rc) {
        free(imp);
        axf_session_free(s);
        return axf_cli_fail(err.msg);
    }
    axf_facts f;
    axf_session_facts(s, &f);
    int G = imp->n_groups;
    if (json) {
        printf("{\"kind\":\"%s\",\"groups\":%d,\"seconds\":%.3f,\"layers\":[", axf_imp_kind_name(kind), G,
               imp->seconds);
        for (int i = 0; i < imp->n_layers; i++) {
            printf("%s{\"layer\":%d,\"layer_value\":", i ? "," : "", i);
            jnum(imp->v.layer[i]);
            printf(",\"attn\":");
            jnum(imp->v.attn[i]);
            printf(",\"ffn\":");
            jnum(imp->v.ffn[i]);
            printf(",\"heads\":");
            jarr(imp->v.head[i], imp->n_heads[i]);
            printf(",\"groups\":");
            jarr(imp->v.group[i], G);
            if (kind == AXF_IMP_EXACT) {
                printf(",\"layer_acc\":");
                jnum(imp->acc.layer[i]);
                printf(",\"attn_acc\":");
                jnum(imp->acc.attn[i]);
                printf(",\"ffn_acc\":");
                jnum(imp->acc.ffn[i]);
                printf(",\"heads_acc\":");
                jarr(imp->acc.head[i], imp->n_heads[i]);
                printf(",\"groups_acc\":");
                jarr(imp->acc.group[i], G);
            }
            putchar('}');
        }
        printf("]}\n");
    } else {
        printf("importance: %s on %d examples (%.1fs)%s\n", axf_imp_kind_name(kind), f.n_search, imp->seconds,
               kind == AXF_IMP_EXACT ? "; loss change when removed (accuracy change below)" : "");
        for (int pass = 0; pass < (kind == AXF_IMP_EXACT ? 2 : 1); pass++) {
            const axf_imp_values *v = pass ? &imp->acc : &imp->v;
            if (pass)
                printf("accuracy change when removed:\n");
            printf("%-5s %9s %9s %9s |", "layer", "layer", "attn", "ffn");
            for (int h = 0; h < f.n_heads; h++) {
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
                printf("FFN groups (G=%d):\n", G);
                for (int i = imp->n_layers - 1; i >= 0; i--) {
                    printf("L%-4d", i);
                    for (int g = 0; g < G; g++)
                        cell(v->group[i][g]);
                    printf("\n");
                }
            }
        }
    }
    free(imp);
    axf_session_free(s);
    return 0;
}
