/* Keeping evaluation sentences out of a pre-training corpus: the normalisation key and the
 * filter of train.h (exact, contained, and sentence-piece matches). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "axf/train.h"

char *axf_text_norm_key(const char *s)
{
    size_t n = strlen(s);
    char *out = axf_xmalloc(n + 1), *o = out;
    static const char *const esc[] = {"-lrb-", "-rrb-", "-lsb-", "-rsb-", "-lcb-", "-rcb-"};
    while (*s) {
        int skipped = 0;
        if (*s == '-')
            for (size_t k = 0; k < sizeof esc / sizeof esc[0]; k++) {
                size_t l = strlen(esc[k]);
                if (strncasecmp(s, esc[k], l) == 0) {
                    s += l;
                    skipped = 1;
                    break;
                }
            }
        if (skipped)
            continue;
        unsigned char c = (unsigned char)*s++;
        if (c < 0x80 && isalnum(c))
            *o++ = (char)tolower(c);
    }
    *o = 0;
    return out;
}

typedef struct {
    uint64_t h;  /* hash of the key's first AXF_FILTER_MIN_CONTAIN characters */
    int key;
} anchor;

struct axf_text_filter {
    char **keys;
    int n, cap;
    unsigned char *hit;
    anchor *an;
    int n_an, sorted;
};

axf_text_filter *axf_text_filter_new(void) { return axf_xcalloc(1, sizeof(axf_text_filter)); }

void axf_text_filter_add(axf_text_filter *f, const char *sentence)
{
    char *k = axf_text_norm_key(sentence);
    if (!*k) {
        free(k);
        return;
    }
    f->keys = axf_grow(f->keys, sizeof *f->keys, f->n, &f->cap, 256);
    f->keys[f->n++] = k;
    f->sorted = 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmp_anchor(const void *a, const void *b)
{
    const anchor *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h;
}

static void prepare(axf_text_filter *f)
{
    if (f->sorted)
        return;
    qsort(f->keys, (size_t)f->n, sizeof *f->keys, cmp_str);
    int w = 0;
    for (int i = 0; i < f->n; i++) {
        if (w && !strcmp(f->keys[w - 1], f->keys[i])) {
            free(f->keys[i]);
            continue;
        }
        f->keys[w++] = f->keys[i];
    }
    f->n = w;
    free(f->hit);
    f->hit = axf_xcalloc((size_t)(f->n + 1), 1);
    free(f->an);
    f->an = axf_xmalloc((size_t)(f->n + 1) * sizeof *f->an);
    f->n_an = 0;
    for (int i = 0; i < f->n; i++)
        if (strlen(f->keys[i]) >= AXF_FILTER_MIN_CONTAIN)
            f->an[f->n_an++] = (anchor){axf_hash_fnv1a(f->keys[i], AXF_FILTER_MIN_CONTAIN), i};
    qsort(f->an, (size_t)f->n_an, sizeof *f->an, cmp_anchor);
    f->sorted = 1;
}

static int exact(axf_text_filter *f, const char *k)
{
    char **p = bsearch(&k, f->keys, (size_t)f->n, sizeof *f->keys, cmp_str);
    if (!p)
        return 0;
    f->hit[p - f->keys] = 1;
    return 1;
}

int axf_text_filter_match(axf_text_filter *f, const char *line)
{
    prepare(f);
    if (!f->n)
        return 0;
    int found = 0;
    char *k = axf_text_norm_key(line);
    size_t L = strlen(k);
    if (*k && exact(f, k))
        found = 1;
    /* keep scanning after a hit: a snippet may hold several filter sentences, all worth counting */
    for (size_t i = 0; i + AXF_FILTER_MIN_CONTAIN <= L; i++) {
        anchor q = {axf_hash_fnv1a(k + i, AXF_FILTER_MIN_CONTAIN), 0};
        anchor *a = bsearch(&q, f->an, (size_t)f->n_an, sizeof *f->an, cmp_anchor);
        if (!a)
            continue;
        while (a > f->an && a[-1].h == q.h)
            a--;
        for (; a < f->an + f->n_an && a->h == q.h; a++) {
            const char *key = f->keys[a->key];
            size_t kl = strlen(key);
            if (i + kl <= L && memcmp(k + i, key, kl) == 0) {
                f->hit[a->key] = 1;
                found = 1;
            }
        }
    }
    free(k);
    /* pieces between sentence punctuation */
    {
        size_t n = strlen(line);
        char *piece = axf_xmalloc(n + 1);
        const char *p = line;
        while (*p) {
            size_t m = strcspn(p, ".!?;:");
            memcpy(piece, p, m);
            piece[m] = 0;
            char *pk = axf_text_norm_key(piece);
            if (*pk && exact(f, pk))
                found = 1;
            free(pk);
            p += m;
            if (*p)
                p++;
        }
        free(piece);
    }
    return found;
}

int axf_text_filter_hits(const axf_text_filter *f, int *total)
{
    int h = 0;
    for (int i = 0; f->hit && i < f->n; i++)
        h += f->hit[i];
    if (total)
        *total = f->n;
    return h;
}

void axf_text_filter_free(axf_text_filter *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->keys[i]);
    AXF_FREE(f->keys, f->hit, f->an, f);
}
