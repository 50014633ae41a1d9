/* Fuzz target: config.json through the model loader (axf_model_load and the encoder-only loader
 * of finetune --init), beside the fixture's model.safetensors and vocab.txt. */
#include "axf/model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fz_fixture_once()->model;
    fz_write("model/config.json", data, size); /* over the fixture's own */
    axf_err err;
    axf_model *m = axf_model_load(dir, &err);
    if (m) {
        fz_accepted++;
        if (axf_model_params(m) == 0 || !(axf_model_flops_per_token(m, 8) > 0))
            abort();
        axf_model_free(m);
    }
    int found = 0;
    m = axf_model_load_encoder(dir, &found, &err);
    axf_model_free(m);
    return 0;
}
