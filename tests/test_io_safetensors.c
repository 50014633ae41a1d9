/* safetensors: writer round trip and layout, F16/BF16/F64 conversion from hand-made files, and
 * every malformed-file refusal (each must be one line naming the file and the problem), plus a
 * mutation sweep that must never crash. */
#include "axf/safetensors.h"
#include "check.h"
#include "io_testutil.h"

#include <glob.h>
#include <math.h>

static char *tmp;

static void expect_bad(const char *what, const char *hdr, uint64_t size_field, const void *data,
                       size_t n, const char *needle)
{
    char *p = tu_path(tmp, "bad.safetensors");
    tu_write_st(p, hdr, size_field, data, n);
    axf_err err = {{0}};
    axf_st_file *f = axf_st_open(p, &err);
    CHECK_MSG(f == NULL, "%s: accepted", what);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
    CHECK_MSG(strstr(err.msg, "bad.safetensors") != NULL, "%s: message '%s' lacks the file", what,
              err.msg);
    CHECK_MSG(strchr(err.msg, '\n') == NULL, "%s: multi-line message", what);
    if (!f && strstr(err.msg, needle))
        printf("ok %-24s %s\n", what, err.msg);
    axf_st_close(f);
}

static void expect_bad_hdr(const char *what, const char *hdr, size_t data_n, const char *needle)
{
    static unsigned char zeros[4096];
    expect_bad(what, hdr, strlen(hdr), zeros, data_n, needle);
}

