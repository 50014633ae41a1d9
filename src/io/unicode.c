/* Lookups over the generated Unicode tables (unicode_tables.c). */
#include "unicode.h"

unsigned axf_uc_flags(uint32_t cp)
{
    if (cp >= 0x110000)
        return AXF_UC_CTRL;
    return axf_uc_stage2[axf_uc_stage1[cp >> 8]][cp & 255];
}

int axf_uc_lower(uint32_t cp, uint32_t out[3])
{
    if (cp < 128) {
        out[0] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        return 1;
    }
    int lo = 0, hi = axf_uc_n_lower - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uint32_t c = axf_uc_lower_tab[mid].cp;
        if (c == cp) {
            for (int i = 0; i < axf_uc_lower_tab[mid].n; i++)
                out[i] = axf_uc_lower_tab[mid].to[i];
            return axf_uc_lower_tab[mid].n;
        }
        if (c < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
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
    int lo = 0, hi = axf_uc_n_nfd - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uint32_t c = axf_uc_nfd_tab[mid].cp;
        if (c == cp) {
            int n = axf_uc_nfd_tab[mid].n;
            for (int i = 0; i < n; i++)
                out[i] = axf_uc_nfd_pool[axf_uc_nfd_tab[mid].off + (uint32_t)i];
            return n;
        }
        if (c < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    out[0] = cp;
    return 1;
}

int axf_uc_ccc(uint32_t cp)
{
    if (cp < 0x300)
        return 0;
    int lo = 0, hi = axf_uc_n_ccc - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uint32_t c = axf_uc_ccc_tab[mid].cp;
        if (c == cp)
            return axf_uc_ccc_tab[mid].ccc;
        if (c < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

int axf_uc_is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}
