/* The model's configuration: defaults, the sanity check every model passes, and Hugging Face's
 * config.json and tokenizer_config.json, read and written (split from model.c by job). */
#include "axf/fileio.h"
#include "axf/model.h"
#include "model_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES (16u << 20)

axf_config axf_config_default(int vocab, int hidden, int layers, int heads, int ffn, int num_labels)
{
    axf_config c;
    memset(&c, 0, sizeof c);
    c.vocab_size = vocab;
    c.hidden = hidden;
    c.n_layers = layers;
    c.n_heads = heads;
    c.head_dim = heads > 0 ? hidden / heads : 0;
    c.ffn = ffn;
    c.max_pos = 512;
    c.type_vocab = 2;
    c.num_labels = num_labels;
    c.pad_token_id = 0;
    c.do_lower_case = 1;
    c.act = AXF_ACT_GELU;
    c.task = num_labels == 1 ? AXF_TASK_REGRESS : AXF_TASK_CLASSIFY;
    c.ln_eps = 1e-12f;
    c.arch = AXF_ARCH_BERT;
    c.head_act = AXF_HEAD_TANH;
    for (int i = 0; i < AXF_MAX_LAYERS; i++) {
        c.layer_heads[i] = heads;
        c.layer_ffn[i] = ffn;
        for (int h = 0; h < AXF_MAX_HEADS; h++)
            c.head_ids[i][h] = (unsigned char)h;
    }
    return c;
}

void axf_config_set_arch(axf_config *c, axf_arch arch)
{
    c->arch = arch;
    c->head_act = arch == AXF_ARCH_DISTILBERT ? AXF_HEAD_RELU : AXF_HEAD_TANH;
    if (arch == AXF_ARCH_DISTILBERT) {
        c->type_vocab = 0;
        c->ln_eps = 1e-12f;
    } else if (arch == AXF_ARCH_ROBERTA) {
        c->type_vocab = 1;
        c->ln_eps = 1e-5f;
        c->do_lower_case = 0;
        c->max_pos -= c->pos_offset;
        c->pad_token_id = 1;
        c->pos_offset = c->pad_token_id + 1;
        c->max_pos += c->pos_offset;
    }
}

int axf_config_max_len(const axf_config *c)
{
    return c->max_pos - c->pos_offset;
}

const char *axf_arch_name(axf_arch a)
{
    return (unsigned)a <= AXF_ARCH_ROBERTA ? axf__arch[a].model_type : "?";
}

