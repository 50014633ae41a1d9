/* Task data: readers for GLUE TSV (SST-2, CoLA, MRPC, RTE, QNLI, MNLI, QQP, STS-B), sentence-level
 * SST-2 "<label> <sentence>" files and plain text, and the encoded (tokenized, packed) form the
 * engine consumes.
 *
 * Input files must be UTF-8 (an initial BOM is skipped; LF or CRLF; blank lines skipped; lines up
 * to 1 MiB). Format detection (axf_dataset_load with task NULL), from the first non-blank line:
 *  - a header naming known columns (sentence, sentence1, sentence2, question, question1,
 *    question2, premise, hypothesis, label, gold_label, is_duplicate, score, Quality, #1 String,
 *    #2 String): columns are taken by name. Text: question+sentence (QNLI), else the first of
 *    sentence1, question1, #1 String, premise, sentence, question, text; second text: sentence2,
 *    question2, #2 String, hypothesis. Label: gold_label, label, is_duplicate, score, Quality (no
 *    label column = unlabelled, e.g. MRPC test.tsv). Task: #1 String -> mrpc, question1 -> qqp,
 *    question+sentence -> qnli, gold_label/premise -> mnli, score -> stsb, otherwise from the
 *    folder/file name (cola, sst, mrpc, rte, qnli, mnli, qqp, wnli, sts-b/stsb; one text: only
 *    cola and sst count), else "pair" (two texts) or "single" (one text): the generic tasks, of
 *    any label set. A header with an "idx" column (Hugging Face datasets export, written
 *    by pandas) turns on CSV quoting: a field starting with " is quoted and "" stands for ".
 *  - no header, 4 columns: official GLUE CoLA "source, label, notes, sentence" (task cola).
 *  - no header, 2 columns: "sentence, label" (sst2 when the name says sst, else cola).
 *  - no tab: "<label> <sentence>" (task "sst2-sent") when the name has "stsa." or the line starts
 *    with digits and a space; otherwise plain text, one unlabelled example a line (task "text").
 * task non-NULL forces: "text" and "sst2-sent" pick those formats; "cola"/"sst2"/"single" accept
 * the header-less layouts; every other task needs a header.
 * Lines end in LF or CRLF; a CR inside a line (a file of CR line ends) is refused.
 * Labels: integers 0..C-1 ("-1" = unlabelled row, as in HF test exports); rte/qnli also
 * entailment=0, not_entailment=1; mnli also entailment=0, neutral=1, contradiction=2; stsb a score
 * in [0, 5] stored in target (label -1, kind REGRESS, num_labels 1). num_labels: 2 for the binary
 * GLUE tasks, 3 for mnli, 1 for stsb, largest label + 1 (at least 2) for single/pair/sst2-sent, 0
 * when unlabelled. Read for a model (axf_dataset_load_for), the model's classes decide instead:
 * a label is one of its id2label names, "LABEL_i" or an integer in 0..C-1 (axf/labels.h; then the
 * task's own words for rte/qnli/mnli), "-1" unlabelled, anything else an error naming the file,
 * line and the model's classes; num_labels is the model's C. A generic file ("single", "pair") read
 * for a regression model holds numbers (kind REGRESS). Errors: "FILE:LINE: expected 2 columns, found 3", "FILE:LINE: bad label 'x' for
 * task sst2 (...)", "FILE: empty file", "FILE:LINE: invalid UTF-8 ...", "FILE:LINE: line longer
 * than 1 MiB", "FILE:LINE: empty sentence", "FILE:LINE: unterminated quoted field 2". */
#ifndef AXF_DATA_H
#define AXF_DATA_H

#include "axf/common.h"
#include "axf/model.h"
#include "axf/tokenizer.h"

/* A packed batch. Sequence i spans tokens [seq_off[i] - seq_off[0], seq_off[i+1] - seq_off[0])
 * of ids/types, so a slice of an encoded data set is a batch without copying. Positions restart
 * at 0 for every sequence. */
typedef struct axf_batch {
    int n_seq;            /* B */
    int n_tok;            /* T = seq_off[B] - seq_off[0] */
    const int *ids;       /* [T] */
    const int *types;     /* [T] */
    const int *seq_off;   /* [B+1] */
} axf_batch;

typedef struct axf_example {
    char *a, *b;        /* b NULL for single sentences */
    int label;          /* class id, -1 when unlabelled */
    float target;       /* regression target (STS-B) */
} axf_example;

typedef struct axf_dataset {
    int n;
    axf_example *ex;
    int num_labels;     /* 1 for regression, 0 when unlabelled */
    axf_task_kind kind;
    char task[32];      /* "sst2", "cola", "mrpc", "rte", "qnli", "mnli", "qqp", "stsb", "wnli",
                           "sst2-sent", "text", "single", "pair" (generic), "demo" (set by others) */
    char *path;
} axf_dataset;

/* task NULL = detect from the file name and header. Errors name file, line and problem. */
axf_dataset *axf_dataset_load(const char *path, const char *task, axf_err *err);
/* The same, read for the model whose config is model (NULL: as axf_dataset_load): labels name its
 * classes (see above). flags: AXF_DATA_NO_LABELS ignores every label (all -1, num_labels 0;
 * predictions need none). */
enum { AXF_DATA_NO_LABELS = 1 };
axf_dataset *axf_dataset_load_for(const char *path, const char *task, const axf_config *model, int flags,
                                  axf_err *err);
axf_dataset *axf_dataset_new(const char *task, int num_labels, axf_task_kind kind);
void axf_dataset_add(axf_dataset *d, const char *a, const char *b, int label, float target);
void axf_dataset_free(axf_dataset *d);
/* Splits d into *train and *dev, two new sets with d's task, classes and kind, each keeping file
 * order. dev holds nd = lround(frac * n) examples (the product in float), at least 1 when
 * frac > 0 and at most n - 1: the first nd of 0..n-1 shuffled by axf_rng_shuffle seeded with
 * `seed`. frac <= 0 leaves dev empty. */
void axf_dataset_split(const axf_dataset *d, float frac, uint64_t seed, axf_dataset **train,
                       axf_dataset **dev);

/* Non-blank lines of a text file as UTF-8 strings (newline and trailing CR removed), e.g. a
 * pre-training corpus. latin1 != 0 decodes the bytes as Windows-1252 (Latin-1 with the printable
 * 0x80-0x9F of cp1252, as in rt-polarity: 0x85 "…", 0x91 "‘", 0x96 "–"); otherwise invalid UTF-8
 * is an error naming the line. *n = number of lines; free with axf_text_lines_free. */
char **axf_text_read_lines(const char *path, int latin1, int *n, axf_err *err);
void axf_text_lines_free(char **lines, int n);

/* Tokenized, packed examples: example i is tokens [off[i], off[i+1]). */
typedef struct axf_encoded {
    int n;
    int *ids, *types;   /* [off[n]] */
    int *off;           /* [n+1] */
    int *labels;        /* [n] */
    float *targets;     /* [n] */
    int max_len;        /* longest example */
    int num_labels;
    axf_task_kind kind;
} axf_encoded;

/* Tokenizes every example with axf_encode_pair (truncated to max_len tokens, longest first). */
axf_encoded *axf_encode_dataset(const axf_dataset *d, const axf_vocab *v, int lower, int max_len,
                                axf_err *err);
void axf_encoded_free(axf_encoded *e);
/* View of examples [start, start+count) as a batch (no copy; seq_off points into e->off, so
 * offsets are relative to seq_off[0] as axf_batch says). Valid while e lives. */
axf_batch axf_encoded_batch(const axf_encoded *e, int start, int count);

#endif
