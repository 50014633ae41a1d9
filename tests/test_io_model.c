/* Model I/O: save -> load round trips (full, pruned, MLM), a hand-made Hugging Face style
 * checkpoint (bare names, gamma/beta, BF16, int64 position_ids, pruned_heads), sizes, and the
 * refusals (shape vs config, missing tensor, NaN, no classifier, bad config). */
#include "axf/model.h"
#include "axf/safetensors.h"
#include "check.h"
#include "io_testutil.h"

#include <cjson/cJSON.h>
#include <math.h>

static int same_cfg(const axf_config *a, const axf_config *b)
{
    if (a->vocab_size != b->vocab_size || a->hidden != b->hidden || a->n_layers != b->n_layers ||
        a->n_heads != b->n_heads || a->head_dim != b->head_dim || a->ffn != b->ffn ||
        a->max_pos != b->max_pos || a->type_vocab != b->type_vocab || a->num_labels != b->num_labels ||
        a->pad_token_id != b->pad_token_id || a->do_lower_case != b->do_lower_case ||
        a->act != b->act || a->task != b->task || a->ln_eps != b->ln_eps || a->arch != b->arch ||
        a->pos_offset != b->pos_offset || a->head_act != b->head_act || a->add_prefix_space != b->add_prefix_space)
        return 0;
    for (int i = 0; i < a->n_layers; i++) {
        if (a->layer_heads[i] != b->layer_heads[i] || a->layer_ffn[i] != b->layer_ffn[i])
            return 0;
        for (int h = 0; h < a->layer_heads[i]; h++)
            if (a->head_ids[i][h] != b->head_ids[i][h])
                return 0;
    }
    for (int i = 0; i < a->num_labels; i++)
        if (strcmp(a->labels[i], b->labels[i]) != 0)
            return 0;
    return 1;
}

static int same_model(const axf_model *a, const axf_model *b)
{
    return same_cfg(&a->cfg, &b->cfg) && a->n_floats == b->n_floats &&
           memcmp(a->arena, b->arena, a->n_floats * sizeof(float)) == 0 &&
           (a->mlm_bias == NULL) == (b->mlm_bias == NULL);
}

/* Writes the tensors of an open file back with changes: drop `drop`, set element 0 of `poison`
 * to v. */
static void rewrite_st(const char *src, const char *dst, const char *drop, const char *poison, float v)
{
    axf_err err;
    axf_st_file *f = axf_st_open(src, &err);
    if (!f) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    axf_st_entry *e = calloc((size_t)f->n, sizeof *e);
    float **bufs = calloc((size_t)f->n, sizeof *bufs);
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        const axf_st_tensor *t = &f->t[i];
        if (drop && strcmp(t->name, drop) == 0)
            continue;
        size_t cnt = t->nbytes / 4;
        bufs[n] = malloc(cnt * 4 + 4);
        axf_st_read_f32(t, bufs[n], cnt, &err);
        if (poison && strcmp(t->name, poison) == 0)
            bufs[n][0] = v;
        e[n].name = t->name;
        e[n].data = bufs[n];
        e[n].ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++)
            e[n].shape[k] = t->shape[k];
        n++;
    }
    if (axf_st_write(dst, e, n, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(e);
    axf_st_close(f);
}

static void copy_file(const char *src, const char *dst)
{
    FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        fwrite(buf, 1, n, b);
    fclose(a);
    fclose(b);
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, fp)] = 0;
    fclose(fp);
    return s;
}

/* Replaces config.json's field key by a JSON value (NULL deletes it). */
static void edit_config(const char *dir, const char *key, const char *json_value)
{
    char *text = read_text(tu_path(dir, "config.json"));
    cJSON *r = cJSON_Parse(text);
    free(text);
    cJSON_DeleteItemFromObjectCaseSensitive(r, key);
    if (json_value)
        cJSON_AddItemToObject(r, key, cJSON_Parse(json_value));
    char *s = cJSON_Print(r);
    tu_write_str(tu_path(dir, "config.json"), s);
    free(s);
    cJSON_Delete(r);
}

