/* Error, logging, assertion, allocation, RNG and thread-count helpers shared by every module. */
#include "axf/common.h"
#include "axf/fileio.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

int axf_err_set(axf_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int axf_err_prefix(axf_err *err, const char *fmt, ...)
{
    if (err) {
        char pre[256], old[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(pre, sizeof pre, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        snprintf(err->msg, sizeof err->msg, "%.200s: %.300s", pre, old);
    }
    return -1;
}

const char *axf_escape(char *buf, size_t size, const char *s, size_t n)
{
    if (size == 0)
        return buf;
    size_t o = 0, cut = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        char piece[16];
        size_t len = 1;
        if (c >= 0xc2 && c <= 0xf4) /* a lead byte: keep the sequence when it is valid UTF-8 */
            len = c <= 0xdf ? 2 : c <= 0xef ? 3 : 4;
        if (len > 1 && (i + len > n || !axf_utf8_valid(s + i, len)))
            len = 1;
        if (len == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) { /* C1 control */
            snprintf(piece, sizeof piece, "\\u%04x", (unsigned char)s[i + 1]);
        } else if (len > 1) {
            memcpy(piece, s + i, len);
            piece[len] = 0;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\\') {
            piece[0] = '\\';
            piece[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\';
            piece[2] = 0;
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(piece, sizeof piece, "\\x%02x", c);
        } else {
            piece[0] = (char)c;
            piece[1] = 0;
        }
        size_t pl = strlen(piece);
        if (o + pl + 1 > size) { /* cut at the last piece that leaves room for "..." */
            if (cut + 4 <= size)
                memcpy(buf + cut, "...", 4);
            else
                buf[cut] = 0;
            return buf;
        }
        memcpy(buf + o, piece, pl);
        o += pl;
        i += len;
        if (o + 4 <= size)
            cut = o;
    }
    buf[o] = 0;
    return buf;
}

const char *axf_escape_str(char *buf, size_t size, const char *s)
{
    if (!s)
        s = "(null)";
    return axf_escape(buf, size, s, strlen(s));
}

static axf_log_fn log_fn;
static void *log_ud;

void axf_log_set(axf_log_fn fn, void *ud)
{
    log_fn = fn;
    log_ud = ud;
}

void axf_log(int level, const char *fmt, ...)
{
    if (!log_fn)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_ud);
}

static axf_abort_fn abort_fn;
static void *abort_ud;

void axf_abort_hook_set(axf_abort_fn fn, void *ud)
{
    abort_fn = fn;
    abort_ud = ud;
}

void axf_assert_fail(const char *expr, const char *file, int line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "internal error: %s:%d: assertion failed: %s", file, line, expr);
    if (abort_fn)
        abort_fn(buf, abort_ud);
    fprintf(stderr, "axf: %s\n", buf); /* last words of a dying process, not engine output */
    abort();
}

double axf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double axf_cpu_now(int this_thread)
{
    struct timespec ts;
    clock_gettime(this_thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double axf_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *oom(size_t n)
{
    char what[64];
    snprintf(what, sizeof what, "allocation of %zu bytes", n);
    axf_assert_fail(what, __FILE__, __LINE__);
}

void *axf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *axf_xaligned64(size_t n)
{
    size_t r = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, r ? r : 64);
    return p ? p : oom(n);
}

void *axf_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

#define HUGE_PAGE ((size_t)2 << 20)

void *axf_xcalloc_big(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return oom(SIZE_MAX);
    size_t bytes = n * size;
    if (bytes < HUGE_PAGE)
        return axf_xcalloc(n, size);
    size_t r = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, r);
    if (!p)
        return oom(bytes);
#ifdef MADV_HUGEPAGE
    madvise(p, r, MADV_HUGEPAGE);   /* advice: ignored where transparent huge pages are off */
#endif
    memset(p, 0, bytes);
    return p;
}

void *axf_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *axf_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(axf_xmalloc(n), s, n);
}

void *axf_grow(void *p, size_t size, int n, int *cap, int first)
{
    if (n < *cap)
        return p;
    int c = *cap > 0 ? *cap : first > 0 ? first : 1;
    while (c <= n)
        c *= 2;
    *cap = c;
    return axf_xrealloc(p, size * (size_t)c);
}

void axf_free_each(void *const *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i]);
}

uint64_t axf_hash_fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* xoroshiro128+ seeded through splitmix64. */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void axf_rng_seed(axf_rng *r, uint64_t seed)
{
    r->s[0] = splitmix(&seed);
    r->s[1] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t axf_rng_u64(axf_rng *r)
{
    uint64_t s0 = r->s[0], s1 = r->s[1], out = s0 + s1;
    s1 ^= s0;
    r->s[0] = rotl(s0, 24) ^ s1 ^ (s1 << 16);
    r->s[1] = rotl(s1, 37);
    return out;
}

float axf_rng_uniform(axf_rng *r) { return (float)(axf_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

float axf_rng_normal(axf_rng *r)
{
    double u1 = ((double)(axf_rng_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = (double)(axf_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

int axf_rng_below(axf_rng *r, int n) { return n <= 0 ? 0 : (int)(axf_rng_u64(r) % (uint64_t)n); }

void axf_rng_shuffle(axf_rng *r, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = axf_rng_below(r, i + 1), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

void axf_set_threads(int n)
{
    if (n > 0)
        openblas_set_num_threads(n);
}

int axf_threads(void) { return openblas_get_num_threads(); }

/* ---- instruction-set level ---- */

static int isa_forced = -1;

static axf_isa isa_cpu(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    /* libgcc's checks include the OS saving the wider register state (XGETBV) */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return AXF_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return AXF_ISA_AVX2;
#endif
    return AXF_ISA_GENERIC;
}

static int isa_parse(const char *v)
{
    if (!v || !*v)
        return AXF_ISA_AVX512;
    if (!strcmp(v, "generic"))
        return AXF_ISA_GENERIC;
    if (!strcmp(v, "avx2"))
        return AXF_ISA_AVX2;
    if (!strcmp(v, "avx512"))
        return AXF_ISA_AVX512;
    return -1;
}

axf_isa axf_isa_level(void)
{
    static int cached = -1;
    if (cached < 0) {
        int cap = isa_parse(getenv("AXF_ISA"));
        int cpu = (int)isa_cpu();
        cached = (cap >= 0 && cap < cpu) ? cap : cpu;
    }
    if (isa_forced >= 0 && isa_forced < cached)
        return (axf_isa)isa_forced;
    return (axf_isa)cached;
}

const char *axf_isa_name(axf_isa isa)
{
    return isa == AXF_ISA_AVX512 ? "avx512" : isa == AXF_ISA_AVX2 ? "avx2" : "generic";
}

int axf_isa_check_env(axf_err *err)
{
    const char *v = getenv("AXF_ISA");
    if (isa_parse(v) >= 0)
        return 0;
    char shown[40];
    return axf_err_set(err, "environment variable AXF_ISA: '%s' is not one of generic, avx2, avx512",
                       axf_escape_str(shown, sizeof shown, v));
}

void axf_isa_force(int isa)
{
    isa_forced = isa;
}
