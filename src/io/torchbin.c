/* pytorch_model.bin reader: the zip container, a restricted pickle interpreter for what
 * torch.save(state_dict) writes, and the checks of every tensor against its storage (torchbin.h). */
#include "axf/torchbin.h"
#include "axf/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------- small helpers ---------- */

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* ---------- zip ---------- */

typedef struct {
    const char *name;   /* inside the mapping, not NUL-terminated */
    size_t name_len;
    const unsigned char *data;
    uint64_t size;
} zentry;

typedef struct {
    zentry *e;
    int n;
} zdir;

static int zip_read(const unsigned char *f, size_t fsz, zdir *z, axf_err *err)
{
    if (fsz < 22)
        return axf_err_set(err, "too short for a zip archive");
    /* end of central directory: the last signature within the final 64 KiB + 22 bytes */
    size_t lo = fsz > 65557 ? fsz - 65557 : 0, eocd = (size_t)-1;
    for (size_t p = fsz - 22 + 1; p-- > lo;)
        if (rd32(f + p) == 0x06054b50u) {
            eocd = p;
            break;
        }
    if (eocd == (size_t)-1)
        return axf_err_set(err, "no zip end-of-central-directory record");
    uint64_t count = rd16(f + eocd + 10), cd_size = rd32(f + eocd + 12), cd_off = rd32(f + eocd + 16);
    if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        /* zip64: the locator sits just before the record */
        if (eocd < 20 || rd32(f + eocd - 20) != 0x07064b50u)
            return axf_err_set(err, "zip64 archive without its locator");
        uint64_t z64 = rd64(f + eocd - 20 + 8);
        if (fsz < 56 || z64 > fsz - 56 || rd32(f + z64) != 0x06064b50u)
            return axf_err_set(err, "zip64 end-of-central-directory record out of the file");
        count = rd64(f + z64 + 32);
        cd_size = rd64(f + z64 + 40);
        cd_off = rd64(f + z64 + 48);
    }
    if (cd_off > fsz || cd_size > fsz - cd_off)
        return axf_err_set(err, "zip central directory out of the file");
    if (count > cd_size / 46)
        return axf_err_set(err, "zip central directory claims %llu entries in %llu bytes",
                           (unsigned long long)count, (unsigned long long)cd_size);
    z->e = axf_xcalloc(count ? count : 1, sizeof *z->e);
    z->n = 0;
    size_t p = cd_off, end = cd_off + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 46 || rd32(f + p) != 0x02014b50u)
            return axf_err_set(err, "zip central directory entry %llu is damaged", (unsigned long long)i);
        uint16_t method = rd16(f + p + 10);
        uint64_t csize = rd32(f + p + 20), usize = rd32(f + p + 24);
        size_t nl = rd16(f + p + 28), xl = rd16(f + p + 30), cl = rd16(f + p + 32);
        uint64_t loc = rd32(f + p + 42);
        if (end - p - 46 < nl + xl + cl)
            return axf_err_set(err, "zip central directory entry %llu is damaged", (unsigned long long)i);
        const char *name = (const char *)f + p + 46;
        /* zip64 sizes and offset, in this order, for the fields that read all ones */
        const unsigned char *x = f + p + 46 + nl, *xe = x + xl;
        while (xe - x >= 4) {
            uint16_t id = rd16(x), len = rd16(x + 2);
            if ((size_t)(xe - x - 4) < len)
                break;
            if (id == 1) {
                const unsigned char *q = x + 4, *qe = q + len;
                if (usize == 0xffffffffu && qe - q >= 8)
                    usize = rd64(q), q += 8;
                if (csize == 0xffffffffu && qe - q >= 8)
                    csize = rd64(q), q += 8;
                if (loc == 0xffffffffu && qe - q >= 8)
                    loc = rd64(q);
            }
            x += 4 + len;
        }
        char nm[80];
        axf_escape(nm, sizeof nm, name, nl);
        if (method != 0)
            return axf_err_set(err, "zip entry '%s' is compressed (method %u); torch.save stores entries "
                               "uncompressed", nm, method);
        if (csize != usize)
            return axf_err_set(err, "zip entry '%s': stored sizes disagree", nm);
        if (fsz < 30 || loc > fsz - 30 || rd32(f + loc) != 0x04034b50u)
            return axf_err_set(err, "zip entry '%s': local header out of the file or damaged", nm);
        uint64_t data = loc + 30 + rd16(f + loc + 26) + rd16(f + loc + 28);
        if (data > fsz || usize > fsz - data)
            return axf_err_set(err, "zip entry '%s': data out of the file", nm);
        z->e[z->n++] = (zentry){name, nl, f + data, usize};
        p += 46 + nl + xl + cl;
    }
    return 0;
}

