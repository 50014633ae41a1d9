/* The axf side of the training benchmark: masked-LM steps (forward, backward, clipping at 1.0,
 * AdamW) of OUT/train/model on the batches of OUT/train/batches.json (bench/train_prepare.py),
 * packed without padding, with dropout 0.1 as on the PyTorch side. After each pass it times the
 * training sgemm floor on the same packed shapes: every product of the forward pass (as in
 * bench/axf_case.c, with the MLM transform and tied decoder on the masked rows instead of pooler
 * and classifier) plus the two products of each linear layer's backward pass (input gradient,
 * weight gradient) and the four of each attention head's (dP, dV, dQ, dK).
 *
 * Protocol (bench/driver.py): {"ready":...}; "run" -> {"t": seconds of a pass of steps,
 * "floor_t": seconds of its products alone, "cpu", "floor_cpu": the same in process CPU seconds}; "logits" -> {"logits": [[mean loss of the last
 * pass]]}; "quit".
 *
 * usage: axf_train_case MODEL_DIR BATCHES.json THREADS */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axf/train.h"

typedef struct {
    int n_seq, n_tok, n_mlm;
    int *ids, *types, *off, *mlm_pos, *mlm_ids;
} tbatch;

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
    fprintf(stderr, "axf_train_case: %s\n", msg);
    exit(1);
}

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

/* C[M,N] = op(A) op(B), row-major; op(A) is [M,K], op(B) is [K,N]. */
static void g(int ta, int tb, int M, int N, int K, const float *a, const float *b, float *c)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a,
                ta ? M : K, b, tb ? K : N, 0.0f, c, N);
}

/* A linear layer y[T,N] = x[T,K] w[N,K]^T forward, and its backward dx = dy w, dw = dy^T x. */
static void lin(int T, int N, int K, const float *x, const float *w, float *y, float *dx, float *dw, int bwd)
{
    if (!bwd)
        g(0, 1, T, N, K, x, w, y);
    else {
        g(0, 0, T, K, N, y, w, dx);
        g(1, 0, N, K, T, y, x, dw);
    }
}

typedef struct {
    float *x, *y, *q, *k, *v, *inter, *dx, *dw, *s, *ds, *hd;
} fscratch;

