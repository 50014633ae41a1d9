/* Vocabulary building for pre-training.
 *
 * Default (a base vocabulary given, e.g. BERT's): keep the base pieces the corpus actually uses,
 * most frequent first, plus every single character so nothing becomes [UNK]. It keeps BERT's
 * tested pieces and tokenisation rules, needs no training algorithm, and is how the PyTorch
 * reference for the SST-2 recipe was built (BERT's vocabulary cut to its most frequent pieces),
 * which keeps the comparison fair. From scratch (no base): characters, then whole words and ##
 * suffixes by a frequency heuristic (documented at build_scratch). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "axf/train.h"

static const char *const SPECIALS[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
#define NSPECIAL 5

/* ---- a string -> count map ------------------------------------------------------------------ */

typedef struct {
    char *key;
    long count;
} entry;

typedef struct {
    entry *e;
    size_t cap, n;
} smap;

static entry *smap_get(smap *m, const char *s, size_t n)
{
    if (2 * (m->n + 1) > m->cap) {
        smap g = {axf_xcalloc(m->cap ? 2 * m->cap : 4096, sizeof(entry)), m->cap ? 2 * m->cap : 4096, 0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].key) {
                size_t j = axf_hash_fnv1a(m->e[i].key, strlen(m->e[i].key)) & (g.cap - 1);
                while (g.e[j].key)
                    j = (j + 1) & (g.cap - 1);
                g.e[j] = m->e[i];
                g.n++;
            }
        free(m->e);
        *m = g;
    }
    size_t j = axf_hash_fnv1a(s, n) & (m->cap - 1);
    while (m->e[j].key) {
        if (strlen(m->e[j].key) == n && memcmp(m->e[j].key, s, n) == 0)
            return &m->e[j];
        j = (j + 1) & (m->cap - 1);
    }
    char *k = axf_xmalloc(n + 1);
    memcpy(k, s, n);
    k[n] = 0;
    m->e[j].key = k;
    m->e[j].count = 0;
    m->n++;
    return &m->e[j];
}

