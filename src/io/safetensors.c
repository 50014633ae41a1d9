/* safetensors reader and writer.
 *
 * The reader maps the file and validates everything before handing out a pointer: a checkpoint
 * from the internet is untrusted input, and the engine indexes weights without bounds checks.
 * Assumes a little-endian host (as the format does). */
#include "axf/safetensors.h"
#include "axf/fileio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u * 1000u * 1000u)
#define ST_MAX_INT 9007199254740992.0 /* 2^53: larger JSON numbers are not exact doubles */

static const struct {
    const char *name;
    axf_dtype dt;
    int size;
} dtypes[] = {
    {"F32", AXF_DT_F32, 4},  {"F16", AXF_DT_F16, 2},     {"BF16", AXF_DT_BF16, 2},
    {"I64", AXF_DT_I64, 8},  {"I32", AXF_DT_I32, 4},     {"U8", AXF_DT_U8, 1},
    {"BOOL", AXF_DT_BOOL, 1}, {"F64", AXF_DT_F64, 8},    {"I8", AXF_DT_I8, 1},
    {"I16", AXF_DT_I16, 2},  {"U16", AXF_DT_OTHER, 2},   {"U32", AXF_DT_OTHER, 4},
    {"U64", AXF_DT_OTHER, 8}, {"F8_E4M3", AXF_DT_OTHER, 1}, {"F8_E5M2", AXF_DT_OTHER, 1},
};

static int dtype_lookup(const char *s, axf_dtype *dt, int *size)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(s, dtypes[i].name) == 0) {
            *dt = dtypes[i].dt;
            *size = dtypes[i].size;
            return 0;
        }
    return -1;
}

static int elem_size(axf_dtype dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dt == dt)
            return dtypes[i].size;
    return 0;
}

void axf_st_close(axf_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->t[i].name);
    free(f->t);
    if (f->map && f->map != MAP_FAILED)
        munmap(f->map, f->map_size);
    free(f->path);
    free(f);
}

/* A JSON number that is a non-negative integer exactly representable as a double. */
static int json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return -1;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_INT) || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}

typedef struct {
    size_t begin, end;
    int idx;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    const axf_st_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int parse_entry(const char *path, const cJSON *e, axf_st_tensor *t, size_t *begin,
                       size_t *end, axf_err *err)
{
    char name[96]; /* for messages: a name may hold any character */
    axf_escape_str(name, sizeof name, e->string);
    if (!cJSON_IsObject(e))
        return axf_err_set(err, "%s: tensor '%s': header entry is not an object", path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return axf_err_set(err, "%s: tensor '%s': missing or non-string dtype", path, name);
    int esz;
    if (dtype_lookup(dt->valuestring, &t->dtype, &esz) != 0)
        return axf_err_set(err, "%s: tensor '%s': unknown dtype '%s'", path, name,
                           axf_escape_str((char[48]){0}, 48, dt->valuestring));
    if (!cJSON_IsArray(sh))
        return axf_err_set(err, "%s: tensor '%s': missing or non-array shape", path, name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > 8)
        return axf_err_set(err, "%s: tensor '%s': %d dimensions, at most 8 supported", path, name, nd);
    t->ndim = nd;
    /* Overflow-safe: the product may not exceed the data area, which is below 2^63. */
    unsigned __int128 count = 1;
    int k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, sh)
    {
        uint64_t v;
        if (json_uint(d, &v) != 0)
            return axf_err_set(err, "%s: tensor '%s': shape entry %d is not a non-negative integer",
                               path, name, k);
        t->shape[k++] = (int64_t)v;
        count *= v;
        if (count > ((unsigned __int128)1 << 64))
            count = (unsigned __int128)1 << 64; /* saturate: already far too large */
    }
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return axf_err_set(err, "%s: tensor '%s': data_offsets must be [begin, end]", path, name);
    uint64_t b, en;
    if (json_uint(cJSON_GetArrayItem(off, 0), &b) != 0 || json_uint(cJSON_GetArrayItem(off, 1), &en) != 0)
        return axf_err_set(err, "%s: tensor '%s': data_offsets are not non-negative integers", path, name);
    if (en < b)
        return axf_err_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] end before begin", path,
                           name, (unsigned long long)b, (unsigned long long)en);
    unsigned __int128 need = count * (unsigned)esz;
    if (need != (unsigned __int128)(en - b)) {
        char shs[160] = "";
        size_t p = 0;
        for (int i = 0; i < nd && p < sizeof shs - 24; i++)
            p += (size_t)snprintf(shs + p, sizeof shs - p, "%s%lld", i ? ", " : "",
                                  (long long)t->shape[i]);
        return axf_err_set(err, "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape "
                           "[%s] of %s needs %.0f", path, name, (unsigned long long)b,
                           (unsigned long long)en, (unsigned long long)(en - b), shs, dt->valuestring,
                           (double)need);
    }
    *begin = (size_t)b;
    *end = (size_t)en;
    t->nbytes = (size_t)(en - b);
    return 0;
}