/* Shape sanity of a config; `where` names the source (a file or "config"). */
int axf__config_check(const axf_config *c, const char *where, axf_err *err)
{
    if ((unsigned)c->arch > AXF_ARCH_ROBERTA || (unsigned)c->head_act > AXF_HEAD_RELU)
        return axf_err_set(err, "%s: unknown architecture %d or head activation %d", where, (int)c->arch,
                           (int)c->head_act);
    if (c->vocab_size <= 0 || c->hidden <= 0 || c->max_pos <= 0 || c->ffn <= 0)
        return axf_err_set(err, "%s: vocab_size, hidden size, max_position_embeddings and FFN width must be "
                           "positive", where);
    if (c->arch == AXF_ARCH_DISTILBERT ? c->type_vocab != 0 : c->type_vocab <= 0)
        return axf_err_set(err, "%s: type_vocab_size %d (%s)", where, c->type_vocab,
                           c->arch == AXF_ARCH_DISTILBERT ? "DistilBERT has no token types" : "must be positive");
    if (c->pos_offset < 0 || c->pos_offset >= c->max_pos)
        return axf_err_set(err, "%s: max_position_embeddings %d leaves no position for a token (RoBERTa's start "
                           "at pad_token_id + 1 = %d)", where, c->max_pos, c->pos_offset);
    if (c->n_layers < 0 || c->n_layers > AXF_MAX_LAYERS)
        return axf_err_set(err, "%s: num_hidden_layers %d out of range 0..%d", where, c->n_layers,
                           AXF_MAX_LAYERS);
    if (c->n_heads <= 0 || c->n_heads > AXF_MAX_HEADS)
        return axf_err_set(err, "%s: num_attention_heads %d out of range 1..%d", where, c->n_heads,
                           AXF_MAX_HEADS);
    if (c->hidden % c->n_heads != 0 || c->head_dim != c->hidden / c->n_heads)
        return axf_err_set(err, "%s: hidden_size %d is not num_attention_heads %d x head size %d",
                           where, c->hidden, c->n_heads, c->head_dim);
    if (c->num_labels <= 0 || c->num_labels > AXF_MAX_LABELS)
        return axf_err_set(err, "%s: num_labels %d out of range 1..%d", where, c->num_labels,
                           AXF_MAX_LABELS);
    if (c->task == AXF_TASK_REGRESS && c->num_labels != 1)
        return axf_err_set(err, "%s: regression needs exactly 1 label, found %d", where, c->num_labels);
    if (c->pad_token_id < 0 || c->pad_token_id >= c->vocab_size)
        return axf_err_set(err, "%s: pad_token_id %d outside the vocabulary", where, c->pad_token_id);
    if (!(c->ln_eps > 0) || !isfinite(c->ln_eps))
        return axf_err_set(err, "%s: layer_norm_eps must be positive", where);
    if ((unsigned)c->act > AXF_ACT_RELU)
        return axf_err_set(err, "%s: unknown activation %d", where, (int)c->act);
    for (int i = 0; i < c->n_layers; i++) {
        int nh = c->layer_heads[i], f = c->layer_ffn[i];
        if (nh < 0 || nh > c->n_heads)
            return axf_err_set(err, "%s: layer %d has %d heads, outside 0..%d", where, i, nh, c->n_heads);
        if (f < 0 || f > c->ffn)
            return axf_err_set(err, "%s: layer %d has FFN width %d, outside 0..%d", where, i, f, c->ffn);
        if (nh == 0 && f == 0)
            return axf_err_set(err, "%s: layer %d has neither attention nor FFN (drop the layer)",
                               where, i);
        unsigned char seen[AXF_MAX_HEADS] = {0};
        for (int h = 0; h < nh; h++) {
            int id = c->head_ids[i][h];
            if (id >= c->n_heads || seen[id])
                return axf_err_set(err, "%s: layer %d: head id %d out of range or repeated", where, i, id);
            seen[id] = 1;
        }
    }
    return 0;
}

/* ---------- config.json ---------- */

static const char *act_name(axf_act a)
{
    return a == AXF_ACT_GELU_TANH ? "gelu_new" : a == AXF_ACT_RELU ? "relu" : "gelu";
}

static int get_int(const cJSON *root, const char *key, int *out, int required, const char *path,
                   axf_err *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j || cJSON_IsNull(j)) {
        if (required)
            return axf_err_set(err, "%s: missing %s", path, key);
        return 0;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble))
        return axf_err_set(err, "%s: %s is not an integer", path, key);
    if (fabs(j->valuedouble) > 1e9)
        return axf_err_set(err, "%s: %s %.15g is out of range (at most 1e9 in size)", path, key, j->valuedouble);
    *out = (int)j->valuedouble;
    return 0;
}

/* An array of n integers (values checked by config_check later). */
static int get_int_array(const cJSON *j, int *out, int n, const char *key, const char *path,
                         axf_err *err)
{
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != n)
        return axf_err_set(err, "%s: %s must be an array of %d integers", path, key, n);
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble))
            return axf_err_set(err, "%s: %s[%d] is not an integer", path, key, k);
        if (fabs(e->valuedouble) > 1e9)
            return axf_err_set(err, "%s: %s[%d] %.15g is out of range (at most 1e9 in size)", path, key, k,
                               e->valuedouble);
        out[k++] = (int)e->valuedouble;
    }
    return 0;
}

static void copy_label(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n > 47) {
        n = 47;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
    }
    memcpy(dst, src, n);
    dst[n] = 0;
}

