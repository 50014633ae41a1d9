/* Task data: every real file in the shared data folder loads with the counts of PROVENANCE.md
 * (MRPC BOM, RTE quoting checked against the unquoted re-split copy, Windows-1252 lines), the
 * other GLUE layouts from generated files, packed encoding and batch views, and the malformed
 * files in tests/badinput (one-line errors naming file and line).
 * usage: test_io_data DATA_DIR BADINPUT_DIR */
#include "axf/data.h"
#include "axf/fileio.h"
#include "axf/labels.h"
#include "check.h"
#include "io_testutil.h"

static const char *data_dir;
static char *tmp;

static axf_dataset *load(const char *rel, const char *task)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    axf_err err;
    axf_dataset *d = axf_dataset_load(path, task, &err);
    CHECK_MSG(d != NULL, "%s", err.msg);
    return d;
}

static void check_file(const char *rel, const char *task, int n, int n0, int n1, int num_labels,
                       int pair)
{
    axf_dataset *d = load(rel, NULL);
    if (!d)
        return;
    int c0 = 0, c1 = 0, other = 0;
    for (int i = 0; i < d->n; i++) {
        c0 += d->ex[i].label == 0;
        c1 += d->ex[i].label == 1;
        other += d->ex[i].label != 0 && d->ex[i].label != 1;
        CHECK((d->ex[i].b != NULL) == pair);
    }
    CHECK_MSG(strcmp(d->task, task) == 0 && d->n == n && c0 == n0 && c1 == n1 &&
              d->num_labels == num_labels && (num_labels == 0 || other == 0),
              "%s: task %s n %d (0: %d, 1: %d, other %d) labels %d", rel, d->task, d->n, c0, c1,
              other, d->num_labels);
    printf("ok %-40s %-9s %6d examples (0: %d, 1: %d)\n", rel, d->task, d->n, c0, c1);
    axf_dataset_free(d);
}

