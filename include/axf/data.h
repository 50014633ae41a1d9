/* Task data: readers for GLUE TSV (SST-2, CoLA, MRPC, RTE, QNLI, MNLI, QQP, STS-B), sentence-level
 * SST-2 "<label> <sentence>" files and plain text, and the encoded (tokenized, packed) form the
 * engine consumes. */
#ifndef AXF_DATA_H
#define AXF_DATA_H

#include "axf/common.h"
#include "axf/model.h"
#include "axf/tokenizer.h"
#include "axf/engine.h"

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
    char task[32];      /* "sst2", "cola", "mrpc", "rte", "qnli", "mnli", "qqp", "stsb", "sst2-sent", "text", "demo" */
    char *path;
} axf_dataset;

/* task NULL = detect from the file name and header. Errors name file, line and problem. */
axf_dataset *axf_dataset_load(const char *path, const char *task, axf_err *err);
axf_dataset *axf_dataset_new(const char *task, int num_labels, axf_task_kind kind);
void axf_dataset_add(axf_dataset *d, const char *a, const char *b, int label, float target);
void axf_dataset_free(axf_dataset *d);

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

axf_encoded *axf_encode_dataset(const axf_dataset *d, const axf_vocab *v, int lower, int max_len,
                                axf_err *err);
void axf_encoded_free(axf_encoded *e);
/* View of examples [start, start+count) as a batch (no copy). */
axf_batch axf_encoded_batch(const axf_encoded *e, int start, int count);

#endif
