/* Worker threads of one engine, for the work between the big GEMMs: attention (many small
 * products, one task per sequence and head) and the element-wise passes. OpenBLAS threads only
 * its own calls, and small ones badly: a 128x128x64 product is slower on two of its threads than
 * on one. So during a parallel region OpenBLAS is set to one thread and the engine's threads
 * (as many as OpenBLAS had, the caller's thread included) share the tasks; between regions the
 * workers sleep on a condition variable, so the two pools never run at the same time.
 * Each task is computed the same way whichever thread takes it: results do not depend on the
 * thread count. */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "axf/parallel.h"
#include "engine_internal.h"
#include "gemm.h"

struct axf_pool {
    pthread_t th[AXF_MAX_WORKERS];
    int n;                    /* workers started (threads besides the caller's) */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned gen;             /* bumped for every region */
    int pending, quit;
    axf_task_fn fn;
    void *ctx;
    int ntasks, active;       /* workers with id >= active sit the region out */
    atomic_int next;
    axf_engine *e;
};

typedef struct {
    axf_pool *p;
    int id;
} worker_arg;

/* Set while this thread runs tasks of a region (any pool's, or threads started for one call): a
 * parallel call from inside a task then runs on its own thread instead of nesting regions. */
static _Thread_local int in_task;

static void run_tasks(axf_pool *p, int worker)
{
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= p->ntasks)
            break;
        p->fn(p->ctx, t, worker);
    }
}

/* Before sleeping on a condition variable, a waiting thread polls for about this many pauses
 * (~0.1-0.5 ms): the regions of one pass follow each other within microseconds, and waking a
 * thread that slept costs far more on a virtual machine, whose idle vCPU has to be woken by the
 * host (measured: the small 4 x 256 model at 8 x 128 tokens, 2 threads, spent 30-60% of its time
 * outside the GEMMs with sleeping workers). */
#define SPIN_PAUSES (1 << 13)

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Polls until *v != old or the spin is over; the caller then checks under the mutex. */
static void spin_while_eq(const unsigned *v, unsigned old)
{
    for (int i = 0; i < SPIN_PAUSES && __atomic_load_n(v, __ATOMIC_ACQUIRE) == old; i++)
        cpu_pause();
}

