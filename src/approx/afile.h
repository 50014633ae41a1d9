/* Private file helpers of the approx and search modules (io keeps its own; these are not API). */
#ifndef AXF_APPROX_AFILE_H
#define AXF_APPROX_AFILE_H

#include "axf/common.h"

/* Whole file, NUL-terminated; refuses files over max bytes. *len may be NULL. */
char *axf_afile_read(const char *path, size_t max, size_t *len, axf_err *err);
/* PATH.tmp, fsync, rename: readers see the old file or the new one, never half of one. */
int axf_afile_write_atomic(const char *path, const void *data, size_t n, axf_err *err);
/* Copies src over dst atomically. */
int axf_afile_copy(const char *src, const char *dst, axf_err *err);
/* dir + "/" + name, freshly allocated. */
char *axf_afile_join(const char *dir, const char *name);

#endif