static int parse_labels(const cJSON *root, axf_config *c, const char *path, axf_err *err)
{
    char shown[64]; /* file text for a message */
    const cJSON *id2 = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    int nl = -1;
    if (get_int(root, "num_labels", &nl, 0, path, err) != 0)
        return -1;
    if (id2 && !cJSON_IsNull(id2)) {
        if (!cJSON_IsObject(id2))
            return axf_err_set(err, "%s: id2label is not an object", path);
        int n = cJSON_GetArraySize(id2);
        if (n < 1 || n > AXF_MAX_LABELS)
            return axf_err_set(err, "%s: id2label has %d entries, 1..%d supported", path, n,
                               AXF_MAX_LABELS);
        if (nl >= 0 && nl != n)
            return axf_err_set(err, "%s: num_labels %d disagrees with id2label's %d entries", path,
                               nl, n);
        unsigned char seen[AXF_MAX_LABELS] = {0};
        const cJSON *e;
        cJSON_ArrayForEach(e, id2)
        {
            char *end;
            long id = strtol(e->string, &end, 10);
            if (end == e->string || *end || id < 0 || id >= n || seen[id])
                return axf_err_set(err, "%s: id2label key '%s' is not a label id in 0..%d", path,
                                   axf_escape_str(shown, sizeof shown, e->string), n - 1);
            if (!cJSON_IsString(e))
                return axf_err_set(err, "%s: id2label[%ld] is not a string", path, id);
            seen[id] = 1;
            char dflt[24];
            snprintf(dflt, sizeof dflt, "LABEL_%ld", id);
            /* HF's placeholder name means "unnamed", which is how we write unnamed labels */
            if (strcmp(e->valuestring, dflt) != 0)
                copy_label(c->labels[id], e->valuestring);
        }
        c->num_labels = n;
    } else if (nl >= 0) {
        c->num_labels = nl;
    } else {
        c->num_labels = 2;
    }
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(root, "problem_type");
    if (pt && !cJSON_IsNull(pt)) {
        if (!cJSON_IsString(pt))
            return axf_err_set(err, "%s: problem_type is not a string", path);
        if (strcmp(pt->valuestring, "regression") == 0)
            c->task = AXF_TASK_REGRESS;
        else if (strcmp(pt->valuestring, "single_label_classification") == 0)
            c->task = AXF_TASK_CLASSIFY;
        else
            return axf_err_set(err, "%s: problem_type '%s' not supported (single_label_"
                               "classification or regression)", path, axf_escape_str(shown, sizeof shown, pt->valuestring));
    } else {
        c->task = c->num_labels == 1 ? AXF_TASK_REGRESS : AXF_TASK_CLASSIFY;
    }
    return 0;
}