static void *worker_main(void *arg)
{
    axf_pool *p = ((worker_arg *)arg)->p;
    int id = ((worker_arg *)arg)->id;
    free(arg);
    in_task = 1;
    unsigned seen = 0;
    for (;;) {
        spin_while_eq(&p->gen, seen);
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        if (id < p->active)
            run_tasks(p, id);
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->pending, p->pending - 1, __ATOMIC_RELEASE);
        if (p->pending == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* OpenBLAS's thread count is process-wide: engines running regions at the same time (in several
 * threads) share one "set to 1" and the last one out restores the count the first one saw. */
static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_regions, blas_saved;

static int blas_threads(void)
{
    pthread_mutex_lock(&blas_mu);
    int n = blas_regions ? blas_saved : openblas_get_num_threads();
    pthread_mutex_unlock(&blas_mu);
    return n;
}

static void blas_enter(void)
{
    pthread_mutex_lock(&blas_mu);
    if (blas_regions++ == 0) {
        blas_saved = openblas_get_num_threads();
        openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_mu);
}

static void blas_leave(void)
{
    pthread_mutex_lock(&blas_mu);
    if (--blas_regions == 0)
        openblas_set_num_threads(blas_saved);
    pthread_mutex_unlock(&blas_mu);
}

int axf__blas_hold(const axf_engine *e)
{
    if (!e->frozen || !axf__gemm_available() || blas_threads() <= 1)
        return 0;
    blas_enter();
    return 1;
}

void axf__blas_release(int held)
{
    if (held)
        blas_leave();
}

/* Threads to use: OpenBLAS's count, capped by the pool size. */
int axf__threads(const axf_engine *e)
{
    int n = blas_threads();
    n = n < 1 ? 1 : n;
    return n > AXF_MAX_WORKERS + 1 ? AXF_MAX_WORKERS + 1 : n;
}

static axf_pool *pool_new(axf_engine *e)
{
    axf_pool *p = axf_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->e = e;
    return p;
}

/* Starts workers up to `want` - 1; returns how many exist (fewer if pthread_create fails). */
static int pool_grow(axf_pool *p, int want)
{
    while (p->n < want - 1 && p->n < AXF_MAX_WORKERS) {
        if (p->e)
            axf__worker_scratch(p->e, p->n + 1);
        worker_arg *a = axf_xmalloc(sizeof *a);
        a->p = p;
        a->id = p->n + 1;
        if (pthread_create(&p->th[p->n], NULL, worker_main, a)) {
            free(a);
            break;
        }
        p->n++;
    }
    return p->n;
}

/* One region on p's workers (at least one started) and the caller's thread, `want` threads in all. */
static void pool_run(axf_pool *p, int want, axf_task_fn fn, void *ctx, int ntasks)
{
    blas_enter();
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    p->active = want;
    atomic_store(&p->next, 0);
    p->pending = p->n;
    __atomic_store_n(&p->gen, p->gen + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    int outer = in_task;
    in_task = 1;
    run_tasks(p, 0);
    in_task = outer;
    for (int i = 0; i < SPIN_PAUSES && __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0; i++)
        cpu_pause();
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    blas_leave();
}

void axf__parallel(axf_engine *e, axf_task_fn fn, void *ctx, int ntasks)
{
    int want = axf__threads(e);
    if (want > ntasks)
        want = ntasks;
    if (want > 1 && !e->pool)
        e->pool = pool_new(e);
    if (want <= 1 || pool_grow(e->pool, want) == 0) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pool_run(e->pool, want, fn, ctx, ntasks);
}

/* ---- the process's pool (axf/parallel.h) ---- */

static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static axf_pool *shared;

typedef struct {
    axf_task_fn fn;
    void *ctx;
    int ntasks;
    atomic_int next;
} spawn_ctx;

static void spawn_tasks(spawn_ctx *c, int worker)
{
    for (int t; (t = atomic_fetch_add(&c->next, 1)) < c->ntasks;)
        c->fn(c->ctx, t, worker);
}

typedef struct {
    spawn_ctx *c;
    int id;
} spawn_arg;

static void *spawn_main(void *arg)
{
    spawn_arg *a = arg;
    in_task = 1;
    spawn_tasks(a->c, a->id);
    return NULL;
}

/* The tasks on threads started for this call (the shared pool is another thread's just now). */
static void run_spawned(axf_task_fn fn, void *ctx, int ntasks, int threads)
{
    spawn_ctx c = {.fn = fn, .ctx = ctx, .ntasks = ntasks};
    atomic_init(&c.next, 0);
    pthread_t th[AXF_MAX_WORKERS];
    spawn_arg args[AXF_MAX_WORKERS];
    int started = 0;
    while (started < threads - 1 && started < AXF_MAX_WORKERS) {
        args[started] = (spawn_arg){&c, started + 1};
        if (pthread_create(&th[started], NULL, spawn_main, &args[started]))
            break;
        started++;
    }
    in_task = 1;
    spawn_tasks(&c, 0);
    in_task = 0;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

int axf_parallel_workers(void) { return axf__threads(NULL); }

void axf_parallel(axf_parallel_fn fn, void *ctx, int ntasks)
{
    int want = axf__threads(NULL);
    if (want > ntasks)
        want = ntasks;
    if (want <= 1 || in_task) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    if (pthread_mutex_trylock(&shared_mu)) {
        run_spawned(fn, ctx, ntasks, want);
        return;
    }
    if (!shared)
        shared = pool_new(NULL);
    if (pool_grow(shared, want) == 0) {
        pthread_mutex_unlock(&shared_mu);
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pool_run(shared, want, fn, ctx, ntasks);
    pthread_mutex_unlock(&shared_mu);
}

typedef struct {
    axf_range_fn fn;
    void *ctx;
    size_t n, grain;
} range_job;

static void range_task(void *ctx, int t, int worker)
{
    (void)worker;
    const range_job *j = ctx;
    size_t i0 = (size_t)t * j->grain, i1 = j->n - i0 < j->grain ? j->n : i0 + j->grain;
    j->fn(j->ctx, i0, i1);
}

void axf_parallel_range(axf_range_fn fn, void *ctx, size_t n, size_t grain)
{
    if (grain < 1)
        grain = 1;
    if (n <= grain) {
        if (n)
            fn(ctx, 0, n);
        return;
    }
    range_job j = {fn, ctx, n, grain};
    axf_parallel(range_task, &j, (int)((n + grain - 1) / grain));
}

#define ROW_TASK_FLOATS 16384   /* about 64 KB of activations per task */
#define PARALLEL_MIN_FLOATS 65536

typedef struct {
    axf_rows_fn fn;
    void *ctx;
    int T, rows;
} rows_job;

static void rows_task(void *ctx, int t, int worker)
{
    const rows_job *j = ctx;
    int r0 = t * j->rows, r1 = j->T - r0 < j->rows ? j->T : r0 + j->rows;
    j->fn(j->ctx, r0, r1);
}

void axf__parallel_rows(axf_engine *e, axf_rows_fn fn, void *ctx, int T, int W)
{
    if (e->gemm_only || T < 1)
        return;
    rows_job j = {fn, ctx, T, W > 0 && ROW_TASK_FLOATS / W > 0 ? ROW_TASK_FLOATS / W : 1};
    int ntasks = (T + j.rows - 1) / j.rows;
    if ((size_t)T * W < PARALLEL_MIN_FLOATS || ntasks < 2)
        fn(ctx, 0, T);
    else
        axf__parallel(e, rows_task, &j, ntasks);
}

void axf__pool_free(axf_engine *e)
{
    axf_pool *p = e->pool;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p);
    e->pool = NULL;
}
