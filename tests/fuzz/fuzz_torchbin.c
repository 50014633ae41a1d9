/* Fuzz target: the pytorch_model.bin reader (axf_torchbin_open: zip directory, the restricted
 * unpickler, every tensor checked against its storage), then every tensor found read as float32
 * where the dtype allows. A tensor outside the mapping, a duplicate name, or a refusal that is not
 * one line naming the file is reported as a crash. */
#include "axf/torchbin.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write("pytorch_model.bin", data, size);
    axf_err err;
    axf_st_file *f = axf_torchbin_open(path, &err);
    if (!f) {
        if (strncmp(err.msg, path, strlen(path)) != 0 || strchr(err.msg, '\n'))
            abort();
        return 0;
    }
    fz_accepted++;
    fz_check_tensors(f);
    axf_st_close(f);
    return 0;
}
