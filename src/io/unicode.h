/* Unicode character facts, growing arrays and pair framing for the tokenizers (private to src/io).
 * The tables live in the generated unicode_tables.c (scripts/gen_unicode_tables.py, from Python's
 * unicodedata, because Hugging Face's BertTokenizer decides with the same data). */
#ifndef AXF_IO_UNICODE_H
#define AXF_IO_UNICODE_H

#include <stdint.h>

#include "axf/common.h"

/* Growing arrays of token ids and of code points. */
typedef struct {
    int *p;
    int n, cap;
} axf__ivec;
typedef struct {
    uint32_t *p;
    int n, cap;
} axf__cpvec;
static inline void axf__ivec_push(axf__ivec *v, int x)
{
    v->p = axf_grow(v->p, sizeof *v->p, v->n, &v->cap, 64);
    v->p[v->n++] = x;
}
static inline void axf__cpvec_push(axf__cpvec *v, uint32_t c)
{
    v->p = axf_grow(v->p, sizeof *v->p, v->n, &v->cap, 64);
    v->p[v->n++] = c;
}
/* How a sentence or a pair is framed: open a close [close] b close; type_b from b on. */
typedef struct {
    int open, close;
    int close_twice;   /* 1: RoBERTa's "</s></s>" between the two texts */
    int type_b;
    const char *names; /* the two special tokens, for the message when one is missing */
} axf__frame;
/* Turns one text into ids (flag: lower-casing or the prefix space); 0 or -1 with err. */
typedef int (*axf__encode_fn)(const void *tok, const char *text, int flag, axf__ivec *out, axf_err *err);
/* Encodes a (and b, may be NULL) with enc, cuts the longer of the two first until both fit
 * max_len with their special tokens, and frames them as f says. Returns the count or -1. */
int axf__encode_pair(axf__encode_fn enc, const void *tok, int flag, const char *a, const char *b,
                     const axf__frame *f, int max_len, int *ids, int *types, axf_err *err);

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
/* Flags in three levels of one table of distinct rows: plane (cp >> 16) -> the plane's row,
 * its entry for (cp >> 8) & 255 -> the block's row, its entry for cp & 255. */
extern const uint8_t axf_uc_plane[17];
extern const uint8_t axf_uc_rows[][256];
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
