/* BERT tokenizer: vocabulary (hash table), basic tokenizer and WordPiece, following Hugging Face's
 * Python BertTokenizer step by step (FORMATS.md) so that ids agree with the checkpoints' own
 * tokenizer: clean, CJK spacing, split on white space, lower-case (Python str.lower(), final sigma
 * included) + NFD + drop Mn, punctuation split, greedy longest-match WordPiece. */
#include "axf/tokenizer.h"
#include "axf/bpe.h"
#include "axf/fileio.h"
#include "unicode.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VOCAB_MAX_BYTES (256u << 20)
#define WP_MAX_CHARS 100

struct axf_vocab {
    int n;
    char **tok;      /* [n] NUL-terminated */
    int *tlen;       /* [n] */
    int *tab;        /* open addressing, -1 = empty; holds ids */
    size_t mask;     /* table size - 1 (power of two) */
    axf_special sp;
    axf_bpe *bpe;    /* a byte-level BPE tokenizer instead (n, tok, tab unused) */
    int prefix_space;
};

static int lookup_n(const axf_vocab *v, const char *s, size_t n)
{
    size_t i = (size_t)axf_hash_fnv1a(s, n) & v->mask;
    for (;;) {
        int id = v->tab[i];
        if (id < 0)
            return -1;
        if ((size_t)v->tlen[id] == n && memcmp(v->tok[id], s, n) == 0)
            return id;
        i = (i + 1) & v->mask;
    }
}

/* Builds the table; a repeated token maps to its last id, as a Python dict built line by line. */
static void build_index(axf_vocab *v)
{
    size_t size = 16;
    while (size < 2 * (size_t)v->n)
        size *= 2;
    v->mask = size - 1;
    v->tab = axf_xmalloc(size * sizeof *v->tab);
    memset(v->tab, 0xff, size * sizeof *v->tab);
    for (int id = 0; id < v->n; id++) {
        size_t i = (size_t)axf_hash_fnv1a(v->tok[id], (size_t)v->tlen[id]) & v->mask;
        while (v->tab[i] >= 0 && !(v->tlen[v->tab[i]] == v->tlen[id] &&
                                   memcmp(v->tok[v->tab[i]], v->tok[id], (size_t)v->tlen[id]) == 0))
            i = (i + 1) & v->mask;
        v->tab[i] = id;
    }
    v->sp.pad = axf_vocab_id(v, "[PAD]");
    v->sp.unk = axf_vocab_id(v, "[UNK]");
    v->sp.cls = axf_vocab_id(v, "[CLS]");
    v->sp.sep = axf_vocab_id(v, "[SEP]");
    v->sp.mask = axf_vocab_id(v, "[MASK]");
}

void axf_vocab_free(axf_vocab *v)
{
    if (!v)
        return;
    axf_bpe_free(v->bpe);
    for (int i = 0; i < v->n; i++)
        free(v->tok[i]);
    AXF_FREE(v->tok, v->tlen, v->tab, v);
}

axf_vocab *axf_vocab_load(const char *path, axf_err *err)
{
    size_t len;
    char *text = axf_io_read_file(path, VOCAB_MAX_BYTES, &len, err);
    if (!text)
        return NULL;
    axf_vocab *v = axf_xcalloc(1, sizeof *v);
    int cap = 1024;
    v->tok = axf_xmalloc((size_t)cap * sizeof *v->tok);
    v->tlen = axf_xmalloc((size_t)cap * sizeof *v->tlen);
    size_t pos = 0;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, next = end + 1;
        if (end > pos && text[end - 1] == '\r')
            end--; /* CRLF: Python's text mode, which HF reads vocab.txt in, drops the CR */
        if (memchr(text + pos, '\r', end - pos)) {
            axf_err_set(err, "%s:%d: carriage return inside a token (line ends of CR alone?)", path, v->n + 1);
            free(text);
            axf_vocab_free(v);
            return NULL;
        }
        if (!axf_utf8_valid(text + pos, end - pos)) {
            axf_err_set(err, "%s:%d: invalid UTF-8", path, v->n + 1);
            free(text);
            axf_vocab_free(v);
            return NULL;
        }
        if (memchr(text + pos, 0, end - pos)) {
            axf_err_set(err, "%s:%d: NUL byte in token", path, v->n + 1);
            free(text);
            axf_vocab_free(v);
            return NULL;
        }
        if (v->n == cap) {
            cap *= 2;
            v->tok = axf_xrealloc(v->tok, (size_t)cap * sizeof *v->tok);
            v->tlen = axf_xrealloc(v->tlen, (size_t)cap * sizeof *v->tlen);
        }
        v->tok[v->n] = axf_xmalloc(end - pos + 1);
        memcpy(v->tok[v->n], text + pos, end - pos);
        v->tok[v->n][end - pos] = 0;
        v->tlen[v->n] = (int)(end - pos);
        v->n++;
        pos = next;
    }
    free(text);
    if (v->n == 0) {
        axf_err_set(err, "%s: empty vocabulary", path);
        axf_vocab_free(v);
        return NULL;
    }
    build_index(v);
    /* Without [UNK] a vocab.txt is not the model's (one line missing shifts every id after it);
     * without [CLS]/[SEP] no example can be encoded: said here, against this file. */
    const char *missing = v->sp.unk < 0 ? "[UNK]" : v->sp.cls < 0 ? "[CLS]" : v->sp.sep < 0 ? "[SEP]" : NULL;
    if (missing) {
        axf_err_set(err, "%s: no %s token (a BERT vocab.txt holds [PAD], [UNK], [CLS], [SEP] and [MASK], one "
                    "token a line)", path, missing);
        axf_vocab_free(v);
        return NULL;
    }
    return v;
}

