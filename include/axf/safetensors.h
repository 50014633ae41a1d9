/* safetensors reader (memory-mapped, fully validated) and writer.
 * Format: u64 LE header size N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__"},
 * then the tensor bytes. See ../shared FORMATS.md facts, enforced by axf_st_open. */
#ifndef AXF_SAFETENSORS_H
#define AXF_SAFETENSORS_H

#include "axf/common.h"

typedef enum { AXF_DT_F32 = 0, AXF_DT_F16, AXF_DT_BF16, AXF_DT_I64, AXF_DT_I32, AXF_DT_U8,
               AXF_DT_BOOL, AXF_DT_F64, AXF_DT_I8, AXF_DT_I16, AXF_DT_OTHER } axf_dtype;

typedef struct axf_st_tensor {
    char *name;
    axf_dtype dtype;
    int ndim;
    int64_t shape[8];
    const unsigned char *data; /* inside the mapping */
    size_t nbytes;
} axf_st_tensor;

typedef struct axf_st_file {
    int n;
    axf_st_tensor *t;
    void *map;
    size_t map_size;
    char *path;
} axf_st_file;

axf_st_file *axf_st_open(const char *path, axf_err *err);
void axf_st_close(axf_st_file *f);
const axf_st_tensor *axf_st_find(const axf_st_file *f, const char *name);
/* Converts a floating tensor (F32/F16/BF16/F64) to float32 into out[n]; -1 if the dtype is not
 * floating or n differs from the element count. */
int axf_st_read_f32(const axf_st_tensor *t, float *out, size_t n, axf_err *err);

/* Writer: tensors are float32. shape has ndim entries. */
typedef struct axf_st_entry {
    const char *name;
    const float *data;
    int ndim;
    int64_t shape[4];
} axf_st_entry;
/* Atomic: writes PATH.tmp then renames. */
int axf_st_write(const char *path, const axf_st_entry *e, int n, axf_err *err);

#endif
