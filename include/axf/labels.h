/* A model's classes as data files and messages name them.
 *
 * A data file read for a given model (axf_dataset_load_for) names each example's class by one of:
 * the model's id2label name (exact, case-sensitive), Hugging Face's placeholder "LABEL_i", or the
 * class id as an integer in 0..C-1. The model's names come first, so a model whose id2label says
 * {"0": "contradiction", "1": "neutral", "2": "entailment"} reads MNLI's words its own way. */
#ifndef AXF_LABELS_H
#define AXF_LABELS_H

#include <stddef.h>

#include "axf/model.h"

/* Class id of s (no surrounding spaces) for the classification model c, or -1 when s names none
 * of its classes. */
int axf_labels_find(const axf_config *c, const char *s);
/* The classes for a one-line message, at most size bytes: "0..2 (negative, neutral, positive)",
 * "0..1" when unnamed, the names escaped (axf_escape) and the list cut with "..." when long.
 * Returns buf. */
const char *axf_labels_describe(const axf_config *c, char *buf, size_t size);

#endif