static void test_round_trip(const char *tmp)
{
    axf_err err;
    axf_config c = axf_config_default(50, 16, 3, 4, 32, 3);
    snprintf(c.labels[0], sizeof c.labels[0], "neg");
    snprintf(c.labels[1], sizeof c.labels[1], "neu");
    snprintf(c.labels[2], sizeof c.labels[2], "pos");
    c.max_pos = 24;
    c.type_vocab = 3;
    c.act = AXF_ACT_GELU_TANH;
    c.do_lower_case = 0;
    c.pad_token_id = 1;
    c.ln_eps = 1e-5f;
    axf_model *m = axf_model_new(&c, 0, &err);
    CHECK(m != NULL);
    axf_model_init_random(m, 42);
    CHECK(m->emb_ln_g[3] == 1.0f && m->emb_ln_b[3] == 0.0f && m->layers[1].bq[0] == 0.0f);
    double s = 0, s2 = 0;
    for (int i = 0; i < 50 * 16; i++) {
        s += m->word_emb[i];
        s2 += (double)m->word_emb[i] * m->word_emb[i];
    }
    CHECK_NEAR(sqrt(s2 / 800 - (s / 800) * (s / 800)), 0.02, 0.003);

    /* params: emb 50*16+24*16+3*16+32, layer 4*(16*16+16)+2*16 + 2*(32*16)+32+16 + 32, pool, cls */
    size_t layer = 4 * (16 * 16 + 16) + 32 + 2 * 32 * 16 + 32 + 16 + 32;
    size_t expect = 50 * 16 + 24 * 16 + 3 * 16 + 32 + 3 * layer + 16 * 16 + 16 + 3 * 16 + 3;
    CHECK_MSG(axf_model_params(m) == expect, "%zu vs %zu", axf_model_params(m), expect);
    double fl = axf_model_flops_per_token(m, 10);
    double fe = 3 * (2.0 * 4 * 16 * 16 + 4.0 * 10 * 16 + 4.0 * 16 * 32) + 2.0 * (16 * 16 + 16 * 3) / 10;
    CHECK_NEAR(fl, fe, 1e-6);

    char *dir = tu_path(tmp, "rt/full");
    CHECK(axf_model_save(m, dir, &err) == 0);
    axf_model *b = axf_model_load(dir, &err);
    CHECK_MSG(b != NULL, "%s", err.msg);
    if (b) {
        CHECK(same_model(m, b));
        CHECK(b->cfg.ln_eps == 1e-5f && b->cfg.do_lower_case == 0 && b->cfg.act == AXF_ACT_GELU_TANH);
        CHECK(strcmp(b->cfg.labels[2], "pos") == 0);
    }
    /* config.json: HF fields and no pruned_heads on a full model */
    char *cj = read_text(tu_path(dir, "config.json"));
    CHECK(cj && strstr(cj, "\"BertForSequenceClassification\"") && strstr(cj, "\"model_type\":\t\"bert\""));
    CHECK(cj && strstr(cj, "1e-05") && !strstr(cj, "pruned_heads") && strstr(cj, "\"label2id\""));
    free(cj);
    axf_model *cl = axf_model_clone(m, &err);
    CHECK(cl && same_model(m, cl) && cl->arena != m->arena && cl->word_emb != m->word_emb);
    axf_model_free(cl);
    axf_model_free(b);

    /* MLM head round trip */
    axf_model *mm = axf_model_new(&c, 1, &err);
    axf_model_init_random(mm, 7);
    CHECK(mm->mlm_bias && mm->mlm_ln_g[0] == 1.0f);
    CHECK(axf_model_params(mm) == expect);
    dir = tu_path(tmp, "rt/mlm");
    CHECK(axf_model_save(mm, dir, &err) == 0);
    b = axf_model_load(dir, &err);
    CHECK(b && b->mlm_bias && same_model(mm, b));
    axf_model_free(b);
    axf_model_free(mm);

    /* pruned: layer 0 keeps heads 1,3 (representable as pruned_heads), all FFN full */
    axf_config p = c;
    p.layer_heads[0] = 2;
    p.head_ids[0][0] = 1;
    p.head_ids[0][1] = 3;
    axf_model *pm = axf_model_new(&p, 0, &err);
    axf_model_init_random(pm, 3);
    dir = tu_path(tmp, "rt/pruned_heads");
    CHECK(axf_model_save(pm, dir, &err) == 0);
    cj = read_text(tu_path(dir, "config.json"));
    CHECK(cj && strstr(cj, "\"pruned_heads\""));
    free(cj);
    b = axf_model_load(dir, &err);
    CHECK_MSG(b && same_model(pm, b), "%s", b ? "differs" : err.msg);
    axf_model_free(b);
    /* the HF field alone (our fields removed) gives the same shapes */
    edit_config(dir, "axf_layer_heads", NULL);
    edit_config(dir, "axf_layer_head_ids", NULL);
    edit_config(dir, "axf_layer_ffn", NULL);
    b = axf_model_load(dir, &err);
    CHECK_MSG(b && same_model(pm, b), "%s", b ? "differs" : err.msg);
    axf_model_free(b);
    edit_config(dir, "pruned_heads", "{\"0\": [0, 3]}");
    b = axf_model_load(dir, &err);
    CHECK(b != NULL); /* same count, other ids: shapes agree, ids follow the config */
    if (b)
        CHECK(b->cfg.head_ids[0][0] == 1 && b->cfg.head_ids[0][1] == 2);
    axf_model_free(b);
    axf_model_free(pm);

    /* compacted: attention gone in layer 1, FFN narrowed in 0, FFN gone in 2 */
    p = c;
    p.layer_heads[1] = 0;
    p.layer_ffn[0] = 5;
    p.layer_ffn[2] = 0;
    p.layer_heads[2] = 3;
    p.head_ids[2][0] = 3;
    p.head_ids[2][1] = 0;
    p.head_ids[2][2] = 2;
    pm = axf_model_new(&p, 0, &err);
    CHECK(pm && pm->layers[1].wq == NULL && pm->layers[1].bo == NULL && pm->layers[1].ln1_g != NULL);
    CHECK(pm && pm->layers[2].w1 == NULL && pm->layers[2].b2 == NULL && pm->layers[2].ln2_g != NULL);
    axf_model_init_random(pm, 5);
    dir = tu_path(tmp, "rt/compact");
    CHECK(axf_model_save(pm, dir, &err) == 0);
    cj = read_text(tu_path(dir, "config.json"));
    CHECK(cj && !strstr(cj, "pruned_heads"));
    free(cj);
    b = axf_model_load(dir, &err);
    CHECK_MSG(b && same_model(pm, b), "%s", b ? "differs" : err.msg);
    axf_st_file *f = axf_st_open(tu_path(dir, "model.safetensors"), &err);
    CHECK(f && !axf_st_find(f, "bert.encoder.layer.1.attention.self.query.weight"));
    CHECK(f && !axf_st_find(f, "bert.encoder.layer.1.attention.output.dense.bias"));
    CHECK(f && axf_st_find(f, "bert.encoder.layer.1.attention.output.LayerNorm.weight"));
    CHECK(f && !axf_st_find(f, "bert.encoder.layer.2.output.dense.bias"));
    CHECK(f && axf_st_find(f, "bert.encoder.layer.2.output.LayerNorm.bias"));
    axf_st_close(f);
    double fl2 = axf_model_flops_per_token(pm, 4);
    double fe2 = (2.0 * 4 * 16 * 16 + 4.0 * 4 * 16 + 4.0 * 16 * 5) + (4.0 * 16 * 32) +
                 (2.0 * 4 * 16 * 12 + 4.0 * 4 * 12) + 2.0 * (16 * 16 + 16 * 3) / 4;
    CHECK_NEAR(fl2, fe2, 1e-6);
    axf_model_free(b);
    axf_model_free(pm);

    /* regression head */
    axf_config r = axf_config_default(30, 8, 1, 2, 8, 1);
    CHECK(r.task == AXF_TASK_REGRESS);
    pm = axf_model_new(&r, 0, &err);
    dir = tu_path(tmp, "rt/regress");
    CHECK(axf_model_save(pm, dir, &err) == 0);
    b = axf_model_load(dir, &err);
    CHECK(b && b->cfg.task == AXF_TASK_REGRESS && b->cfg.num_labels == 1);
    axf_model_free(b);
    axf_model_free(pm);

    /* a layer with neither block is refused */
    p = c;
    p.layer_heads[0] = 0;
    p.layer_ffn[0] = 0;
    CHECK(axf_model_new(&p, 0, &err) == NULL && strstr(err.msg, "layer 0"));
    axf_model_free(m);
}

