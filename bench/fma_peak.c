/* FMA peak probe of the benchmark (bench/run.sh): the float32 multiply-add rate of the widest
 * vector unit this CPU has, so that every float32 case can be reported as a fraction of it.
 *
 * Each thread runs independent chains acc[i] = acc[i] * a + b on registers of the widest width
 * found at run time (AVX-512F: 16 floats, AVX2 + FMA: 8, otherwise scalar fmaf), enough chains to
 * cover an FMA latency of 4-5 cycles on two pipes: 16 with AVX-512's 32 registers, 12 with AVX2's 16
 * (16 chains there plus a and b need 18 registers: two chains went through the stack every
 * iteration, and the store-to-load latency capped a Zen 3 at 65% of its peak). 2 FLOPs per lane per FMA. One timing = every
 * thread running a fixed number of iterations (~0.2 s at 100 GFLOP/s per thread), started
 * together. Two figures per timing: by wall time from the first thread's start to the last one's finish
 * (gflops), and by each thread's own CPU time, summed over the threads (cpu_gflops: what the
 * cores do while they run this, which other users of a shared machine do not lower as much);
 * each is the median of RUNS timings. run.sh reports the load average beside them.
 *
 * usage: fma_peak [THREADS] [RUNS]    (defaults 1 and 7)
 * Prints one line of JSON: {"isa","lanes","threads","runs","gflops","best_gflops","cpu_gflops",
 * "all":[wall figures...],"all_cpu":[...]}. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 16
#define CHAINS_AVX2 12
#define ITERS 2000000L

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Each chain kernel returns a sum of its accumulators, so that no chain is dead code. a and b keep
 * the values bounded (a < 1: the chain converges to b / (1 - a)). */
__attribute__((target("avx512f"))) static float chains_avx512(long n, float a, float b)
{
    __m512 acc[CHAINS];
    __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < n; k++)
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], va, vb);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float chains_avx2(long n, float a, float b)
{
    __m256 acc[CHAINS_AVX2];
    __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    for (int i = 0; i < CHAINS_AVX2; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < n; k++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS_AVX2; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], va, vb);
    float out[8], s = 0;
    for (int i = 1; i < CHAINS_AVX2; i++)
        acc[0] = _mm256_add_ps(acc[0], acc[i]);
    _mm256_storeu_ps(out, acc[0]);
    for (int i = 0; i < 8; i++)
        s += out[i];
    return s;
}

static float chains_scalar(long n, float a, float b)
{
    float acc[CHAINS], s = 0;
    for (int i = 0; i < CHAINS; i++)
        acc[i] = (float)i;
    for (long k = 0; k < n; k++)
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++)
            acc[i] = fmaf(acc[i], a, b);
    for (int i = 0; i < CHAINS; i++)
        s += acc[i];
    return s;
}

static int lanes;
static long iters;
static volatile float sink;
static pthread_barrier_t start;

static double thread_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct {
    double cpu, t0, t1; /* own CPU seconds; wall start and end */
} span;

static void *worker(void *arg)
{
    span *sp = arg;
    pthread_barrier_wait(&start);
    sp->t0 = wall_now();
    double c0 = thread_cpu_now();
    float r = lanes == 16 ? chains_avx512(iters, 0.999f, 1e-3f)
              : lanes == 8 ? chains_avx2(iters, 0.999f, 1e-3f)
                           : chains_scalar(iters, 0.999f, 1e-3f);
    sp->cpu = thread_cpu_now() - c0;
    sp->t1 = wall_now();
    sink += r;
    return NULL;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, runs = argc > 2 ? atoi(argv[2]) : 7;
    if (argc > 3 || threads < 1 || threads > 256 || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: fma_peak [THREADS 1..256] [RUNS 1..1000]\n");
        return 2;
    }
    __builtin_cpu_init();
    const char *isa = "scalar";
    lanes = 1;
    if (__builtin_cpu_supports("avx512f"))
        isa = "avx512f", lanes = 16;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        isa = "avx2+fma", lanes = 8;
    iters = lanes == 1 ? ITERS / 8 : ITERS * 16 / lanes;
    double flop = 2.0 * (lanes == 8 ? CHAINS_AVX2 : CHAINS) * lanes * (double)iters * threads;
    double *g = malloc(sizeof(double) * runs), *gc = malloc(sizeof(double) * runs);
    span *sp = malloc(sizeof(span) * threads);
    pthread_t *th = malloc(sizeof(pthread_t) * threads);
    if (!g || !gc || !sp || !th)
        return 1;
    for (int r = -1; r < runs; r++) { /* r = -1: warm-up (clocks up, pages in) */
        pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
        for (int t = 0; t < threads; t++)
            if (pthread_create(&th[t], NULL, worker, &sp[t])) {
                fprintf(stderr, "fma_peak: cannot start thread %d\n", t + 1);
                return 1;
            }
        pthread_barrier_wait(&start);
        for (int t = 0; t < threads; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&start);
        double per_thread = flop / threads, sum = 0, t0 = sp[0].t0, t1 = sp[0].t1;
        for (int t = 0; t < threads; t++) {
            sum += per_thread / sp[t].cpu * 1e-9;
            t0 = sp[t].t0 < t0 ? sp[t].t0 : t0;
            t1 = sp[t].t1 > t1 ? sp[t].t1 : t1;
        }
        double dt = t1 - t0;
        if (r >= 0)
            g[r] = flop / dt * 1e-9, gc[r] = sum;
    }
    double *sorted = malloc(sizeof(double) * runs);
    if (!sorted)
        return 1;
    for (int r = 0; r < runs; r++)
        sorted[r] = g[r];
    qsort(sorted, runs, sizeof *sorted, cmp);
    printf("{\"isa\":\"%s\",\"lanes\":%d,\"threads\":%d,\"runs\":%d,\"gflops\":%.2f,\"best_gflops\":%.2f,",
           isa, lanes, threads, runs, sorted[runs / 2], sorted[runs - 1]);
    for (int r = 0; r < runs; r++)
        sorted[r] = gc[r];
    qsort(sorted, runs, sizeof *sorted, cmp);
    printf("\"cpu_gflops\":%.2f,\"all\":[", sorted[runs / 2]);
    for (int r = 0; r < runs; r++)
        printf("%s%.2f", r ? "," : "", g[r]);
    printf("],\"all_cpu\":[");
    for (int r = 0; r < runs; r++)
        printf("%s%.2f", r ? "," : "", gc[r]);
    printf("]}\n");
    free(sorted);
    free(g);
    free(gc);
    free(sp);
    free(th);
    return 0;
}