axf_vocab *axf_vocab_from_list(const char *const *tokens, int n, axf_err *err)
{
    if (n <= 0)
        return axf_err_set(err, "vocabulary: no tokens"), NULL;
    for (int i = 0; i < n; i++) {
        if (!tokens[i] || strchr(tokens[i], '\n'))
            return axf_err_set(err, "vocabulary: token %d is NULL or holds a newline", i), NULL;
        if (!axf_utf8_valid(tokens[i], strlen(tokens[i])))
            return axf_err_set(err, "vocabulary: token %d is not valid UTF-8", i), NULL;
    }
    axf_vocab *v = axf_xcalloc(1, sizeof *v);
    v->n = n;
    v->tok = axf_xmalloc((size_t)n * sizeof *v->tok);
    v->tlen = axf_xmalloc((size_t)n * sizeof *v->tlen);
    for (int i = 0; i < n; i++) {
        v->tok[i] = axf_xstrdup(tokens[i]);
        v->tlen[i] = (int)strlen(tokens[i]);
    }
    build_index(v);
    return v;
}

int axf_vocab_save(const axf_vocab *v, const char *path, axf_err *err)
{
    if (v->bpe)
        return axf_err_set(err, "%s: a byte-level BPE vocabulary is two files (axf_vocab_save_dir)", path);
    size_t total = 0;
    for (int i = 0; i < v->n; i++)
        total += (size_t)v->tlen[i] + 1;
    char *buf = axf_xmalloc(total + 1), *p = buf;
    for (int i = 0; i < v->n; i++) {
        memcpy(p, v->tok[i], (size_t)v->tlen[i]);
        p += v->tlen[i];
        *p++ = '\n';
    }
    int rc = axf_io_write_atomic(path, buf, total, err);
    free(buf);
    return rc;
}

/* ---------- the model's tokenizer: WordPiece or byte-level BPE ---------- */

axf_vocab *axf_vocab_from_bpe(axf_bpe *b, int prefix_space)
{
    axf_vocab *v = axf_xcalloc(1, sizeof *v);
    v->bpe = b;
    v->prefix_space = prefix_space;
    v->sp.pad = axf_bpe_id(b, "<pad>");
    v->sp.unk = axf_bpe_id(b, "<unk>");
    v->sp.cls = axf_bpe_id(b, "<s>");
    v->sp.sep = axf_bpe_id(b, "</s>");
    v->sp.mask = axf_bpe_id(b, "<mask>");
    return v;
}