static uint16_t bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return (uint16_t)(u >> 16);
}

/* A checkpoint as an old BertModel export would have it: bare names, LayerNorm.gamma/beta, BF16
 * weights, an int64 position_ids buffer and an unrelated extra tensor. */
static void test_hf_style(const char *tmp)
{
    axf_err err;
    axf_config c = axf_config_default(12, 4, 1, 2, 6, 2);
    c.max_pos = 8;
    axf_model *m = axf_model_new(&c, 0, &err);
    axf_model_init_random(m, 11);
    axf_model *ref = axf_model_clone(m, &err);
    for (size_t i = 0; i < ref->n_floats; i++) {
        uint32_t u = (uint32_t)bf16(m->arena[i]) << 16;
        memcpy(&ref->arena[i], &u, 4);
    }
    /* build the file with cJSON: every tensor in BF16 */
    axf_model_save(m, tu_path(tmp, "hf0"), &err);
    axf_st_file *f = axf_st_open(tu_path(tmp, "hf0/model.safetensors"), &err);
    CHECK(f != NULL);
    if (!f)
        return;
    cJSON *h = cJSON_CreateObject();
    size_t total = 0;
    for (int i = 0; i < f->n; i++)
        total += f->t[i].nbytes / 2;
    total += 8 * 8 + 4 * 3; /* position_ids + extra */
    unsigned char *data = calloc(total, 1);
    size_t off = 0;
    for (int i = 0; i < f->n; i++) {
        const axf_st_tensor *t = &f->t[i];
        char name[160];
        const char *nm = t->name;
        if (strncmp(nm, "bert.", 5) == 0)
            nm += 5;
        snprintf(name, sizeof name, "%s", nm);
        size_t L = strlen(name);
        if (L > 16 && strcmp(name + L - 16, "LayerNorm.weight") == 0)
            strcpy(name + L - 16, "LayerNorm.gamma");
        else if (L > 14 && strcmp(name + L - 14, "LayerNorm.bias") == 0)
            strcpy(name + L - 14, "LayerNorm.beta");
        size_t cnt = t->nbytes / 4;
        float *tmpf = malloc(cnt * 4 + 4);
        axf_st_read_f32(t, tmpf, cnt, &err);
        for (size_t k = 0; k < cnt; k++) {
            uint16_t v = bf16(tmpf[k]);
            data[off + 2 * k] = (unsigned char)(v & 0xff);
            data[off + 2 * k + 1] = (unsigned char)(v >> 8);
        }
        free(tmpf);
        cJSON *e = cJSON_AddObjectToObject(h, name);
        cJSON_AddStringToObject(e, "dtype", "BF16");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int k = 0; k < t->ndim; k++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[k]));
        cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + cnt * 2)));
        off += cnt * 2;
    }
    cJSON *e = cJSON_AddObjectToObject(h, "embeddings.position_ids");
    cJSON_AddStringToObject(e, "dtype", "I64");
    cJSON_AddItemToObject(e, "shape", cJSON_Parse("[1, 8]"));
    cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + 64)));
    off += 64;
    e = cJSON_AddObjectToObject(h, "qa_outputs.extra");
    cJSON_AddStringToObject(e, "dtype", "F32");
    cJSON_AddItemToObject(e, "shape", cJSON_Parse("[3]"));
    of = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + 12)));
    off += 12;
    char *hs = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    axf_st_close(f);
    char *dir = tu_path(tmp, "hf");
    mkdir(dir, 0777);
    tu_write_st(tu_path(dir, "model.safetensors"), hs, strlen(hs), data, off);
    free(hs);
    free(data);
    tu_write_str(tu_path(dir, "config.json"),
                 "{\"architectures\": [\"BertForSequenceClassification\"], \"model_type\": \"bert\","
                 " \"vocab_size\": 12, \"hidden_size\": 4, \"num_hidden_layers\": 1,"
                 " \"num_attention_heads\": 2, \"intermediate_size\": 6, \"hidden_act\": \"gelu\","
                 " \"max_position_embeddings\": 8, \"type_vocab_size\": 2, \"layer_norm_eps\": 1e-12,"
                 " \"pad_token_id\": 0, \"id2label\": {\"0\": \"NEGATIVE\", \"1\": \"POSITIVE\"},"
                 " \"label2id\": {\"NEGATIVE\": 0, \"POSITIVE\": 1}, \"position_embedding_type\": \"absolute\"}");
    tu_write_str(tu_path(dir, "tokenizer_config.json"), "{\"do_lower_case\": false}");
    axf_model *b = axf_model_load(dir, &err);
    CHECK_MSG(b != NULL, "%s", err.msg);
    if (b) {
        CHECK(b->n_floats == ref->n_floats && memcmp(b->arena, ref->arena, b->n_floats * 4) == 0);
        CHECK(b->cfg.do_lower_case == 0 && b->cfg.task == AXF_TASK_CLASSIFY && b->cfg.ln_eps == 1e-12f);
        CHECK(strcmp(b->cfg.labels[1], "POSITIVE") == 0);
        /* and it saves back as a prefixed checkpoint that loads identically */
        CHECK(axf_model_save(b, tu_path(tmp, "hf_again"), &err) == 0);
        axf_model *b2 = axf_model_load(tu_path(tmp, "hf_again"), &err);
        CHECK(b2 && same_model(b, b2));
        axf_model_free(b2);
    }
    axf_model_free(b);
    axf_model_free(ref);
    axf_model_free(m);
}

