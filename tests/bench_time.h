/* The timing loop the microbenchmarks share (bench_gemm, bench_qgemm; not tests): one call to warm
 * up, then REPS timings of n calls each, n chosen so that a timing lasts ~10 ms at 100 GFLOP/s
 * (FLOP = the operations of one call), clock = process CPU time unless wall. Returns the median
 * seconds per call; *best (when not NULL) gets the fastest timing's. */
#ifndef AXF_BENCH_TIME_H
#define AXF_BENCH_TIME_H

double bench_time_calls(void (*call)(void *ctx), void *ctx, double flop, int reps, int wall, double *best);

#endif