/* Per-layer shape: our own axf_layer_* fields first, then HF pruned_heads (original indices). */
static int parse_layers(const cJSON *root, axf_config *c, const char *path, axf_err *err)
{
    char shown[64]; /* file text for a message */
    int L = c->n_layers;
    const cJSON *jh = cJSON_GetObjectItemCaseSensitive(root, "axf_layer_heads");
    const cJSON *jf = cJSON_GetObjectItemCaseSensitive(root, "axf_layer_ffn");
    const cJSON *ji = cJSON_GetObjectItemCaseSensitive(root, "axf_layer_head_ids");
    const cJSON *jp = cJSON_GetObjectItemCaseSensitive(root, "pruned_heads");
    if (jf && get_int_array(jf, c->layer_ffn, L, "axf_layer_ffn", path, err) != 0)
        return -1;
    if (jh && get_int_array(jh, c->layer_heads, L, "axf_layer_heads", path, err) != 0)
        return -1;
    for (int i = 0; i < L; i++)
        if (c->layer_heads[i] < 0 || c->layer_heads[i] > c->n_heads)
            return axf_err_set(err, "%s: axf_layer_heads[%d] = %d outside 0..%d", path, i,
                               c->layer_heads[i], c->n_heads);
    if (ji) {
        if (!cJSON_IsArray(ji) || cJSON_GetArraySize(ji) != L)
            return axf_err_set(err, "%s: axf_layer_head_ids must be an array of %d arrays", path, L);
        for (int i = 0; i < L; i++) {
            const cJSON *a = cJSON_GetArrayItem(ji, i);
            int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
            if (n < 0 || n > c->n_heads || (jh && n != c->layer_heads[i]))
                return axf_err_set(err, "%s: axf_layer_head_ids[%d] must list the layer's %d head ids",
                                   path, i, c->layer_heads[i]);
            int ids[AXF_MAX_HEADS];
            char key[48];
            snprintf(key, sizeof key, "axf_layer_head_ids[%d]", i);
            if (get_int_array(a, ids, n, key, path, err) != 0)
                return -1;
            for (int h = 0; h < n; h++) {
                if (ids[h] < 0 || ids[h] >= c->n_heads)
                    return axf_err_set(err, "%s: %s: head id %d outside 0..%d", path, key, ids[h],
                                       c->n_heads - 1);
                c->head_ids[i][h] = (unsigned char)ids[h];
            }
            c->layer_heads[i] = n;
        }
    }
    if (jp && !cJSON_IsNull(jp)) {
        if (!cJSON_IsObject(jp))
            return axf_err_set(err, "%s: pruned_heads is not an object", path);
        unsigned char pruned[AXF_MAX_LAYERS][AXF_MAX_HEADS];
        memset(pruned, 0, sizeof pruned);
        const cJSON *e;
        cJSON_ArrayForEach(e, jp)
        {
            char *end;
            long li = strtol(e->string, &end, 10);
            if (end == e->string || *end || li < 0 || li >= L)
                return axf_err_set(err, "%s: pruned_heads key '%s' is not a layer in 0..%d", path,
                                   axf_escape_str(shown, sizeof shown, e->string), L - 1);
            if (!cJSON_IsArray(e))
                return axf_err_set(err, "%s: pruned_heads[%ld] is not an array", path, li);
            const cJSON *h;
            cJSON_ArrayForEach(h, e)
            {
                if (!cJSON_IsNumber(h) || h->valuedouble != floor(h->valuedouble) ||
                    h->valuedouble < 0 || h->valuedouble >= c->n_heads)
                    return axf_err_set(err, "%s: pruned_heads[%ld]: head outside 0..%d", path, li,
                                       c->n_heads - 1);
                pruned[li][(int)h->valuedouble] = 1;
            }
        }
        for (int i = 0; i < L; i++) {
            int ids[AXF_MAX_HEADS], n = 0;
            for (int h = 0; h < c->n_heads; h++)
                if (!pruned[i][h])
                    ids[n++] = h;
            int same_n = n == c->layer_heads[i], same_ids = same_n;
            for (int h = 0; same_ids && h < n; h++)
                same_ids = ids[h] == c->head_ids[i][h];
            if ((ji && !same_ids) || (jh && !same_n))
                return axf_err_set(err, "%s: pruned_heads of layer %d disagrees with axf_layer_%s",
                                   path, i, ji ? "head_ids" : "heads");
            c->layer_heads[i] = n;
            for (int h = 0; h < n; h++)
                c->head_ids[i][h] = (unsigned char)ids[h];
        }
    }
    return 0;
}

/* A JSON file whose top value must be an object; NULL and a message naming path otherwise. */
static cJSON *read_json_object(const char *path, axf_err *err)
{
    size_t len;
    char *text = axf_io_read_file(path, CONFIG_MAX_BYTES, &len, err);
    if (!text)
        return NULL;
    cJSON *root = NULL;
    if (axf_json_check(text, len, path, err) == 0) {
        root = cJSON_ParseWithLength(text, len);
        if (!root || !cJSON_IsObject(root))
            axf_err_set(err, "%s: not a JSON object", path);
    }
    free(text);
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return root;
}

/* config.json's names of the sizes and the activation, per architecture (DistilBERT has its own). */
typedef struct {
    const char *hidden, *layers, *heads, *ffn, *act;
} config_keys;

static const config_keys BERT_KEYS = {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                                      "hidden_act"};
static const config_keys DISTILBERT_KEYS = {"dim", "n_layers", "n_heads", "hidden_dim", "activation"};

