/* Byte-level BPE: vocabulary and merges files, the pre-tokenizer, merging, training (bpe.h). */
#include "axf/bpe.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axf/fileio.h"
#include "unicode.h"

#define MAX_VOCAB (1 << 24)
#define MAX_FILE ((size_t)1 << 28)

/* ---------- hash tables: string -> int, (int, int) -> (int, int) ---------- */

typedef struct {
    char **key;   /* owned */
    int *val;
    size_t cap, n;
} strmap;

static void strmap_grow(strmap *m);

/* Slot of s[0..n) (its key NULL when absent). */
static size_t strmap_slot(const strmap *m, const char *s, size_t n)
{
    size_t i = axf_hash_fnv1a(s, n) & (m->cap - 1);
    while (m->key[i] && !(strlen(m->key[i]) == n && !memcmp(m->key[i], s, n)))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int strmap_get(const strmap *m, const char *s, size_t n)
{
    if (!m->cap)
        return -1;
    size_t i = strmap_slot(m, s, n);
    return m->key[i] ? m->val[i] : -1;
}

/* Inserts s (copied) -> v; returns 0, or 1 when s was present (left as it was). */
static int strmap_put(strmap *m, const char *s, size_t n, int v)
{
    if (2 * (m->n + 1) > m->cap)
        strmap_grow(m);
    size_t i = strmap_slot(m, s, n);
    if (m->key[i])
        return 1;
    m->key[i] = axf_xmalloc(n + 1);
    memcpy(m->key[i], s, n);
    m->key[i][n] = 0;
    m->val[i] = v;
    m->n++;
    return 0;
}

static void strmap_grow(strmap *m)
{
    strmap g = {.cap = m->cap ? 2 * m->cap : 1024};
    g.key = axf_xcalloc(g.cap, sizeof *g.key);
    g.val = axf_xcalloc(g.cap, sizeof *g.val);
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i]) {
            size_t j = strmap_slot(&g, m->key[i], strlen(m->key[i]));
            g.key[j] = m->key[i];
            g.val[j] = m->val[i];
            g.n++;
        }
    free(m->key);
    free(m->val);
    *m = g;
}

static void strmap_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->key[i]);
    free(m->key);
    free(m->val);
}

typedef struct {
    uint64_t *key;   /* (a + 1) << 32 | (b + 1): 0 marks an empty slot */
    int *v1, *v2;
    size_t cap, n;
} pairmap;

static uint64_t pkey(int a, int b) { return (uint64_t)(uint32_t)(a + 1) << 32 | (uint32_t)(b + 1); }

static size_t pairmap_slot(const pairmap *m, uint64_t k)
{
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);
    while (m->key[i] && m->key[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void pairmap_grow(pairmap *m)
{
    pairmap g = {.cap = m->cap ? 2 * m->cap : 1024};
    g.key = axf_xcalloc(g.cap, sizeof *g.key);
    g.v1 = axf_xcalloc(g.cap, sizeof *g.v1);
    g.v2 = axf_xcalloc(g.cap, sizeof *g.v2);
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i]) {
            size_t j = pairmap_slot(&g, m->key[i]);
            g.key[j] = m->key[i];
            g.v1[j] = m->v1[i];
            g.v2[j] = m->v2[i];
            g.n++;
        }
    AXF_FREE(m->key, m->v1, m->v2);
    *m = g;
}

/* The slot for (a, b), inserted with values 0 when absent. */
static size_t pairmap_at(pairmap *m, int a, int b, int *fresh)
{
    if (2 * (m->n + 1) > m->cap)
        pairmap_grow(m);
    uint64_t k = pkey(a, b);
    size_t i = pairmap_slot(m, k);
    *fresh = !m->key[i];
    if (!m->key[i]) {
        m->key[i] = k;
        m->v1[i] = m->v2[i] = 0;
        m->n++;
    }
    return i;
}

static int pairmap_find(const pairmap *m, int a, int b, size_t *slot)
{
    if (!m->cap)
        return 0;
    *slot = pairmap_slot(m, pkey(a, b));
    return m->key[*slot] != 0;
}

