/* The gather of one evaluation on its own (dist.h: axf_dist_allgather_rows): every rank fills its
 * share of ROWS rows of ROW_BYTES, the gather runs REPS times, and every row is checked on every
 * rank afterwards (exit 1 when one is wrong). Rank 0 prints the median and the mean time per
 * gather, and what the search summary's counters say (wait / move).
 * usage: mpirun -np N test_mpi_gather ROWS ROW_BYTES REPS
 *   MNLI matched dev under BERT-base: 9815 rows of 16 bytes (3 logits and the loss, float32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/common.h"
#include "axf/dist.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static unsigned char byte_of(int row, size_t k)
{
    return (unsigned char)(row * 31 + (int)k * 7 + 1);
}

int main(int argc, char **argv)
{
    axf_err err;
    if (axf_dist_init(&argc, &argv, &err)) {
        fprintf(stderr, "test_mpi_gather: %s\n", err.msg);
        return 1;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: mpirun -np N test_mpi_gather ROWS ROW_BYTES REPS\n");
        return axf_dist_finalize(2);
    }
    int rows = atoi(argv[1]), reps = atoi(argv[3]);
    size_t rb = (size_t)atol(argv[2]);
    if (rows < 1 || rb < 1 || reps < 1) {
        fprintf(stderr, "test_mpi_gather: ROWS, ROW_BYTES and REPS must be positive\n");
        return axf_dist_finalize(2);
    }
    unsigned char *buf = axf_xmalloc((size_t)rows * rb);
    double *t = axf_xmalloc(sizeof(double) * (size_t)reps);
    int lo, hi, bad = 0;
    axf_dist_range(rows, &lo, &hi);
    for (int r = 0; r < reps && !bad; r++) {
        memset(buf, 0, (size_t)rows * rb);
        for (int j = lo; j < hi; j++)
            for (size_t k = 0; k < rb; k++)
                buf[(size_t)j * rb + k] = byte_of(j, k);
        double t0 = axf_now();
        axf_dist_allgather_rows(buf, rb, rows, lo, hi - lo);
        t[r] = axf_now() - t0;
        for (int j = 0; j < rows && !bad; j++)
            for (size_t k = 0; k < rb; k++)
                if (buf[(size_t)j * rb + k] != byte_of(j, k)) {
                    fprintf(stderr, "test_mpi_gather: rank %d: row %d byte %zu wrong after gather %d\n",
                            axf_dist_rank(), j, k, r);
                    bad = 1;
                    break;
                }
    }
    bad = axf_dist_max(bad);
    if (!bad && axf_dist_rank() == 0) {
        double sum = 0;
        for (int r = 0; r < reps; r++)
            sum += t[r];
        qsort(t, (size_t)reps, sizeof *t, cmp);
        axf_dist_stats ds;
        axf_dist_stats_get(&ds);
        printf("%d ranks, %d rows of %zu bytes (%.1f KiB): median %.1f us, mean %.1f us per gather "
               "(counters: %.1f us moving, %.1f us waiting)\n", axf_dist_size(), rows, rb,
               rows * (double)rb / 1024, 1e6 * t[reps / 2], 1e6 * sum / reps,
               ds.gathers ? 1e6 * ds.move_seconds / ds.gathers : 0.0,
               ds.gathers ? 1e6 * ds.wait_seconds / ds.gathers : 0.0);
    }
    free(buf);
    free(t);
    return axf_dist_finalize(bad);
}
