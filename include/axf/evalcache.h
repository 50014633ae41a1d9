/* Evaluation of a data split under a plan, with a per-layer cache of hidden states.
 *
 * The cache holds, for the committed plan, the hidden states entering some layers ("slots") for
 * every token of the split. Evaluating a plan P whose first layer differing from the committed
 * plan is d starts from the highest valid slot s <= d and runs layers s..L-1 only; on the way it
 * refills slots s+1..d, which are still committed states. Committing P invalidates the slots above
 * d. The split is always cut into the same batches, and every layer runs on the same buffer, so a
 * cached evaluation computes exactly the same floats as an uncached one (tested bit for bit).
 * As in axf_engine_forward, P's last layer that is not skipped whole (c = axf_engine_last_live_layer)
 * runs for the [CLS] rows only and the layers above it not at all; s is then at most c, so that
 * layer c always runs in that form (a trial that removes the layers above c re-runs layer c).
 *
 * Memory: one slot is n_tokens * H * 4 bytes (10k SST-2 phrases ~ 120k tokens at H = 384: 184 MB;
 * over MPI, the tokens of the rank's batches).
 * Slots are kept within cache_bytes: all layers 1..L-1 when they fit, otherwise as many as fit,
 * spread evenly from the top layer down (a trial then re-runs the few layers above the slot
 * below it); with cache_bytes too small for one slot nothing is cached and every evaluation runs
 * the whole model. The embedding output is never cached (recomputing it costs a lookup and a
 * LayerNorm).
 *
 * Over MPI (dist.h) each rank runs its contiguous range of the same batches and keeps slots for
 * the tokens of that range only; a run ends with the gather of every example's logits and loss in
 * example order, so every rank returns the floats one process computes. A run is then a
 * collective call: every rank must make the same runs in the same order (checked).
 *
 * Not thread-safe; one evaluation at a time. */
#ifndef AXF_EVALCACHE_H
#define AXF_EVALCACHE_H

#include "axf/data.h"
#include "axf/engine.h"
#include "axf/plan.h"


typedef struct axf_evalcache axf_evalcache;

typedef struct axf_evalcache_stats {
    long long runs;              /* evaluations */
    long long layer_evals;       /* layers run over the whole split */
    long long layer_evals_saved; /* layers a run without cache would also have run */
    double seconds;
    size_t bytes;                /* memory of the slots */
    int slots;                   /* layers with a slot */
} axf_evalcache_stats;

/* m and data must outlive the cache (m's weights must not change). batch: sequences per forward
 * pass. Checks every id, type and length against the model once, so runs cannot fail on data. */
axf_evalcache *axf_evalcache_new(const axf_model *m, const axf_encoded *data, int batch,
                                 size_t cache_bytes, axf_err *err);
/* The same over the whole split on this rank alone, whatever the number of ranks: runs are not
 * collective (the candidate split of dist.h). */
axf_evalcache *axf_evalcache_new_whole(const axf_model *m, const axf_encoded *data, int batch,
                                       size_t cache_bytes, axf_err *err);
void axf_evalcache_free(axf_evalcache *c);

/* The plan the slots describe (initially dense). Copies p; invalidates the slots above the first
 * layer where p differs from the previous committed plan. */
void axf_evalcache_commit(axf_evalcache *c, const axf_plan *p);
const axf_plan *axf_evalcache_committed(const axf_evalcache *c);

/* Evaluates p on the whole split: logits [n * C] and per-sample losses [n] (cross-entropy, or
 * squared error for regression); either may be NULL. use_cache 0 runs every layer from the
 * embeddings and leaves the slots alone (the reference path of the tests). progress is called
 * once per batch (done, total batches); a nonzero return cancels: returns AXF_CANCELLED with the
 * slots still consistent. */
int axf_evalcache_run(axf_evalcache *c, const axf_plan *p, int use_cache, float *logits,
                      float *losses, axf_progress_fn progress, void *ud, axf_err *err);

void axf_evalcache_stats_get(const axf_evalcache *c, axf_evalcache_stats *out);
/* Highest layer s <= layer whose slot is valid (0 = starts from the embeddings). */
int axf_evalcache_start_layer(const axf_evalcache *c, int layer);
/* The engine the cache runs (for observers: attention entropy). */
axf_engine *axf_evalcache_engine(axf_evalcache *c);
/* The fixed batches: count and batch b. */
int axf_evalcache_n_batches(const axf_evalcache *c);
axf_batch axf_evalcache_batch(const axf_evalcache *c, int b, int *first_example);
/* This rank's batches [lo, hi) (all of them in one process). */
void axf_evalcache_shard(const axf_evalcache *c, int *lo, int *hi);

/* Loss of one sample from its logits [C] (log-sum-exp in double). */
float axf_sample_loss(const float *logits, int C, axf_task_kind kind, int label, float target);

#endif