static const zentry *zip_find(const zdir *z, const char *prefix, size_t plen, const char *rest, size_t rlen)
{
    for (int i = 0; i < z->n; i++)
        if (z->e[i].name_len == plen + rlen && !memcmp(z->e[i].name, prefix, plen) &&
            !memcmp(z->e[i].name + plen, rest, rlen))
            return &z->e[i];
    return NULL;
}

/* ---------- the restricted unpickler ---------- */

enum { V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_TUPLE, V_LIST, V_DICT, V_GLOBAL, V_STORAGE, V_TENSOR };

typedef struct val val;
struct val {
    int kind;
    int64_t i;          /* BOOL, INT; GLOBAL: index into the allow-list */
    double f;
    char *s;            /* STR: bytes + NUL; STORAGE: key */
    size_t slen;
    val **items;        /* TUPLE, LIST; DICT: key, value, key, value ... */
    int n, cap;
    /* STORAGE */
    int dtype, esz;
    int64_t numel;
    /* TENSOR */
    val *storage;
    int64_t offset;
    int ndim;
    int64_t shape[8], stride[8];
};

enum { G_ODICT, G_REBUILD_V2, G_REBUILD_PARAM, G_STORAGE0 };
static const struct {
    const char *module, *name;
    axf_dtype dtype;
    int esz;
} allowed[] = {
    {"collections", "OrderedDict", AXF_DT_OTHER, 0},
    {"torch._utils", "_rebuild_tensor_v2", AXF_DT_OTHER, 0},
    {"torch._utils", "_rebuild_parameter", AXF_DT_OTHER, 0},
    {"torch", "FloatStorage", AXF_DT_F32, 4},
    {"torch", "HalfStorage", AXF_DT_F16, 2},
    {"torch", "BFloat16Storage", AXF_DT_BF16, 2},
    {"torch", "DoubleStorage", AXF_DT_F64, 8},
    {"torch", "LongStorage", AXF_DT_I64, 8},
    {"torch", "IntStorage", AXF_DT_I32, 4},
    {"torch", "ShortStorage", AXF_DT_I16, 2},
    {"torch", "CharStorage", AXF_DT_I8, 1},
    {"torch", "ByteStorage", AXF_DT_U8, 1},
    {"torch", "BoolStorage", AXF_DT_BOOL, 1},
};
#define N_ALLOWED ((int)(sizeof allowed / sizeof allowed[0]))

#define MAX_VALUES (1 << 24)
#define MAX_MEMO (1 << 24)
#define MAX_DEPTH (1 << 20)

typedef struct {
    const unsigned char *p, *end, *base;
    int n_memoized;     /* MEMOIZE stores at the next index */
    val **all;          /* every value made, freed together */
    int n_all, cap_all;
    val **stack;
    int sp, cap_stack;
    int *marks;
    int n_marks, cap_marks;
    val **memo;
    int cap_memo;
    axf_err *err;
} upk;

