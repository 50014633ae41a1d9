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
    fz_check_tensors(f);
    axf_st_close(f);
    return 0;
}
