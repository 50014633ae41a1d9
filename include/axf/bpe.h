/* Byte-level BPE tokenizer (the GPT-2 / RoBERTa scheme), as Hugging Face's RobertaTokenizer does it.
 *
 * Files (read, and written by axf_bpe_train / axf_bpe_save):
 *   vocab.json   one JSON object {token: id}; ids are distinct integers in [0, 2^31).
 *   merges.txt   UTF-8 lines "A B" (two tokens, one space), the earlier line the stronger merge;
 *                a first line starting with "#version" and empty lines are skipped.
 * Tokens are strings over the byte alphabet: every byte b is one code point, b itself for the
 * printable ranges 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF, and 256, 257, ... in byte order for the
 * 68 others (so the space 0x20 is U+0120 'Ġ').
 *
 * Encoding text: (1) split into pieces by the pre-tokenizer pattern, the first alternative that
 * matches at each position winning:
 *     's 't 're 've 'm 'll 'd  |  ␠?L+  |  ␠?N+  |  ␠?[^\s L N]+  |  \s+ not followed by a non-space  |  \s+
 * where L is a letter (Unicode category L*), N a number (N*), \s a character Python's
 * str.isspace() accepts, ␠ the ASCII space; (2) each piece's UTF-8 bytes mapped through the byte
 * alphabet; (3) within a piece, the adjacent pair with the strongest merge is merged, repeatedly,
 * until no pair has a merge; (4) each symbol looked up in vocab.json (a symbol missing from it
 * becomes <unk>, or an error when there is none). Unicode facts come from the same tables as the
 * WordPiece tokenizer (src/io/unicode_tables.c, Python's unicodedata). */
#ifndef AXF_BPE_H
#define AXF_BPE_H

#include "axf/common.h"

typedef struct axf_bpe axf_bpe;

/* Errors name the file and line / token: bad JSON, a non-integer or repeated id, a merges line
 * that is not two tokens, a merge whose parts or result are not in the vocabulary. */
axf_bpe *axf_bpe_load(const char *vocab_json, const char *merges_txt, axf_err *err);
void axf_bpe_free(axf_bpe *b);
/* One more than the largest id. */
int axf_bpe_size(const axf_bpe *b);
int axf_bpe_id(const axf_bpe *b, const char *token);   /* -1 when absent */
const char *axf_bpe_token(const axf_bpe *b, int id);   /* NULL when no token has the id */

/* Ids of text without special tokens; add_prefix_space puts a space before text (so that the
 * first word is encoded as every later one). Returns the count (at most cap are written; the
 * rest are counted but dropped) or -1 on invalid UTF-8 or an unknown symbol without <unk>. */
int axf_bpe_ids(const axf_bpe *b, const char *text, int add_prefix_space, int *ids, int cap, axf_err *err);

/* <s> a </s> or <s> a </s></s> b </s> (b may be NULL), pieces truncated longest-first so that
 * the whole is at most max_len; types are all 0. Needs <s> and </s> in the vocabulary. Returns
 * the token count or -1. */
int axf_bpe_encode_pair(const axf_bpe *b, const char *a, const char *b2, int add_prefix_space, int max_len,
                        int *ids, int *types, axf_err *err);

/* Learns a vocabulary from texts: the 256 byte symbols, then `merges` merges, each joining the
 * pair of adjacent symbols that occurs most often within the pre-tokenizer's pieces (ties: the
 * pair whose merged string sorts first bytewise, then whose left part does), then the specials <s> <pad> </s> <unk> at ids
 * 0-3 and <mask> last, as RoBERTa's vocabulary orders them. Deterministic. */
axf_bpe *axf_bpe_train(const char *const *texts, int n, int merges, axf_err *err);
/* Writes dir/vocab.json and dir/merges.txt (atomically). */
int axf_bpe_save(const axf_bpe *b, const char *dir, axf_err *err);

#endif
