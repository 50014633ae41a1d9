/* The axf side of the benchmark: runs the engine on exactly the batches the peers get (a case of
 * bench/prepare.py), packed without padding, on the model folder the peers were exported from, and
 * times the sgemm floor of the same packed shapes: the GEMM calls a dense forward pass needs
 * (Q, K, V, output, FFN in, FFN out over all tokens; QK^T and PV per sequence and head; pooler and
 * classifier per sequence), timed alone on scratch buffers. `axf bench` measures the same floor on
 * fixed-length batches of a random model; this helper exists because the SST-2 case needs
 * variable-length packed batches and logits from the saved weights.
 *
 * Sentences are tokenized by our tokenizer from CASE.tsv; a mismatch with the peers' ids (Python
 * tokenizer, CASE.json) is counted and reported, never hidden.
 *
 * Protocol (bench/driver.py), one JSON object per line on stdout: {"ready":true,...} once loaded;
 * then per stdin line "run" -> {"t": engine seconds, "floor_t": floor seconds, "cpu", "floor_cpu":
 * the same in CPU seconds of the process}, "logits" ->
 * {"logits": [[...],...]}, "case CASE" -> {"ok":true,...} (another case, same model), "engine" ->
 * {"t": engine seconds} (no floor: for profiling the engine alone), "quit" or EOF -> exit.
 *
 * With the word int8 after THREADS the engine runs a plan that computes every block of every layer
 * in int8 (plan.h int8_attn and int8_ffn: Q, K, V, attention output and both FFN products, weights
 * quantized once per output channel from the model's float32 ones, inputs per token at run time)
 * and "run" times the engine alone (no floor: the floor is the float32 products').
 *
 * usage: axf_case MODEL_DIR CASE (CASE.json and CASE.tsv from prepare.py) THREADS [int8] */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axf/engine.h"
#include "axf/model.h"
#include "axf/plan.h"
#include "axf/tokenizer.h"

typedef struct {
    int n_seq, n_tok;
    int *ids, *types, *off; /* packed [n_tok], [n_tok], [n_seq + 1] */
} pbatch;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = axf_xmalloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    fclose(f);
    s[got] = 0;
    return s;
}

/* CPU seconds of the whole process (every thread): robust to other users of a shared machine when
 * the process runs one thread; with several it also counts time spent spinning at barriers. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void die(const char *msg)
{
    printf("{\"error\":\"%s\"}\n", msg);
    fprintf(stderr, "axf_case: %s\n", msg);
    exit(1);
}

static void gemm(CBLAS_TRANSPOSE tb, int M, int N, int K, const float *a, int lda, const float *b, int ldb,
                 float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

/* The products of a dense forward pass over one packed batch. */
static void floor_pass(const axf_model *m, const pbatch *b, float *x, float *q, float *k, float *v, float *ctx,
                       float *inter, float *y, float *s)
{
    const axf_config *c = &m->cfg;
    int T = b->n_tok, H = c->hidden, HS = c->head_dim;
    for (int l = 0; l < c->n_layers; l++) {
        const axf_layer *L = &m->layers[l];
        int NH = c->layer_heads[l], F = c->layer_ffn[l], HQ = NH * HS;
        gemm(CblasTrans, T, HQ, H, x, H, L->wq, H, q, HQ);
        gemm(CblasTrans, T, HQ, H, x, H, L->wk, H, k, HQ);
        gemm(CblasTrans, T, HQ, H, x, H, L->wv, H, v, HQ);
        for (int i = 0; i < b->n_seq; i++) {
            int n = b->off[i + 1] - b->off[i];
            size_t o = (size_t)(b->off[i] - b->off[0]) * HQ;
            for (int h = 0; h < NH; h++) {
                gemm(CblasTrans, n, n, HS, q + o + h * HS, HQ, k + o + h * HS, HQ, s, n);
                gemm(CblasNoTrans, n, HS, n, s, n, v + o + h * HS, HQ, ctx + o + h * HS, HQ);
            }
        }
        gemm(CblasTrans, T, H, HQ, ctx, HQ, L->wo, HQ, y, H);
        gemm(CblasTrans, T, F, H, y, H, L->w1, H, inter, F);
        gemm(CblasTrans, T, H, F, inter, F, L->w2, F, x, H);
    }
    gemm(CblasTrans, b->n_seq, H, H, x, H, m->pool_w, H, y, H);
    gemm(CblasTrans, b->n_seq, c->num_labels, H, y, H, m->cls_w, H, q, c->num_labels);
}

typedef struct {
    int nb, max_tok, total, mismatch;
    pbatch *bs;
} pcase;

