/* safetensors reader (memory-mapped, fully validated) and writer.
 * Format: u64 LE header size N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__"},
 * then the tensor bytes (see FORMATS.md).
 *
 * axf_st_open refuses (one line naming the file and the tensor or problem): files under 8 bytes,
 * N > 100 MB or N + 8 > file size, a header not starting with '{', invalid JSON or trailing bytes
 * other than white space, entries that are not objects, unknown dtypes (known: F32 F16 BF16 F64 I64
 * I32 I16 I8 U8 BOOL, and U16 U32 U64 F8_E4M3 F8_E5M2 as AXF_DT_OTHER), shapes with more than 8
 * dimensions or entries that are not non-negative integers, data_offsets that are not two integers
 * begin <= end, end - begin != product(shape) x element size, offsets outside the data area,
 * overlapping tensors, holes or trailing bytes in the data area, repeated names. "__metadata__" is
 * ignored. Assumes a little-endian host.
 *
 * axf_st_write writes: the 8-byte LE size N; a compact JSON object {"__metadata__":{"format":"pt"},
 * "<name>":{"dtype":"F32","shape":[...],"data_offsets":[b,e]}, ...} with tensors in the order
 * given, padded with spaces so that 8 + N is a multiple of 8; then the tensors' bytes (float32,
 * or int8 for an entry of dtype AXF_DT_I8, written "I8") back to back in that order. Written atomically (axf/fileio.h: a temporary file, fsync, rename). */
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
/* Converts a floating tensor (F32/F16/BF16/F64) to float32 into out[n] (F16 exact, subnormals and
 * infinities included); -1 if the dtype is not floating or n differs from the element count. The
 * message names the tensor; callers prefix the file. */
int axf_st_read_f32(const axf_st_tensor *t, float *out, size_t n, axf_err *err);

/* Writer: tensors are float32 (dtype AXF_DT_F32, the zero default) or int8 (AXF_DT_I8). shape
 * has ndim entries. */
typedef struct axf_st_entry {
    const char *name;
    const void *data;   /* float or int8_t, by dtype */
    int ndim;
    int64_t shape[4];
    axf_dtype dtype;
} axf_st_entry;
/* Atomic (axf_io_atomic_open/close). */
int axf_st_write(const char *path, const axf_st_entry *e, int n, axf_err *err);

#endif
