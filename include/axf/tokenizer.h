/* BERT WordPiece tokenizer (basic tokenizer + greedy longest-match WordPiece), as Hugging Face's
 * Python BertTokenizer does it (FORMATS.md); Unicode facts come from tables generated from
 * Python's unicodedata (scripts/gen_unicode_tables.py), lower-casing is Python's str.lower()
 * (final sigma included), words over 100 characters (code points) become [UNK].
 *
 * vocab.txt (read and written): UTF-8, one token a line ending in LF, id = line number from 0.
 * The LF is stripped, and a CR before it (HF reads the file in Python's text mode); a CR anywhere
 * else is refused; a token repeated on a later line maps to its last id. axf_vocab_load refuses a
 * file without [UNK], [CLS] or [SEP], naming the file and the token. */
#ifndef AXF_TOKENIZER_H
#define AXF_TOKENIZER_H

#include "axf/bpe.h"
#include "axf/common.h"
#include "axf/model.h"

/* A model's tokenizer: a WordPiece vocabulary (vocab.txt), or a byte-level BPE one (vocab.json +
 * merges.txt, axf/bpe.h) behind the same calls: ids, tokens, specials (<pad> <unk> <s> </s>
 * <mask> in the [PAD] [UNK] [CLS] [SEP] [MASK] roles), axf_wordpiece (the BPE ids, lower ignored)
 * and axf_encode_pair (<s> a </s></s> b </s>, types all 0). */
typedef struct axf_vocab axf_vocab;

/* The tokenizer of model folder dir for a model of config c: vocab.txt, or vocab.json +
 * merges.txt (preferred for RoBERTa, used for the others when there is no vocab.txt), with
 * c->add_prefix_space for BPE. Refuses a vocabulary larger than c->vocab_size (naming the file). */
axf_vocab *axf_vocab_load_dir(const char *dir, const axf_config *c, axf_err *err);
/* Writes the tokenizer's files into dir (vocab.txt, or vocab.json + merges.txt), creating dir. */
int axf_vocab_save_dir(const axf_vocab *v, const char *dir, axf_err *err);
/* Copies the tokenizer files found in from (vocab.txt, vocab.json, merges.txt) into to; an error
 * when there is none. */
int axf_vocab_copy_files(const char *from, const char *to, axf_err *err);
int axf_vocab_is_bpe(const axf_vocab *v);
/* The tokenizer of a byte-level BPE (axf_bpe_load / axf_bpe_train), which it takes over (freed
 * with it); prefix_space as tokenizer_config.json's add_prefix_space. */
axf_vocab *axf_vocab_from_bpe(axf_bpe *b, int prefix_space);

axf_vocab *axf_vocab_load(const char *path, axf_err *err);
/* Builds a vocabulary from tokens (copied). */
axf_vocab *axf_vocab_from_list(const char *const *tokens, int n, axf_err *err);
int axf_vocab_save(const axf_vocab *v, const char *path, axf_err *err);
void axf_vocab_free(axf_vocab *v);
int axf_vocab_size(const axf_vocab *v);
int axf_vocab_id(const axf_vocab *v, const char *token); /* -1 when absent */
const char *axf_vocab_token(const axf_vocab *v, int id);
/* Special ids (-1 when absent): [PAD] [UNK] [CLS] [SEP] [MASK]. */
typedef struct axf_special { int pad, unk, cls, sep, mask; } axf_special;
axf_special axf_vocab_special(const axf_vocab *v);

/* Basic tokenization of text into words (cleaning, CJK split, lower-case + accent strip when
 * lower != 0, punctuation split). Calls fn for each word; returns -1 on invalid UTF-8. */
typedef void (*axf_word_fn)(const char *word, int len, void *ud);
int axf_basic_tokenize(const char *text, int lower, axf_word_fn fn, void *ud, axf_err *err);

/* WordPiece ids of text (no specials). Returns the count written (<= cap, more are dropped) or -1. */
int axf_wordpiece(const axf_vocab *v, const char *text, int lower, int *ids, int cap, axf_err *err);

/* [CLS] a [SEP] (b [SEP]) with token types, truncated longest-first to max_len tokens.
 * ids/types need max_len entries. Returns the token count or -1. b may be NULL. */
int axf_encode_pair(const axf_vocab *v, const char *a, const char *b, int lower, int max_len,
                    int *ids, int *types, axf_err *err);

#endif
