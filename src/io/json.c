/* A strict JSON check (RFC 8259) run before cJSON parses a file (axf_json_read_file does both),
 * for what cJSON takes silently or reports badly: a key given twice in one object (cJSON keeps
 * both and lookups see the first, Python's json the last), text after the value, a NUL inside a
 * string (cJSON cuts the string there), nesting past cJSON's limit (it then fails as if the file
 * were not JSON). Iterative, so a
 * hostile file cannot exhaust the stack; keys of an object are sorted when it closes, so an object
 * of 50,000 keys (a BPE vocab.json) costs a sort, not 50,000^2 comparisons. */
#include "axf/fileio.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 512 /* below cJSON's CJSON_NESTING_LIMIT (1000) */

typedef struct {
    size_t off; /* into the key arena */
    size_t len;
    int line;
} key;

typedef struct {
    const char *s, *end, *path;
    const char *line_from; /* line counting is lazy: counted up to here */
    int line;
    char *arena; /* decoded keys of the open objects */
    size_t arena_n, arena_cap;
    key *keys;
    size_t nkeys, keys_cap;
    axf_err *err;
} jcheck;

static int line_at(jcheck *j, const char *p)
{
    for (; j->line_from < p; j->line_from++)
        j->line += *j->line_from == '\n';
    return j->line;
}

static int fail_at(jcheck *j, const char *p, const char *what)
{
    if (p >= j->end)
        return axf_err_set(j->err, "%s: line %d: truncated JSON (it ends early)", j->path, line_at(j, j->end));
    char shown[16];
    return axf_err_set(j->err, "%s: line %d: not valid JSON: %s (at '%s')", j->path, line_at(j, p), what,
                       axf_escape(shown, sizeof shown, p, (size_t)(j->end - p) < 6 ? (size_t)(j->end - p) : 6));
}

static void ws(jcheck *j, const char **p)
{
    while (*p < j->end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
        (*p)++;
}

static int hex4(const char *p, const char *end, unsigned *v)
{
    *v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d == 16)
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static void put(jcheck *j, const char *b, size_t n)
{
    if (j->arena_n + n > j->arena_cap) {
        j->arena_cap = 2 * (j->arena_n + n) + 256;
        j->arena = axf_xrealloc(j->arena, j->arena_cap);
    }
    memcpy(j->arena + j->arena_n, b, n);
    j->arena_n += n;
}

/* A string at *p (the opening quote). as_key: its decoded bytes are appended to the arena. */
static int string(jcheck *j, const char **p, int as_key)
{
    const char *q = *p + 1;
    for (;;) {
        if (q >= j->end)
            return fail_at(j, q, "");
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail_at(j, q, c ? "a control character inside a string (it must be escaped)"
                                   : "a NUL byte");
        if (c != '\\') {
            if (as_key)
                put(j, q, 1);
            q++;
            continue;
        }
        if (q + 1 >= j->end)
            return fail_at(j, j->end, "");
        char e = q[1], out;
        switch (e) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (hex4(q + 2, j->end, &u))
                return fail_at(j, q, "a \\u escape needs 4 hex digits");
            q += 6;
            if (u == 0)
                return axf_err_set(j->err, "%s: line %d: a string holds \\u0000 (NUL), which would cut it short",
                                   j->path, line_at(j, q));
            if (u >= 0xdc00 && u <= 0xdfff)
                return fail_at(j, q - 6, "a lone low surrogate");
            if (u >= 0xd800 && u <= 0xdbff) {
                if (q + 1 >= j->end || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, j->end, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return fail_at(j, q - 6, "a high surrogate without its low half");
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                q += 6;
            }
            if (as_key) {
                char b[4];
                size_t n = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
                if (n == 1) {
                    b[0] = (char)u;
                } else if (n == 2) {
                    b[0] = (char)(0xc0 | u >> 6), b[1] = (char)(0x80 | (u & 0x3f));
                } else if (n == 3) {
                    b[0] = (char)(0xe0 | u >> 12), b[1] = (char)(0x80 | ((u >> 6) & 0x3f));
                    b[2] = (char)(0x80 | (u & 0x3f));
                } else {
                    b[0] = (char)(0xf0 | u >> 18), b[1] = (char)(0x80 | ((u >> 12) & 0x3f));
                    b[2] = (char)(0x80 | ((u >> 6) & 0x3f)), b[3] = (char)(0x80 | (u & 0x3f));
                }
                put(j, b, n);
            }
            continue;
        }
        default:
            return fail_at(j, q, "an unknown escape");
        }
        if (as_key)
            put(j, &out, 1);
        q += 2;
    }
    *p = q + 1;
    return 0;
}

static int number(jcheck *j, const char **p)
{
    const char *q = *p, *e = j->end;
#define DIGITS(q) while ((q) < e && *(q) >= '0' && *(q) <= '9') (q)++
    if (q < e && *q == '-')
        q++;
    if (q < e && *q == '0') {
        q++;
    } else if (q < e && *q >= '1' && *q <= '9') {
        DIGITS(q);
    } else {
        return fail_at(j, *p, "a value expected");
    }
    if (q < e && *q == '.') {
        const char *d = ++q;
        DIGITS(q);
        if (q == d)
            return fail_at(j, q, "digits expected after '.'");
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            q++;
        const char *d = q;
        DIGITS(q);
        if (q == d)
            return fail_at(j, q, "digits expected in the exponent");
    }
#undef DIGITS
    *p = q;
    return 0;
}