static void pairmap_free(pairmap *m)
{
    AXF_FREE(m->key, m->v1, m->v2);
}

/* ---------- the tokenizer object ---------- */

struct axf_bpe {
    strmap tok;        /* token -> id */
    char **by_id;      /* [size] token of each id (NULL for gaps), owned */
    int size;
    pairmap merge;     /* (a, b) -> (rank, merged id) */
    int n_merges;
    int (*merges)[2];  /* [n_merges] pair of each rank, for saving */
    int byte_id[256];  /* id of each byte's one-symbol token, -1 when absent */
    int bos, eos, unk;
};

/* The byte alphabet: byte -> code point. */
static uint32_t byte_cp(int b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return (uint32_t)b;
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF)))
            n++;
    return 256u + (uint32_t)n;
}

static int put_utf8(char *o, uint32_t c)
{
    if (c < 0x80)
        return o[0] = (char)c, 1;
    if (c < 0x800)
        return o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 63)), 2;
    o[0] = (char)(0xE0 | c >> 12);
    o[1] = (char)(0x80 | ((c >> 6) & 63));
    o[2] = (char)(0x80 | (c & 63));
    return 3;
}

static void finish(axf_bpe *b)
{
    for (int x = 0; x < 256; x++) {
        char s[4];
        int n = put_utf8(s, byte_cp(x));
        b->byte_id[x] = strmap_get(&b->tok, s, (size_t)n);
    }
    b->bos = strmap_get(&b->tok, "<s>", 3);
    b->eos = strmap_get(&b->tok, "</s>", 4);
    b->unk = strmap_get(&b->tok, "<unk>", 5);
}

void axf_bpe_free(axf_bpe *b)
{
    if (!b)
        return;
    strmap_free(&b->tok);
    for (int i = 0; i < b->size; i++)
        free(b->by_id[i]);
    free(b->by_id);
    pairmap_free(&b->merge);
    free(b->merges);
    free(b);
}

int axf_bpe_size(const axf_bpe *b) { return b ? b->size : 0; }
int axf_bpe_id(const axf_bpe *b, const char *token) { return strmap_get(&b->tok, token, strlen(token)); }
const char *axf_bpe_token(const axf_bpe *b, int id) { return id >= 0 && id < b->size ? b->by_id[id] : NULL; }

static int add_merge(axf_bpe *b, int x, int y, int merged)
{
    int fresh;
    size_t s = pairmap_at(&b->merge, x, y, &fresh);
    if (!fresh)
        return 0; /* a repeated merge: its first (stronger) rank stands */
    b->merge.v1[s] = b->n_merges;
    b->merge.v2[s] = merged;
    if ((b->n_merges & (b->n_merges - 1)) == 0)
        b->merges = axf_xrealloc(b->merges, (size_t)(b->n_merges ? 2 * b->n_merges : 1) * sizeof *b->merges);
    b->merges[b->n_merges][0] = x;
    b->merges[b->n_merges][1] = y;
    b->n_merges++;
    return 0;
}

