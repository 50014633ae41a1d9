/* The process pool (axf/parallel.h): every task runs exactly once with a worker id below
 * axf_parallel_workers(), ranges are covered exactly, a call from inside a task runs on that
 * task's thread, two threads calling at once both finish (one on the pool, one on threads of its
 * own), and axf_matmul gives the same bits at one and two threads above its threading size. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "axf/common.h"
#include "axf/matmul.h"
#include "axf/parallel.h"
#include "check.h"

enum { NT = 1000 };

typedef struct {
    atomic_int runs[NT];
    atomic_int bad_worker, nested_total;
    int nested;
} tasks_ctx;

static void count_inner(void *ctx, int t, int worker)
{
    (void)t, (void)worker;
    atomic_fetch_add(&((tasks_ctx *)ctx)->nested_total, 1);
}

static void count_task(void *ctx, int t, int worker)
{
    tasks_ctx *c = ctx;
    atomic_fetch_add(&c->runs[t], 1);
    if (worker < 0 || worker >= axf_parallel_workers())
        atomic_fetch_add(&c->bad_worker, 1);
    if (c->nested)
        axf_parallel(count_inner, c, 7); /* inside a task: all 7 on this thread */
}

static int run_once(int nested)
{
    tasks_ctx *c = calloc(1, sizeof *c);
    c->nested = nested;
    axf_parallel(count_task, c, NT);
    int ok = atomic_load(&c->bad_worker) == 0;
    for (int t = 0; t < NT; t++)
        ok &= atomic_load(&c->runs[t]) == 1;
    if (nested)
        ok &= atomic_load(&c->nested_total) == 7 * NT;
    free(c);
    return ok;
}

static void mark_range(void *ctx, size_t i0, size_t i1)
{
    unsigned char *seen = ctx;
    for (size_t i = i0; i < i1; i++)
        seen[i]++;
}

static void *caller(void *arg)
{
    int *ok = arg;
    for (int i = 0; i < 50; i++)
        *ok &= run_once(i % 2);
    return NULL;
}

int main(void)
{
    axf_set_threads(2);
    CHECK(axf_parallel_workers() == 2);
    CHECK(run_once(0));
    CHECK(run_once(1));

    size_t sizes[] = {0, 1, 16383, 16384, 16385, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        unsigned char *seen = calloc(n + 1, 1);
        axf_parallel_range(mark_range, seen, n, 16384);
        int once = 1;
        for (size_t i = 0; i < n; i++)
            once &= seen[i] == 1;
        CHECK_MSG(once && seen[n] == 0, "range of %zu", n);
        free(seen);
    }

    /* two callers at once: both complete every task */
    pthread_t th;
    int ok_a = 1, ok_b = 1;
    CHECK(pthread_create(&th, NULL, caller, &ok_a) == 0);
    caller(&ok_b);
    pthread_join(th, NULL);
    CHECK(ok_a && ok_b);

    /* a product above the threading size: the same bits at one and two threads, with a bias */
    int M = 300, N = 257, K = 129;
    float *A = malloc(sizeof(float) * (size_t)K * M), *B = malloc(sizeof(float) * (size_t)K * N);
    float *bias = malloc(sizeof(float) * (size_t)N);
    float *c1 = malloc(sizeof(float) * (size_t)M * N), *c2 = malloc(sizeof(float) * (size_t)M * N);
    axf_rng r;
    axf_rng_seed(&r, 7);
    for (int i = 0; i < K * M; i++)
        A[i] = (float)axf_rng_below(&r, 2001) / 1000.0f - 1.0f;
    for (int i = 0; i < K * N; i++)
        B[i] = (float)axf_rng_below(&r, 2001) / 1000.0f - 1.0f;
    for (int i = 0; i < N; i++)
        bias[i] = (float)i / 7.0f;
    for (int ta = 0; ta < 2; ta++) {
        axf_set_threads(1);
        axf_matmul_bias(ta, 1, M, N, K, A, ta ? M : K, B, K, 0, bias, c1, N);
        axf_set_threads(2);
        axf_matmul_bias(ta, 1, M, N, K, A, ta ? M : K, B, K, 0, bias, c2, N);
        CHECK_MSG(memcmp(c1, c2, sizeof(float) * (size_t)M * N) == 0, "ta %d: threads change the bits", ta);
        /* the bias is the chain's value plus bias[j]: axf_matmul then the addition */
        axf_matmul(ta, 1, M, N, K, A, ta ? M : K, B, K, 0, c2, N);
        int same = 1;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                same &= c2[(size_t)i * N + j] + bias[j] == c1[(size_t)i * N + j];
        CHECK_MSG(same, "ta %d: bias differs from the product plus the bias", ta);
    }
    free(A), free(B), free(bias), free(c1), free(c2);
    return CHECK_DONE();
}
