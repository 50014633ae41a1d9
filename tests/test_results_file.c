/* The experiment-results reader (axf/resultsfile.h) on its own: the fixture of the report test
 * reads with every number where the file puts it; absent and null read as NAN / NULL / not
 * present; bad files (wrong format or version, a missing field, a wrong type, a value out of
 * range, an entry that is not an object) are refused with one line naming the file and the
 * field's path, and leave nothing to free. Also the policy parameters the session-file reader
 * lists key by key (axf/sessionfile.h), which `axf report` labels runs with.
 * usage: test_results_file FIXTURE_DIR (tests/report) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axf/resultsfile.h"
#include "axf/sessionfile.h"
#include "check.h"
#include "io_testutil.h"

static void test_fixture(const char *fix)
{
    axf_resultsfile f;
    axf_err err;
    CHECK_MSG(axf_resultsfile_read(tu_path(fix, "results.json"), &f, &err) == 0, "%s", err.msg);
    CHECK(f.version == 1 && f.n_runs == 4);
    if (f.n_runs != 4)
        return;
    const axf_results_run *a = &f.runs[0], *r = &f.runs[1], *d = &f.runs[2], *o = &f.runs[3];
    CHECK(!strcmp(a->session, "axformer.json") && !a->label && !strcmp(a->task, "sst2") && !strcmp(a->size, "tiny"));
    CHECK(a->seed == 1);
    CHECK(a->report.present && a->report.baseline == 0.8154 && a->report.export_ == 0.8234 && a->report.n == 872);
    CHECK(a->report.metric_name && !strcmp(a->report.metric_name, "accuracy"));
    CHECK(a->speed.present && a->speed.baseline_tok_s == 5000.0 && a->speed.export_tok_s == 6450.0);
    CHECK(a->file_bytes.present && a->file_bytes.baseline == 17650000 && a->file_bytes.export_ == 15290000);
    CHECK(a->search.present && a->search.seconds == 12.5 && a->search.evals == 6 && a->search.layer_evals == 14 &&
          a->search.layer_evals_saved == 10 && a->search.seconds_nocache == 20.25 &&
          a->search.layer_evals_nocache == 24);
    /* random.json: a search object with only seconds, no file sizes */
    CHECK(r->search.present && r->search.seconds == 3.0 && isnan(r->search.evals) && isnan(r->search.seconds_nocache));
    CHECK(!r->file_bytes.present && isnan(r->file_bytes.baseline) && isnan(r->report.n) && !r->report.metric_name);
    CHECK(d->report.present && d->report.export_ == 0.8 && !d->speed.present && !d->search.present);
    CHECK(!strcmp(o->session, "not_in_this_report.json") && !strcmp(o->label, "other") && !o->task && !o->size &&
          isnan(o->seed) && !o->report.present && isnan(o->report.baseline));
    axf_resultsfile_free(&f);
    axf_resultsfile_free(&f); /* harmless twice: free leaves it empty */
    CHECK(f.n_runs == 0 && !f.runs);
}

static void test_nulls(const char *dir)
{
    const char *text = "{\"format\":\"axf-results\",\"version\":1,\"runs\":[{\"session\":\"s.json\",\"label\":null,"
                       "\"seed\":null,\"report\":null,\"speed\":{\"baseline_tok_s\":null},\"search\":{}}]}";
    char *path = tu_path(dir, "nulls.json");
    tu_write(path, text, strlen(text));
    axf_resultsfile f;
    axf_err err;
    CHECK_MSG(axf_resultsfile_read(path, &f, &err) == 0, "%s", err.msg);
    if (f.n_runs == 1) {
        const axf_results_run *e = &f.runs[0];
        CHECK(!e->label && isnan(e->seed) && !e->report.present);
        CHECK(e->speed.present && isnan(e->speed.baseline_tok_s) && isnan(e->speed.export_tok_s));
        CHECK(e->search.present && isnan(e->search.seconds));
    } else {
        CHECK(f.n_runs == 1);
    }
    axf_resultsfile_free(&f);
    const char *empty = "{\"format\":\"axf-results\",\"version\":1,\"runs\":[]}";
    path = tu_path(dir, "empty_runs.json");
    tu_write(path, empty, strlen(empty));
    CHECK_MSG(axf_resultsfile_read(path, &f, &err) == 0 && f.n_runs == 0, "%s", err.msg);
    axf_resultsfile_free(&f);
}