static int cmp_key(const void *a, const void *b, void *arena)
{
    const key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp((char *)arena + x->off, (char *)arena + y->off, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len ? 1 : x->line - y->line;
}

/* Keys [from, nkeys) of the object that just closed: a repeated one is an error. */
static int unique_keys(jcheck *j, size_t from)
{
    key *k = j->keys + from;
    size_t n = j->nkeys - from;
    qsort_r(k, n, sizeof *k, cmp_key, j->arena);
    for (size_t i = 1; i < n; i++)
        if (k[i].len == k[i - 1].len && memcmp(j->arena + k[i].off, j->arena + k[i - 1].off, k[i].len) == 0) {
            char shown[64];
            return axf_err_set(j->err, "%s: line %d: key '%s' appears twice in one object (first at line %d)",
                               j->path, k[i].line, axf_escape(shown, sizeof shown, j->arena + k[i].off, k[i].len),
                               k[i - 1].line);
        }
    return 0;
}

int axf_json_check(const char *text, size_t len, const char *path, axf_err *err)
{
    jcheck j = {.s = text, .end = text + len, .path = path, .line_from = text, .line = 1, .err = err};
    /* never NULL: empty keys ("") compare and print from arena + 0 (found by fuzzing: UB) */
    j.arena_cap = 256;
    j.arena = axf_xmalloc(j.arena_cap);
    /* per open container: '{' or '[', and for objects where its keys start */
    char kind[JSON_MAX_DEPTH];
    size_t key_from[JSON_MAX_DEPTH], arena_from[JSON_MAX_DEPTH];
    int depth = 0, rc = -1;
    const char *p = text;
    ws(&j, &p);
    if (p == j.end) {
        axf_err_set(err, "%s: empty file (no JSON value)", path);
        goto out;
    }
    for (;;) {
        /* a value at p */
        ws(&j, &p);
        if (p >= j.end) {
            fail_at(&j, p, "");
            goto out;
        }
        if (*p == '{' || *p == '[') {
            if (depth == JSON_MAX_DEPTH) {
                axf_err_set(err, "%s: line %d: JSON nested deeper than %d levels", path, line_at(&j, p),
                            JSON_MAX_DEPTH);
                goto out;
            }
            kind[depth] = *p;
            key_from[depth] = j.nkeys;
            arena_from[depth] = j.arena_n;
            depth++;
            p++;
            ws(&j, &p);
            if (p < j.end && *p == (kind[depth - 1] == '{' ? '}' : ']')) {
                p++;
                depth--;
                goto after_value;
            }
            if (kind[depth - 1] == '[')
                continue;
            goto object_key;
        } else if (*p == '"') {
            if (string(&j, &p, 0))
                goto out;
        } else if (*p == 't' || *p == 'f' || *p == 'n') {
            const char *w = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
            size_t n = strlen(w);
            if ((size_t)(j.end - p) < n || memcmp(p, w, n) != 0) {
                fail_at(&j, (size_t)(j.end - p) < n && memcmp(p, w, (size_t)(j.end - p)) == 0 ? j.end : p,
                        "a value expected");
                goto out;
            }
            p += n;
        } else if (number(&j, &p)) {
            goto out;
        }
    after_value:
        ws(&j, &p);
        if (depth == 0)
            break;
        if (p >= j.end) {
            fail_at(&j, p, "");
            goto out;
        }
        if (*p == ',') {
            p++;
            if (kind[depth - 1] == '[')
                continue;
            ws(&j, &p);
            goto object_key;
        }
        if (*p != (kind[depth - 1] == '{' ? '}' : ']')) {
            fail_at(&j, p, kind[depth - 1] == '{' ? "',' or '}' expected" : "',' or ']' expected");
            goto out;
        }
        p++;
        depth--;
        if (kind[depth] == '{') {
            if (unique_keys(&j, key_from[depth]))
                goto out;
            j.nkeys = key_from[depth];
            j.arena_n = arena_from[depth];
        }
        goto after_value;
    object_key:
        if (p >= j.end || *p != '"') {
            fail_at(&j, p, "a key (a string) expected");
            goto out;
        }
        {
            size_t a0 = j.arena_n;
            int kl = line_at(&j, p);
            if (string(&j, &p, 1))
                goto out;
            if (j.nkeys == j.keys_cap) {
                j.keys_cap = j.keys_cap ? 2 * j.keys_cap : 64;
                j.keys = axf_xrealloc(j.keys, j.keys_cap * sizeof *j.keys);
            }
            j.keys[j.nkeys++] = (key){a0, j.arena_n - a0, kl};
        }
        ws(&j, &p);
        if (p >= j.end || *p != ':') {
            fail_at(&j, p, "':' expected after a key");
            goto out;
        }
        p++;
    }
    if (p != j.end) {
        axf_err_set(err, "%s: line %d: trailing text after the JSON value", path, line_at(&j, p));
        goto out;
    }
    rc = 0;
out:
    free(j.arena);
    free(j.keys);
    return rc;
}

struct cJSON *axf_json_read_file(const char *path, size_t max, axf_err *err)
{
    size_t len;
    char *text = axf_io_read_file(path, max, &len, err);
    if (!text)
        return NULL;
    cJSON *root = NULL;
    if (axf_json_check(text, len, path, err) == 0 && !(root = cJSON_ParseWithLength(text, len)))
        axf_err_set(err, "%s: not valid JSON", path); /* the check passed: cJSON ran out of memory */
    free(text);
    return root;
}

/* ---- typed field access ---- */

size_t axf_json_push(axf_json_rd *r, const char *key, int index)
{
    size_t old = strlen(r->at);
    const char *dot = old && *key ? "." : "";
    if (index >= 0)
        snprintf(r->at + old, sizeof r->at - old, "%s%s[%d]", dot, key, index);
    else
        snprintf(r->at + old, sizeof r->at - old, "%s%s", dot, key);
    return old;
}

void axf_json_pop(axf_json_rd *r, size_t old) { r->at[old] = 0; }

int axf_json_fail(axf_json_rd *r, const char *key, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return axf_err_set(r->err, "%s: %s%s%s: %s", r->file, r->at, *r->at && key ? "." : "", key ? key : "",
                       what);
}

/* The item at key when it passes is (a cJSON type test), else -1 naming what was expected; *out is
 * NULL (and 0 returned) for null and, when optional, for absence. */
static int typed(axf_json_rd *r, const cJSON *o, const char *key, int flags, cJSON_bool (*is)(const cJSON *),
                 const char *what, const cJSON **out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!j && (flags & AXF_JSON_OPTIONAL) != AXF_JSON_OPTIONAL)
        return axf_json_fail(r, key, "missing");
    if (!j || cJSON_IsNull(j))
        return j && !(flags & AXF_JSON_NULL_OK) ? axf_json_fail(r, key, "expected %s, not null", what) : 0;
    if (!is(j))
        return axf_json_fail(r, key, "expected %s", what);
    *out = j;
    return 0;
}

