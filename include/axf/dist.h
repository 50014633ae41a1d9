/* Spreading the evaluations of one command over the processes of an MPI job (optional build:
 * cmake -DAXF_MPI=ON; without it, and in an MPI build started without mpirun, there is one rank
 * and every function below is a no-op that needs no MPI header).
 *
 * Model: every rank runs the same command on the same files (SPMD). Everything is replicated —
 * the session, the Lua policy, its decisions — except the forward passes: a split's fixed batches
 * are cut into N contiguous ranges, rank r runs range r, and the per-example outputs are
 * gathered (axf_dist_allgather_rows) so that every rank holds the whole vector and sums it in
 * example order, as one process does. The numbers, hence the decisions and the session, are
 * those of one process whatever N is. A batch of independent trials may instead be shared out
 * by trial (axf_dist_split below).
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
    long long split_batches, split_trials; /* batches (and their trials) split by candidate */
} axf_dist_stats;
void axf_dist_stats_get(axf_dist_stats *out);
/* Counts a batch of n trials split by candidate (axf_dist_split). */
void axf_dist_count_split(int n);

/* The largest v over the ranks, on every rank (a cancel or a failure seen by one rank stops all). */
int axf_dist_max(int v);
/* Rank 0's n bytes at buf on every rank (a clock a policy reads, the status of a file only rank 0
 * writes). A lock-step check on what comes first. */
void axf_dist_bcast(void *buf, size_t n, const char *what);
/* The same from rank root. */
void axf_dist_bcast_from(void *buf, size_t n, int root, const char *what);

/* How a batch of independent trials on one plan (a policy's s:try_batch; replay's trials made on
 * one plan) uses the ranks (axf search / replay --mpi-split):
 *   EXAMPLES    each trial in turn, its examples split as in any evaluation (above);
 *   CANDIDATES  each rank takes whole trials (trial k on rank k mod N) over the whole split, with
 *               a layer cache of its own over the whole split, and the trials' metrics are then
 *               gathered: one meeting per batch instead of one per trial. The journal and the
 *               decisions are those of one process (the engine's floats do not depend on who
 *               computes them);
 *   AUTO        CANDIDATES for a batch of at least N trials when the whole split's cache gets as
 *               many layer slots within --cache as one rank's share of it does (no trial then
 *               runs more layers than under EXAMPLES), EXAMPLES otherwise.
 * A batch of one trial is always split by example; in one process CANDIDATES runs every trial
 * of a batch through the second cache (what the tests of that path use) and AUTO never does. The
 * mode changes times and layer counters only, never a number of the session. */
typedef enum axf_dist_split {
    AXF_DIST_SPLIT_AUTO,
    AXF_DIST_SPLIT_EXAMPLES,
    AXF_DIST_SPLIT_CANDIDATES,
} axf_dist_split;
void axf_dist_set_split(axf_dist_split mode);
axf_dist_split axf_dist_split_mode(void);
/* The modes' names in enum order ("auto", "examples", "candidates"), NULL-terminated. */
extern const char *const axf_dist_split_names[];
const char *axf_dist_split_name(axf_dist_split mode);

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