static void test_bad(const char *dir)
{
#define HEAD "{\"format\":\"axf-results\",\"version\":1,\"runs\":["
    static const struct {
        const char *text, *want; /* want: the message after "PATH: " */
    } cases[] = {
        {"{\"format\":\"axf-results\",\"version\":2,\"runs\":[]}", "version: 2 is newer than this program reads (1)"},
        {"{\"format\":\"axf-session\",\"version\":1,\"runs\":[]}", "format: not \"axf-results\""},
        {"{\"format\":\"axf-results\",\"version\":1}", "runs: missing"},
        {HEAD "{\"label\":\"x\"}]}", "runs[0].session: missing"},
        {HEAD "{\"session\":\"a.json\"},{\"session\":\"b.json\",\"report\":{\"baseline\":0.5}}]}",
         "runs[1].report.export: missing"},
        {HEAD "{\"session\":\"a.json\",\"speed\":{\"baseline_tok_s\":\"fast\"}}]}",
         "runs[0].speed.baseline_tok_s: expected a number"},
        {HEAD "{\"session\":7}]}", "runs[0].session: expected a string"},
        {HEAD "{\"session\":\"a.json\",\"label\":3}]}", "runs[0].label: expected a string"},
        {HEAD "{\"session\":\"a.json\",\"search\":[1]}]}", "runs[0].search: expected an object"},
        {HEAD "{\"session\":\"a.json\",\"report\":{\"baseline\":0.5,\"export\":0.6,\"metric_name\":1}}]}",
         "runs[0].report.metric_name: expected a string"},
        {HEAD "{\"session\":\"a.json\",\"file_bytes\":{\"export\":-4}}]}",
         "runs[0].file_bytes.export: -4 is out of range"},
        {HEAD "{\"session\":\"a.json\",\"seed\":-1}]}", "runs[0].seed: -1 is out of range"},
        {HEAD "\"a.json\"]}", "runs[0]: expected an object"},
        {"{\"format\":\"axf-results\",\"version\":1,\"runs\":{}}", "runs: expected an array"},
        {HEAD "{\"session\":\"a.json\"}", "truncated JSON"},
    };
#undef HEAD
    char *path = tu_path(dir, "bad.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_write(path, cases[i].text, strlen(cases[i].text));
        axf_resultsfile f;
        axf_err err;
        int rc = axf_resultsfile_read(path, &f, &err);
        char want[600];
        snprintf(want, sizeof want, "%s: ", path);
        CHECK_MSG(rc == -1, "case %zu read", i);
        if (rc != -1) {
            axf_resultsfile_free(&f);
            continue;
        }
        CHECK_MSG(!strncmp(err.msg, want, strlen(want)) && strstr(err.msg, cases[i].want) && !strchr(err.msg, '\n'),
                  "case %zu: '%s', want '%s'", i, err.msg, cases[i].want);
        CHECK_MSG(f.n_runs == 0 && !f.runs, "case %zu left runs behind", i);
    }
    axf_resultsfile f;
    axf_err err;
    CHECK(axf_resultsfile_read(tu_path(dir, "none.json"), &f, &err) == -1 && strstr(err.msg, "none.json: "));
}

/* The session-file reader's parameter list on the report fixture axformer.json, whose policy
 * params are {"accept": "loss", "hard_k": 30, "near_miss": 1.1}. */
static void test_params(const char *fix)
{
    axf_sessionfile f;
    axf_err err;
    CHECK_MSG(axf_sessionfile_read(tu_path(fix, "axformer.json"), &f, &err) == 0, "%s", err.msg);
    CHECK(f.n_params == 3);
    if (f.n_params == 3) {
        const axf_sessionfile_param *p = f.params;
        CHECK(!strcmp(p[0].key, "accept") && p[0].kind == AXF_PARAM_STRING && !strcmp(p[0].str, "loss") &&
              !strcmp(p[0].json, "\"loss\""));
        CHECK(!strcmp(p[1].key, "hard_k") && p[1].kind == AXF_PARAM_NUMBER && p[1].num == 30 && !p[1].str &&
              !strcmp(p[1].json, "30"));
        CHECK(!strcmp(p[2].key, "near_miss") && p[2].kind == AXF_PARAM_NUMBER && p[2].num == 1.1 &&
              !strcmp(p[2].json, "1.1"));
    }
    axf_sessionfile_free(&f);
    CHECK(f.n_params == 0 && !f.params);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_results_file FIXTURE_DIR\n");
        return 2;
    }
    char *dir = tu_tmpdir();
    test_fixture(argv[1]);
    test_nulls(dir);
    test_bad(dir);
    test_params(argv[1]);
    tu_rmdir(dir);
    return CHECK_DONE();
}