/* The header of the mapped file f: its 8-byte little-endian size, then a JSON object, parsed from
 * a NUL-terminated copy (the parser then never depends on bytes past the header). *hdr_size: the
 * header's bytes. NULL with err. */
static cJSON *read_header(const axf_st_file *f, uint64_t *hdr_size, axf_err *err)
{
    const char *path = f->path;
    const unsigned char *base = f->map;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | base[i];
    *hdr_size = n;
    if (n > ST_MAX_HEADER)
        return axf_err_set(err, "%s: header size %llu exceeds the 100 MB limit (not a safetensors file?)", path,
                           (unsigned long long)n), NULL;
    if (n + 8 > f->map_size)
        return axf_err_set(err, "%s: truncated: header size %llu but the file has only %zu bytes", path,
                           (unsigned long long)n, f->map_size), NULL;
    if (n < 2 || base[8] != '{')
        return axf_err_set(err, "%s: header does not start with '{' (not a safetensors file?)", path), NULL;
    char *hdr = axf_xmalloc((size_t)n + 1);
    memcpy(hdr, base + 8, (size_t)n);
    hdr[n] = 0;
    const char *endp = NULL;
    char where[4200];
    cJSON *root = NULL;
    snprintf(where, sizeof where, "%s: header", path);
    if (axf_json_check(hdr, (size_t)n, where, err) != 0) /* duplicate names, a NUL in a name, ... */
        goto out;
    root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &endp, 0);
    if (!root || !cJSON_IsObject(root)) {
        size_t at = endp ? (size_t)(endp - hdr) : 0;
        if (!root) {
            const char *ep = cJSON_GetErrorPtr();
            if (ep && ep >= hdr && ep <= hdr + n)
                at = (size_t)(ep - hdr);
        }
        axf_err_set(err, "%s: header is not valid JSON (near byte %zu of %llu)", path, at, (unsigned long long)n);
        cJSON_Delete(root);
        root = NULL;
        goto out;
    }
    for (const char *q = endp; q < hdr + n; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
            axf_err_set(err, "%s: header has trailing bytes after the JSON object", path);
            cJSON_Delete(root);
            root = NULL;
            goto out;
        }
out:
    free(hdr);
    return root;
}

/* The header's tensors into f->t (the data area: data[0..data_size)), and their byte ranges into
 * sp[0..f->n). */
