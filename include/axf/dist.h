/* Spreading the evaluations of one command over the processes of an MPI job (optional build:
 * cmake -DAXF_MPI=ON; without it, and in an MPI build started without mpirun, there is one rank
 * and every function below is a no-op that needs no MPI header).
 *
 * Model: every rank runs the same command on the same files (SPMD). Everything is replicated —
 * the session, the Lua policy, its decisions — except the forward passes: a split's fixed batches
 * are cut into N contiguous ranges, rank r runs range r, and the per-example outputs are
 * gathered (axf_dist_allgather_rows) so that every rank holds the whole vector and sums it in
 * example order, as one process does. The numbers, hence the decisions and the session, are
 * those of one process whatever N is.
 *
 * Lock-step check: before each group of collectives a rank calls axf_dist_agree with a hash of
 * what it is about to do (e.g. "evaluate plan P on the search split"). When the ranks disagree
 * (a rank failed where the others did not, a policy read a clock, ...) rank 0 prints one line
 * naming the first rank out of step and what it was doing, and the job is aborted: nothing hangs
 * in a collective that some rank never joins.
 *
 * Threads: MPI is initialised with MPI_THREAD_FUNNELED; call these from the main thread only. */
#ifndef AXF_DIST_H
#define AXF_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "axf/common.h"

/* Initialises MPI when the process was started by an MPI launcher (mpirun / srun set the
 * environment; without one, or without MPI compiled in, 1 rank). 0, or -1 + err. */
int axf_dist_init(int *argc, char ***argv, axf_err *err);
/* End of the command: checks that every rank got here (lock step), reports ranks > 0 that
 * finished with a status other than rank 0's (their last axf_dist_note on rank 0's stderr) and
 * finalises MPI. Returns the exit status for this process (the highest over the ranks). */
int axf_dist_finalize(int rc);
int axf_dist_rank(void);
int axf_dist_size(void);
/* 1 when MPI is compiled in. */
int axf_dist_built(void);

/* This rank's contiguous share [lo, hi) of n items (the first n % size ranks get one more). */
void axf_dist_range(int n, int *lo, int *hi);

/* buf holds n_rows rows of row_bytes; this rank has filled rows [first, first + count). After
 * the call every rank has every row. The ranks' shares must tile [0, n_rows) in rank order
 * (checked: an internal error aborts the job). */
void axf_dist_allgather_rows(void *buf, size_t row_bytes, int n_rows, int first, int count);
/* What the gathers cost this rank so far (all zero in one process): wait_seconds is the time in
 * the first, tiny collective of each gather, where a rank that finished its share early waits
 * for the slowest; move_seconds the time moving the rows once all have arrived. */
typedef struct axf_dist_stats {
    long long gathers;
    long long bytes;       /* bytes of the gathered buffers (every rank's rows) */
    double wait_seconds;
    double move_seconds;
} axf_dist_stats;
void axf_dist_stats_get(axf_dist_stats *out);

/* The largest v over the ranks, on every rank (a cancel or a failure seen by one rank stops all). */
int axf_dist_max(int v);
/* Rank 0's n bytes at buf on every rank (a clock a policy reads, the status of a file only rank 0
 * writes). A lock-step check on what comes first. */
void axf_dist_bcast(void *buf, size_t n, const char *what);

/* Lock-step check (see above). what: a short description for the report. */
void axf_dist_agree(uint64_t hash, const char *what);
/* FNV-1a, to build the hashes: start from AXF_DIST_HASH0. */
#define AXF_DIST_HASH0 1469598103934665603ULL
uint64_t axf_dist_hash(uint64_t h, const void *p, size_t n);
uint64_t axf_dist_hash_str(uint64_t h, const char *s);
struct axf_plan;
uint64_t axf_dist_hash_plan(uint64_t h, const struct axf_plan *p);

/* Remembers this rank's last error line, shown by rank 0 when this rank falls out of step. */
void axf_dist_note(const char *msg);
/* Last words: prints "axf: rank R: msg" on this rank's stderr and ends the whole job. */
_Noreturn void axf_dist_abort(const char *msg);

#endif
