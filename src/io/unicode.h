/* Unicode character facts for the tokenizers (private to src/io). The tables live in the generated
 * unicode_tables.c (scripts/gen_unicode_tables.py, from Python's unicodedata, because Hugging
 * Face's BertTokenizer decides with the same data). */
#ifndef AXF_IO_UNICODE_H
#define AXF_IO_UNICODE_H

#include <stdint.h>

enum {
    AXF_UC_CTRL = 1,      /* category C* other than tab, LF, CR: dropped when cleaning */
    AXF_UC_SPACE = 2,     /* Python str.isspace(): separates words */
    AXF_UC_PUNCT = 4,     /* ASCII 33-47, 58-64, 91-96, 123-126 or category P*: own token */
    AXF_UC_MN = 8,        /* category Mn: dropped after NFD when lower-casing */
    AXF_UC_CASED = 16,    /* final-sigma context: cased letter */
    AXF_UC_CASE_IGN = 32, /* final-sigma context: case-ignorable (skipped) */
    AXF_UC_LETTER = 64,   /* category L* (\p{L} of the BPE pre-tokenizer) */
    AXF_UC_NUMBER = 128   /* category N* (\p{N}) */
};

typedef struct { uint32_t cp; uint8_t n; uint32_t to[3]; } axf_uc_map;
typedef struct { uint32_t cp; uint32_t off; uint8_t n; } axf_uc_decomp;
typedef struct { uint32_t cp; uint8_t ccc; } axf_uc_class;

extern const char axf_uc_version[];
extern const uint16_t axf_uc_stage1[];
extern const uint8_t axf_uc_stage2[][256];
extern const int axf_uc_n_lower, axf_uc_n_nfd, axf_uc_n_ccc;
extern const axf_uc_map axf_uc_lower_tab[];
extern const axf_uc_decomp axf_uc_nfd_tab[];
extern const uint32_t axf_uc_nfd_pool[];
extern const axf_uc_class axf_uc_ccc_tab[];

unsigned axf_uc_flags(uint32_t cp);
/* Python's per-character str.lower() (final sigma handled by the caller): count written (1..3). */
int axf_uc_lower(uint32_t cp, uint32_t out[3]);
/* Full canonical decomposition of one code point into out (cap >= 4 suffices): count written. */
int axf_uc_nfd(uint32_t cp, uint32_t *out, int cap);
int axf_uc_ccc(uint32_t cp);
/* CJK ideograph blocks that BERT puts spaces around. */
int axf_uc_is_cjk(uint32_t cp);

#endif
