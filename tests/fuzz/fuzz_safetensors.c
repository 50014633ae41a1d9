/* Fuzz target: the safetensors reader (axf_st_open), then every tensor found read as float32
 * where the dtype allows. A tensor outside the mapping is reported as a crash. */
#include "axf/safetensors.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("model.safetensors", data, size);
    axf_err err;
    axf_st_file *f = axf_st_open(path, &err);
    if (!f)
        return 0;
    fz_accepted++;
    const unsigned char *lo = f->map, *hi = lo + f->map_size;
    for (int i = 0; i < f->n; i++) {
        const axf_st_tensor *t = &f->t[i];
        if (t->nbytes && (t->data < lo || t->data + t->nbytes > hi || t->nbytes > f->map_size))
            abort(); /* validated offsets must stay inside the file */
        if (axf_st_find(f, t->name) != t)
            abort(); /* names are unique */
        size_t count = 1;
        for (int k = 0; k < t->ndim; k++)
            count *= (size_t)t->shape[k];
        if (count > ((size_t)1 << 20))
            continue;
        float *out = malloc(count * sizeof(float) + sizeof(float));
        axf_st_read_f32(t, out, count, &err);
        free(out);
    }
    axf_st_close(f);
    return 0;
}