static void test_write_read(void)
{
    axf_err err;
    float a[6] = {1, -2, 3.5f, 1e-30f, -0.0f, 65504};
    float b[1] = {42};
    float c[4] = {0.25f, 0.5f, 0.75f, 1};
    const int8_t q[3] = {-127, 0, 127};
    axf_st_entry e[5] = {
        {"a.weight", a, 2, {2, 3}, AXF_DT_F32},
        {"scalar", b, 0, {0}, AXF_DT_F32},
        {"empty", NULL, 2, {0, 5}, AXF_DT_F32},
        {"c\"quoted\\name", c, 1, {4}, AXF_DT_F32},
        {"q", q, 2, {1, 3}, AXF_DT_I8},
    };
    char *p = tu_path(tmp, "w.safetensors");
    CHECK(axf_st_write(p, e, 5, &err) == 0);
    glob_t g; /* no temporary file (w.safetensors.<pid>-<n>.tmp) left beside it */
    CHECK(glob(tu_path(tmp, "w.safetensors*.tmp"), 0, NULL, &g) == GLOB_NOMATCH);
    globfree(&g);
    FILE *fp = fopen(p, "rb");
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--)
        hn = (hn << 8) | buf[i];
    CHECK((8 + hn) % 8 == 0);
    CHECK(n == 8 + hn + 4 * (6 + 1 + 0 + 4) + 3);
    CHECK(buf[8] == '{' && buf[8 + hn - 1] != 0);
    CHECK(memmem(buf + 8, hn, "\"__metadata__\":{\"format\":\"pt\"}", 30) != NULL);

    axf_st_file *f = axf_st_open(p, &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (!f)
        return;
    CHECK(f->n == 5);
    const axf_st_tensor *tq = axf_st_find(f, "q");   /* int8: one byte each, as written */
    CHECK(tq && tq->dtype == AXF_DT_I8 && tq->nbytes == 3 && !memcmp(tq->data, q, 3));
    const axf_st_tensor *t = axf_st_find(f, "a.weight");
    CHECK(t && t->dtype == AXF_DT_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    float out[6];
    CHECK(t && axf_st_read_f32(t, out, 6, &err) == 0 && memcmp(out, a, sizeof a) == 0);
    CHECK(t && axf_st_read_f32(t, out, 5, &err) == -1 && strstr(err.msg, "a.weight"));
    t = axf_st_find(f, "scalar");
    CHECK(t && t->ndim == 0 && axf_st_read_f32(t, out, 1, &err) == 0 && out[0] == 42);
    t = axf_st_find(f, "empty");
    CHECK(t && t->nbytes == 0 && axf_st_read_f32(t, out, 0, &err) == 0);
    t = axf_st_find(f, "c\"quoted\\name");
    CHECK(t && axf_st_read_f32(t, out, 4, &err) == 0 && out[3] == 1);
    CHECK(axf_st_find(f, "__metadata__") == NULL && axf_st_find(f, "nope") == NULL);
    axf_st_close(f);

    axf_st_entry d[2] = {{"x", b, 1, {1}, AXF_DT_F32}, {"x", b, 1, {1}, AXF_DT_F32}};
    CHECK(axf_st_write(p, d, 2, &err) == -1 && strstr(err.msg, "'x' given twice"));
    axf_st_entry neg[1] = {{"x", b, 1, {-1}, AXF_DT_F32}};
    axf_st_entry odd[1] = {{"x", b, 1, {1}, AXF_DT_BF16}};
    CHECK(axf_st_write(p, odd, 1, &err) == -1 && strstr(err.msg, "only F32 and I8"));
    CHECK(axf_st_write(p, neg, 1, &err) == -1 && strstr(err.msg, "negative"));
    CHECK(axf_st_write(tu_path(tmp, "no/such/dir/x.safetensors"), e, 1, &err) == -1 &&
          strstr(err.msg, "no/such/dir"));
    axf_st_close(NULL);
}

static void test_conversions(void)
{
    axf_err err;
    /* F16: bit patterns and their exact values */
    static const uint16_t h[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00,
                                 0xfc00, 0x7e00, 0x8000, 0x3555, 0x8001};
    float hv[] = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-8f, 6.0975551605224609375e-5f,
                  6.103515625e-5f, INFINITY, -INFINITY, NAN, -0.0f, 0.333251953125f,
                  -5.9604644775390625e-8f};
    /* BF16: top halves of float32 */
    static const uint16_t bf[] = {0x3f80, 0xc040, 0x7f80, 0x0001, 0x3e4d};
    float bv[] = {1.0f, -3.0f, INFINITY, 0, 0.2001953125f};
    uint32_t sub = 0x00010000u;
    memcpy(&bv[3], &sub, 4);
    double dv[3] = {0.1, -1e300, 3.0};
    int64_t iv[2] = {1, 2};
    unsigned char data[24 + 10 + 24 + 16];
    for (int i = 0; i < 12; i++) {
        data[2 * i] = h[i] & 0xff;
        data[2 * i + 1] = h[i] >> 8;
    }
    for (int i = 0; i < 5; i++) {
        data[24 + 2 * i] = bf[i] & 0xff;
        data[24 + 2 * i + 1] = bf[i] >> 8;
    }
    memcpy(data + 34, dv, 24);
    memcpy(data + 58, iv, 16);
    const char *hdr = "{\"h\":{\"dtype\":\"F16\",\"shape\":[3,4],\"data_offsets\":[0,24]},"
                      "\"__metadata__\":{\"anything\":\"goes\"},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[24,34]},"
                      "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[34,58]},"
                      "\"i\":{\"dtype\":\"I64\",\"shape\":[1,2],\"data_offsets\":[58,74]}}  ";
    char *p = tu_path(tmp, "conv.safetensors");
    tu_write_st(p, hdr, strlen(hdr), data, sizeof data);
    axf_st_file *f = axf_st_open(p, &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (!f)
        return;
    float out[12];
    const axf_st_tensor *t = axf_st_find(f, "h");
    CHECK(t && t->dtype == AXF_DT_F16 && axf_st_read_f32(t, out, 12, &err) == 0);
    for (int i = 0; i < 12; i++) {
        if (isnan(hv[i]))
            CHECK(isnan(out[i]));
        else
            CHECK_MSG(memcmp(&out[i], &hv[i], 4) == 0, "F16 %04x -> %.10g, want %.10g", h[i],
                      out[i], hv[i]);
    }
    t = axf_st_find(f, "b");
    CHECK(t && t->dtype == AXF_DT_BF16 && axf_st_read_f32(t, out, 5, &err) == 0);
    for (int i = 0; i < 5; i++)
        CHECK_MSG(memcmp(&out[i], &bv[i], 4) == 0, "BF16 %04x -> %.10g", bf[i], out[i]);
    t = axf_st_find(f, "d");
    CHECK(t && axf_st_read_f32(t, out, 3, &err) == 0 && out[0] == 0.1f && isinf(out[1]) &&
          out[2] == 3.0f);
    t = axf_st_find(f, "i");
    CHECK(t && t->dtype == AXF_DT_I64 && axf_st_read_f32(t, out, 2, &err) == -1 &&
          strstr(err.msg, "'i'") && strstr(err.msg, "not floating"));
    axf_st_close(f);

    /* every F16 value agrees with the hardware conversion where the compiler has one */
#ifdef __FLT16_MAX__
    unsigned char all[2 * 65536];
    for (int i = 0; i < 65536; i++) {
        all[2 * i] = (unsigned char)(i & 0xff);
        all[2 * i + 1] = (unsigned char)(i >> 8);
    }
    const char *ah = "{\"all\":{\"dtype\":\"F16\",\"shape\":[65536],\"data_offsets\":[0,131072]}}";
    tu_write_st(p, ah, strlen(ah), all, sizeof all);
    f = axf_st_open(p, &err);
    float *o = malloc(65536 * sizeof(float));
    CHECK(f && axf_st_read_f32(&f->t[0], o, 65536, &err) == 0);
    int bad = 0;
    for (int i = 0; f && i < 65536; i++) {
        _Float16 x;
        uint16_t u = (uint16_t)i;
        memcpy(&x, &u, 2);
        float want = (float)x;
        if (!(isnan(want) ? isnan(o[i]) : memcmp(&want, &o[i], 4) == 0))
            bad++;
    }
    CHECK_MSG(bad == 0, "%d F16 values converted wrongly", bad);
    free(o);
    axf_st_close(f);
#endif
}

static void test_malformed(void)
{
    const char *ok1 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    unsigned char z[64] = {0};
    /* sanity: the base case opens */
    tu_write_st(tu_path(tmp, "ok.safetensors"), ok1, strlen(ok1), z, 8);
    axf_err err;
    axf_st_file *f = axf_st_open(tu_path(tmp, "ok.safetensors"), &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    axf_st_close(f);

    expect_bad("zero header", "", 0, NULL, 0, "does not start with"); /* 8 zero bytes: N = 0 */
    {
        char *p = tu_path(tmp, "bad.safetensors");
        tu_write(p, "abc", 3);
        f = axf_st_open(p, &err);
        CHECK(f == NULL && strstr(err.msg, "truncated") && strstr(err.msg, "bad.safetensors"));
    }
    CHECK(axf_st_open(tu_path(tmp, "missing.safetensors"), &err) == NULL &&
          strstr(err.msg, "missing.safetensors"));
    CHECK(axf_st_open(tmp, &err) == NULL && strstr(err.msg, "not a regular file"));
    expect_bad("header larger than file", ok1, strlen(ok1) + 100, z, 8, "truncated");
    expect_bad("header size too large", ok1, 200000000ull, z, 8, "exceeds the 100 MB limit");
    expect_bad("header size huge", ok1, ~0ull, z, 8, "exceeds");
    expect_bad("truncated data", ok1, strlen(ok1), z, 4, "outside the data area");
    expect_bad_hdr("not an object", "[1, 2, 3]", 0, "does not start with '{'");
    expect_bad_hdr("cut JSON", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offs", 8,
                   "header: line 1: truncated JSON");
    expect_bad_hdr("garbled JSON", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0;8]}}", 8,
                   "header: line 1: not valid JSON: ',' or ']' expected");
    expect_bad_hdr("trailing junk", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}xx", 8,
                   "header: line 1: trailing text after the JSON value");
    expect_bad_hdr("unknown dtype", "{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "'a': unknown dtype 'F17'");
    /* issue 13, found by fuzzing: file text in messages escaped; a NUL inside a name cut it short */
    expect_bad_hdr("dtype with escapes", "{\"a\":{\"dtype\":\"F3\\n2\\u001b[0m\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "'a': unknown dtype 'F3\\n2\\x1b[0m'");
    expect_bad_hdr("name with escapes", "{\"a\\r\\u001b]0;x\\u0007\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "tensor 'a\\r\\x1b]0;x\\x07': unknown dtype 'F17'");
    expect_bad_hdr("NUL in a name", "{\"classifier.bias\\u0000junk\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "header: line 1: a string holds \\u0000 (NUL)");
    expect_bad_hdr("NUL in a dtype", "{\"a\":{\"dtype\":\"F32\\u0000\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "\\u0000");
    expect_bad_hdr("dtype not string", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "dtype");
    expect_bad_hdr("shape/size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                   8, "'a': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12");
    expect_bad_hdr("F16 size mismatch", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,4]}}",
                   4, "needs 8");
    expect_bad_hdr("shape overflow",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}",
                   8, "'a'");
    expect_bad_hdr("negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                   "shape entry 0");
    expect_bad_hdr("fractional dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8,
                   "shape entry 0");
    expect_bad_hdr("too many dims",
                   "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
                   "9 dimensions");
    expect_bad_hdr("no shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "shape");
    expect_bad_hdr("offsets not pair", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
                   "data_offsets");
    expect_bad_hdr("offsets negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8,
                   "data_offsets");
    expect_bad_hdr("end before begin", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8,
                   "end before begin");
    expect_bad_hdr("offsets out of range",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8,
                   "'a': data_offsets [8, 16] outside the data area of 8 bytes");
    expect_bad_hdr("offsets beyond 2^53",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1e300,1e300]}}", 8,
                   "data_offsets");
    expect_bad_hdr("overlap",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
    expect_bad_hdr("same range twice",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlap");
    expect_bad_hdr("hole",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16,
                   "'b': hole in the data area: bytes [8, 12)");
    expect_bad_hdr("hole at start", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                   "hole");
    expect_bad_hdr("trailing data", ok1, 12, "cover only 8");
    expect_bad_hdr("duplicate names",
                   "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                   "'a' appears twice");
    expect_bad_hdr("entry not object", "{\"a\":[1,2]}", 0, "not an object");

    /* accepted oddities: zero-size tensors sharing an offset, metadata anywhere, spaces */
    const char *odd = "{\"e1\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]},"
                      "\"__metadata__\":{\"format\":\"pt\"},"
                      "\"e2\":{\"dtype\":\"BOOL\",\"shape\":[0],\"data_offsets\":[4,4]},"
                      "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}      ";
    tu_write_st(tu_path(tmp, "odd.safetensors"), odd, strlen(odd), z, 4);
    f = axf_st_open(tu_path(tmp, "odd.safetensors"), &err);
    CHECK_MSG(f != NULL && f->n == 3, "%s", f ? "count" : err.msg);
    axf_st_close(f);
}

/* Flip bytes of a valid file at random: the reader may refuse but must never crash or accept a
 * file whose tensors lie outside the mapping (checked under ASan in the sanitizer build). */
static void test_mutations(void)
{
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                      "\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]},"
                      "\"__metadata__\":{\"format\":\"pt\"}}";
    size_t hn = strlen(hdr), n = 8 + hn + 22;
    unsigned char *base = calloc(n, 1), *m = malloc(n);
    for (int i = 0; i < 8; i++)
        base[i] = (unsigned char)((uint64_t)hn >> (8 * i));
    memcpy(base + 8, hdr, hn);
    axf_rng r;
    axf_rng_seed(&r, 99);
    char *p = tu_path(tmp, "mut.safetensors");
    int opened = 0;
    for (int it = 0; it < 1500; it++) {
        memcpy(m, base, n);
        int flips = 1 + axf_rng_below(&r, 3);
        for (int k = 0; k < flips; k++)
            m[axf_rng_below(&r, (int)(8 + hn))] = (unsigned char)axf_rng_u64(&r);
        size_t len = axf_rng_below(&r, 10) == 0 ? (size_t)axf_rng_below(&r, (int)n) : n;
        tu_write(p, m, len);
        axf_err err;
        axf_st_file *f = axf_st_open(p, &err);
        if (f) {
            opened++;
            float buf[64];
            for (int i = 0; i < f->n; i++) {
                int esz = f->t[i].dtype == AXF_DT_F32 ? 4 : 2;
                size_t cnt = f->t[i].nbytes / (size_t)esz;
                if (cnt <= 64)
                    axf_st_read_f32(&f->t[i], buf, cnt, &err);
                CHECK(f->t[i].data + f->t[i].nbytes <= (unsigned char *)f->map + f->map_size);
            }
            axf_st_close(f);
        } else {
            CHECK(strchr(err.msg, '\n') == NULL && err.msg[0]);
        }
    }
    printf("mutations: %d of 1500 still valid files\n", opened);
    free(base);
    free(m);
}

int main(void)
{
    tmp = tu_tmpdir();
    test_write_read();
    test_conversions();
    test_malformed();
    test_mutations();
    tu_rmdir(tmp);
    return CHECK_DONE();
}
