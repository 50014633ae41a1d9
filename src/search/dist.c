/* The MPI seam (dist.h): rank, ranges, gathers and the lock-step check. Compiled without MPI
 * (no AXF_MPI) it is one rank and nothing else. */
#include "axf/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/plan.h"

#ifdef AXF_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;
static char g_note[160];
static long g_checks;
static axf_dist_stats g_stats;
static axf_dist_split g_split = AXF_DIST_SPLIT_AUTO;

int axf_dist_built(void)
{
#ifdef AXF_MPI
    return 1;
#else
    return 0;
#endif
}

int axf_dist_rank(void)
{
    return g_rank;
}

int axf_dist_size(void)
{
    return g_size;
}

void axf_dist_range(int n, int *lo, int *hi)
{
    int q = n / g_size, r = n % g_size;
    *lo = g_rank * q + (g_rank < r ? g_rank : r);
    *hi = *lo + q + (g_rank < r);
}

uint64_t axf_dist_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t axf_dist_hash_str(uint64_t h, const char *s)
{
    return axf_dist_hash(h, s, strlen(s) + 1);
}

/* Field by field: no padding bytes, no pointers. */
uint64_t axf_dist_hash_plan(uint64_t h, const axf_plan *p)
{
    h = axf_dist_hash(h, &p->n_layers, sizeof p->n_layers);
    for (int i = 0; i < p->n_layers; i++) {
        const axf_layer_plan *lp = &p->layers[i];
        int v[8] = {lp->attn_on, lp->ffn_on, (int)lp->hard, lp->k, lp->nh, lp->f, lp->int8_attn, lp->int8_ffn};
        h = axf_dist_hash(h, v, sizeof v);
        h = axf_dist_hash(h, &lp->threshold, sizeof lp->threshold);
        h = axf_dist_hash(h, lp->head_on, (size_t)lp->nh);
        if (lp->f > 0 && lp->neuron_on)
            h = axf_dist_hash(h, lp->neuron_on, (size_t)lp->f);
    }
    int e = p->int8_embed;
    return axf_dist_hash(h, &e, sizeof e);
}

void axf_dist_stats_get(axf_dist_stats *out)
{
    *out = g_stats;
}

void axf_dist_count_split(int n)
{
    g_stats.split_batches++;
    g_stats.split_trials += n;
}

void axf_dist_set_split(axf_dist_split mode)
{
    g_split = mode;
}

axf_dist_split axf_dist_split_mode(void)
{
    return g_split;
}

const char *const axf_dist_split_names[] = {"auto", "examples", "candidates", NULL};

const char *axf_dist_split_name(axf_dist_split mode)
{
    return mode >= 0 && mode < 3 ? axf_dist_split_names[mode] : "?";
}

void axf_dist_note(const char *msg)
{
    snprintf(g_note, sizeof g_note, "%s", msg ? msg : "");
}

#ifndef AXF_MPI

int axf_dist_init(int *argc, char ***argv, axf_err *err)
{
    (void)argc, (void)argv, (void)err;
    return 0;
}

int axf_dist_finalize(int rc)
{
    return rc;
}

void axf_dist_allgather_rows(void *buf, size_t row_bytes, int n_rows, int first, int count)
{
    (void)buf, (void)row_bytes, (void)n_rows, (void)first, (void)count;
}

int axf_dist_max(int v)
{
    return v;
}

void axf_dist_bcast_from(void *buf, size_t n, int root, const char *what)
{
    (void)buf, (void)n, (void)root, (void)what;
}

void axf_dist_bcast(void *buf, size_t n, const char *what)
{
    (void)buf, (void)n, (void)what;
}

void axf_dist_agree(uint64_t hash, const char *what)
{
    (void)hash, (void)what;
    g_checks++;
}

_Noreturn void axf_dist_abort(const char *msg)
{
    fprintf(stderr, "axf: %s\n", msg); /* last words of a dying process */
    exit(1);
}

#else

static int g_on; /* MPI initialised and not yet finalised */

/* What a rank was doing at a lock-step check, exchanged only when the ranks disagree. */
typedef struct checkrec {
    uint64_t hash;
    long seq;
    int rc;
    char what[96];
    char note[160];
} checkrec;

int axf_dist_init(int *argc, char ***argv, axf_err *err)
{
    /* Only under a launcher: an MPI build run on its own stays an ordinary process (no singleton
     * MPI start-up, no MPI calls from the screen's worker thread). */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK"))
        return 0;
    int prov = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &prov) != MPI_SUCCESS)
        return axf_err_set(err, "MPI_Init_thread failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_on = 1;
    return 0;
}

