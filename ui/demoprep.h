/* The demo's model and data: built by the demo module (demo.h) from a seed, cached on disk so that
 * a second start is instant. Cache folder: $XDG_CACHE_HOME/axformer/demo-v<version>-s<seed>-<task
 * fingerprint>/ (else ~/.cache/axformer/...; the fingerprint hashes the generated splits), holding the model files and the task's split files as demo.h writes
 * them, plus a "complete" marker written last, so a half-built cache is rebuilt, never used. */
#ifndef AXF_UI_DEMOPREP_H
#define AXF_UI_DEMOPREP_H

#include <stddef.h>
#include <stdint.h>

#include "axf/common.h"

/* Fills model_dir, data (search split) and holdout ("" when none). Trains on a cache miss, with
 * progress through fn (which may cancel). */
int axf_demoprep(uint64_t seed, axf_progress_fn fn, void *ud, char *model_dir, size_t model_n, char *data,
                 size_t data_n, char *holdout, size_t holdout_n, axf_err *err);

#endif