static void case_free(pcase *pc)
{
    for (int i = 0; i < pc->nb; i++)
        free(pc->bs[i].ids), free(pc->bs[i].types), free(pc->bs[i].off);
    free(pc->bs);
    memset(pc, 0, sizeof *pc);
}

/* Reads PREFIX.json (the peers' batches, for the batch boundaries and the id check) and PREFIX.tsv
 * (the text, tokenized here). */
static void case_load(pcase *pc, const char *prefix, const axf_vocab *voc, int lower)
{
    char path[4096];
    axf_err err;
    snprintf(path, sizeof path, "%s.json", prefix);
    char *js = slurp(path);
    cJSON *root = js ? cJSON_Parse(js) : NULL;
    cJSON *jb = root ? cJSON_GetObjectItem(root, "batches") : NULL;
    if (!cJSON_IsArray(jb))
        die("cannot read the case's .json");
    snprintf(path, sizeof path, "%s.tsv", prefix);
    char *tsv = slurp(path);
    if (!tsv)
        die("cannot read the case's .tsv");
    char *line = strchr(tsv, '\n'); /* skip the header */
    memset(pc, 0, sizeof *pc);
    pc->nb = cJSON_GetArraySize(jb);
    pc->bs = axf_xcalloc((size_t)pc->nb, sizeof *pc->bs);
    int ids[512], types[512];
    for (int bi = 0; bi < pc->nb; bi++) {
        cJSON *batch = cJSON_GetArrayItem(jb, bi), *sq;
        pbatch *b = &pc->bs[bi];
        b->n_seq = cJSON_GetArraySize(batch);
        int cap = 0;
        cJSON_ArrayForEach(sq, batch) cap += cJSON_GetArraySize(sq);
        cap += 16 * b->n_seq; /* room in case our tokenizer yields more pieces */
        b->ids = axf_xmalloc(sizeof(int) * cap);
        b->types = axf_xcalloc((size_t)cap, sizeof(int));
        b->off = axf_xmalloc(sizeof(int) * (b->n_seq + 1));
        b->off[0] = 0;
        int si = 0;
        cJSON_ArrayForEach(sq, batch)
        {
            if (!line || !line[1])
                die("the case's .tsv has fewer lines than its .json");
            char *text = line + 1, *end = strchr(text, '\n'), *tab = strchr(text, '\t');
            if (end)
                *end = 0;
            if (tab)
                *tab = 0;
            line = end;
            int n = axf_encode_pair(voc, text, NULL, lower, 128, ids, types, &err);
            if (n < 0)
                die(err.msg);
            int same = n == cJSON_GetArraySize(sq);
            for (int j = 0; same && j < n; j++)
                same = cJSON_GetArrayItem(sq, j)->valueint == ids[j];
            pc->mismatch += !same;
            if (b->off[si] + n > cap)
                die("packed batch overflow");
            memcpy(b->ids + b->off[si], ids, sizeof(int) * n);
            b->off[si + 1] = b->off[si] + n;
            si++;
        }
        b->n_tok = b->off[b->n_seq];
        pc->total += b->n_tok;
        if (b->n_tok > pc->max_tok)
            pc->max_tok = b->n_tok;
    }
    cJSON_Delete(root);
    free(js);
    free(tsv);
}

/* Scratch of the floor: as large as the largest batch seen. */
typedef struct {
    int cap;
    float *x, *q, *k, *v, *ctx, *y, *inter, *s;
} scratch;

static void scratch_fit(scratch *sc, const axf_config *c, int T)
{
    if (T <= sc->cap)
        return;
    free(sc->x), free(sc->q), free(sc->k), free(sc->v), free(sc->ctx), free(sc->y), free(sc->inter), free(sc->s);
    size_t TH = (size_t)T * c->hidden;
    sc->x = axf_xcalloc(TH, 4), sc->q = axf_xcalloc(TH, 4), sc->k = axf_xcalloc(TH, 4);
    sc->v = axf_xcalloc(TH, 4), sc->ctx = axf_xcalloc(TH, 4), sc->y = axf_xcalloc(TH, 4);
    sc->inter = axf_xcalloc((size_t)T * c->ffn, 4), sc->s = axf_xcalloc(512 * 512, 4);
    sc->cap = T;
}