static void test_real_files(void)
{
    check_file("sst2_glue/dev.tsv", "sst2", 872, 428, 444, 2, 0);
    check_file("sst2_glue/alps_train.tsv", "sst2", 60614, 26786, 33828, 2, 0);
    check_file("sst2_glue/alps_dev.tsv", "sst2", 6735, 2994, 3741, 2, 0);
    check_file("sst2_stsa_binary/stsa.binary.train", "sst2-sent", 6920, 3310, 3610, 2, 0);
    check_file("sst2_stsa_binary/stsa.binary.dev", "sst2-sent", 872, 428, 444, 2, 0);
    check_file("sst2_stsa_binary/stsa.binary.test", "sst2-sent", 1821, 912, 909, 2, 0);
    check_file("cola_nlpdatasets/train.tsv", "cola", 8551, 2528, 6023, 2, 0);
    check_file("cola_nlpdatasets/dev.tsv", "cola", 516, 162, 354, 2, 0);
    check_file("mrpc_glue/train.tsv", "mrpc", 3668, 1194, 2474, 2, 1);
    check_file("mrpc_glue/dev.tsv", "mrpc", 408, 129, 279, 2, 1);
    check_file("mrpc_glue/msr_paraphrase_train.txt", "mrpc", 4076, 1323, 2753, 2, 1);
    check_file("mrpc_glue/test.tsv", "mrpc", 1725, 0, 0, 0, 1);
    check_file("rte_glue_hf/train.tsv", "rte", 2490, 1249, 1241, 2, 1);
    check_file("rte_glue_hf/dev.tsv", "rte", 277, 146, 131, 2, 1);
    check_file("rte_glue_resplit/train.tsv", "rte", 1244, 627, 617, 2, 1);
    check_file("rte_glue_resplit/dev.tsv", "rte", 139, 70, 69, 2, 1);
    check_file("rte_glue_resplit/test.tsv", "rte", 1384, 698, 686, 2, 1);

    /* first examples, text exactly as in the file (BOM gone, trailing space kept) */
    axf_dataset *d = load("mrpc_glue/dev.tsv", NULL);
    CHECK(d && strcmp(d->ex[0].a, "He said the foodservice pie business doesn't fit the company's "
                                  "long-term growth strategy.") == 0 && d->ex[0].label == 1);
    CHECK(d && d->ex[0].b[0] == '"'); /* MRPC quotes are literal */
    axf_dataset_free(d);
    d = load("mrpc_glue/test.tsv", NULL);
    CHECK(d && d->ex[0].label == -1 && strncmp(d->ex[0].a, "PCCW's chief", 12) == 0);
    axf_dataset_free(d);
    d = load("sst2_glue/dev.tsv", NULL);
    CHECK(d && strcmp(d->ex[0].a, "it 's a charming and often affecting journey . ") == 0 &&
          d->ex[0].label == 1 && d->kind == AXF_TASK_CLASSIFY);
    axf_dataset_free(d);
    d = load("sst2_stsa_binary/stsa.binary.dev", NULL);
    CHECK(d && strcmp(d->ex[0].a, "one long string of cliches .") == 0 && d->ex[0].label == 0);
    axf_dataset_free(d);

    /* forcing a task */
    d = load("sst2_glue/dev.tsv", "sst2");
    CHECK(d && d->n == 872);
    axf_dataset_free(d);
    d = load("cola_nlpdatasets/dev.tsv", "text");
    CHECK(d && d->n == 516 && d->num_labels == 0 && d->ex[0].label == -1 && strchr(d->ex[0].a, '\t'));
    axf_dataset_free(d);
    char path[1024];
    axf_err err;
    snprintf(path, sizeof path, "%s/cola_nlpdatasets/dev.tsv", data_dir);
    CHECK(axf_dataset_load(path, "mnli", &err) == NULL && strstr(err.msg, "dev.tsv:1: task mnli needs a header"));
    CHECK(axf_dataset_load(path, "nonsense", &err) == NULL && strstr(err.msg, "unknown task 'nonsense'"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The HF copy is CSV-quoted, the re-split copy is not: after unquoting both must hold the same
 * 2767 (sentence1, sentence2, label) triples. */
static void test_rte_quoting(void)
{
    const char *hf[] = {"rte_glue_hf/train.tsv", "rte_glue_hf/dev.tsv"};
    const char *rs[] = {"rte_glue_resplit/train.tsv", "rte_glue_resplit/dev.tsv", "rte_glue_resplit/test.tsv"};
    char **x = NULL, **y = NULL;
    int nx = 0, ny = 0, quoted = 0;
    for (int side = 0; side < 2; side++) {
        const char **files = side ? rs : hf;
        int nf = side ? 3 : 2;
        for (int k = 0; k < nf; k++) {
            axf_dataset *d = load(files[k], NULL);
            if (!d)
                return;
            for (int i = 0; i < d->n; i++) {
                size_t len = strlen(d->ex[i].a) + strlen(d->ex[i].b) + 8;
                char *s = malloc(len);
                snprintf(s, len, "%s\t%s\t%d", d->ex[i].a, d->ex[i].b, d->ex[i].label);
                if (!side && strchr(s, '"'))
                    quoted++;
                if (side) {
                    y = realloc(y, (size_t)(ny + 1) * sizeof *y);
                    y[ny++] = s;
                } else {
                    x = realloc(x, (size_t)(nx + 1) * sizeof *x);
                    x[nx++] = s;
                }
            }
            axf_dataset_free(d);
        }
    }
    CHECK(nx == 2767 && ny == 2767);
    qsort(x, (size_t)nx, sizeof *x, cmp_str);
    qsort(y, (size_t)ny, sizeof *y, cmp_str);
    int same = 0;
    for (int i = 0; i < nx && i < ny; i++)
        same += strcmp(x[i], y[i]) == 0;
    CHECK_MSG(same == 2767, "%d of 2767 RTE examples agree after unquoting", same);
    printf("ok RTE quoting: %d of %d examples equal the unquoted copy (%d contain a quote)\n", same,
           nx, quoted);
    for (int i = 0; i < nx; i++)
        free(x[i]);
    for (int i = 0; i < ny; i++)
        free(y[i]);
    free(x);
    free(y);

    axf_dataset *d = load("rte_glue_hf/dev.tsv", NULL);
    int found = 0;
    for (int i = 0; d && i < d->n; i++)
        if (strstr(d->ex[i].a, "irreconcilable differences\" as the reason"))
            found = d->ex[i].a[0] == 's'; /* opening quote removed, "" became " */
    CHECK(found);
    axf_dataset_free(d);
}

static void test_latin1(void)
{
    char path[1024];
    axf_err err;
    snprintf(path, sizeof path, "%s/rt_polarity/rt-polarity.pos", data_dir);
    CHECK(axf_dataset_load(path, NULL, &err) == NULL && strstr(err.msg, "rt-polarity.pos:44: invalid UTF-8"));
    int n = 0;
    CHECK(axf_text_read_lines(path, 0, &n, &err) == NULL && strstr(err.msg, ":44:"));
    char **lines = axf_text_read_lines(path, 1, &n, &err);
    CHECK(lines && n == 5331);
    int ellipsis = 0, eacute = 0;
    for (int i = 0; lines && i < n; i++) {
        ellipsis += strstr(lines[i], "\xe2\x80\xa6") != NULL; /* 0x85 in cp1252 */
        eacute += strstr(lines[i], "\xc3\xa9") != NULL;
    }
    CHECK(ellipsis > 0 && eacute > 0);
    CHECK(lines && strncmp(lines[0], "the rock is destined", 20) == 0);
    axf_text_lines_free(lines, n);
    snprintf(path, sizeof path, "%s/rt_polarity/rt-polarity.neg", data_dir);
    lines = axf_text_read_lines(path, 1, &n, &err);
    CHECK(lines && n == 5331);
    axf_text_lines_free(lines, n);
    snprintf(path, sizeof path, "%s/sst2_glue/dev.tsv", data_dir);
    lines = axf_text_read_lines(path, 0, &n, &err);
    CHECK(lines && n == 873 && strcmp(lines[0], "sentence\tlabel") == 0);
    axf_text_lines_free(lines, n);
}

static axf_dataset *load_text(const char *name, const char *content, const char *task)
{
    char *p = tu_path(tmp, name);
    tu_write_str(p, content);
    axf_err err;
    axf_dataset *d = axf_dataset_load(p, task, &err);
    CHECK_MSG(d != NULL, "%s: %s", name, err.msg);
    return d;
}

/* Layouts of the official GLUE files we do not have, written by hand from their documented headers. */
static void test_generated_layouts(void)
{
    axf_dataset *d;
    d = load_text("in_domain_train.tsv", "gj04\t1\t\tOur friends won't buy this analysis.\n"
                                         "gj04\t0\t*\tThey drank the pub.\n", NULL);
    CHECK(d && strcmp(d->task, "cola") == 0 && d->n == 2 && d->ex[1].label == 0 &&
          strcmp(d->ex[1].a, "They drank the pub.") == 0);
    axf_dataset_free(d);
    d = load_text("qnli_dev.tsv", "index\tquestion\tsentence\tlabel\n"
                                  "0\tWhat came?\tThe rain came.\tentailment\n"
                                  "1\tWho?\tNobody knows.\tnot_entailment\n", NULL);
    CHECK(d && strcmp(d->task, "qnli") == 0 && d->n == 2 && strcmp(d->ex[0].a, "What came?") == 0 &&
          strcmp(d->ex[0].b, "The rain came.") == 0 && d->ex[0].label == 0 && d->ex[1].label == 1);
    axf_dataset_free(d);
    d = load_text("dev_matched.tsv",
                  "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
                  "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tgold_label\n"
                  "0\t1\t1n\tgov\t( a )\t( b )\t(ROOT a)\t(ROOT b)\tThe cat sat.\tA cat sat.\tneutral\tneutral\tneutral\n"
                  "1\t2\t2e\tgov\t( a )\t( b )\t(ROOT a)\t(ROOT b)\tIt is red.\tIt is blue.\tcontradiction\tneutral\tcontradiction\n"
                  "2\t3\t3e\tgov\t( a )\t( b )\t(ROOT a)\t(ROOT b)\tHe ran.\tHe moved.\tentailment\tentailment\tentailment\n",
                  NULL);
    CHECK(d && strcmp(d->task, "mnli") == 0 && d->n == 3 && d->num_labels == 3 && d->ex[0].label == 1 &&
          d->ex[1].label == 2 && d->ex[2].label == 0 && strcmp(d->ex[1].b, "It is blue.") == 0);
    axf_dataset_free(d);
    d = load_text("qqp.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\r\n"
                             "1\t1\t2\tHow do I learn C?\tWhat is the way to learn C?\t1\r\n", NULL);
    CHECK(d && strcmp(d->task, "qqp") == 0 && d->n == 1 && d->ex[0].label == 1 &&
          strcmp(d->ex[0].b, "What is the way to learn C?") == 0); /* CRLF */
    axf_dataset_free(d);
    d = load_text("sts.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                             "0\tmain-captions\tMSRvid\t2012test\t1\tnone\tnone\tA plane takes off.\tA plane is taking off.\t5.000\n"
                             "1\tmain-captions\tMSRvid\t2012test\t4\tnone\tnone\tA man plays.\tA woman sings.\t0.250\n",
                  NULL);
    CHECK(d && strcmp(d->task, "stsb") == 0 && d->kind == AXF_TASK_REGRESS && d->num_labels == 1 &&
          d->ex[0].target == 5.0f && d->ex[1].target == 0.25f && d->ex[1].label == -1);
    axf_dataset_free(d);
    d = load_text("hf_sst2.tsv", "sentence\tlabel\tidx\n\"say \"\"hi\"\"\"\t1\t0\nplain\t0\t1\n", NULL);
    CHECK(d && strcmp(d->task, "sst2") == 0 && d->n == 2 && strcmp(d->ex[0].a, "say \"hi\"") == 0);
    axf_dataset_free(d);
    d = load_text("pairs.tsv", "sentence1\tsentence2\tlabel\n\n a \t b \t3\n\nc\td\t0\n\n", NULL);
    CHECK(d && strcmp(d->task, "pair") == 0 && d->n == 2 && d->num_labels == 4 &&
          strcmp(d->ex[0].a, " a ") == 0);
    axf_dataset_free(d);
    d = load_text("notes.txt", "first line\n\nsecond line\n", NULL);
    CHECK(d && strcmp(d->task, "text") == 0 && d->n == 2 && d->num_labels == 0 && d->ex[1].label == -1);
    axf_dataset_free(d);
    d = load_text("labels.txt", "0 bad movie\n4 great movie\n", NULL);
    CHECK(d && strcmp(d->task, "sst2-sent") == 0 && d->n == 2 && d->num_labels == 5);
    axf_dataset_free(d);
    d = load_text("mix.tsv", "sentence\tlabel\nx\t1\ny\t-1\n", "sst2");
    CHECK(d && d->n == 2 && d->ex[1].label == -1 && d->num_labels == 2);
    axf_dataset_free(d);

    /* growth and manual building */
    axf_dataset *m = axf_dataset_new("demo", 2, AXF_TASK_CLASSIFY);
    for (int i = 0; i < 1000; i++)
        axf_dataset_add(m, "a", i % 2 ? "b" : NULL, i % 2, 0);
    CHECK(m->n == 1000 && m->ex[999].label == 1 && strcmp(m->ex[999].b, "b") == 0 && !m->ex[998].b);
    axf_dataset_free(m);
    axf_dataset_free(NULL);
}

/* A model's classes for the label tests: C labels named by names (NULL: unnamed). */
static axf_config classes(int C, const char *const *names)
{
    axf_config c = axf_config_default(100, 8, 1, 2, 16, C);
    for (int i = 0; names && i < C; i++)
        snprintf(c.labels[i], sizeof c.labels[i], "%s", names[i]);
    return c;
}

static axf_dataset *load_for(const char *name, const char *content, const char *task, const axf_config *c,
                             int flags, axf_err *err)
{
    char *p = tu_path(tmp, name);
    tu_write_str(p, content);
    return axf_dataset_load_for(p, task, c, flags, err);
}

/* Issue 13, any label set: a generic single-sentence file is an N-class task whose classes come
 * from the model; labels by number or by the model's names; predict reads no labels. */
static void test_label_sets(void)
{
    axf_err err;
    const char *three = "sentence\tlabel\ngood\t2\nbad\t0\nso so\t1\n";
    /* by its name alone: a 3-class file, not SST-2 (it was refused as "bad label '2' for task sst2") */
    axf_dataset *d = load_text("three.tsv", three, NULL);
    CHECK(d && strcmp(d->task, "single") == 0 && d->num_labels == 3 && d->ex[0].label == 2);
    axf_dataset_free(d);
    d = load_text("texts.tsv", "text\tlabel\ngood\t2\nbad\t0\n", NULL);
    CHECK(d && strcmp(d->task, "single") == 0 && d->num_labels == 3);
    axf_dataset_free(d);
    /* a name that says sst keeps the binary SST-2 reading */
    char *p = tu_path(tmp, "my_sst.tsv");
    tu_write_str(p, three);
    CHECK(axf_dataset_load(p, NULL, &err) == NULL && strstr(err.msg, "my_sst.tsv:2: bad label '2' for task sst2"));

    static const char *const sent[] = {"negative", "neutral", "positive"};
    axf_config c3 = classes(3, sent), c2 = classes(2, NULL), u3 = classes(3, NULL);
    d = load_for("named.tsv", "sentence\tlabel\na\tpositive\nb\t0\nc\tLABEL_1\nd\t-1\ne\tneutral\n", NULL, &c3, 0, &err);
    CHECK_MSG(d && d->num_labels == 3 && d->ex[0].label == 2 && d->ex[1].label == 0 && d->ex[2].label == 1 &&
              d->ex[3].label == -1 && d->ex[4].label == 1, "%s", d ? "labels" : err.msg);
    axf_dataset_free(d);
    /* outside the model's classes: one line naming file, line and the classes */
    CHECK(load_for("out.tsv", "sentence\tlabel\na\t1\nb\t3\n", NULL, &c3, 0, &err) == NULL &&
          strstr(err.msg, "out.tsv:3: label '3' is not one of the model's 3 classes: 0..2 (negative, neutral, positive)"));
    CHECK(load_for("out2.tsv", three, NULL, &c2, 0, &err) == NULL &&
          strstr(err.msg, "out2.tsv:2: label '2' is not one of the model's 2 classes: 0..1") &&
          !strstr(err.msg, "("));
    CHECK(load_for("out3.tsv", "sentence\tlabel\na\tpositive\n", NULL, &u3, 0, &err) == NULL &&
          strstr(err.msg, "out3.tsv:2: label 'positive'"));
    CHECK(load_for("out4.tsv", "sentence\tlabel\na\t01\n", NULL, &u3, 0, &err) == NULL &&
          strstr(err.msg, "out4.tsv:2: label '01'"));
    /* any task, pairs too: the model's names first (RoBERTa-MNLI's order), then the task's words */
    static const char *const nli[] = {"contradiction", "neutral", "entailment"};
    axf_config cn = classes(3, nli);
    const char *mnli = "sentence1\tsentence2\tgold_label\na\tb\tentailment\nc\td\tcontradiction\ne\tf\t1\n";
    d = load_for("mnli_dev.tsv", mnli, NULL, &cn, 0, &err);
    CHECK_MSG(d && strcmp(d->task, "mnli") == 0 && d->ex[0].label == 2 && d->ex[1].label == 0 &&
              d->ex[2].label == 1 && d->ex[0].b, "%s", d ? "mnli labels" : err.msg);
    axf_dataset_free(d);
    d = load_for("mnli_dev.tsv", mnli, NULL, &u3, 0, &err);
    CHECK(d && d->ex[0].label == 0 && d->ex[1].label == 2);
    axf_dataset_free(d);
    CHECK(load_for("mnli_dev.tsv", mnli, NULL, &c2, 0, &err) == NULL &&
          strstr(err.msg, "mnli_dev.tsv:3: label 'contradiction' is not one of the model's 2 classes"));
    static const char *const yn[] = {"no", "yes"};
    axf_config cyn = classes(2, yn);
    d = load_for("pairs.tsv", "sentence1\tsentence2\tlabel\na\tb\tyes\nc\td\tno\n", NULL, &cyn, 0, &err);
    CHECK(d && strcmp(d->task, "pair") == 0 && d->num_labels == 2 && d->ex[0].label == 1 && d->ex[1].label == 0);
    axf_dataset_free(d);
    d = load_for("stsa.binary.x", "1 good\n0 bad\n", NULL, &c3, 0, &err);
    CHECK(d && strcmp(d->task, "sst2-sent") == 0 && d->num_labels == 3);
    axf_dataset_free(d);
    /* a generic file read for a regression model holds numbers */
    axf_config reg = classes(1, NULL);
    reg.task = AXF_TASK_REGRESS;
    d = load_for("scores.tsv", "sentence\tlabel\na\t0.25\nb\t-3\n", NULL, &reg, 0, &err);
    CHECK(d && d->kind == AXF_TASK_REGRESS && d->num_labels == 1 && d->ex[1].target == -3.0f);
    axf_dataset_free(d);
    CHECK(load_for("scores.tsv", "sentence\tlabel\na\tnan\n", NULL, &reg, 0, &err) == NULL &&
          strstr(err.msg, "scores.tsv:2: bad label 'nan'"));
    /* predictions read no labels: any label, or none that parses, is fine */
    d = load_for("any.tsv", "sentence\tlabel\na\tseven\nb\t\x1b[2J\nc\t99\n", NULL, &c2, AXF_DATA_NO_LABELS, &err);
    CHECK(d && d->n == 3 && d->num_labels == 0 && d->ex[0].label == -1 && d->ex[2].label == -1);
    axf_dataset_free(d);
    d = load_for("any.tsv", "sentence\tlabel\na\tseven\n", "sst2", NULL, AXF_DATA_NO_LABELS, &err);
    CHECK(d && d->n == 1 && d->num_labels == 0);
    axf_dataset_free(d);
    /* a label with a terminal escape sequence is shown escaped, on one line */
    CHECK(load_for("esc.tsv", "sentence\tlabel\na\t\x1b]0;x\x07\n", NULL, &c3, 0, &err) == NULL &&
          strstr(err.msg, "esc.tsv:2: label '\\x1b]0;x\\x07'") && !strchr(err.msg, 0x1b));

    char desc[40];
    axf_labels_describe(&c3, desc, sizeof desc);
    CHECK_MSG(strcmp(desc, "0..2 (negative, neutral, positive)") == 0, "%s", desc);
    axf_labels_describe(&c3, desc, 20);
    CHECK_MSG(strcmp(desc, "0..2 (negative,...)") == 0, "%s", desc);
    CHECK(axf_labels_find(&c3, "neutral") == 1 && axf_labels_find(&c3, "LABEL_3") == -1 &&
          axf_labels_find(&c3, "2") == 2 && axf_labels_find(&c3, "-0") == -1 && axf_labels_find(&c3, "") == -1);
}

/* Issue 13: messages show file text escaped, never a raw control character. */
static void test_escape(void)
{
    char b[64];
    CHECK(strcmp(axf_escape_str(b, sizeof b, "F32\n\x1b[1mX"), "F32\\n\\x1b[1mX") == 0);
    CHECK(strcmp(axf_escape(b, sizeof b, "a\0b", 3), "a\\x00b") == 0);
    CHECK(strcmp(axf_escape_str(b, sizeof b, "caf\xc3\xa9 \xe2\x80\xa6 \\ \xff \xc2\x9b"), "caf\xc3\xa9 \xe2\x80\xa6 \\\\ \\xff \\u009b") == 0);
    CHECK(strcmp(axf_escape_str(b, 8, "abcdefghij"), "abcd...") == 0);
    CHECK(strcmp(axf_escape_str(b, 8, "abcdefg"), "abcdefg") == 0);
    CHECK(strcmp(axf_escape_str(b, 8, "abc\n\n"), "abc\\n\\n") == 0);
    CHECK(strcmp(axf_escape_str(b, 8, "abc\n\nx"), "abc...") == 0);
    CHECK(strcmp(axf_escape_str(b, 9, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9") == 0);
    CHECK(strcmp(axf_escape_str(b, 8, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), "\xc3\xa9\xc3\xa9...") == 0);
    CHECK(strcmp(axf_escape_str(b, 3, "abcdef"), "") == 0);
    CHECK(strcmp(axf_escape_str(b, sizeof b, NULL), "(null)") == 0);
    /* random bytes: always terminated, within size, no control byte, UTF-8 */
    axf_rng r;
    axf_rng_seed(&r, 5);
    int ok = 1;
    for (int it = 0; it < 20000; it++) {
        char in[40], out[48];
        int n = axf_rng_below(&r, 40), size = 1 + axf_rng_below(&r, 48);
        for (int i = 0; i < n; i++)
            in[i] = (char)axf_rng_below(&r, 256);
        memset(out, 'Z', sizeof out);
        axf_escape(out, (size_t)size, in, (size_t)n);
        size_t len = strnlen(out, (size_t)size);
        ok &= len < (size_t)size && axf_utf8_valid(out, len);
        for (size_t i = 0; i < len; i++)
            ok &= (unsigned char)out[i] >= 0x20 && out[i] != 0x7f;
    }
    CHECK(ok);
}

static void test_encode(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/bert_base_uncased_vocab/vocab.txt", data_dir);
    axf_err err;
    axf_vocab *v = axf_vocab_load(path, &err);
    axf_dataset *d = load("rte_glue_hf/dev.tsv", NULL);
    if (!v || !d)
        return;
    axf_encoded *e = axf_encode_dataset(d, v, 1, 128, &err);
    CHECK_MSG(e != NULL, "%s", err.msg);
    if (e) {
        CHECK(e->n == 277 && e->off[0] == 0 && e->max_len == 128 && e->num_labels == 2);
        int ok = 1;
        for (int i = 0; i < e->n; i++) {
            int s = e->off[i], t = e->off[i + 1];
            ok &= t > s && t - s <= 128 && e->ids[s] == 101 && e->ids[t - 1] == 102 &&
                  e->types[s] == 0 && e->types[t - 1] == 1 && e->labels[i] == d->ex[i].label;
        }
        CHECK(ok);
        int ids[128], types[128];
        int n = axf_encode_pair(v, d->ex[5].a, d->ex[5].b, 1, 128, ids, types, &err);
        CHECK(n == e->off[6] - e->off[5] && memcmp(ids, e->ids + e->off[5], (size_t)n * 4) == 0);
        axf_batch b = axf_encoded_batch(e, 10, 5);
        CHECK(b.n_seq == 5 && b.ids == e->ids + e->off[10] && b.types == e->types + e->off[10]);
        CHECK(b.n_tok == e->off[15] - e->off[10] && b.seq_off[0] == e->off[10] && b.seq_off[5] == e->off[15]);
        b = axf_encoded_batch(e, 277, 0);
        CHECK(b.n_seq == 0 && b.n_tok == 0);
        printf("ok RTE dev encoded: %d tokens, longest %d\n", e->off[e->n], e->max_len);
    }
    axf_encoded_free(e);
    axf_encoded_free(NULL);
    CHECK(axf_encode_dataset(d, v, 1, 2, &err) == NULL);
    axf_dataset_add(d, "bad \xff utf8", NULL, 0, 0);
    CHECK(axf_encode_dataset(d, v, 1, 64, &err) == NULL && strstr(err.msg, "example 278") &&
          strstr(err.msg, "invalid UTF-8"));
    axf_dataset_free(d);
    axf_vocab_free(v);
}

static void expect_bad(const char *dir, const char *name, const char *task, const char *needle)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    axf_err err = {{0}};
    axf_dataset *d = axf_dataset_load(path, task, &err);
    CHECK_MSG(d == NULL, "%s: accepted", name);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: '%s' lacks '%s'", name, err.msg, needle);
    CHECK_MSG(strchr(err.msg, '\n') == NULL, "%s: multi-line message", name);
    if (!d && strstr(err.msg, needle))
        printf("ok %-20s %s\n", name, err.msg);
    axf_dataset_free(d);
}

static void test_bad(const char *bad)
{
    expect_bad(bad, "cols.tsv", NULL, "cols.tsv:3: expected 2 columns, found 3");
    expect_bad(bad, "label.tsv", "sst2", "label.tsv:4: bad label '2' for task sst2 (an integer in 0..1");
    expect_bad(bad, "latin1.tsv", NULL, "latin1.tsv:2: invalid UTF-8");
    expect_bad(bad, "empty.tsv", NULL, "empty.tsv: empty file");
    expect_bad(bad, "blank.tsv", NULL, "blank.tsv: empty file");
    expect_bad(bad, "header_only.tsv", NULL, "header_only.tsv: no examples");
    expect_bad(bad, "nul.tsv", NULL, "nul.tsv:2: NUL byte");
    expect_bad(bad, "quote.tsv", NULL, "quote.tsv:2: unterminated quoted field 1");
    expect_bad(bad, "quote_junk.tsv", NULL, "quote_junk.tsv:2: characters after the closing quote");
    expect_bad(bad, "empty_sentence.tsv", NULL, "empty_sentence.tsv:3: empty sentence");
    expect_bad(bad, "rte_bad_label.tsv", NULL, "rte_bad_label.tsv:3: bad label 'maybe' for task rte");
    expect_bad(bad, "stsb_bad_score.tsv", NULL, "stsb_bad_score.tsv:3: bad label '7.5' for task stsb");
    expect_bad(bad, "stsa.binary.bad", NULL, "stsa.binary.bad:2: expected '<label> <sentence>'");
    expect_bad(bad, "three_columns.tsv", NULL, "three_columns.tsv:1: no header and 3 columns");
    expect_bad(bad, "squad.json", NULL, "squad.json:1: a JSON file");
    expect_bad(bad, "missing.tsv", NULL, "missing.tsv: No such file");
    expect_bad(bad, "cols.tsv", "cola", "cols.tsv:3: expected 2 columns, found 3");
    expect_bad(bad, "label.tsv", "cola", "label.tsv:4: bad label '2' for task cola");
    expect_bad(bad, "label.tsv", "mrpc", "label.tsv:4: bad label '2' for task mrpc");

    /* line ends of CR alone: the whole file is one line (it said "no examples after the header") */
    tu_write_str(tu_path(tmp, "mac.tsv"), "sentence\tlabel\rgood\t1\rbad\t0\r");
    expect_bad(tmp, "mac.tsv", NULL, "mac.tsv:1: carriage return inside a line");
    tu_write_str(tu_path(tmp, "mac.txt"), "one\rtwo\r");
    int nl = 0;
    axf_err e2;
    CHECK(axf_text_read_lines(tu_path(tmp, "mac.txt"), 0, &nl, &e2) == NULL && strstr(e2.msg, "mac.txt:1: carriage return"));

    /* over-long line, generated */
    char *p = tu_path(tmp, "long.tsv");
    size_t n = (1u << 20) + 100;
    char *buf = malloc(n + 64);
    strcpy(buf, "sentence\tlabel\nshort\t1\n");
    size_t k = strlen(buf);
    memset(buf + k, 'x', n);
    strcpy(buf + k + n, "\t1\n");
    tu_write_str(p, buf);
    free(buf);
    expect_bad(tmp, "long.tsv", NULL, "long.tsv:3: line longer than 1 MiB");
}

/* Byte mutations of small files of every layout: load or refuse with one line, never crash. */
static void test_mutations(void)
{
    static const char *base[] = {
        "sentence1\tsentence2\tlabel\tidx\n\"a \"\"q\"\" b\"\tc\t0\t0\nd\te\t1\t1\n",
        "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tx y\tz\n",
        "0 some words\n1 more words\n",
        "gj04\t1\t\tA sentence.\n",
        "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n",
        "sentence\tlabel\nno final newline\t1"};
    axf_rng r;
    axf_rng_seed(&r, 17);
    char *p = tu_path(tmp, "mut.tsv");
    int ok = 0, bad = 0;
    for (int it = 0; it < 3000; it++) {
        const char *b = base[it % 6];
        char buf[256];
        size_t n = strlen(b);
        memcpy(buf, b, n);
        int flips = axf_rng_below(&r, 3);
        for (int k = 0; k < flips; k++) {
            static const char pick[] = "\t\n\r\" 0129a\x80\xff";
            buf[axf_rng_below(&r, (int)n)] = pick[axf_rng_below(&r, (int)sizeof pick - 1)];
        }
        if (axf_rng_below(&r, 8) == 0)
            n = (size_t)axf_rng_below(&r, (int)n + 1);
        tu_write(p, buf, n);
        axf_err err;
        axf_dataset *d = axf_dataset_load(p, NULL, &err);
        if (d) {
            ok++;
            CHECK(d->n > 0);
        } else {
            bad++;
            CHECK(err.msg[0] && strchr(err.msg, '\n') == NULL);
        }
        axf_dataset_free(d);
    }
    printf("mutations: %d loaded, %d refused\n", ok, bad);
    axf_dataset *d = load_text("nonl.tsv", "sentence\tlabel\nno final newline\t1", NULL);
    CHECK(d && d->n == 1 && strcmp(d->ex[0].a, "no final newline") == 0);
    axf_dataset_free(d);
}

/* axf_dataset_split against the dev split the CLI made by hand before it (perm shuffled in place
 * from the end, the first nd to dev, file order kept), including the float rounding of frac * n
 * (0.7f * 5 = 3.5f rounds to 4), the one-example floor and the n - 1 ceiling. */
static void test_split(void)
{
    static const struct { int n; float frac; int nd; } cases[] = {
        {5, 0.7f, 4}, {2, 0.01f, 1}, {2, 0.9f, 1}, {10, 0.0f, 0}, {37, 0.1f, 4}, {1000, 0.25f, 250}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n = cases[c].n;
        axf_dataset *d = axf_dataset_new("single", 3, AXF_TASK_CLASSIFY);
        char a[32];
        for (int i = 0; i < n; i++) {
            snprintf(a, sizeof a, "%d", i);
            axf_dataset_add(d, a, i % 2 ? "b" : NULL, i % 3, (float)i);
        }
        uint64_t seed = 42 ^ 0x5711ULL ^ (uint64_t)c;
        axf_dataset *tr, *dev;
        axf_dataset_split(d, cases[c].frac, seed, &tr, &dev);
        CHECK_MSG(dev->n == cases[c].nd && tr->n == n - cases[c].nd, "case %zu: dev %d train %d", c, dev->n, tr->n);
        CHECK(strcmp(dev->task, "single") == 0 && dev->num_labels == 3 && tr->num_labels == 3);
        int *perm = malloc(sizeof *perm * (size_t)n);
        unsigned char *in_dev = calloc((size_t)n, 1);
        axf_rng r;
        axf_rng_seed(&r, seed);
        for (int i = 0; i < n; i++)
            perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = axf_rng_below(&r, i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int i = 0; i < cases[c].nd; i++)
            in_dev[perm[i]] = 1;
        int it = 0, id = 0, bad = 0;
        for (int i = 0; i < n; i++) {
            axf_dataset *part = in_dev[i] ? dev : tr;
            int k = in_dev[i] ? id++ : it++;
            snprintf(a, sizeof a, "%d", i);
            if (k >= part->n || strcmp(part->ex[k].a, a) != 0 || (part->ex[k].b != NULL) != (i % 2) ||
                part->ex[k].label != i % 3 || part->ex[k].target != (float)i)
                bad++;
        }
        CHECK_MSG(bad == 0, "case %zu: %d examples in the wrong part or order", c, bad);
        free(perm);
        free(in_dev);
        axf_dataset_free(tr);
        axf_dataset_free(dev);
        axf_dataset_free(d);
    }
    /* axf_grow: doubles from `first` past n, keeps the contents */
    int *v = NULL, cap = 0;
    for (int i = 0; i < 100; i++) {
        v = axf_grow(v, sizeof *v, i, &cap, 16);
        v[i] = i;
    }
    CHECK(cap == 128 && v[99] == 99 && v[0] == 0);
    AXF_FREE(v, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_io_data DATA_DIR BADINPUT_DIR\n");
        return 2;
    }
    data_dir = argv[1];
    tmp = tu_tmpdir();
    test_real_files();
    test_rte_quoting();
    test_latin1();
    test_generated_layouts();
    test_label_sets();
    test_escape();
    test_encode();
    test_bad(argv[2]);
    test_mutations();
    test_split();
    tu_rmdir(tmp);
    return CHECK_DONE();
}