static val *mk(upk *u, int kind)
{
    if (u->n_all >= MAX_VALUES)
        return NULL;
    u->all = axf_grow(u->all, sizeof *u->all, u->n_all, &u->cap_all, 256);
    val *v = axf_xcalloc(1, sizeof *v);
    v->kind = kind;
    u->all[u->n_all++] = v;
    return v;
}

static void add_item(val *c, val *x)
{
    c->items = axf_grow(c->items, sizeof *c->items, c->n, &c->cap, 8);
    c->items[c->n++] = x;
}

static int push(upk *u, val *v)
{
    if (!v)
        return axf_err_set(u->err, "data.pkl: more than %d objects", MAX_VALUES);
    if (u->sp >= MAX_DEPTH)
        return axf_err_set(u->err, "data.pkl: stack deeper than %d", MAX_DEPTH);
    u->stack = axf_grow(u->stack, sizeof *u->stack, u->sp, &u->cap_stack, 64);
    u->stack[u->sp++] = v;
    return 0;
}

static val *pop(upk *u)
{
    int floor = u->n_marks ? u->marks[u->n_marks - 1] : 0;
    return u->sp > floor ? u->stack[--u->sp] : NULL;
}

static const char *kind_name(int k)
{
    static const char *names[] = {"None", "bool", "int", "float", "str", "tuple", "list", "dict",
                                  "global", "storage", "tensor"};
    return names[k];
}

static int need(upk *u, size_t n)
{
    if ((size_t)(u->end - u->p) < n)
        return axf_err_set(u->err, "data.pkl: truncated");
    return 0;
}

/* Items from the top mark to the stack top, removed from the stack with the mark. */
static int pop_mark(upk *u, val ***items, int *n)
{
    if (!u->n_marks)
        return axf_err_set(u->err, "data.pkl: no mark on the stack");
    int m = u->marks[--u->n_marks];
    *items = u->stack ? u->stack + m : NULL; /* no stack yet: an empty mark */
    *n = u->sp - m;
    u->sp = m;
    return 0;
}

static int memo_put(upk *u, uint64_t idx)
{
    if (!u->sp || (u->n_marks && u->sp <= u->marks[u->n_marks - 1]))
        return axf_err_set(u->err, "data.pkl: memo put with an empty stack");
    if (idx >= MAX_MEMO)
        return axf_err_set(u->err, "data.pkl: memo index %llu too large", (unsigned long long)idx);
    if ((int)idx >= u->cap_memo) {
        int nc = u->cap_memo ? u->cap_memo : 64;
        while (nc <= (int)idx)
            nc *= 2;
        u->memo = axf_xrealloc(u->memo, (size_t)nc * sizeof *u->memo);
        memset(u->memo + u->cap_memo, 0, (size_t)(nc - u->cap_memo) * sizeof *u->memo);
        u->cap_memo = nc;
    }
    u->memo[idx] = u->stack[u->sp - 1];
    return 0;
}

static int memo_get(upk *u, uint64_t idx)
{
    if (idx >= (uint64_t)u->cap_memo || !u->memo[idx])
        return axf_err_set(u->err, "data.pkl: memo index %llu never stored", (unsigned long long)idx);
    return push(u, u->memo[idx]);
}

static int int_of(const val *v, int64_t *out)
{
    if (!v || (v->kind != V_INT && v->kind != V_BOOL))
        return -1;
    *out = v->i;
    return 0;
}

/* torch.save names storages "0", "1", ...: letters, digits and '_' only (the key is a zip entry name,
 * and it is shown in messages) */
static int plain_key(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              s[i] == '_'))
            return 0;
    return 1;
}