_Noreturn void axf_dist_abort(const char *msg)
{
    fprintf(stderr, "axf: rank %d: %s\n", g_rank, msg); /* last words of a dying job */
    fflush(stderr);
    if (g_on)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* The ranks are out of step: rank 0 names the first rank that differs from it, then all end. */
static _Noreturn void out_of_step(uint64_t hash, const char *what, int rc)
{
    checkrec me, *all = calloc((size_t)g_size, sizeof *all);
    memset(&me, 0, sizeof me);
    me.hash = hash;
    me.seq = g_checks;
    me.rc = rc;
    snprintf(me.what, sizeof me.what, "%s", what);
    snprintf(me.note, sizeof me.note, "%s", g_note);
    MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, MPI_COMM_WORLD);
    if (g_rank == 0) {
        int k = 1;
        while (k < g_size - 1 && all[k].hash == all[0].hash)
            k++;
        fprintf(stderr, "axf: the MPI ranks are out of step: rank 0 at check %ld (%s%s%s), rank %d at "
                        "check %ld (%s%s%s); ending the job\n",
                all[0].seq, all[0].what, all[0].note[0] ? ": " : "", all[0].note, k, all[k].seq, all[k].what,
                all[k].note[0] ? ": " : "", all[k].note);
        fflush(stderr);
    }
    free(all);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

static void check(uint64_t hash, const char *what, int rc)
{
    g_checks++;
    if (g_size < 2)
        return;
    uint64_t v[2] = {hash, ~hash}; /* max of the hash and of its complement: equal iff all equal */
    MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (v[0] != ~v[1])
        out_of_step(hash, what, rc);
}

void axf_dist_agree(uint64_t hash, const char *what)
{
    check(hash, what, 0);
}

int axf_dist_finalize(int rc)
{
    if (!g_on)
        return rc;
    char what[96];
    snprintf(what, sizeof what, "finishing the command with status %d", rc);
    check(axf_dist_hash_str(AXF_DIST_HASH0, "finalize"), what, rc);
    int out = rc;
    if (g_size > 1) {
        checkrec me, *all = calloc((size_t)g_size, sizeof *all);
        memset(&me, 0, sizeof me);
        me.rc = rc;
        snprintf(me.note, sizeof me.note, "%s", g_note);
        MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, MPI_COMM_WORLD);
        for (int r = 0; r < g_size; r++) {
            if (all[r].rc > out)
                out = all[r].rc;
            if (g_rank == 0 && r > 0 && all[r].rc != all[0].rc)
                fprintf(stderr, "axf: rank %d finished with status %d%s%s\n", r, all[r].rc,
                        all[r].note[0] ? ": " : "", all[r].note);
        }
        free(all);
    }
    MPI_Finalize();
    g_on = 0;
    return out;
}

void axf_dist_allgather_rows(void *buf, size_t row_bytes, int n_rows, int first, int count)
{
    if (g_size < 2)
        return;
    int me[2] = {first, count};
    int *all = malloc(sizeof(int) * 2 * (size_t)g_size), *cnt = malloc(sizeof(int) * (size_t)g_size),
        *dsp = malloc(sizeof(int) * (size_t)g_size);
    if (!all || !cnt || !dsp)
        axf_dist_abort("out of memory in a gather");
    double t0 = axf_now();
    MPI_Allgather(me, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD); /* also where ranks wait */
    double t1 = axf_now();
    int at = 0;
    for (int r = 0; r < g_size; r++) {
        if (all[2 * r] != at || all[2 * r + 1] < 0)
            axf_dist_abort("internal error: gathered rows do not tile the split");
        dsp[r] = at;
        cnt[r] = all[2 * r + 1];
        at += cnt[r];
    }
    if (at != n_rows)
        axf_dist_abort("internal error: gathered rows do not cover the split");
    MPI_Datatype row;
    MPI_Type_contiguous((int)row_bytes, MPI_BYTE, &row);
    MPI_Type_commit(&row);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, dsp, row, MPI_COMM_WORLD);
    MPI_Type_free(&row);
    g_stats.gathers++;
    g_stats.bytes += (long long)row_bytes * n_rows;
    g_stats.wait_seconds += t1 - t0;
    g_stats.move_seconds += axf_now() - t1;
    AXF_FREE(all, cnt, dsp);
}

int axf_dist_max(int v)
{
    if (g_size < 2)
        return v;
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

void axf_dist_bcast_from(void *buf, size_t n, int root, const char *what)
{
    if (g_size < 2)
        return;
    uint64_t h = axf_dist_hash(axf_dist_hash_str(AXF_DIST_HASH0, what), &n, sizeof n);
    axf_dist_agree(axf_dist_hash(h, &root, sizeof root), what);
    MPI_Bcast(buf, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
}

void axf_dist_bcast(void *buf, size_t n, const char *what)
{
    axf_dist_bcast_from(buf, n, 0, what);
}

#endif