static void expect_fail(const char *dir, const char *what, const char *needle)
{
    axf_err err = {{0}};
    axf_model *m = axf_model_load(dir, &err);
    CHECK_MSG(m == NULL, "%s: loaded", what);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
    CHECK_MSG(strchr(err.msg, '\n') == NULL, "%s: multi-line message", what);
    if (m == NULL && strstr(err.msg, needle))
        printf("ok %-28s %s\n", what, err.msg);
    axf_model_free(m);
}

static void test_errors(const char *tmp)
{
    axf_err err;
    axf_config c = axf_config_default(20, 8, 2, 2, 16, 2);
    axf_model *m = axf_model_new(&c, 0, &err);
    axf_model_init_random(m, 1);
    char good[600], bad[600];
    snprintf(good, sizeof good, "%s", tu_path(tmp, "good"));
    CHECK(axf_model_save(m, good, &err) == 0);
    snprintf(bad, sizeof bad, "%s", tu_path(tmp, "bad"));
    mkdir(bad, 0777);
    char gst[700], bst[700], gcf[700], bcf[700];
    snprintf(gst, sizeof gst, "%s/model.safetensors", good);
    snprintf(bst, sizeof bst, "%s/model.safetensors", bad);
    snprintf(gcf, sizeof gcf, "%s/config.json", good);
    snprintf(bcf, sizeof bcf, "%s/config.json", bad);

    expect_fail(bad, "no config.json", "config.json");
    copy_file(gcf, bcf);
    expect_fail(bad, "no model.safetensors", "model.safetensors");

    /* config says a wider FFN than the weights */
    copy_file(gst, bst);
    edit_config(bad, "intermediate_size", "32");
    edit_config(bad, "axf_layer_ffn", NULL);
    expect_fail(bad, "shape vs config", "'bert.encoder.layer.0.intermediate.dense.weight': shape [32, 8] expected from config.json, found [16, 8]");
    copy_file(gcf, bcf);
    edit_config(bad, "vocab_size", "21");
    expect_fail(bad, "vocab vs config", "word_embeddings.weight");
    copy_file(gcf, bcf);
    /* a config far larger than its weights must fail on the shapes, not abort on allocation */
    edit_config(bad, "vocab_size", "1000000000");
    edit_config(bad, "max_position_embeddings", "1000000000");
    edit_config(bad, "intermediate_size", "1000000000");
    edit_config(bad, "axf_layer_ffn", NULL);
    expect_fail(bad, "huge config vs weights", "word_embeddings.weight");
    copy_file(gcf, bcf);
    edit_config(bad, "hidden_size", NULL);
    expect_fail(bad, "missing hidden_size", "missing hidden_size");
    copy_file(gcf, bcf);
    edit_config(bad, "hidden_act", "\"swish\"");
    expect_fail(bad, "bad hidden_act", "hidden_act 'swish'");
    copy_file(gcf, bcf);
    edit_config(bad, "num_attention_heads", "3");
    expect_fail(bad, "heads do not divide", "num_attention_heads 3");
    copy_file(gcf, bcf);
    edit_config(bad, "model_type", "\"gpt2\"");
    expect_fail(bad, "model_type", "model_type 'gpt2' not supported (bert, distilbert, roberta)");
    copy_file(gcf, bcf);
    edit_config(bad, "model_type", "\"roberta\"");
    expect_fail(bad, "RoBERTa config, BERT weights",
                "no roberta.embeddings.word_embeddings.weight: not a RoBERTa checkpoint as config.json's "
                "model_type says; its names are BERT");
    copy_file(gcf, bcf);
    edit_config(bad, "axf_layer_heads", "[2]");
    expect_fail(bad, "axf_layer_heads length", "axf_layer_heads");
    copy_file(gcf, bcf);
    edit_config(bad, "axf_layer_head_ids", "[[0, 0], [0, 1]]");
    expect_fail(bad, "repeated head id", "head id 0");
    copy_file(gcf, bcf);
    edit_config(bad, "pruned_heads", "{\"5\": [0]}");
    expect_fail(bad, "pruned_heads layer", "pruned_heads key '5'");
    copy_file(gcf, bcf);
    edit_config(bad, "id2label", "{\"0\": \"a\", \"2\": \"b\"}");
    expect_fail(bad, "id2label keys", "id2label key '2'");
    copy_file(gcf, bcf);
    edit_config(bad, "problem_type", "\"multi_label_classification\"");
    expect_fail(bad, "problem_type", "multi_label_classification");
    copy_file(gcf, bcf);
    tu_write_str(bcf, "{\"vocab_size\": 20,");
    expect_fail(bad, "garbled config", "config.json: line 1: truncated JSON");
    copy_file(gcf, bcf);

    /* issue 13, found by fuzzing: wrong blame, silent acceptance, raw control characters */
    edit_config(bad, "vocab_size", "2000000000");
    expect_fail(bad, "vocab_size over 1e9", "config.json: vocab_size 2000000000 is out of range");
    copy_file(gcf, bcf);
    edit_config(bad, "axf_layer_ffn", "[16, 1e10]");
    expect_fail(bad, "axf_layer_ffn over 1e9", "axf_layer_ffn[1] 10000000000 is out of range");
    copy_file(gcf, bcf);
    edit_config(bad, "hidden_act", "\"gelu\\nfake: line\\u001b[2J\"");
    expect_fail(bad, "control characters", "hidden_act 'gelu\\nfake: line\\x1b[2J' not supported");
    copy_file(gcf, bcf);
    edit_config(bad, "model_type", "\"\\u009b31m\"");
    expect_fail(bad, "C1 control", "model_type '\\u009b31m'");
    copy_file(gcf, bcf);
    {
        char *text = read_text(gcf), *cut = strrchr(text, '}'), buf[8192];
        *cut = 0;
        snprintf(buf, sizeof buf, "%s, \"hidden_size\": 16}", text); /* a second, different hidden_size */
        tu_write_str(bcf, buf);
        expect_fail(bad, "duplicate key", "config.json: line ");
        expect_fail(bad, "duplicate key", "key 'hidden_size' appears twice in one object");
        snprintf(buf, sizeof buf, "%s}\n{\"hidden_size\": 16}\n", text); /* text after the closing brace */
        tu_write_str(bcf, buf);
        expect_fail(bad, "text after the object", "trailing text after the JSON value");
        free(text);
        char *deep = malloc(4200);
        int k = sprintf(deep, "{\"vocab_size\": 20, \"x\": ");
        for (int i = 0; i < 1500; i++)
            deep[k++] = '[';
        for (int i = 0; i < 1500; i++)
            deep[k++] = ']';
        strcpy(deep + k, "}");
        tu_write_str(bcf, deep); /* deeper than cJSON's 1000 levels: it said "not a JSON object" */
        expect_fail(bad, "deep nesting", "config.json: line 1: JSON nested deeper than 512 levels");
        free(deep);
    }
    copy_file(gcf, bcf);
    /* tensors of parts config.json says are removed */
    edit_config(bad, "axf_layer_heads", "[0, 2]");
    edit_config(bad, "axf_layer_head_ids", "[[], [0, 1]]");
    expect_fail(bad, "stray attention", "tensor 'bert.encoder.layer.0.attention.self.query.weight' is present, "
                "but config.json says layer 0 has no attention block");
    copy_file(gcf, bcf);
    edit_config(bad, "axf_layer_ffn", "[16, 0]");
    expect_fail(bad, "stray FFN", "layer 1 has no FFN block (axf_layer_ffn)");
    copy_file(gcf, bcf);
    edit_config(bad, "num_hidden_layers", "1");
    edit_config(bad, "axf_layer_heads", "[2]");
    edit_config(bad, "axf_layer_ffn", "[16]");
    edit_config(bad, "axf_layer_head_ids", "[[0, 1]]");
    expect_fail(bad, "stray layer", "is of layer 1, but config.json has 1 layers");
    copy_file(gcf, bcf);

    rewrite_st(gst, bst, "bert.encoder.layer.1.output.LayerNorm.bias", NULL, 0);
    expect_fail(bad, "missing tensor", "missing tensor 'bert.encoder.layer.1.output.LayerNorm.bias'");
    rewrite_st(gst, bst, "classifier.weight", NULL, 0);
    expect_fail(bad, "no classifier", "no classifier.weight");
    rewrite_st(gst, bst, NULL, "bert.pooler.dense.weight", NAN);
    expect_fail(bad, "NaN weight", "'bert.pooler.dense.weight': NaN at element 0");
    rewrite_st(gst, bst, NULL, "bert.embeddings.LayerNorm.weight", INFINITY);
    expect_fail(bad, "Inf weight", "'bert.embeddings.LayerNorm.weight': Inf");
    tu_write_str(bst, "garbage");
    expect_fail(bad, "garbage safetensors", "model.safetensors");

    /* sanity: good still loads */
    axf_model *g = axf_model_load(good, &err);
    CHECK_MSG(g && same_model(g, m), "%s", g ? "differs" : err.msg);
    axf_model_free(g);
    axf_model_free(m);
}

