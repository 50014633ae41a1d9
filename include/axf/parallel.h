/* Threads for work that has no engine: training's element-wise passes and per-head attention, and
 * axf_matmul's larger products. One pool for the process, started on first use with as many
 * threads as axf_set_threads asked for (the caller's included); its workers poll briefly after a
 * region, then sleep.
 *
 * Results never depend on the threads: a task is computed the same way whichever thread takes it,
 * so callers cut their work into tasks whose boundaries do not depend on the thread count either. */
#ifndef AXF_PARALLEL_H
#define AXF_PARALLEL_H

#include <stddef.h>

/* fn(ctx, task, worker) for every task < ntasks; worker < axf_parallel_workers() names the thread
 * (0 = the caller's), for per-thread scratch. Returns when all are done. Runs every task on the
 * caller's thread when one thread is asked for, when called from inside a task, or when another
 * thread holds the pool (then the tasks run on threads started for the call). */
typedef void (*axf_parallel_fn)(void *ctx, int task, int worker);
void axf_parallel(axf_parallel_fn fn, void *ctx, int ntasks);
/* Upper bound of the worker ids axf_parallel passes now (1 .. 16). */
int axf_parallel_workers(void);

/* fn(ctx, i0, i1) over [0, n) in pieces of `grain` items (the last one shorter), shared by the
 * threads; all on the caller's thread when n <= grain. */
typedef void (*axf_range_fn)(void *ctx, size_t i0, size_t i1);
void axf_parallel_range(axf_range_fn fn, void *ctx, size_t n, size_t grain);

#endif