/* persistent id ('storage', <storage type>, key, location, numel) -> storage */
static int persid(upk *u)
{
    val *pid = pop(u);
    if (!pid || pid->kind != V_TUPLE || pid->n != 5 || pid->items[0]->kind != V_STR ||
        strcmp(pid->items[0]->s, "storage") != 0)
        return axf_err_set(u->err, "data.pkl: persistent id is not ('storage', type, key, location, numel)");
    val *ty = pid->items[1], *key = pid->items[2];
    if (ty->kind != V_GLOBAL || ty->i < G_STORAGE0)
        return axf_err_set(u->err, "data.pkl: persistent id names no storage type");
    if (key->kind != V_STR || !plain_key(key->s, key->slen))
        return axf_err_set(u->err, "data.pkl: storage key is not a plain name (1 to 64 letters, digits, '_')");
    int64_t numel;
    if (int_of(pid->items[4], &numel) || numel < 0)
        return axf_err_set(u->err, "data.pkl: storage size is not a non-negative integer");
    val *s = mk(u, V_STORAGE);
    if (!s)
        return push(u, NULL);
    s->dtype = allowed[ty->i].dtype;
    s->esz = allowed[ty->i].esz;
    s->s = key->s;
    s->numel = numel;
    return push(u, s);
}

static int int_tuple(const val *t, int64_t *out, int *n)
{
    if (!t || t->kind != V_TUPLE || t->n > 8)
        return -1;
    for (int i = 0; i < t->n; i++)
        if (int_of(t->items[i], &out[i]))
            return -1;
    *n = t->n;
    return 0;
}

static int reduce(upk *u)
{
    val *args = pop(u), *fn = pop(u);
    if (!args || !fn)
        return axf_err_set(u->err, "data.pkl: REDUCE on a short stack");
    if (fn->kind != V_GLOBAL)
        return axf_err_set(u->err, "data.pkl: REDUCE of a %s, not an allowed callable", kind_name(fn->kind));
    if (args->kind != V_TUPLE)
        return axf_err_set(u->err, "data.pkl: REDUCE with %s arguments, not a tuple", kind_name(args->kind));
    if (fn->i == G_ODICT) {
        if (args->n != 0)
            return axf_err_set(u->err, "data.pkl: collections.OrderedDict called with arguments");
        return push(u, mk(u, V_DICT));
    }
    if (fn->i == G_REBUILD_PARAM) {
        if (args->n < 2 || args->items[0]->kind != V_TENSOR)
            return axf_err_set(u->err, "data.pkl: _rebuild_parameter without a tensor");
        return push(u, args->items[0]);
    }
    if (fn->i == G_REBUILD_V2) {
        if (args->n != 6 && args->n != 7)
            return axf_err_set(u->err, "data.pkl: _rebuild_tensor_v2 with %d arguments (6 or 7 expected)", args->n);
        val *st = args->items[0];
        if (st->kind != V_STORAGE)
            return axf_err_set(u->err, "data.pkl: _rebuild_tensor_v2 on a %s, not a storage", kind_name(st->kind));
        val *t = mk(u, V_TENSOR);
        if (!t)
            return push(u, NULL);
        int nd1, nd2;
        if (int_of(args->items[1], &t->offset) || t->offset < 0 || int_tuple(args->items[2], t->shape, &nd1) ||
            int_tuple(args->items[3], t->stride, &nd2) || nd1 != nd2)
            return axf_err_set(u->err, "data.pkl: _rebuild_tensor_v2 with a bad offset, size or stride "
                               "(at most 8 dimensions)");
        t->ndim = nd1;
        t->storage = st;
        return push(u, t);
    }
    return axf_err_set(u->err, "data.pkl: REDUCE of %s.%s, which only names a storage type",
                       allowed[fn->i].module, allowed[fn->i].name);
}

static int global(upk *u, const char *mod, size_t ml, const char *name, size_t nl)
{
    for (int g = 0; g < N_ALLOWED; g++)
        if (strlen(allowed[g].module) == ml && !memcmp(allowed[g].module, mod, ml) &&
            strlen(allowed[g].name) == nl && !memcmp(allowed[g].name, name, nl)) {
            val *v = mk(u, V_GLOBAL);
            if (v)
                v->i = g;
            return push(u, v);
        }
    char a[80], b[80];
    axf_escape(a, sizeof a, mod, ml);
    axf_escape(b, sizeof b, name, nl);
    return axf_err_set(u->err, "data.pkl: global '%s.%s' is not allowed (a state dict written by torch.save "
                       "needs only OrderedDict, torch._utils._rebuild_tensor_v2 and storage types); "
                       "nothing in the file was run", a, b);
}

