/* `axf report` on session files written by the real session module (not hand-written fixtures):
 * the reader and the writer agree on the format, and the table shows the session's own numbers.
 * usage: test_report_session AXF_BINARY */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approx_testutil.h" /* tu_model, tu_data, tu_tmpdir, tu_rm_rf */
#include "axf/session.h"
#include "check.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_report_session AXF_BINARY\n");
        return 2;
    }
    char *dir = tu_tmpdir("report");
    char path[4200], svg[4200], md[4200], cmd[16384];
    snprintf(path, sizeof path, "%s/s.json", dir);
    snprintf(svg, sizeof svg, "%s/r.svg", dir);
    snprintf(md, sizeof md, "%s/r.md", dir);

    axf_err err;
    axf_session_opts o = axf_session_opts_default();
    o.batch = 16;
    o.groups = 3;
    axf_session *s = axf_session_new(tu_model(90, 32, 4, 4, 36, 2, 21), tu_data(60, 3, 28, 90, 2, 22), "sst2", &o, &err);
    CHECK(s != NULL);
    if (!s)
        return CHECK_DONE();
    CHECK(axf_session_set_policy(s, "scripts/axformer.lua", "0000000000000000000000000000000000000000000000000000000000000000",
                                 "{\"rule\": \"loss\", \"K\": 30}", &err) == 0);
    axf_session_set_seed(s, 18446744073709551557ull); /* beyond 2^53: written as a string */
    axf_action h = {.op = AXF_OP_DROP_HEAD, .layer = 3, .index = 1};
    axf_action f = {.op = AXF_OP_DROP_FFN, .layer = 2};
    axf_action g = {.op = AXF_OP_DROP_GROUP, .layer = 1, .index = 0};
    axf_metrics t, a1, a2;
    CHECK(axf_session_try(s, &h, 1, "probe", &t, &err) == 0);
    CHECK(axf_session_apply(s, &h, 1, "kept", &a1, &err) == 0);   /* reuses the trial */
    CHECK(axf_session_try(s, &f, 1, "probe", &t, &err) == 0);     /* rejected */
    CHECK(axf_session_apply(s, &g, 1, "by hand", &a2, &err) == 0); /* evaluates */
    CHECK(axf_session_save(s, path, &err) == 0);
    axf_metrics base;
    axf_session_baseline(s, &base);

    snprintf(cmd, sizeof cmd, "'%s' report '%s' --svg '%s' --md '%s'", argv[1], path, svg, md);
    CHECK(system(cmd) == 0);
    char *text = slurp(md);
    CHECK(text != NULL);
    if (text) {
        char want[256];
        /* the policy and its differing parameters are not shown for a single session */
        snprintf(want, sizeof want, "| sst2 | axformer | 18446744073709551557 | %.2f → %.2f (%+.2f) |", 100 * base.metric,
                 100 * a2.metric, 100 * a2.metric - 100 * base.metric);
        CHECK_MSG(strstr(text, want) != NULL, "want %s in\n%s", want, text);
        snprintf(want, sizeof want, "(%.1f%%)", 100.0 * (double)a2.params / (double)base.params);
        CHECK_MSG(strstr(text, want) != NULL, "want %s", want);
        /* evaluations: baseline, the rejected trial... every trial (2) + the apply without a trial (1) + 1 */
        CHECK_MSG(strstr(text, "| 4 | – |") != NULL, "evaluations column:\n%s", text);
    }
    free(text);
    text = slurp(svg);
    CHECK(text && strstr(text, "data-steps=\"2\"") && strstr(text, "</svg>"));
    free(text);

    /* A session saved after an undo: the redo tail is not part of the result. */
    CHECK(axf_session_undo(s, &err) == 0);
    CHECK(axf_session_save(s, path, &err) == 0);
    snprintf(cmd, sizeof cmd, "'%s' report '%s' --md '%s'", argv[1], path, md);
    CHECK(system(cmd) == 0);
    text = slurp(md);
    if (text) {
        char want[128];
        snprintf(want, sizeof want, "%.2f → %.2f", 100 * base.metric, 100 * a1.metric);
        CHECK_MSG(strstr(text, want) != NULL, "want %s in\n%s", want, text);
    }
    free(text);
    axf_session_free(s);
    tu_rm_rf(dir);
    free(dir);
    return CHECK_DONE();
}