/* DistilBERT and RoBERTa: their own names and config.json fields, written and read back; pruned
 * and removed parts; their refusals. */
static void test_archs(const char *tmp)
{
    axf_err err;
    for (int k = 0; k < 2; k++) {
        axf_arch arch = k ? AXF_ARCH_ROBERTA : AXF_ARCH_DISTILBERT;
        axf_config c = axf_config_default(40, 16, 3, 4, 32, 2);
        c.max_pos = 24;
        axf_config_set_arch(&c, arch);
        CHECK(c.arch == arch && c.head_act == (k ? AXF_HEAD_TANH : AXF_HEAD_RELU));
        CHECK(k ? c.type_vocab == 1 && c.pos_offset == 2 && c.max_pos == 26 && c.pad_token_id == 1 &&
                      axf_config_max_len(&c) == 24 && c.ln_eps == 1e-5f && c.do_lower_case == 0
                : c.type_vocab == 0 && c.pos_offset == 0 && axf_config_max_len(&c) == 24);
        c.layer_heads[0] = 3; /* heads 0, 2, 3: HF's pruned_heads can say it */
        c.head_ids[0][1] = 2;
        c.head_ids[0][2] = 3;
        c.add_prefix_space = k;
        axf_model *m = axf_model_new(&c, 0, &err);
        CHECK_MSG(m != NULL, "%s", err.msg);
        axf_model_init_random(m, 9 + (uint64_t)k);
        CHECK(k ? m->type_emb != NULL : m->type_emb == NULL);
        size_t layer = 4 * (16 * 16 + 16) + 32 + 2 * 32 * 16 + 32 + 16 + 32, drop = 3 * (4 * 16 + 4) + 16 * 4;
        size_t expect = 40 * 16 + (size_t)c.max_pos * 16 + (size_t)c.type_vocab * 16 + 32 + 3 * layer - drop +
                        16 * 16 + 16 + 2 * 16 + 2;
        CHECK_MSG(axf_model_params(m) == expect, "%zu vs %zu", axf_model_params(m), expect);
        char dir[700], pdir[700];
        snprintf(dir, sizeof dir, "%s", tu_path(tmp, k ? "arch/roberta" : "arch/distilbert"));
        CHECK(axf_model_save(m, dir, &err) == 0);
        axf_model *b = axf_model_load(dir, &err);
        CHECK_MSG(b && same_model(m, b), "%s", b ? "differs" : err.msg);
        axf_model_free(b);
        char *cj = read_text(tu_path(dir, "config.json")), *tj = read_text(tu_path(dir, "tokenizer_config.json"));
        axf_st_file *f = axf_st_open(tu_path(dir, "model.safetensors"), &err);
        CHECK(f != NULL);
        if (k) {
            CHECK(cj && strstr(cj, "\"RobertaForSequenceClassification\"") && strstr(cj, "\"model_type\":\t\"roberta\"") &&
                  strstr(cj, "\"hidden_size\":\t16") && strstr(cj, "\"max_position_embeddings\":\t26") &&
                  strstr(cj, "\"type_vocab_size\":\t1") && strstr(cj, "\"pad_token_id\":\t1") &&
                  strstr(cj, "\"pruned_heads\""));
            CHECK(tj && strstr(tj, "RobertaTokenizer") && strstr(tj, "\"add_prefix_space\":\ttrue") &&
                  strstr(tj, "\"model_max_length\":\t24"));
            CHECK(f && axf_st_find(f, "roberta.embeddings.token_type_embeddings.weight") &&
                  axf_st_find(f, "roberta.encoder.layer.2.attention.self.query.weight") &&
                  axf_st_find(f, "classifier.dense.weight") && axf_st_find(f, "classifier.out_proj.bias") &&
                  !axf_st_find(f, "roberta.pooler.dense.weight"));
        } else {
            CHECK(cj && strstr(cj, "\"DistilBertForSequenceClassification\"") &&
                  strstr(cj, "\"model_type\":\t\"distilbert\"") && strstr(cj, "\"dim\":\t16") &&
                  strstr(cj, "\"n_layers\":\t3") && strstr(cj, "\"n_heads\":\t4") && strstr(cj, "\"hidden_dim\":\t32") &&
                  strstr(cj, "\"activation\":\t\"gelu\"") && !strstr(cj, "type_vocab_size") &&
                  !strstr(cj, "hidden_size") && strstr(cj, "\"pruned_heads\""));
            CHECK(tj && strstr(tj, "DistilBertTokenizer") && strstr(tj, "\"do_lower_case\":\ttrue"));
            CHECK(f && axf_st_find(f, "distilbert.embeddings.word_embeddings.weight") &&
                  !axf_st_find(f, "distilbert.embeddings.token_type_embeddings.weight") &&
                  axf_st_find(f, "distilbert.transformer.layer.1.attention.q_lin.weight") &&
                  axf_st_find(f, "distilbert.transformer.layer.1.attention.out_lin.bias") &&
                  axf_st_find(f, "distilbert.transformer.layer.1.sa_layer_norm.weight") &&
                  axf_st_find(f, "distilbert.transformer.layer.1.ffn.lin2.weight") &&
                  axf_st_find(f, "distilbert.transformer.layer.1.output_layer_norm.bias") &&
                  axf_st_find(f, "pre_classifier.weight") && axf_st_find(f, "classifier.bias"));
        }
        axf_st_close(f);
        free(cj);
        free(tj);

        /* a removed FFN block: no ffn tensors on disk; a stale config naming it is refused */
        axf_config p = c;
        p.layer_ffn[1] = 0;
        axf_model *pm = axf_model_new(&p, 0, &err);
        axf_model_init_random(pm, 4);
        snprintf(pdir, sizeof pdir, "%s", tu_path(tmp, k ? "arch/roberta-noffn" : "arch/distilbert-noffn"));
        CHECK(axf_model_save(pm, pdir, &err) == 0);
        b = axf_model_load(pdir, &err);
        CHECK_MSG(b && same_model(pm, b), "%s", b ? "differs" : err.msg);
        axf_model_free(b);
        axf_model_free(pm);
        char src[800], dst[800];
        snprintf(src, sizeof src, "%s/model.safetensors", dir);
        snprintf(dst, sizeof dst, "%s/model.safetensors", pdir);
        copy_file(src, dst);
        expect_fail(pdir, k ? "RoBERTa stray FFN" : "DistilBERT stray FFN",
                    k ? "tensor 'roberta.encoder.layer.1.intermediate.dense.weight' is present, but config.json says "
                        "layer 1 has no FFN block"
                      : "tensor 'distilbert.transformer.layer.1.ffn.lin1.weight' is present, but config.json says "
                        "layer 1 has no FFN block");
        axf_model_free(m);
    }
    /* refusals */
    char *d = tu_path(tmp, "arch/distilbert");
    edit_config(d, "model_type", "\"bert\"");
    expect_fail(d, "BERT config, DistilBERT weights", "missing hidden_size");
    edit_config(d, "model_type", "\"distilbert\"");
    edit_config(d, "activation", "\"swish\"");
    expect_fail(d, "DistilBERT activation", "config.json: activation 'swish' not supported");
    edit_config(d, "activation", "\"relu\"");
    edit_config(d, "n_heads", "3");
    expect_fail(d, "DistilBERT heads", "dim 16 is not divisible into n_heads 3");
    d = tu_path(tmp, "arch/roberta");
    edit_config(d, "max_position_embeddings", "2");
    expect_fail(d, "RoBERTa positions", "max_position_embeddings 2 leaves no position for a token (RoBERTa's start at pad_token_id + 1 = 2)");
    edit_config(d, "max_position_embeddings", "26");
    edit_config(d, "model_type", "\"distilbert\"");
    expect_fail(d, "DistilBERT config, RoBERTa weights", "missing dim");
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char *tmp = tu_tmpdir();
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tmp);
    test_round_trip(dir);
    test_hf_style(dir);
    test_errors(dir);
    test_archs(dir);
    tu_rmdir(dir);
    return CHECK_DONE();
}