static int str_op(upk *u, size_t n)
{
    if (need(u, n))
        return -1;
    val *v = mk(u, V_STR);
    if (!v)
        return push(u, NULL);
    v->s = axf_xmalloc(n + 1);
    memcpy(v->s, u->p, n);
    v->s[n] = 0;
    v->slen = n;
    u->p += n;
    return push(u, v);
}

static int int_op(upk *u, int64_t x)
{
    val *v = mk(u, V_INT);
    if (v)
        v->i = x;
    return push(u, v);
}

/* Appends items[0..n) to the container c and pushes c. */
static int push_filled(upk *u, val *c, val **items, int n)
{
    for (int i = 0; i < n; i++)
        add_item(c, items[i]);
    return push(u, c);
}

/* The little-endian unsigned argument of n bytes (1, 2 or 4) after an opcode. */
static int arg(upk *u, size_t n, uint64_t *x)
{
    if (need(u, n))
        return -1;
    *x = n == 1 ? *u->p : n == 2 ? rd16(u->p) : rd32(u->p);
    u->p += n;
    return 0;
}

/* Runs data.pkl to its STOP; *out the top-level value. */
static int unpickle(upk *u, val **out)
{
    for (;;) {
        if (need(u, 1))
            return -1;
        unsigned char op = *u->p++;
        switch (op) {
        case 0x80: /* PROTO */
            if (need(u, 1))
                return -1;
            if (*u->p > 5)
                return axf_err_set(u->err, "data.pkl: pickle protocol %d", *u->p);
            u->p++;
            break;
        case 0x95: /* FRAME: a length hint */
            if (need(u, 8))
                return -1;
            u->p += 8;
            break;
        case '}': /* EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, NONE */
        case ']':
        case ')':
        case 'N':
            if (push(u, mk(u, op == '}' ? V_DICT : op == ']' ? V_LIST : op == ')' ? V_TUPLE : V_NONE)))
                return -1;
            break;
        case 0x88:
        case 0x89: {
            val *v = mk(u, V_BOOL);
            if (v)
                v->i = op == 0x88;
            if (push(u, v))
                return -1;
            break;
        }
        case '(':
            if (u->n_marks == u->cap_marks) {
                if (u->cap_marks >= MAX_DEPTH)
                    return axf_err_set(u->err, "data.pkl: marks nested deeper than %d", MAX_DEPTH);
                u->cap_marks = u->cap_marks ? 2 * u->cap_marks : 16;
                u->marks = axf_xrealloc(u->marks, (size_t)u->cap_marks * sizeof *u->marks);
            }
            u->marks[u->n_marks++] = u->sp;
            break;
        case 'q': /* BINPUT */
        case 'r': /* LONG_BINPUT */
        case 'h': /* BINGET */
        case 'j': { /* LONG_BINGET */
            uint64_t idx;
            if (arg(u, op == 'q' || op == 'h' ? 1 : 4, &idx) ||
                (op == 'q' || op == 'r' ? memo_put(u, idx) : memo_get(u, idx)))
                return -1;
            break;
        }
        case 0x94: /* MEMOIZE */
            if (memo_put(u, (uint64_t)u->n_memoized++))
                return -1;
            break;
        case 'X':    /* BINUNICODE */
        case 0x8c: { /* SHORT_BINUNICODE */
            uint64_t n;
            if (arg(u, op == 'X' ? 4 : 1, &n) || str_op(u, (size_t)n))
                return -1;
            break;
        }
        case 'c': { /* GLOBAL module\nname\n */
            const unsigned char *m = u->p, *nl1 = memchr(m, '\n', (size_t)(u->end - m));
            if (!nl1)
                return axf_err_set(u->err, "data.pkl: truncated GLOBAL");
            const unsigned char *nm = nl1 + 1, *nl2 = memchr(nm, '\n', (size_t)(u->end - nm));
            if (!nl2)
                return axf_err_set(u->err, "data.pkl: truncated GLOBAL");
            u->p = nl2 + 1;
            if (global(u, (const char *)m, (size_t)(nl1 - m), (const char *)nm, (size_t)(nl2 - nm)))
                return -1;
            break;
        }
        case 0x93: { /* STACK_GLOBAL: module and name from the stack */
            val *name = pop(u), *mod = pop(u);
            if (!name || !mod || name->kind != V_STR || mod->kind != V_STR)
                return axf_err_set(u->err, "data.pkl: STACK_GLOBAL without two strings");
            if (global(u, mod->s, mod->slen, name->s, name->slen))
                return -1;
            break;
        }
        case 'Q':
            if (persid(u))
                return -1;
            break;
        case 'K': /* BININT1, BININT2: unsigned; BININT: signed 32 bits */
        case 'M':
        case 'J': {
            uint64_t x;
            if (arg(u, op == 'K' ? 1 : op == 'M' ? 2 : 4, &x) ||
                int_op(u, op == 'J' ? (int32_t)(uint32_t)x : (int64_t)x))
                return -1;
            break;
        }
        case 0x8a: { /* LONG1: n-byte little-endian two's complement */
            if (need(u, 1))
                return -1;
            int n = *u->p++;
            if (n > 8 || need(u, (size_t)n))
                return axf_err_set(u->err, "data.pkl: integer wider than 64 bits");
            uint64_t x = 0;
            for (int i = 0; i < n; i++)
                x |= (uint64_t)u->p[i] << (8 * i);
            if (n > 0 && n < 8 && (u->p[n - 1] & 0x80))
                x |= ~(uint64_t)0 << (8 * n);
            u->p += n;
            if (int_op(u, (int64_t)x))
                return -1;
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if (need(u, 8))
                return -1;
            uint64_t b = 0;
            for (int i = 0; i < 8; i++)
                b = b << 8 | u->p[i];
            u->p += 8;
            val *v = mk(u, V_FLOAT);
            if (v)
                memcpy(&v->f, &b, 8);
            if (push(u, v))
                return -1;
            break;
        }
        case 't':
        case 0x85:
        case 0x86:
        case 0x87: {
            val **items = NULL;
            int n = 0;
            if (op == 't') {
                if (pop_mark(u, &items, &n))
                    return -1;
            } else {
                n = op - 0x84;
                int floor = u->n_marks ? u->marks[u->n_marks - 1] : 0;
                if (u->sp - floor < n)
                    return axf_err_set(u->err, "data.pkl: TUPLE%d on a short stack", n);
                u->sp -= n;
                items = u->stack + u->sp;
            }
            val *t = mk(u, V_TUPLE);
            if (!t)
                return push(u, NULL);
            if (push_filled(u, t, items, n))
                return -1;
            break;
        }
        case 'a':
        case 'e': {
            val **items = NULL, *one;
            int n = 0;
            if (op == 'a') {
                if (!(one = pop(u)))
                    return axf_err_set(u->err, "data.pkl: APPEND on a short stack");
                items = &one;
                n = 1;
            } else if (pop_mark(u, &items, &n))
                return -1;
            val *l = pop(u);
            if (!l || l->kind != V_LIST)
                return axf_err_set(u->err, "data.pkl: APPEND to a %s", l ? kind_name(l->kind) : "missing object");
            if (push_filled(u, l, items, n))
                return -1;
            break;
        }
        case 's':
        case 'u': {
            val **items = NULL, *kv[2];
            int n = 0;
            if (op == 's') {
                kv[1] = pop(u);
                kv[0] = pop(u);
                if (!kv[0] || !kv[1])
                    return axf_err_set(u->err, "data.pkl: SETITEM on a short stack");
                items = kv;
                n = 2;
            } else if (pop_mark(u, &items, &n))
                return -1;
            if (n % 2)
                return axf_err_set(u->err, "data.pkl: SETITEMS with an odd number of items");
            val *d = pop(u);
            if (!d || d->kind != V_DICT)
                return axf_err_set(u->err, "data.pkl: SETITEM on a %s", d ? kind_name(d->kind) : "missing object");
            for (int i = 0; i < n; i++)
                add_item(d, items[i]);
            if (push(u, d))
                return -1;
            break;
        }
        case 'b': { /* BUILD: only the attributes of an OrderedDict (its _metadata), dropped */
            val *state = pop(u), *obj = pop(u);
            if (!state || !obj)
                return axf_err_set(u->err, "data.pkl: BUILD on a short stack");
            if (obj->kind != V_DICT || (state->kind != V_DICT && state->kind != V_NONE && state->kind != V_TUPLE))
                return axf_err_set(u->err, "data.pkl: BUILD of a %s with a %s", kind_name(obj->kind),
                                   kind_name(state->kind));
            if (push(u, obj))
                return -1;
            break;
        }
        case 'R':
            if (reduce(u))
                return -1;
            break;
        case '.': {
            val *v = pop(u);
            if (!v || u->sp != 0 || u->n_marks)
                return axf_err_set(u->err, "data.pkl: STOP with %s", v ? "items left on the stack" : "an empty stack");
            *out = v;
            return 0;
        }
        default:
            return axf_err_set(u->err, "data.pkl: pickle opcode 0x%02x at byte %zu is not one torch.save writes "
                               "for a state dict", op, (size_t)(u->p - 1 - u->base));
        }
    }
}