static int exists_in(const char *dir, const char *name)
{
    char *p = axf_io_join(dir, name);
    int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

axf_vocab *axf_vocab_load_dir(const char *dir, const axf_config *c, axf_err *err)
{
    int has_wp = exists_in(dir, "vocab.txt"), has_bpe = exists_in(dir, "vocab.json") || exists_in(dir, "merges.txt");
    int bpe = c->arch == AXF_ARCH_ROBERTA ? has_bpe || !has_wp : has_bpe && !has_wp;
    axf_vocab *v = NULL;
    char *path;
    if (bpe) {
        path = axf_io_join(dir, "vocab.json");
        char *merges = axf_io_join(dir, "merges.txt");
        axf_bpe *b = axf_bpe_load(path, merges, err);
        free(merges);
        if (b) {
            v = axf_vocab_from_bpe(b, c->add_prefix_space);
            if (v->sp.cls < 0 || v->sp.sep < 0) {
                axf_err_set(err, "%s: no %s token (RoBERTa's vocabulary holds <s>, <pad>, </s>, <unk> and <mask>)",
                            path, v->sp.cls < 0 ? "<s>" : "</s>");
                axf_vocab_free(v);
                v = NULL;
            }
        }
    } else {
        path = axf_io_join(dir, "vocab.txt");
        v = axf_vocab_load(path, err);
    }
    if (v && axf_vocab_size(v) > c->vocab_size) {
        axf_err_set(err, "%s: %d tokens, but the model's vocabulary has %d", path, axf_vocab_size(v), c->vocab_size);
        axf_vocab_free(v);
        v = NULL;
    }
    free(path);
    return v;
}

int axf_vocab_save_dir(const axf_vocab *v, const char *dir, axf_err *err)
{
    if (v->bpe)
        return axf_bpe_save(v->bpe, dir, err);
    if (axf_io_mkdir_p(dir, err))
        return -1;
    char *p = axf_io_join(dir, "vocab.txt");
    int rc = axf_vocab_save(v, p, err);
    free(p);
    return rc;
}

int axf_vocab_copy_files(const char *from, const char *to, axf_err *err)
{
    static const char *const files[] = {"vocab.txt", "vocab.json", "merges.txt"};
    int copied = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (!exists_in(from, files[i]))
            continue;
        char *src = axf_io_join(from, files[i]), *dst = axf_io_join(to, files[i]);
        int bad = axf_io_copy_file(src, dst, (size_t)1 << 30, err);
        free(src);
        free(dst);
        if (bad)
            return -1;
        copied++;
    }
    if (!copied)
        return axf_err_set(err, "%s: no vocab.txt, nor vocab.json and merges.txt", from);
    return 0;
}

int axf_vocab_is_bpe(const axf_vocab *v) { return v->bpe != NULL; }

int axf_vocab_size(const axf_vocab *v) { return !v ? 0 : v->bpe ? axf_bpe_size(v->bpe) : v->n; }

int axf_vocab_id(const axf_vocab *v, const char *token)
{
    return v->bpe ? axf_bpe_id(v->bpe, token) : lookup_n(v, token, strlen(token));
}

const char *axf_vocab_token(const axf_vocab *v, int id)
{
    if (v->bpe)
        return axf_bpe_token(v->bpe, id);
    return id >= 0 && id < v->n ? v->tok[id] : NULL;
}

axf_special axf_vocab_special(const axf_vocab *v) { return v->sp; }

/* ---------- basic tokenizer ---------- */