static int parse_config(const char *path, axf_config *c, axf_err *err)
{
    char shown[64]; /* file text for a message */
    cJSON *root = read_json_object(path, err);
    if (!root)
        return -1;
    int rc = -1;
    axf_arch arch = AXF_ARCH_BERT;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (mt) {
        const char *t = cJSON_IsString(mt) ? mt->valuestring : "?";
        for (arch = AXF_ARCH_BERT; arch <= AXF_ARCH_ROBERTA && strcmp(t, axf__arch[arch].model_type) != 0; arch++)
            ;
        if (arch > AXF_ARCH_ROBERTA) {
            axf_err_set(err, "%s: model_type '%s' not supported (bert, distilbert, roberta)", path,
                        axf_escape_str(shown, sizeof shown, t));
            goto out;
        }
    }
    const config_keys *k = arch == AXF_ARCH_DISTILBERT ? &DISTILBERT_KEYS : &BERT_KEYS;
    int V = 0, H = 0, L = 0, NH = 0, F = 0;
    if (get_int(root, "vocab_size", &V, 1, path, err) || get_int(root, k->hidden, &H, 1, path, err) ||
        get_int(root, k->layers, &L, 1, path, err) || get_int(root, k->heads, &NH, 1, path, err) ||
        get_int(root, k->ffn, &F, 1, path, err))
        goto out;
    if (L < 0 || L > AXF_MAX_LAYERS) {
        axf_err_set(err, "%s: %s %d out of range 0..%d", path, k->layers, L, AXF_MAX_LAYERS);
        goto out;
    }
    if (NH <= 0 || NH > AXF_MAX_HEADS || H <= 0 || H % NH != 0) {
        axf_err_set(err, "%s: %s %d is not divisible into %s %d (1..%d heads)", path, k->hidden, H, k->heads, NH,
                    AXF_MAX_HEADS);
        goto out;
    }
    *c = axf_config_default(V, H, L, NH, F, 2);
    c->arch = arch;
    c->head_act = arch == AXF_ARCH_DISTILBERT ? AXF_HEAD_RELU : AXF_HEAD_TANH;
    if (arch == AXF_ARCH_DISTILBERT)
        c->type_vocab = 0; /* and LayerNorm eps 1e-12, fixed in its code */
    if (arch == AXF_ARCH_ROBERTA) {
        c->pad_token_id = 1; /* RobertaConfig's defaults */
        c->do_lower_case = 0;
    }
    const cJSON *pe = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    if (pe && !cJSON_IsNull(pe) && (!cJSON_IsString(pe) || strcmp(pe->valuestring, "absolute") != 0)) {
        axf_err_set(err, "%s: position_embedding_type must be 'absolute'", path);
        goto out;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, k->act);
    if (act) {
        const char *a = cJSON_IsString(act) ? act->valuestring : "";
        if (strcmp(a, "gelu") == 0)
            c->act = AXF_ACT_GELU;
        else if (strcmp(a, "gelu_new") == 0 || strcmp(a, "gelu_pytorch_tanh") == 0)
            c->act = AXF_ACT_GELU_TANH;
        else if (strcmp(a, "relu") == 0)
            c->act = AXF_ACT_RELU;
        else {
            axf_err_set(err, "%s: %s '%s' not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)", path, k->act,
                        axf_escape_str(shown, sizeof shown, a));
            goto out;
        }
    }
    if (get_int(root, "max_position_embeddings", &c->max_pos, 0, path, err) ||
        (arch != AXF_ARCH_DISTILBERT && get_int(root, "type_vocab_size", &c->type_vocab, 0, path, err)) ||
        get_int(root, "pad_token_id", &c->pad_token_id, 0, path, err))
        goto out;
    if (arch == AXF_ARCH_ROBERTA)
        c->pos_offset = c->pad_token_id + 1; /* HF numbers a sequence's positions from pad + 1 */
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
    if (eps && arch != AXF_ARCH_DISTILBERT) {
        if (!cJSON_IsNumber(eps)) {
            axf_err_set(err, "%s: layer_norm_eps is not a number", path);
            goto out;
        }
        c->ln_eps = (float)eps->valuedouble;
    }
    if (parse_labels(root, c, path, err) || parse_layers(root, c, path, err))
        goto out;
    rc = axf__config_check(c, path, err);
out:
    cJSON_Delete(root);
    return rc;
}