static void floor_step(const axf_model *m, const tbatch *b, fscratch *f)
{
    const axf_config *c = &m->cfg;
    int T = b->n_tok, H = c->hidden, HS = c->head_dim, M = b->n_mlm, V = c->vocab_size;
    for (int bwd = 0; bwd < 2; bwd++) {
        for (int l = 0; l < c->n_layers; l++) {
            const axf_layer *L = &m->layers[l];
            int NH = c->layer_heads[l], F = c->layer_ffn[l], A = NH * HS;
            lin(T, A, H, f->x, L->wq, f->q, f->dx, f->dw, bwd);
            lin(T, A, H, f->x, L->wk, f->k, f->dx, f->dw, bwd);
            lin(T, A, H, f->x, L->wv, f->v, f->dx, f->dw, bwd);
            for (int i = 0; i < b->n_seq; i++) {
                int n = b->off[i + 1] - b->off[i];
                const float *q = f->q + (size_t)b->off[i] * A, *k = f->k + (size_t)b->off[i] * A;
                const float *v = f->v + (size_t)b->off[i] * A;
                for (int h = 0; h < NH; h++) {
                    /* per-head views with leading dimension A, as the engine addresses them */
                    const float *qh = q + h * HS, *kh = k + h * HS, *vh = v + h * HS;
                    float *o = f->y + (size_t)b->off[i] * A + h * HS;
                    if (!bwd) {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, HS, 1.0f, qh, A, kh, A, 0.0f,
                                    f->s, n);
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, HS, n, 1.0f, f->s, n, vh, A, 0.0f,
                                    o, A);
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, HS, 1.0f, o, A, vh, A, 0.0f,
                                    f->ds, n); /* dP */
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, HS, n, 1.0f, f->s, n, o, A, 0.0f,
                                    f->hd, HS); /* dV */
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, HS, n, 1.0f, f->ds, n, kh, A,
                                    0.0f, f->hd, HS); /* dQ */
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, HS, n, 1.0f, f->ds, n, qh, A, 0.0f,
                                    f->hd, HS); /* dK */
                    }
                }
            }
            lin(T, H, A, f->y, L->wo, f->x, f->dx, f->dw, bwd);
            lin(T, F, H, f->x, L->w1, f->inter, f->dx, f->dw, bwd);
            lin(T, H, F, f->inter, L->w2, f->x, f->dx, f->dw, bwd);
        }
        lin(M, H, H, f->x, m->mlm_w, f->q, f->dx, f->dw, bwd);
        lin(M, V, H, f->q, m->word_emb, f->inter, f->dx, f->dw, bwd);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: axf_train_case MODEL_DIR BATCHES.json THREADS\n");
        return 2;
    }
    axf_set_threads(atoi(argv[3]));
    axf_err err;
    axf_model *m = axf_model_load(argv[1], &err);
    if (!m)
        die(err.msg);
    if (!m->mlm_bias)
        die("the model has no masked-LM head");
    char *js = slurp(argv[2]);
    cJSON *root = js ? cJSON_Parse(js) : NULL, *jb = root ? cJSON_GetObjectItem(root, "batches") : NULL;
    if (!cJSON_IsArray(jb))
        die("cannot read the batches file");
    int nb = cJSON_GetArraySize(jb), max_tok = 0, max_n = 0, max_m = 0, total = 0;
    tbatch *bs = axf_xcalloc((size_t)nb, sizeof *bs);
    for (int bi = 0; bi < nb; bi++) {
        cJSON *o = cJSON_GetArrayItem(jb, bi), *ids = cJSON_GetObjectItem(o, "ids");
        cJSON *pos = cJSON_GetObjectItem(o, "pos"), *orig = cJSON_GetObjectItem(o, "orig"), *x;
        tbatch *b = &bs[bi];
        b->n_seq = cJSON_GetArraySize(ids);
        cJSON_ArrayForEach(x, ids) b->n_tok += cJSON_GetArraySize(x);
        cJSON_ArrayForEach(x, pos) b->n_mlm += cJSON_GetArraySize(x);
        b->ids = axf_xmalloc(sizeof(int) * b->n_tok);
        b->types = axf_xcalloc((size_t)b->n_tok, sizeof(int));
        b->off = axf_xmalloc(sizeof(int) * (b->n_seq + 1));
        b->mlm_pos = axf_xmalloc(sizeof(int) * (b->n_mlm + 1));
        b->mlm_ids = axf_xmalloc(sizeof(int) * (b->n_mlm + 1));
        int t = 0, k = 0;
        for (int i = 0; i < b->n_seq; i++) {
            cJSON *s = cJSON_GetArrayItem(ids, i), *p = cJSON_GetArrayItem(pos, i), *r = cJSON_GetArrayItem(orig, i);
            b->off[i] = t;
            for (int j = 0; j < cJSON_GetArraySize(p); j++, k++) {
                b->mlm_pos[k] = t + cJSON_GetArrayItem(p, j)->valueint;
                b->mlm_ids[k] = cJSON_GetArrayItem(r, j)->valueint;
            }
            cJSON_ArrayForEach(x, s) b->ids[t++] = x->valueint;
            if (cJSON_GetArraySize(s) > max_n)
                max_n = cJSON_GetArraySize(s);
        }
        b->off[b->n_seq] = t;
        total += t;
        max_tok = b->n_tok > max_tok ? b->n_tok : max_tok;
        max_m = b->n_mlm > max_m ? b->n_mlm : max_m;
    }
    cJSON_Delete(root);
    free(js);

    axf_train_ctx *c = axf_train_ctx_new(m, &err);
    if (!c)
        die(err.msg);
    axf_rng rng;
    axf_rng_seed(&rng, 1);
    axf_train_ctx_set_dropout(c, 0.1f, 0.1f, &rng);
    axf_adamw *opt = axf_adamw_new(m, 0.01f);
    const axf_config *cf = &m->cfg;
    size_t TH = (size_t)max_tok * cf->hidden, wide = (size_t)cf->ffn > (size_t)cf->vocab_size ? cf->ffn : cf->vocab_size;
    fscratch f;
    f.x = axf_xcalloc(TH, 4), f.y = axf_xcalloc(TH, 4), f.q = axf_xcalloc(TH, 4), f.k = axf_xcalloc(TH, 4);
    f.v = axf_xcalloc(TH, 4), f.dx = axf_xcalloc((size_t)max_tok * wide, 4);
    f.inter = axf_xcalloc((size_t)(max_tok > max_m ? max_tok : max_m) * wide, 4);
    f.dw = axf_xcalloc(wide * cf->hidden, 4), f.s = axf_xcalloc((size_t)max_n * max_n, 4);
    f.ds = axf_xcalloc((size_t)max_n * max_n, 4), f.hd = axf_xcalloc((size_t)max_n * cf->head_dim, 4);
    printf("{\"ready\":true,\"peer\":\"axf_train\",\"tokens\":%d,\"batches\":%d}\n", total, nb);
    fflush(stdout);
    double last = -1;
    char cmd[64];
    while (fgets(cmd, sizeof cmd, stdin)) {
        if (!strncmp(cmd, "run", 3)) {
            double c0 = cpu_now(), t0 = axf_now(), sum = 0;
            for (int bi = 0; bi < nb; bi++) {
                const tbatch *b = &bs[bi];
                axf_train_batch tb = {{b->n_seq, b->n_tok, b->ids, b->types, b->off}, NULL, NULL, b->mlm_pos,
                                      b->mlm_ids, b->n_mlm};
                double loss;
                axf_train_zero_grad(c);
                if (axf_train_forward(c, NULL, &tb, AXF_LOSS_MEAN, &loss, NULL, &err))
                    die(err.msg);
                axf_train_backward(c, 1, NULL);
                /* clipping as the training loop does it (src/train/loop.c): the factor goes into
                 * AdamW's pass over the gradients instead of a pass of its own */
                axf_adamw_mask_frozen(opt, axf_train_grads(c));
                double gn = axf_grad_norm(axf_train_grads(c));
                opt->grad_scale = gn > 1.0 ? (float)(1.0 / (gn + 1e-6)) : 1.0f;
                axf_adamw_step(opt, m, axf_train_grads(c), 1e-4f);
                sum += loss;
            }
            double c1 = cpu_now(), t1 = axf_now();
            for (int bi = 0; bi < nb; bi++)
                floor_step(m, &bs[bi], &f);
            double c2 = cpu_now(), t2 = axf_now();
            last = sum / nb;
            printf("{\"t\":%.9f,\"floor_t\":%.9f,\"cpu\":%.9f,\"floor_cpu\":%.9f,\"loss\":%.6f}\n", t1 - t0,
                   t2 - t1, c1 - c0, c2 - c1, last);
        } else if (!strncmp(cmd, "logits", 6)) {
            printf("{\"logits\":[[%.6f]]}\n", last);
        } else if (!strncmp(cmd, "quit", 4)) {
            break;
        } else {
            puts("{\"error\":\"unknown command\"}");
        }
        fflush(stdout);
    }
    axf_adamw_free(opt);
    axf_train_ctx_free(c);
    axf_model_free(m);
    return 0;
}