/* vocab.json (token -> id) into b->tok and b->by_id. */
static int read_vocab(axf_bpe *b, const char *vocab_json, axf_err *err)
{
    size_t len;
    char *text = axf_io_read_file(vocab_json, MAX_FILE, &len, err);
    if (!text)
        return -1;
    const char *end = NULL;
    cJSON *root = NULL;
    char sb[64];
    int rc = -1;
    if (axf_json_check(text, len, vocab_json, err) != 0)
        goto out;
    root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);   /* + 1: the NUL ends it */
    if (!root || !cJSON_IsObject(root)) {
        axf_err_set(err, "%s: not a JSON object of token -> id", vocab_json);
        goto out;
    }
    int max_id = -1;
    for (cJSON *it = root->child; it; it = it->next) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || d != (double)(int)d || d < 0 || d >= MAX_VOCAB) {
            axf_err_set(err, "%s: token '%s': id is not an integer in [0, %d)", vocab_json,
                        axf_escape_str(sb, sizeof sb, it->string), MAX_VOCAB);
            goto out;
        }
        if (strmap_put(&b->tok, it->string, strlen(it->string), (int)d)) {
            axf_err_set(err, "%s: token '%s' appears twice", vocab_json, axf_escape_str(sb, sizeof sb, it->string));
            goto out;
        }
        if ((int)d > max_id)
            max_id = (int)d;
    }
    if (max_id < 0) {
        axf_err_set(err, "%s: empty vocabulary", vocab_json);
        goto out;
    }
    b->size = max_id + 1;
    b->by_id = axf_xcalloc((size_t)b->size, sizeof *b->by_id);
    for (cJSON *it = root->child; it; it = it->next) {
        int id = (int)it->valuedouble;
        if (b->by_id[id]) {
            char sb2[64];
            axf_err_set(err, "%s: id %d given to '%s' and '%s'", vocab_json, id,
                        axf_escape_str(sb2, sizeof sb2, b->by_id[id]), axf_escape_str(sb, sizeof sb, it->string));
            goto out;
        }
        b->by_id[id] = axf_xstrdup(it->string);
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

/* merges.txt ("x y" per line, an optional "#version" first line) into b's merges; every token
 * and every merge's result must be in vocab_json's vocabulary. */
static int read_merges(axf_bpe *b, const char *merges_txt, const char *vocab_json, axf_err *err)
{
    size_t len;
    char *text = axf_io_read_file(merges_txt, MAX_FILE, &len, err);
    if (!text)
        return -1;
    char sb[64];
    int line = 0, rc = 0;
    for (char *p = text; p < text + len && !rc;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        char *e = nl ? nl : text + len;
        line++;
        size_t n = (size_t)(e - p);
        if ((line == 1 && n >= 8 && !memcmp(p, "#version", 8)) || n == 0) {
            p = e + 1;
            continue;
        }
        if (memchr(p, '\r', n)) {
            rc = axf_err_set(err, "%s:%d: carriage return in a merge (CRLF line ends are not read)", merges_txt,
                             line);
            break;
        }
        char *sp = memchr(p, ' ', n);
        if (!sp || sp == p || sp + 1 == e || memchr(sp + 1, ' ', (size_t)(e - sp - 1))) {
            rc = axf_err_set(err, "%s:%d: expected two tokens separated by one space", merges_txt, line);
            break;
        }
        int x = strmap_get(&b->tok, p, (size_t)(sp - p)), y = strmap_get(&b->tok, sp + 1, (size_t)(e - sp - 1));
        char joined[512];
        size_t jl = n - 1;
        int m = -1;
        if (jl < sizeof joined) {
            memcpy(joined, p, (size_t)(sp - p));
            memcpy(joined + (sp - p), sp + 1, (size_t)(e - sp - 1));
            m = strmap_get(&b->tok, joined, jl);
        }
        if (x < 0 || y < 0 || m < 0) {
            rc = axf_err_set(err, "%s:%d: merge '%s' of tokens %s in %s", merges_txt, line,
                             axf_escape(sb, sizeof sb, p, n), x < 0 || y < 0 ? "that are not" : "whose result is not",
                             vocab_json);
            break;
        }
        add_merge(b, x, y, m);
        p = e + 1;
    }
    free(text);
    return rc;
}

axf_bpe *axf_bpe_load(const char *vocab_json, const char *merges_txt, axf_err *err)
{
    axf_bpe *b = axf_xcalloc(1, sizeof *b);
    if (read_vocab(b, vocab_json, err) || read_merges(b, merges_txt, vocab_json, err)) {
        axf_bpe_free(b);
        return NULL;
    }
    finish(b);
    return b;
}

/* ---------- pre-tokenizer ---------- */

typedef struct {
    uint32_t *cp;
    size_t *at;   /* byte offset of each code point, at[n] = length */
    size_t n;
} cps;

static int decode(const char *s, size_t len, cps *o)
{
    if (!axf_utf8_valid(s, len))
        return -1;
    o->cp = axf_xmalloc((len + 1) * sizeof *o->cp);
    o->at = axf_xmalloc((len + 1) * sizeof *o->at);
    o->n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        int k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t v = k == 1 ? c : k == 2 ? c & 0x1F : k == 3 ? c & 0x0F : c & 0x07;
        for (int j = 1; j < k; j++)
            v = v << 6 | ((unsigned char)s[i + j] & 0x3F);
        o->at[o->n] = i;
        o->cp[o->n++] = v;
        i += (size_t)k;
    }
    o->at[o->n] = len;
    return 0;
}