static void forward_all(axf_engine *e, const axf_plan *plan, const pcase *pc, float *logits)
{
    axf_err err;
    for (int bi = 0; bi < pc->nb; bi++) {
        const pbatch *b = &pc->bs[bi];
        axf_batch bt = {b->n_seq, b->n_tok, b->ids, b->types, b->off};
        if (axf_engine_forward(e, plan, &bt, logits, &err))
            die(err.msg);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "int8"))) {
        fprintf(stderr, "usage: axf_case MODEL_DIR CASE THREADS [int8]\n");
        return 2;
    }
    axf_set_threads(atoi(argv[3]));
    axf_err err;
    axf_model *m = axf_model_load(argv[1], &err);
    if (!m)
        die(err.msg);
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", argv[1]);
    axf_vocab *voc = axf_vocab_load(path, &err);
    if (!voc)
        die(err.msg);
    const axf_config *c = &m->cfg;
    pcase pc;
    case_load(&pc, argv[2], voc, c->do_lower_case);
    axf_plan *plan = NULL;
    if (argc == 5) {
        plan = axf_plan_new(m);
        for (int l = 0; l < plan->n_layers; l++)
            plan->layers[l].int8_attn = plan->layers[l].int8_ffn = 1;
    }
    axf_engine *e = NULL;
    int engine_cap = 0;
    scratch sc = {0};
    float *logits = axf_xmalloc(sizeof(float) * 4096 * c->num_labels);
    char cmd[4200];
    for (int first = 1;; first = 0) {
        if (pc.max_tok > engine_cap) {
            axf_engine_free(e);
            if (!(e = axf_engine_new(m, pc.max_tok, &err)))
                die(err.msg);
            axf_engine_freeze_weights(e, 1);   /* packed on the first (warm-up) pass */
            engine_cap = pc.max_tok;
        }
        scratch_fit(&sc, c, pc.max_tok);
        printf("{\"%s\":true,\"peer\":\"%s\",\"tokenizer_mismatch\":%d,\"tokens\":%d,\"max_batch_tokens\":%d}\n",
               first ? "ready" : "ok", plan ? "axf_i8" : "axf", pc.mismatch, pc.total, pc.max_tok);
        fflush(stdout);
        int next = 0;
        while (!next && fgets(cmd, sizeof cmd, stdin)) {
            cmd[strcspn(cmd, "\n")] = 0;
            if (!strcmp(cmd, "run") && plan) {
                double c0 = cpu_now(), t0 = axf_now();
                forward_all(e, plan, &pc, logits);
                printf("{\"t\":%.9f,\"cpu\":%.9f}\n", axf_now() - t0, cpu_now() - c0);
            } else if (!strcmp(cmd, "run")) {
                double c0 = cpu_now(), t0 = axf_now();
                forward_all(e, plan, &pc, logits);
                double c1 = cpu_now(), t1 = axf_now();
                for (int bi = 0; bi < pc.nb; bi++)
                    floor_pass(m, &pc.bs[bi], sc.x, sc.q, sc.k, sc.v, sc.ctx, sc.inter, sc.y, sc.s);
                double c2 = cpu_now(), t2 = axf_now();
                /* The floor's multi-threaded OpenBLAS calls leave OpenBLAS's worker spinning in
                 * sched_yield for about 2^28 cycles; let it go to sleep before anything else is
                 * timed (the next engine pass, or another peer). */
                struct timespec settle = {0, 300000000};
                nanosleep(&settle, NULL);
                printf("{\"t\":%.9f,\"floor_t\":%.9f,\"cpu\":%.9f,\"floor_cpu\":%.9f}\n", t1 - t0, t2 - t1,
                       c1 - c0, c2 - c1);
            } else if (!strcmp(cmd, "engine")) {
                double t0 = axf_now();
                forward_all(e, plan, &pc, logits);
                printf("{\"t\":%.9f}\n", axf_now() - t0);
            } else if (!strcmp(cmd, "logits")) {
                fputs("{\"logits\":[", stdout);
                for (int bi = 0; bi < pc.nb; bi++) {
                    const pbatch *b = &pc.bs[bi];
                    axf_batch bt = {b->n_seq, b->n_tok, b->ids, b->types, b->off};
                    if (axf_engine_forward(e, plan, &bt, logits, &err))
                        die(err.msg);
                    for (int i = 0; i < b->n_seq; i++) {
                        fputs(bi || i ? ",[" : "[", stdout);
                        for (int j = 0; j < c->num_labels; j++)
                            printf("%s%.9g", j ? "," : "", logits[i * c->num_labels + j]);
                        fputs("]", stdout);
                    }
                }
                fputs("]}\n", stdout);
            } else if (!strncmp(cmd, "case ", 5)) {
                case_free(&pc);
                case_load(&pc, cmd + 5, voc, c->do_lower_case);
                next = 1;
                continue;
            } else if (!strcmp(cmd, "quit")) {
                break;
            } else {
                puts("{\"error\":\"unknown command\"}");
            }
            fflush(stdout);
        }
        if (!next)
            break;
    }
    case_free(&pc);
    axf_plan_free(plan);
    axf_engine_free(e);
    axf_vocab_free(voc);
    axf_model_free(m);
    free(logits);
    return 0;
}