/* do_lower_case and add_prefix_space from tokenizer_config.json; absent file or field keeps the default. */
static int parse_tokenizer_config(const char *path, axf_config *c, axf_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    fclose(fp);
    cJSON *root = read_json_object(path, err);
    if (!root)
        return -1;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, "do_lower_case");
    if (cJSON_IsBool(j))
        c->do_lower_case = cJSON_IsTrue(j);
    else if (cJSON_IsNumber(j))
        c->do_lower_case = j->valuedouble != 0;
    j = cJSON_GetObjectItemCaseSensitive(root, "add_prefix_space");
    if (cJSON_IsBool(j))
        c->add_prefix_space = cJSON_IsTrue(j);
    cJSON_Delete(root);
    return 0;
}

/* A float as the shortest decimal that reads back as the same float (1e-12, not 9.99e-13). */
static double float_json(float x)
{
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        if ((float)strtod(buf, NULL) == x)
            break;
    }
    return strtod(buf, NULL);
}

static int write_json(cJSON *root, const char *path, axf_err *err)
{
    char *s = cJSON_Print(root);
    size_t n = strlen(s);
    s = axf_xrealloc(s, n + 2);
    s[n] = '\n';
    s[n + 1] = 0;
    int rc = axf_io_write_atomic(path, s, n + 1, err);
    free(s);
    return rc;
}