static int read_entries(axf_st_file *f, const cJSON *root, const unsigned char *data, size_t data_size, span *sp,
                        axf_err *err)
{
    char shown[96]; /* a tensor name for a message */
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        if (!e->string)
            return axf_err_set(err, "%s: header entry without a name", f->path);
        if (strcmp(e->string, "__metadata__") == 0)
            continue;
        axf_st_tensor *t = &f->t[f->n];
        t->name = axf_xstrdup(e->string);
        f->n++;
        size_t b = 0, en = 0;
        if (parse_entry(f->path, e, t, &b, &en, err) != 0)
            return -1;
        if (en > data_size)
            return axf_err_set(err, "%s: tensor '%s': data_offsets [%zu, %zu] outside the data area of %zu "
                               "bytes (truncated file?)", f->path, axf_escape_str(shown, sizeof shown, t->name), b,
                               en, data_size);
        t->data = data + b;
        sp[f->n - 1] = (span){b, en, f->n - 1};
    }
    return 0;
}

/* No name twice. */
static int check_names(const axf_st_file *f, axf_err *err)
{
    char shown[96];
    int rc = 0;
    const axf_st_tensor **byname = axf_xcalloc((size_t)(f->n ? f->n : 1), sizeof *byname);
    for (int i = 0; i < f->n; i++)
        byname[i] = &f->t[i];
    qsort(byname, (size_t)f->n, sizeof *byname, cmp_name);
    for (int i = 1; i < f->n && !rc; i++)
        if (strcmp(byname[i - 1]->name, byname[i]->name) == 0)
            rc = axf_err_set(err, "%s: tensor '%s' appears twice in the header", f->path,
                             axf_escape_str(shown, sizeof shown, byname[i]->name));
    free(byname);
    return rc;
}

/* The tensors' byte ranges sp[0..f->n) tile the data area of data_size bytes: no overlap, no hole,
 * nothing after. Sorts sp. */
static int check_coverage(const axf_st_file *f, span *sp, size_t data_size, axf_err *err)
{
    char shown[96];
    qsort(sp, (size_t)f->n, sizeof *sp, cmp_span);
    size_t pos = 0;
    for (int i = 0; i < f->n; i++) {
        if (sp[i].begin < pos)
            return axf_err_set(err, "%s: tensor '%s': data_offsets [%zu, %zu] overlap the previous tensor "
                               "(ending at %zu)", f->path, axf_escape_str(shown, sizeof shown, f->t[sp[i].idx].name),
                               sp[i].begin, sp[i].end, pos);
        if (sp[i].begin > pos)
            return axf_err_set(err, "%s: tensor '%s': hole in the data area: bytes [%zu, %zu) belong to no "
                               "tensor", f->path, axf_escape_str(shown, sizeof shown, f->t[sp[i].idx].name), pos,
                               sp[i].begin);
        pos = sp[i].end;
    }
    if (pos != data_size)
        return axf_err_set(err, "%s: data area has %zu bytes but the tensors cover only %zu (trailing "
                           "bytes)", f->path, data_size, pos);
    return 0;
}

axf_st_file *axf_st_open(const char *path, axf_err *err)
{
    axf_st_file *f = axf_xcalloc(1, sizeof *f);
    f->path = axf_xstrdup(path);
    cJSON *root = NULL;
    span *sp = NULL;
    uint64_t n;
    if (axf_io_map_file(path, 8, "a safetensors file", &f->map, &f->map_size, err) ||
        !(root = read_header(f, &n, err)))
        goto fail;
    size_t data_size = f->map_size - 8 - (size_t)n;
    const unsigned char *data = (const unsigned char *)f->map + 8 + n;
    int cap = cJSON_GetArraySize(root);
    f->t = axf_xcalloc((size_t)(cap ? cap : 1), sizeof *f->t);
    sp = axf_xcalloc((size_t)(cap ? cap : 1), sizeof *sp);
    if (read_entries(f, root, data, data_size, sp, err) || check_names(f, err) ||
        check_coverage(f, sp, data_size, err))
        goto fail;
    free(sp);
    cJSON_Delete(root);
    return f;
fail:
    free(sp);
    cJSON_Delete(root);
    axf_st_close(f);
    return NULL;
}