static void upk_free(upk *u)
{
    for (int i = 0; i < u->n_all; i++) {
        val *v = u->all[i];
        if (v->kind == V_STR)
            free(v->s);
        free(v->items);
        free(v);
    }
    AXF_FREE(u->all, u->stack, u->marks, u->memo);
}

/* ---------- the checkpoint ---------- */

/* name: the tensor's name as stored; shown: the same escaped for messages */
static int check_tensor(const char *name, const char *shown, const val *t, const zdir *z, const char *prefix,
                        size_t plen, axf_st_tensor *out, axf_err *err)
{
    const val *st = t->storage;
    char rest[96];
    int rl = snprintf(rest, sizeof rest, "data/%s", st->s);
    const zentry *e = zip_find(z, prefix, plen, rest, (size_t)rl);
    if (!e)
        return axf_err_set(err, "tensor '%s': its storage '%s' is not in the archive", shown, st->s);
    if ((uint64_t)st->numel > e->size / (uint64_t)st->esz || e->size != (uint64_t)st->numel * (uint64_t)st->esz)
        return axf_err_set(err, "tensor '%s': storage '%s' says %lld elements of %d bytes, the archive holds "
                           "%llu bytes", shown, st->s, (long long)st->numel, st->esz, (unsigned long long)e->size);
    int64_t count = 1, expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] < 0)
            return axf_err_set(err, "tensor '%s': negative dimension", shown);
        if (t->shape[d] > 1 && t->stride[d] != expect)
            return axf_err_set(err, "tensor '%s': not contiguous (strides of a transposed or sliced view); "
                               "save a .contiguous() copy", shown);
        if (t->shape[d] && count > INT64_MAX / t->shape[d])
            return axf_err_set(err, "tensor '%s': shape overflows", shown);
        count *= t->shape[d];
        expect = count;
    }
    if (t->offset > st->numel || count > st->numel - t->offset)
        return axf_err_set(err, "tensor '%s': %lld elements from element %lld, outside its storage of %lld",
                           shown, (long long)count, (long long)t->offset, (long long)st->numel);
    out->name = axf_xstrdup(name);
    out->dtype = (axf_dtype)st->dtype;
    out->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++)
        out->shape[d] = t->shape[d];
    out->data = e->data + (size_t)t->offset * (size_t)st->esz;
    out->nbytes = (size_t)count * (size_t)st->esz;
    return 0;
}