/* Decodes UTF-8; -1 (with the byte offset) on invalid input. */
static int utf8_decode(const char *str, axf__cpvec *out, size_t *bad_at)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (s[i]) {
        unsigned c = s[i];
        if (c < 0x80) {
            axf__cpvec_push(out, c);
            i++;
            continue;
        }
        int len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            goto bad;
        for (int k = 1; k < len; k++) {
            if ((s[i + (size_t)k] & 0xc0) != 0x80)
                goto bad; /* also stops at the terminating NUL */
            cp = (cp << 6) | (s[i + (size_t)k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        axf__cpvec_push(out, cp);
        i += (size_t)len;
    }
    return 0;
bad:
    *bad_at = i;
    return -1;
}

typedef struct {
    axf__cpvec low, nfd;
    char *utf8;
    size_t utf8_cap;
    axf_word_fn fn;
    void *ud;
} tokstate;

static void emit(tokstate *st, const uint32_t *cp, int n)
{
    if (n <= 0)
        return;
    size_t need = (size_t)n * 4 + 1;
    if (need > st->utf8_cap) {
        st->utf8_cap = need * 2;
        st->utf8 = axf_xrealloc(st->utf8, st->utf8_cap);
    }
    char *o = st->utf8;
    for (int i = 0; i < n; i++) {
        uint32_t c = cp[i];
        if (c < 0x80) {
            *o++ = (char)c;
        } else if (c < 0x800) {
            *o++ = (char)(0xc0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            *o++ = (char)(0xe0 | (c >> 12));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
            *o++ = (char)(0x80 | (c & 0x3f));
        } else {
            *o++ = (char)(0xf0 | (c >> 18));
            *o++ = (char)(0x80 | ((c >> 12) & 0x3f));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3f));
            *o++ = (char)(0x80 | (c & 0x3f));
        }
    }
    *o = 0;
    st->fn(st->utf8, (int)(o - st->utf8), st->ud);
}

/* Python's Final_Sigma: cased (case-ignorable)* SIGMA not followed by (case-ignorable)* cased. */
static int final_sigma(const uint32_t *w, int n, int i)
{
    int j = i - 1;
    while (j >= 0 && (axf_uc_flags(w[j]) & AXF_UC_CASE_IGN))
        j--;
    if (j < 0 || !(axf_uc_flags(w[j]) & AXF_UC_CASED))
        return 0;
    j = i + 1;
    while (j < n && (axf_uc_flags(w[j]) & AXF_UC_CASE_IGN))
        j++;
    return j == n || !(axf_uc_flags(w[j]) & AXF_UC_CASED);
}

/* One white-space separated token: lower + strip accents (when lower), then punctuation split. */
static void process_token(tokstate *st, const uint32_t *w, int n, int lower)
{
    if (n == 0)
        return;
    const uint32_t *t = w;
    int tn = n;
    if (lower) {
        st->low.n = 0;
        for (int i = 0; i < n; i++) {
            uint32_t out[3];
            int k;
            if (w[i] == 0x3A3) {
                out[0] = final_sigma(w, n, i) ? 0x3C2 : 0x3C3;
                k = 1;
            } else {
                k = axf_uc_lower(w[i], out);
            }
            for (int j = 0; j < k; j++)
                axf__cpvec_push(&st->low, out[j]);
        }
        st->nfd.n = 0;
        for (int i = 0; i < st->low.n; i++) {
            uint32_t d[8];
            int k = axf_uc_nfd(st->low.p[i], d, 8);
            for (int j = 0; j < k; j++)
                axf__cpvec_push(&st->nfd, d[j]);
        }
        /* canonical ordering: stable sort of each run of non-starters by combining class */
        uint32_t *p = st->nfd.p;
        for (int i = 1; i < st->nfd.n; i++) {
            int c = axf_uc_ccc(p[i]);
            if (c == 0)
                continue;
            for (int j = i; j > 0; j--) {
                int cj = axf_uc_ccc(p[j - 1]);
                if (cj <= c)
                    break;
                uint32_t tmp = p[j];
                p[j] = p[j - 1];
                p[j - 1] = tmp;
            }
        }
        int m = 0;
        for (int i = 0; i < st->nfd.n; i++)
            if (!(axf_uc_flags(p[i]) & AXF_UC_MN))
                p[m++] = p[i];
        st->nfd.n = m;
        t = p;
        tn = m;
    }
    int start = 0;
    for (int i = 0; i < tn; i++) {
        if (axf_uc_flags(t[i]) & AXF_UC_PUNCT) {
            emit(st, t + start, i - start);
            emit(st, t + i, 1);
            start = i + 1;
        }
    }
    emit(st, t + start, tn - start);
}

int axf_basic_tokenize(const char *text, int lower, axf_word_fn fn, void *ud, axf_err *err)
{
    axf__cpvec in = {0};
    size_t bad_at = 0;
    if (utf8_decode(text, &in, &bad_at) != 0) {
        free(in.p);
        return axf_err_set(err, "invalid UTF-8 at byte %zu of the text", bad_at);
    }
    tokstate st = {.fn = fn, .ud = ud};
    axf__cpvec word = {0};
    for (int i = 0; i < in.n; i++) {
        uint32_t c = in.p[i];
        unsigned f = axf_uc_flags(c);
        if (c == 0 || c == 0xFFFD || (f & AXF_UC_CTRL))
            continue;
        if (f & AXF_UC_SPACE) {
            process_token(&st, word.p, word.n, lower);
            word.n = 0;
        } else if (axf_uc_is_cjk(c)) {
            process_token(&st, word.p, word.n, lower);
            word.n = 0;
            process_token(&st, &c, 1, lower);
        } else {
            axf__cpvec_push(&word, c);
        }
    }
    process_token(&st, word.p, word.n, lower);
    AXF_FREE(word.p, in.p, st.low.p, st.nfd.p, st.utf8);
    return 0;
}

/* ---------- WordPiece ---------- */

typedef struct {
    const axf_vocab *v;
    axf__ivec ids;
    char *buf;
    size_t buf_cap;
    int no_unk;
} wpstate;

static void wp_word(const char *w, int len, void *ud)
{
    wpstate *s = ud;
    int off[WP_MAX_CHARS + 2], nch = 0;
    for (int i = 0; i < len; i++) {
        if (((unsigned char)w[i] & 0xc0) != 0x80) {
            if (nch > WP_MAX_CHARS) {
                nch++;
                break;
            }
            off[nch++] = i;
        }
    }
    if (nch > WP_MAX_CHARS) {
        if (s->v->sp.unk < 0)
            s->no_unk = 1;
        axf__ivec_push(&s->ids, s->v->sp.unk);
        return;
    }
    off[nch] = len;
    if ((size_t)len + 3 > s->buf_cap) {
        s->buf_cap = (size_t)len + 64;
        s->buf = axf_xrealloc(s->buf, s->buf_cap);
    }
    int first = s->ids.n, start = 0;
    while (start < nch) {
        int found = -1, end = nch;
        while (start < end) {
            size_t n = (size_t)(off[end] - off[start]);
            if (start > 0) {
                s->buf[0] = '#';
                s->buf[1] = '#';
                memcpy(s->buf + 2, w + off[start], n);
                found = lookup_n(s->v, s->buf, n + 2);
            } else {
                found = lookup_n(s->v, w, n);
            }
            if (found >= 0)
                break;
            end--;
        }
        if (found < 0) {
            s->ids.n = first; /* no piece fits here: the whole word is unknown */
            if (s->v->sp.unk < 0)
                s->no_unk = 1;
            axf__ivec_push(&s->ids, s->v->sp.unk);
            return;
        }
        axf__ivec_push(&s->ids, found);
        start = end;
    }
}

static int wp_all(const void *vocab, const char *text, int lower, axf__ivec *out, axf_err *err)
{
    const axf_vocab *v = vocab;
    wpstate s = {.v = v};
    s.ids = *out;
    int rc = axf_basic_tokenize(text, lower, wp_word, &s, err);
    free(s.buf);
    *out = s.ids;
    if (rc == 0 && s.no_unk)
        return axf_err_set(err, "vocabulary has no [UNK] for an unknown word");
    return rc;
}

int axf_wordpiece(const axf_vocab *v, const char *text, int lower, int *ids, int cap, axf_err *err)
{
    if (v->bpe) {
        int n = axf_bpe_ids(v->bpe, text, v->prefix_space, ids, cap, err);
        return n < cap ? n : cap;
    }
    axf__ivec all = {0};
    if (wp_all(v, text, lower, &all, err) != 0) {
        free(all.p);
        return -1;
    }
    int n = all.n < cap ? all.n : cap;
    if (n > 0)
        memcpy(ids, all.p, (size_t)n * sizeof *ids);
    free(all.p);
    return n;
}

int axf__encode_pair(axf__encode_fn enc, const void *tok, int flag, const char *a, const char *b,
                     const axf__frame *f, int max_len, int *ids, int *types, axf_err *err)
{
    int specials = b ? 3 + f->close_twice : 2;
    if (!a)
        return axf_err_set(err, "encode: no text");
    if (max_len < specials)
        return axf_err_set(err, "encode: max_len %d leaves no room for the special tokens", max_len);
    if (f->open < 0 || f->close < 0)
        return axf_err_set(err, "vocabulary has no %s", f->names);
    axf__ivec x = {0}, y = {0};
    if (enc(tok, a, flag, &x, err) != 0 || (b && enc(tok, b, flag, &y, err) != 0)) {
        AXF_FREE(x.p, y.p);
        return -1;
    }
    int na = x.n, nb = y.n;
    while (na + nb > max_len - specials) {
        if (na > nb)
            na--;
        else
            nb--;
    }
    int n = 0;
    ids[n] = f->open;
    types[n++] = 0;
    for (int i = 0; i < na; i++) {
        ids[n] = x.p[i];
        types[n++] = 0;
    }
    ids[n] = f->close;
    types[n++] = 0;
    if (b) {
        if (f->close_twice) {
            ids[n] = f->close;
            types[n++] = f->type_b;
        }
        for (int i = 0; i < nb; i++) {
            ids[n] = y.p[i];
            types[n++] = f->type_b;
        }
        ids[n] = f->close;
        types[n++] = f->type_b;
    }
    AXF_FREE(x.p, y.p);
    return n;
}

int axf_encode_pair(const axf_vocab *v, const char *a, const char *b, int lower, int max_len,
                    int *ids, int *types, axf_err *err)
{
    if (v->bpe)
        return axf_bpe_encode_pair(v->bpe, a, b, v->prefix_space, max_len, ids, types, err);
    axf__frame f = {.open = v->sp.cls, .close = v->sp.sep, .type_b = 1, .names = "[CLS] or [SEP]"};
    return axf__encode_pair(wp_all, v, lower, a, b, &f, max_len, ids, types, err);
}