enum { C_SPACE, C_LETTER, C_NUMBER, C_OTHER };
static int cls(uint32_t c)
{
    unsigned f = axf_uc_flags(c);
    return (f & AXF_UC_SPACE) ? C_SPACE : (f & AXF_UC_LETTER) ? C_LETTER : (f & AXF_UC_NUMBER) ? C_NUMBER : C_OTHER;
}

/* Length in code points of the piece starting at i (i < n). */
static size_t piece(const cps *t, size_t i)
{
    const uint32_t *c = t->cp;
    size_t n = t->n;
    if (c[i] == '\'' && i + 1 < n) {
        uint32_t a = c[i + 1], z = i + 2 < n ? c[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return 2;
        if ((a == 'r' && z == 'e') || (a == 'v' && z == 'e') || (a == 'l' && z == 'l'))
            return 3;
    }
    for (int want = C_LETTER; want <= C_OTHER; want++) {
        size_t j = i;
        if (c[j] == ' ' && j + 1 < n && cls(c[j + 1]) == want)
            j++;
        if (cls(c[j]) != want)
            continue;
        while (j < n && cls(c[j]) == want)
            j++;
        return j - i;
    }
    size_t r = i;   /* c[i] is white space */
    while (r < n && cls(c[r]) == C_SPACE)
        r++;
    if (r < n && r - i >= 2)
        return r - 1 - i;
    return r - i;
}

/* ---------- merging ---------- */

/* Merges sym[0..n) in place by rank; returns the new count. */
static int merge_piece(const axf_bpe *b, int *sym, int n)
{
    for (;;) {
        int best = -1, best_rank = 0, best_id = 0;
        for (int i = 0; i + 1 < n; i++) {
            size_t s;
            if (sym[i] >= 0 && sym[i + 1] >= 0 && pairmap_find(&b->merge, sym[i], sym[i + 1], &s) &&
                (best < 0 || b->merge.v1[s] < best_rank)) {
                best = i;
                best_rank = b->merge.v1[s];
                best_id = b->merge.v2[s];
            }
        }
        if (best < 0)
            return n;
        int x = sym[best], y = sym[best + 1], o = 0;
        for (int i = 0; i < n; i++) {
            if (i + 1 < n && sym[i] == x && sym[i + 1] == y) {
                sym[o++] = best_id;
                i++;
            } else
                sym[o++] = sym[i];
        }
        n = o;
    }
}

static int encode(const void *bpe, const char *text, int prefix, axf__ivec *out, axf_err *err)
{
    const axf_bpe *b = bpe;
    size_t len = strlen(text);
    char *buf = NULL;
    if (prefix && len && text[0] != ' ') {
        buf = axf_xmalloc(len + 2);
        buf[0] = ' ';
        memcpy(buf + 1, text, len + 1);
        text = buf;
        len++;
    }
    cps t;
    if (decode(text, len, &t)) {
        free(buf);
        return axf_err_set(err, "text is not valid UTF-8");
    }
    axf__ivec sym = {0};
    int rc = 0;
    for (size_t i = 0; i < t.n && !rc;) {
        size_t k = piece(&t, i);
        size_t b0 = t.at[i], b1 = t.at[i + k];
        sym.n = 0;
        for (size_t j = b0; j < b1; j++)
            axf__ivec_push(&sym, b->byte_id[(unsigned char)text[j]]);
        int m = merge_piece(b, sym.p, sym.n);
        for (int j = 0; j < m && !rc; j++) {
            if (sym.p[j] >= 0)
                axf__ivec_push(out, sym.p[j]);
            else if (b->unk >= 0)
                axf__ivec_push(out, b->unk);
            else
                rc = axf_err_set(err, "a byte of the text has no token in the vocabulary and there is no <unk>");
        }
        i += k;
    }
    AXF_FREE(sym.p, t.cp, t.at, buf);
    return rc;
}

int axf_bpe_ids(const axf_bpe *b, const char *text, int add_prefix_space, int *ids, int cap, axf_err *err)
{
    axf__ivec v = {0};
    if (encode(b, text, add_prefix_space, &v, err)) {
        free(v.p);
        return -1;
    }
    for (int i = 0; i < v.n && i < cap; i++)
        ids[i] = v.p[i];
    int n = v.n;
    free(v.p);
    return n;
}

int axf_bpe_encode_pair(const axf_bpe *b, const char *a, const char *b2, int add_prefix_space, int max_len,
                        int *ids, int *types, axf_err *err)
{
    axf__frame f = {.open = b->bos, .close = b->eos, .close_twice = 1, .names = "<s> or </s>"};
    return axf__encode_pair(encode, b, add_prefix_space, a, b2, &f, max_len, ids, types, err);
}

/* ---------- training ---------- */

static int add_token(axf_bpe *b, const char *s, size_t n)
{
    int id = b->size;
    if (strmap_put(&b->tok, s, n, id))
        return strmap_get(&b->tok, s, n);
    if ((b->size & (b->size - 1)) == 0)
        b->by_id = axf_xrealloc(b->by_id, (size_t)(b->size ? 2 * b->size : 1) * sizeof *b->by_id);
    char *copy = axf_xmalloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = 0;
    b->by_id[b->size++] = copy;
    return id;
}

typedef struct {
    int *sym;
    int n;
    int count;
} tword;

/* 1 when token x followed by y sorts bytewise before u followed by v (the same string: when x
 * sorts before u). */
static int joined_less(const axf_bpe *b, int x, int y, int u, int v)
{
    const char *p[2] = {b->by_id[x], b->by_id[y]}, *q[2] = {b->by_id[u], b->by_id[v]};
    int i = 0, j = 0;
    const char *a = p[0], *c = q[0];
    for (;;) {
        if (!*a && i == 0)
            a = p[++i];
        if (!*c && j == 0)
            c = q[++j];
        if (!*a || !*c) {
            if (*a || *c)
                return !*a;
            /* the same string: the shorter left part first */
            return strcmp(b->by_id[x], b->by_id[u]) < 0;
        }
        if (*a != *c)
            return (unsigned char)*a < (unsigned char)*c;
        a++;
        c++;
    }
}

axf_bpe *axf_bpe_train(const char *const *texts, int n, int merges, axf_err *err)
{
    axf_bpe *b = axf_xcalloc(1, sizeof *b);
    static const char *const lead[] = {"<s>", "<pad>", "</s>", "<unk>"};
    for (int i = 0; i < 4; i++)
        add_token(b, lead[i], strlen(lead[i]));
    for (int x = 0; x < 256; x++) {
        char s[4];
        add_token(b, s, (size_t)put_utf8(s, byte_cp(x)));
    }
    finish(b);
    /* the distinct pieces and how often each occurs */
    strmap seen = {0};
    tword *w = NULL;
    int nw = 0, capw = 0;
    for (int k = 0; k < n; k++) {
        const char *text = texts[k];
        cps t;
        if (decode(text, strlen(text), &t)) {
            axf_err_set(err, "training text %d is not valid UTF-8", k + 1);
            strmap_free(&seen);
            for (int i = 0; i < nw; i++)
                free(w[i].sym);
            free(w);
            axf_bpe_free(b);
            return NULL;
        }
        for (size_t i = 0; i < t.n;) {
            size_t len = piece(&t, i), b0 = t.at[i], b1 = t.at[i + len];
            int at = strmap_get(&seen, text + b0, b1 - b0);
            if (at >= 0)
                w[at].count++;
            else {
                strmap_put(&seen, text + b0, b1 - b0, nw);
                if (nw == capw)
                    w = axf_xrealloc(w, (size_t)(capw = capw ? 2 * capw : 1024) * sizeof *w);
                w[nw].sym = axf_xmalloc((b1 - b0) * sizeof(int));
                w[nw].n = (int)(b1 - b0);
                w[nw].count = 1;
                for (size_t j = b0; j < b1; j++)
                    w[nw].sym[j - b0] = b->byte_id[(unsigned char)text[j]];
                nw++;
            }
            i += len;
        }
        free(t.cp);
        free(t.at);
    }
    strmap_free(&seen);
    char *joined = NULL;
    size_t jcap = 0;
    for (int m = 0; m < merges; m++) {
        pairmap cnt = {0};
        for (int i = 0; i < nw; i++)
            for (int j = 0; j + 1 < w[i].n; j++) {
                int fresh;
                size_t s = pairmap_at(&cnt, w[i].sym[j], w[i].sym[j + 1], &fresh);
                cnt.v1[s] += w[i].count;
            }
        int bx = -1, by = -1, bc = 0;
        for (size_t s = 0; s < cnt.cap; s++) {
            if (!cnt.key[s])
                continue;
            int x = (int)(cnt.key[s] >> 32) - 1, y = (int)(uint32_t)cnt.key[s] - 1, c = cnt.v1[s];
            if (c < bc || (c == bc && !joined_less(b, x, y, bx, by)))
                continue;
            bx = x;
            by = y;
            bc = c;
        }
        pairmap_free(&cnt);
        if (bx < 0)
            break;
        size_t lx = strlen(b->by_id[bx]), ly = strlen(b->by_id[by]);
        if (lx + ly + 1 > jcap)
            joined = axf_xrealloc(joined, jcap = 2 * (lx + ly + 1));
        memcpy(joined, b->by_id[bx], lx);
        memcpy(joined + lx, b->by_id[by], ly);
        int id = add_token(b, joined, lx + ly);
        add_merge(b, bx, by, id);
        for (int i = 0; i < nw; i++) {
            int o = 0;
            for (int j = 0; j < w[i].n; j++) {
                if (j + 1 < w[i].n && w[i].sym[j] == bx && w[i].sym[j + 1] == by) {
                    w[i].sym[o++] = id;
                    j++;
                } else
                    w[i].sym[o++] = w[i].sym[j];
            }
            w[i].n = o;
        }
    }
    free(joined);
    for (int i = 0; i < nw; i++)
        free(w[i].sym);
    free(w);
    add_token(b, "<mask>", 6);
    finish(b);
    return b;
}

int axf_bpe_save(const axf_bpe *b, const char *dir, axf_err *err)
{
    if (axf_io_mkdir_p(dir, err))
        return -1;
    cJSON *root = cJSON_CreateObject();
    for (int i = 0; i < b->size; i++)
        if (b->by_id[i])
            cJSON_AddItemToObject(root, b->by_id[i], cJSON_CreateNumber(i));
    char *js = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    char *vp = axf_io_join(dir, "vocab.json"), *mp = axf_io_join(dir, "merges.txt");
    int rc = axf_io_write_atomic(vp, js, strlen(js), err);
    free(js);
    if (!rc) {
        size_t cap = 32, n = 0;
        for (int i = 0; i < b->n_merges; i++)
            cap += strlen(b->by_id[b->merges[i][0]]) + strlen(b->by_id[b->merges[i][1]]) + 2;
        char *txt = axf_xmalloc(cap);
        n += (size_t)snprintf(txt, cap, "#version: 0.2\n");
        for (int i = 0; i < b->n_merges; i++)
            n += (size_t)snprintf(txt + n, cap - n, "%s %s\n", b->by_id[b->merges[i][0]], b->by_id[b->merges[i][1]]);
        rc = axf_io_write_atomic(mp, txt, n, err);
        free(txt);
    }
    free(vp);
    free(mp);
    return rc;
}
