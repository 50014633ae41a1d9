/* Lookups over the generated Unicode tables (unicode_tables.c). */
#include "unicode.h"

#include <stdlib.h>

unsigned axf_uc_flags(uint32_t cp)
{
    if (cp >= 0x110000)
        return AXF_UC_CTRL;
    return axf_uc_rows[axf_uc_rows[axf_uc_plane[cp >> 16]][(cp >> 8) & 255]][cp & 255];
}

/* The three tables are sorted by their leading member, the code point. */
static int cmp_cp(const void *key, const void *entry)
{
    uint32_t a = *(const uint32_t *)key, b = *(const uint32_t *)entry;
    return (a > b) - (a < b);
}

static const void *find(uint32_t cp, const void *tab, int n, size_t size)
{
    return bsearch(&cp, tab, (size_t)n, size, cmp_cp);
}

int axf_uc_lower(uint32_t cp, uint32_t out[3])
{
    if (cp < 128) {
        out[0] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        return 1;
    }
    const axf_uc_map *m = find(cp, axf_uc_lower_tab, axf_uc_n_lower, sizeof *m);
    if (m) {
        for (int i = 0; i < m->n; i++)
            out[i] = m->to[i];
        return m->n;
    }
    out[0] = cp;
    return 1;
}

int axf_uc_nfd(uint32_t cp, uint32_t *out, int cap)
{
    if (cp < 0xC0 || cap < 4) {
        out[0] = cp;
        return 1;
    }
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: L V (T) */
        uint32_t s = cp - 0xAC00;
        out[0] = 0x1100 + s / 588;
        out[1] = 0x1161 + (s % 588) / 28;
        if (s % 28) {
            out[2] = 0x11A7 + s % 28;
            return 3;
        }
        return 2;
    }
    const axf_uc_decomp *d = find(cp, axf_uc_nfd_tab, axf_uc_n_nfd, sizeof *d);
    if (d) {
        for (int i = 0; i < d->n; i++)
            out[i] = axf_uc_nfd_pool[d->off + (uint32_t)i];
        return d->n;
    }
    out[0] = cp;
    return 1;
}

int axf_uc_ccc(uint32_t cp)
{
    if (cp < 0x300)
        return 0;
    const axf_uc_class *c = find(cp, axf_uc_ccc_tab, axf_uc_n_ccc, sizeof *c);
    return c ? c->ccc : 0;
}

int axf_uc_is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}