int axf_json_obj(axf_json_rd *r, const cJSON *o, const char *key, int flags, const cJSON **out)
{
    return typed(r, o, key, flags, cJSON_IsObject, "an object", out);
}

int axf_json_arr(axf_json_rd *r, const cJSON *o, const char *key, int flags, const cJSON **out)
{
    return typed(r, o, key, flags, cJSON_IsArray, "an array", out);
}

int axf_json_num(axf_json_rd *r, const cJSON *o, const char *key, double lo, double hi, int flags, double *out)
{
    const cJSON *j;
    int rc = typed(r, o, key, flags, cJSON_IsNumber, "a number", &j);
    *out = NAN;
    if (rc || !j)
        return rc;
    double x = j->valuedouble;
    if (!isfinite(x) || x < lo || x > hi)
        return axf_json_fail(r, key, "%g is out of range [%g, %g]", x, lo, hi);
    *out = x;
    return 0;
}

int axf_json_int(axf_json_rd *r, const cJSON *o, const char *key, double lo, double hi, long long *out)
{
    double x;
    *out = 0;
    if (axf_json_num(r, o, key, lo, hi, AXF_JSON_REQUIRED, &x))
        return -1;
    if (x != floor(x))
        return axf_json_fail(r, key, "expected an integer");
    *out = (long long)x;
    return 0;
}

int axf_json_str(axf_json_rd *r, const cJSON *o, const char *key, int flags, const char **out)
{
    const cJSON *j;
    int rc = typed(r, o, key, flags, cJSON_IsString, "a string", &j);
    *out = j ? j->valuestring : "";
    return rc;
}

struct cJSON *axf_json_read_doc(const char *path, size_t max, const char *format, const char *kind,
                                int max_version, int *version, axf_json_rd *r, axf_err *err)
{
    cJSON *root = axf_json_read_file(path, max, err);
    if (!root)
        return NULL;
    *r = (axf_json_rd){.file = path, .err = err};
    const char *s;
    const cJSON *jv = cJSON_GetObjectItemCaseSensitive(root, "version");
    long long v;
    if (!cJSON_IsObject(root))
        axf_err_set(err, "%s: not a %s file (top level is not an object)", path, kind);
    else if (axf_json_str(r, root, "format", 0, &s))
        ;
    else if (strcmp(s, format))
        axf_json_fail(r, "format", "not \"%s\" (not a %s file)", format, kind);
    else if (cJSON_IsNumber(jv) && jv->valuedouble > max_version)
        axf_json_fail(r, "version", "%g is newer than this program reads (%d); use a newer axf", jv->valuedouble,
                      max_version);
    else if (axf_json_int(r, root, "version", 1, max_version, &v) == 0) {
        *version = (int)v;
        return root;
    }
    cJSON_Delete(root);
    return NULL;
}