/* Lookup without inserting (NULL when absent). */
static entry *smap_find(const smap *m, const char *s, size_t n)
{
    if (!m->cap)
        return NULL;
    size_t j = axf_hash_fnv1a(s, n) & (m->cap - 1);
    while (m->e[j].key) {
        if (strlen(m->e[j].key) == n && memcmp(m->e[j].key, s, n) == 0)
            return &m->e[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

static int is_special(const char *t)
{
    for (int s = 0; s < NSPECIAL; s++)
        if (!strcmp(t, SPECIALS[s]))
            return 1;
    return 0;
}

static void smap_free(smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->e[i].key);
    free(m->e);
}

/* ---- building ------------------------------------------------------------------------------- */

static int utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

typedef struct {
    smap *words;
} word_acc;

static void on_word(const char *w, int len, void *ud)
{
    word_acc *a = ud;
    smap_get(a->words, w, (size_t)len)->count++;
}

static int count_words(const char *const *texts, int n, int lower, smap *words, axf_err *err)
{
    word_acc a = {words};
    for (int i = 0; i < n; i++)
        if (axf_basic_tokenize(texts[i], lower, on_word, &a, err) != 0)
            return axf_err_prefix(err, "sentence %d", i + 1);
    return 0;
}

/* Adds c and ##c for every character of every word. */
static void add_chars(const smap *words, smap *chars)
{
    char buf[16];
    for (size_t i = 0; i < words->cap; i++) {
        const char *w = words->e[i].key;
        if (!w)
            continue;
        for (size_t p = 0; w[p];) {
            int l = utf8_len((unsigned char)w[p]);
            memcpy(buf + 2, w + p, (size_t)l);
            buf[0] = buf[1] = '#';
            smap_get(chars, buf + 2, (size_t)l)->count += words->e[i].count;
            smap_get(chars, buf, (size_t)l + 2)->count += words->e[i].count;
            p += (size_t)l;
        }
    }
}

static int by_count(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

static axf_vocab *build_cut(const char *const *texts, int n, int size, const axf_vocab *base, int lower,
                            axf_err *err)
{
    int V = axf_vocab_size(base);
    long *count = axf_xcalloc((size_t)V, sizeof(long));
    unsigned char *keep = axf_xcalloc((size_t)V, 1);
    int cap = 4096, *ids = axf_xmalloc((size_t)cap * sizeof(int));
    smap words = {0}, chars = {0};
    axf_vocab *out = NULL;
    for (int i = 0; i < n; i++) {
        int k = axf_wordpiece(base, texts[i], lower, ids, cap, err);
        if (k < 0) {
            axf_err_prefix(err, "sentence %d", i + 1);
            goto done;
        }
        for (int j = 0; j < k; j++)
            count[ids[j]]++;
    }
    if (count_words(texts, n, lower, &words, err))
        goto done;
    add_chars(&words, &chars);
    int kept = 0;
    for (int s = 0; s < NSPECIAL; s++) {
        int id = axf_vocab_id(base, SPECIALS[s]);
        if (id < 0) {
            axf_err_set(err, "base vocabulary has no %s token", SPECIALS[s]);
            goto done;
        }
        kept += !keep[id];
        keep[id] = 1;
    }
    for (size_t i = 0; i < chars.cap; i++) {
        if (!chars.e[i].key)
            continue;
        int id = axf_vocab_id(base, chars.e[i].key);
        if (id >= 0 && !keep[id]) {
            keep[id] = 1;
            kept++;
        }
    }
    if (kept > size) {
        axf_err_set(err, "vocabulary size %d is below the %d special and single-character pieces this corpus needs",
                    size, kept);
        goto done;
    }
    entry *rank = axf_xmalloc((size_t)V * sizeof(entry));
    int nr = 0;
    for (int id = 0; id < V; id++)
        if (count[id] > 0 && !keep[id])
            rank[nr++] = (entry){(char *)axf_vocab_token(base, id), count[id]};
    qsort(rank, (size_t)nr, sizeof *rank, by_count);
    for (int i = 0; i < nr && kept < size; i++) {
        keep[axf_vocab_id(base, rank[i].key)] = 1;
        kept++;
    }
    free(rank);
    const char **toks = axf_xmalloc((size_t)kept * sizeof(char *));
    int k = 0;
    for (int id = 0; id < V; id++) /* base order: [PAD] stays 0 in BERT's vocabulary */
        if (keep[id])
            toks[k++] = axf_vocab_token(base, id);
    out = axf_vocab_from_list(toks, k, err);
    free(toks);
done:
    smap_free(&words);
    smap_free(&chars);
    AXF_FREE(ids, keep, count);
    return out;
}

/* From scratch: specials, every character (plain and ##), then 60% of the remaining slots for the
 * most frequent whole words, then the rest for the most frequent ## remainders: for each word not
 * kept whole, the part after its longest kept prefix (what greedy WordPiece would have to cover),
 * counted with the word's frequency. Crude next to real WordPiece training, but every word
 * tokenizes and frequent words stay whole. */
static axf_vocab *build_scratch(const char *const *texts, int n, int size, int lower, axf_err *err)
{
    smap words = {0}, chars = {0}, kept = {0}, rest = {0};
    axf_vocab *out = NULL;
    const char **toks = NULL;
    entry *rank = NULL;
    if (count_words(texts, n, lower, &words, err))
        goto done;
    add_chars(&words, &chars);
    int k = 0;
    toks = axf_xmalloc((size_t)(size > 0 ? size : 1) * sizeof(char *));
    if (NSPECIAL + (int)chars.n > size) {
        axf_err_set(err, "vocabulary size %d is below the %d special and single-character pieces this corpus needs",
                    size, NSPECIAL + (int)chars.n);
        goto done;
    }
    for (int s = 0; s < NSPECIAL; s++)
        smap_get(&kept, SPECIALS[s], strlen(SPECIALS[s]))->count = 1;
    for (size_t i = 0; i < chars.cap; i++)
        if (chars.e[i].key)
            smap_get(&kept, chars.e[i].key, strlen(chars.e[i].key))->count = 1;
    int room = size - (int)kept.n, nw = room * 6 / 10;
    rank = axf_xmalloc((words.n + 1) * sizeof(entry));
    int nr = 0;
    for (size_t i = 0; i < words.cap; i++)
        if (words.e[i].key && utf8_len((unsigned char)words.e[i].key[0]) < (int)strlen(words.e[i].key))
            rank[nr++] = words.e[i];
    qsort(rank, (size_t)nr, sizeof *rank, by_count);
    for (int i = 0; i < nr && nw > 0; i++) {
        entry *e = smap_get(&kept, rank[i].key, strlen(rank[i].key));
        if (!e->count) {
            e->count = 1;
            nw--;
        }
    }
    /* remainders of the words not kept whole */
    for (int i = 0; i < nr; i++) {
        const char *w = rank[i].key;
        size_t L = strlen(w), p = L;
        if (smap_find(&kept, w, L))
            continue;
        while (p > 0 && !smap_find(&kept, w, p))
            p--;
        if (p == 0 || p >= L)
            continue;
        char buf[256];
        if (L - p + 2 >= sizeof buf)
            continue;
        buf[0] = buf[1] = '#';
        memcpy(buf + 2, w + p, L - p);
        smap_get(&rest, buf, L - p + 2)->count += rank[i].count;
    }
    nr = 0;
    free(rank);
    rank = axf_xmalloc((rest.n + 1) * sizeof(entry));
    for (size_t i = 0; i < rest.cap; i++)
        if (rest.e[i].key)
            rank[nr++] = rest.e[i];
    qsort(rank, (size_t)nr, sizeof *rank, by_count);
    for (int i = 0; i < nr && (int)kept.n < size; i++)
        smap_get(&kept, rank[i].key, strlen(rank[i].key))->count = 1;
    /* specials first, then the rest in a stable (sorted) order */
    for (int s = 0; s < NSPECIAL; s++)
        toks[k++] = SPECIALS[s];
    entry *all = axf_xmalloc((kept.n + 1) * sizeof(entry));
    int na = 0;
    for (size_t i = 0; i < kept.cap; i++)
        if (kept.e[i].key && !is_special(kept.e[i].key))
            all[na++] = (entry){kept.e[i].key, 0};
    qsort(all, (size_t)na, sizeof *all, by_count);
    for (int i = 0; i < na && k < size; i++)
        toks[k++] = all[i].key;
    out = axf_vocab_from_list(toks, k, err);
    free(all);
done:
    free(rank);
    free(toks);
    smap_free(&words);
    smap_free(&chars);
    smap_free(&kept);
    smap_free(&rest);
    return out;
}

axf_vocab *axf_vocab_build(const char *const *texts, int n, int size, const axf_vocab *base, int lower,
                           axf_err *err)
{
    if (size < NSPECIAL + 1)
        return axf_err_set(err, "vocabulary size %d too small", size), NULL;
    return base ? build_cut(texts, n, size, base, lower, err) : build_scratch(texts, n, size, lower, err);
}
