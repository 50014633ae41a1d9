/* The microbenchmarks' shared timing loop (bench_time.h). */
#include "bench_time.h"

#include <stdlib.h>
#include <time.h>

static double now(int wall)
{
    struct timespec t;
    clock_gettime(wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_time_calls(void (*call)(void *ctx), void *ctx, double flop, int reps, int wall, double *best)
{
    int n = (int)(1e-2 * 100e9 / flop) + 1;   /* ~10 ms at 100 GFLOP/s */
    double *v = malloc(sizeof(double) * (size_t)reps);
    if (!v)
        abort();
    call(ctx);
    for (int r = 0; r < reps; r++) {
        double t0 = now(wall);
        for (int i = 0; i < n; i++)
            call(ctx);
        v[r] = (now(wall) - t0) / n;
    }
    qsort(v, (size_t)reps, sizeof *v, cmp);
    double med = v[reps / 2];
    if (best)
        *best = v[0];
    free(v);
    return med;
}