static cJSON *config_json(const axf_config *c)
{
    const arch_names *a = axf__names_of(c);
    int distil = c->arch == AXF_ARCH_DISTILBERT;
    const config_keys *k = distil ? &DISTILBERT_KEYS : &BERT_KEYS;
    cJSON *r = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(a->class_name));
    cJSON_AddStringToObject(r, "model_type", a->model_type);
    cJSON_AddNumberToObject(r, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(r, k->hidden, c->hidden);
    cJSON_AddNumberToObject(r, k->layers, c->n_layers);
    cJSON_AddNumberToObject(r, k->heads, c->n_heads);
    cJSON_AddNumberToObject(r, k->ffn, c->ffn);
    cJSON_AddStringToObject(r, k->act, act_name(c->act));
    if (distil) {
        cJSON_AddNumberToObject(r, "dropout", 0.1);
        cJSON_AddNumberToObject(r, "attention_dropout", 0.1);
        cJSON_AddNumberToObject(r, "qa_dropout", 0.1);
        cJSON_AddNumberToObject(r, "seq_classif_dropout", 0.2);
        cJSON_AddBoolToObject(r, "sinusoidal_pos_embds", 0);
        cJSON_AddBoolToObject(r, "tie_weights_", 1);
    } else {
        cJSON_AddNumberToObject(r, "hidden_dropout_prob", 0.1);
        cJSON_AddNumberToObject(r, "attention_probs_dropout_prob", 0.1);
        cJSON_AddNumberToObject(r, "type_vocab_size", c->type_vocab);
        cJSON_AddNumberToObject(r, "layer_norm_eps", float_json(c->ln_eps));
        cJSON_AddStringToObject(r, "position_embedding_type", "absolute");
    }
    cJSON_AddNumberToObject(r, "max_position_embeddings", c->max_pos);
    cJSON_AddNumberToObject(r, "initializer_range", 0.02);
    cJSON_AddNumberToObject(r, "pad_token_id", c->pad_token_id);
    cJSON_AddStringToObject(r, "problem_type",
                            c->task == AXF_TASK_REGRESS ? "regression" : "single_label_classification");
    cJSON *id2 = cJSON_AddObjectToObject(r, "id2label");
    cJSON *l2i = cJSON_AddObjectToObject(r, "label2id");
    for (int i = 0; i < c->num_labels; i++) {
        char key[16], name[64];
        snprintf(key, sizeof key, "%d", i);
        if (c->labels[i][0])
            snprintf(name, sizeof name, "%s", c->labels[i]);
        else
            snprintf(name, sizeof name, "LABEL_%d", i);
        cJSON_AddStringToObject(id2, key, name);
        if (!cJSON_GetObjectItemCaseSensitive(l2i, name))
            cJSON_AddNumberToObject(l2i, name, i);
    }
    /* pruned_heads only when Hugging Face can rebuild the same shapes from it */
    int representable = 1, any = 0;
    for (int i = 0; i < c->n_layers; i++) {
        if (c->layer_ffn[i] != c->ffn || c->layer_heads[i] == 0)
            representable = 0;
        for (int h = 1; h < c->layer_heads[i]; h++)
            if (c->head_ids[i][h] <= c->head_ids[i][h - 1])
                representable = 0;
        if (c->layer_heads[i] != c->n_heads)
            any = 1;
    }
    if (representable && any) {
        cJSON *ph = cJSON_AddObjectToObject(r, "pruned_heads");
        for (int i = 0; i < c->n_layers; i++) {
            if (c->layer_heads[i] == c->n_heads)
                continue;
            unsigned char kept[AXF_MAX_HEADS] = {0};
            for (int h = 0; h < c->layer_heads[i]; h++)
                kept[c->head_ids[i][h]] = 1;
            char key[16];
            snprintf(key, sizeof key, "%d", i);
            cJSON *a = cJSON_AddArrayToObject(ph, key);
            for (int h = 0; h < c->n_heads; h++)
                if (!kept[h])
                    cJSON_AddItemToArray(a, cJSON_CreateNumber(h));
        }
    }
    cJSON *lh = cJSON_AddArrayToObject(r, "axf_layer_heads");
    cJSON *lf = cJSON_AddArrayToObject(r, "axf_layer_ffn");
    cJSON *li = cJSON_AddArrayToObject(r, "axf_layer_head_ids");
    for (int i = 0; i < c->n_layers; i++) {
        cJSON_AddItemToArray(lh, cJSON_CreateNumber(c->layer_heads[i]));
        cJSON_AddItemToArray(lf, cJSON_CreateNumber(c->layer_ffn[i]));
        cJSON *a = cJSON_CreateArray();
        for (int h = 0; h < c->layer_heads[i]; h++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(c->head_ids[i][h]));
        cJSON_AddItemToArray(li, a);
    }
    return r;
}


/* config.json, then tokenizer_config.json (what the tokenizer needs to know). */
int axf__config_save(const axf_config *c, const char *cfg_path, const char *tok_path, axf_err *err)
{
    cJSON *cj = config_json(c);
    int bad = write_json(cj, cfg_path, err);
    cJSON_Delete(cj);
    if (bad)
        return -1;
    cJSON *tj = cJSON_CreateObject();
    if (c->arch == AXF_ARCH_ROBERTA) {
        cJSON_AddBoolToObject(tj, "add_prefix_space", c->add_prefix_space != 0);
        cJSON_AddNumberToObject(tj, "model_max_length", axf_config_max_len(c));
        cJSON_AddStringToObject(tj, "tokenizer_class", "RobertaTokenizer");
    } else {
        cJSON_AddBoolToObject(tj, "do_lower_case", c->do_lower_case != 0);
        cJSON_AddNumberToObject(tj, "model_max_length", axf_config_max_len(c));
        cJSON_AddStringToObject(tj, "tokenizer_class",
                                c->arch == AXF_ARCH_DISTILBERT ? "DistilBertTokenizer" : "BertTokenizer");
    }
    bad = write_json(tj, tok_path, err);
    cJSON_Delete(tj);
    return bad ? -1 : 0;
}

int axf__config_load(const char *cfg_path, const char *tok_path, axf_config *c, axf_err *err)
{
    return parse_config(cfg_path, c, err) || parse_tokenizer_config(tok_path, c, err) ? -1 : 0;
}
