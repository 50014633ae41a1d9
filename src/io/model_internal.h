/* Private to src/io's model files (model.c: the tensor table, loading and saving; config.c:
 * the configuration and its JSON files). */
#ifndef AXF_IO_MODEL_INTERNAL_H
#define AXF_IO_MODEL_INTERNAL_H

#include "axf/model.h"

/* The checkpoint names of one architecture. Module paths without ".weight"/".bias"; per-layer
 * ones follow "<layer>.<i>.". head_enc says whether the head's first product sits under the
 * encoder's prefix (BERT's pooler does; DistilBERT's pre_classifier and RoBERTa's
 * classifier.dense do not). */
typedef struct {
    const char *model_type, *class_name, *prefix, *title;
    const char *word, *pos, *type, *emb_ln;   /* type NULL: no token-type embedding */
    const char *layer;
    const char *q, *k, *v, *o, *ln1, *w1, *w2, *ln2;
    const char *head, *cls;
    int head_enc;
    const char *mlm_dense, *mlm_ln, *mlm_bias;
} arch_names;

/* Indexed by axf_arch. */
extern const arch_names axf__arch[];
/* c's architecture's names (BERT's for an unknown one). */
const arch_names *axf__names_of(const axf_config *c);

/* Shape sanity of a config; `where` names the source (a file or "config"). */
int axf__config_check(const axf_config *c, const char *where, axf_err *err);
/* Reads config.json and, when it exists, tokenizer_config.json into *c (checked). */
int axf__config_load(const char *cfg_path, const char *tok_path, axf_config *c, axf_err *err);
/* Writes both files for c. */
int axf__config_save(const axf_config *c, const char *cfg_path, const char *tok_path, axf_err *err);

#endif