const axf_st_tensor *axf_st_find(const axf_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

/* IEEE half to single, exact for every input (subnormals, infinities, NaN payload kept). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            /* subnormal: value = man * 2^-24; renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

int axf_st_read_f32(const axf_st_tensor *t, float *out, size_t n, axf_err *err)
{
    int esz = elem_size(t->dtype);
    size_t count = esz ? t->nbytes / (size_t)esz : 0;
    if (count != n)
        return axf_err_set(err, "tensor '%s': has %zu elements, %zu expected", t->name, count, n);
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case AXF_DT_F32:
        memcpy(out, p, n * 4);
        return 0;
    case AXF_DT_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = half_to_float((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        return 0;
    case AXF_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
            memcpy(&out[i], &bits, 4);
        }
        return 0;
    case AXF_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
        }
        return 0;
    default:
        return axf_err_set(err, "tensor '%s': dtype is not floating point (F32/F16/BF16/F64 expected)",
                           t->name);
    }
}

static int write_all(FILE *fp, const void *p, size_t n) { return fwrite(p, 1, n, fp) == n ? 0 : -1; }

int axf_st_write(const char *path, const axf_st_entry *e, int n, axf_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (!e[i].name || !*e[i].name || strcmp(e[i].name, "__metadata__") == 0) {
            cJSON_Delete(root);
            return axf_err_set(err, "%s: entry %d has an invalid name", path, i);
        }
        if (cJSON_GetObjectItemCaseSensitive(root, e[i].name)) {
            cJSON_Delete(root);
            return axf_err_set(err, "%s: tensor '%s' given twice", path, e[i].name);
        }
        if (e[i].ndim < 0 || e[i].ndim > 4) {
            cJSON_Delete(root);
            return axf_err_set(err, "%s: tensor '%s': ndim %d out of range 0..4", path, e[i].name,
                               e[i].ndim);
        }
        if (e[i].dtype != AXF_DT_F32 && e[i].dtype != AXF_DT_I8) {
            cJSON_Delete(root);
            return axf_err_set(err, "%s: tensor '%s': only F32 and I8 are written", path, e[i].name);
        }
        size_t count = 1, es = e[i].dtype == AXF_DT_I8 ? 1 : 4;
        cJSON *t = cJSON_AddObjectToObject(root, e[i].name);
        cJSON_AddStringToObject(t, "dtype", e[i].dtype == AXF_DT_I8 ? "I8" : "F32");
        cJSON *sh = cJSON_AddArrayToObject(t, "shape");
        for (int k = 0; k < e[i].ndim; k++) {
            if (e[i].shape[k] < 0) {
                cJSON_Delete(root);
                return axf_err_set(err, "%s: tensor '%s': negative dimension", path, e[i].name);
            }
            count *= (size_t)e[i].shape[k];
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e[i].shape[k]));
        }
        if (count && !e[i].data) {
            cJSON_Delete(root);
            return axf_err_set(err, "%s: tensor '%s' has no data", path, e[i].name);
        }
        cJSON *of = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + es * count)));
        off += es * count;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t jn = strlen(json);
    size_t hn = (jn + 7) / 8 * 8; /* keeps the data area 8-byte aligned in the file */

    char *tmp;
    FILE *fp = axf_io_atomic_open(path, &tmp, err);
    if (!fp) {
        free(json);
        return -1;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hn >> (8 * i));
    int bad = write_all(fp, len8, 8) || write_all(fp, json, jn);
    for (size_t i = jn; i < hn && !bad; i++)
        bad = fputc(' ', fp) == EOF;
    for (int i = 0; i < n && !bad; i++) {
        size_t count = 1;
        for (int k = 0; k < e[i].ndim; k++)
            count *= (size_t)e[i].shape[k];
        if (count)
            bad = write_all(fp, e[i].data, (e[i].dtype == AXF_DT_I8 ? 1 : 4) * count);
    }
    free(json);
    return axf_io_atomic_close(fp, tmp, path, bad, err);
}
