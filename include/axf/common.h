/* Shared basics: error reporting, logging and assertion hooks.
 *
 * Library code never prints and never exits. A failing call returns -1 (or NULL) and fills an
 * axf_err with one line that names the file, tensor, line or argument at fault. */
#ifndef AXF_COMMON_H
#define AXF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define AXF_VERSION "0.1.0"

typedef struct axf_err {
    char msg[512];
} axf_err;

/* Formats into err (err may be NULL). Always returns -1 so callers can `return axf_err_set(...)`. */
int axf_err_set(axf_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes an existing message: "<prefix>: <old message>". Returns -1. */
int axf_err_prefix(axf_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text from an input file (a tensor name, a dtype, a config string, a label) made safe for a
 * one-line message: printable ASCII and valid UTF-8 as they are; control characters, DEL, the C1
 * controls (U+0080..U+009F), bytes that are not UTF-8 and the backslash escaped (\n \r \t \\
 * \xHH, \u0085), so a file cannot put a newline or a terminal escape sequence into a message.
 * Reads s[0..n) (NULs included); writes at most size bytes into buf (always terminated), cutting
 * with "..." when it does not fit. Returns buf, for use as a printf argument. */
const char *axf_escape(char *buf, size_t size, const char *s, size_t n);
/* axf_escape of the NUL-terminated s (NULL shows as "(null)"). */
const char *axf_escape_str(char *buf, size_t size, const char *s);

/* Logging goes through a callback; the default discards. level: 0 debug, 1 info, 2 warning. */
typedef void (*axf_log_fn)(int level, const char *msg, void *ud);
void axf_log_set(axf_log_fn fn, void *ud);
void axf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Programmer errors (broken invariants, never bad input) go through AXF_ASSERT. The abort hook
 * lets the screen restore the terminal and autosave before the process aborts. */
typedef void (*axf_abort_fn)(const char *what, void *ud);
void axf_abort_hook_set(axf_abort_fn fn, void *ud);
_Noreturn void axf_assert_fail(const char *expr, const char *file, int line);
#define AXF_ASSERT(x) ((x) ? (void)0 : axf_assert_fail(#x, __FILE__, __LINE__))

/* Progress / cancel hook for long operations: done of total units; return nonzero to cancel. A
 * call cancelled this way returns AXF_CANCELLED. */
typedef int (*axf_progress_fn)(double done, double total, void *ud);
#define AXF_CANCELLED (-2)

/* Monotonic seconds. */
double axf_now(void);
/* CPU seconds of the calling thread (this_thread) or of the whole process: time other jobs on
 * the machine do not change. */
double axf_cpu_now(int this_thread);
/* Median of v[0..n) (n >= 1); sorts v. */
double axf_median(double *v, int n);

/* Allocation that never returns NULL for n > 0 (aborts through the hook on exhaustion). */
void *axf_xmalloc(size_t n);
void *axf_xcalloc(size_t n, size_t size);
/* n bytes (not zeroed) on a 64-byte boundary, for aligned vector loads; freed with free(). */
void *axf_xaligned64(size_t n);
void *axf_xrealloc(void *p, size_t n);
/* Zeroed like axf_xcalloc; a block of 2 MB or more is 2 MB-aligned and advised for transparent
 * huge pages (madvise), so that scattered reads walk fewer page tables (the model's arena:
 * embedding rows were a TLB miss per token on 4 KB pages). It may hold up to 2 MB more than asked
 * for: meant for a few large blocks. Freed with free(). */
void *axf_xcalloc_big(size_t n, size_t size);
char *axf_xstrdup(const char *s);
/* Room for element n of a growing array p of *cap elements of `size` bytes each: when n >= *cap,
 * *cap doubles (starting at `first`) until it exceeds n and p is reallocated. Returns p, perhaps
 * moved: `v->p = axf_grow(v->p, sizeof *v->p, v->n, &v->cap, 64); v->p[v->n++] = x;`. */
void *axf_grow(void *p, size_t size, int n, int *cap, int first);
/* free() of each of n pointers (NULLs allowed), in order; AXF_FREE(a, b, ...) counts them, so a
 * destructor frees its members and itself in one statement: `if (e) AXF_FREE(e->ids, e->off, e);`. */
void axf_free_each(void *const *p, size_t n);
#define AXF_FREE(...)                                                                              \
    axf_free_each((void *const[]){__VA_ARGS__}, sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

/* 64-bit FNV-1a of s[0..n): the hash of every string-keyed table. */
uint64_t axf_hash_fnv1a(const char *s, size_t n);

/* Hot loops are compiled for three x86-64 levels and picked at load time (ifunc), so a default
 * build runs AVX-512 code on machines that have it; the engine's and the trainer's kernels mark
 * their loops with it. GCC's -O2 vectorises almost nothing: CMakeLists.txt builds them with -O3. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(AXF_NO_CLONES)
#define AXF_VEC __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define AXF_VEC
#endif

/* Deterministic RNG (xoshiro128+ style), seeded explicitly; never the C library's rand(). */
typedef struct axf_rng {
    uint64_t s[2];
} axf_rng;
void axf_rng_seed(axf_rng *r, uint64_t seed);
uint64_t axf_rng_u64(axf_rng *r);
float axf_rng_uniform(axf_rng *r);          /* [0, 1) */
float axf_rng_normal(axf_rng *r);           /* mean 0, sd 1 */
int axf_rng_below(axf_rng *r, int n);       /* [0, n) */
/* Fisher-Yates from the end: for i = n-1 down to 1, swaps v[i] with v[axf_rng_below(r, i + 1)].
 * Every seeded shuffle of the program (batch order, dev splits) is this one. */
void axf_rng_shuffle(axf_rng *r, int *v, int n);

/* SHA-256 of a file / buffer as 64 lowercase hex chars + NUL. */
int axf_sha256_file(const char *path, char out[65], axf_err *err);
void axf_sha256_buf(const void *data, size_t n, char out[65]);

/* OpenBLAS thread count for every kernel (0 = leave as is). */
void axf_set_threads(int n);
/* The thread count axf_set_threads set last (OpenBLAS's own default before any). */
int axf_threads(void);

/* The instruction-set level the engine's and the trainer's kernels may use: the CPU's own, capped
 * by the environment variable AXF_ISA ("generic": portable C only; "avx2": AVX2 + FMA, no
 * AVX-512; "avx512"; unset or empty: no cap). Every kernel picks its path through this one
 * function, so AXF_ISA=avx2 on an AVX-512 machine runs exactly what an AVX2-only CPU runs. */
typedef enum { AXF_ISA_GENERIC = 0, AXF_ISA_AVX2 = 1, AXF_ISA_AVX512 = 2 } axf_isa;
axf_isa axf_isa_level(void);
/* "generic", "avx2" or "avx512". */
const char *axf_isa_name(axf_isa isa);
/* 0 when AXF_ISA is unset, empty or one of the names above; -1 and a one-line message naming the
 * variable and the accepted values otherwise (the level then ignores it). */
int axf_isa_check_env(axf_err *err);
/* Tests only: cap the level at isa (below the CPU's), or -1 to go back to the CPU and AXF_ISA. */
void axf_isa_force(int isa);

#endif