static int read_state_dict(axf_st_file *f, const zdir *z, axf_err *err)
{
    /* the pickle: the one entry <folder>/data.pkl */
    const zentry *pk = NULL;
    size_t plen = 0;
    for (int i = 0; i < z->n; i++) {
        const zentry *e = &z->e[i];
        if (e->name_len >= 9 && !memcmp(e->name + e->name_len - 9, "/data.pkl", 9) &&
            memchr(e->name, '/', e->name_len - 9) == NULL) {
            if (pk)
                return axf_err_set(err, "two data.pkl entries in the archive");
            pk = e;
            plen = e->name_len - 8;
        }
    }
    if (!pk)
        return axf_err_set(err, "no data.pkl in the archive: not a PyTorch checkpoint");
    const zentry *bo = zip_find(z, pk->name, plen, "byteorder", 9);
    if (bo && !(bo->size == 6 && !memcmp(bo->data, "little", 6)))
        return axf_err_set(err, "byteorder is not 'little'");

    upk u = {.p = pk->data, .end = pk->data + pk->size, .base = pk->data, .err = err};
    val *top = NULL;
    int rc = unpickle(&u, &top);
    if (!rc && top->kind != V_DICT)
        rc = axf_err_set(err, "data.pkl: holds a %s, not a state dict (name -> tensor)", kind_name(top->kind));
    if (!rc) {
        int n = top->n / 2;
        f->t = axf_xcalloc(n ? (size_t)n : 1, sizeof *f->t);
        for (int i = 0; i < n && !rc; i++) {
            const val *k = top->items[2 * i], *v = top->items[2 * i + 1];
            char nm[80];
            if (k->kind != V_STR)
                rc = axf_err_set(err, "data.pkl: a key of the state dict is a %s, not a name", kind_name(k->kind));
            else if (axf_escape(nm, sizeof nm, k->s, k->slen), strlen(k->s) != k->slen)
                rc = axf_err_set(err, "data.pkl: tensor name '%s' holds a NUL byte", nm);
            else if (v->kind != V_TENSOR)
                rc = axf_err_set(err, "data.pkl: entry '%s' is a %s, not a tensor", nm, kind_name(v->kind));
            else if (axf_st_find(f, k->s))
                rc = axf_err_set(err, "data.pkl: tensor '%s' appears twice", nm);
            else if (!(rc = check_tensor(k->s, nm, v, z, pk->name, plen, &f->t[f->n], err)))
                f->n++;
        }
    }
    upk_free(&u);
    return rc;
}

axf_st_file *axf_torchbin_open(const char *path, axf_err *err)
{
    axf_st_file *f = axf_xcalloc(1, sizeof *f);
    f->path = axf_xstrdup(path);
    zdir z = {0};
    if (axf_io_map_file(path, 4, "a PyTorch checkpoint", &f->map, &f->map_size, err))
        goto fail;
    const unsigned char *b = f->map;
    if (rd32(b) != 0x04034b50u) {
        if (b[0] == 0x80)
            axf_err_set(err, "%s: a PyTorch checkpoint in the legacy (pre-1.6) format, which is not read; convert "
                        "it with torch: torch.save(torch.load(F, weights_only=True), F) writes the zip format "
                        "(or save it as model.safetensors)", path);
        else
            axf_err_set(err, "%s: not a PyTorch checkpoint (no zip signature)", path);
        goto fail;
    }
    if (zip_read(b, f->map_size, &z, err) || read_state_dict(f, &z, err)) {
        axf_err_prefix(err, "%s", path);
        goto fail;
    }
    free(z.e);
    return f;
fail:
    free(z.e);
    axf_st_close(f);
    return NULL;
}
