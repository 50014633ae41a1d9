/* Copying the published view to the drawing thread, and the names of the display measures. */
#include "view.h"

#include <stdlib.h>
#include <string.h>

const char *axf_measure_name(axf_measure m)
{
    switch (m) {
    case AXF_MEASURE_LOSS: return "loss change if removed (exact)";
    case AXF_MEASURE_ACC: return "accuracy drop if removed (exact)";
    case AXF_MEASURE_GRADIENT: return "gradient |dL/dgate|";
    case AXF_MEASURE_ENTROPY: return "attention entropy";
    case AXF_MEASURE_MAGNITUDE: return "weight magnitude";
    default: return "?";
    }
}

axf_imp_kind axf_measure_kind(axf_measure m)
{
    switch (m) {
    case AXF_MEASURE_GRADIENT: return AXF_IMP_GRADIENT;
    case AXF_MEASURE_ENTROPY: return AXF_IMP_ENTROPY;
    case AXF_MEASURE_MAGNITUDE: return AXF_IMP_MAGNITUDE;
    default: return AXF_IMP_EXACT;
    }
}

int axf_loss_decimals(double loss)
{
    double a = loss < 0 ? -loss : loss;
    return a >= 0.1 || a == 0 || a != a ? 4 : a >= 0.01 ? 5 : a >= 0.001 ? 6 : 7;
}

void axf_str_copy(char *dst, size_t n, const char *src)
{
    if (!n)
        return;
    size_t l = src ? strlen(src) : 0;
    if (l >= n)
        l = n - 1;
    if (l)
        memcpy(dst, src, l);
    dst[l] = 0;
}

void axf_view_copy(axf_view *dst, const axf_view *src)
{
    axf_view_step *keep = dst->steps;
    memcpy(dst, src, sizeof *dst);
    dst->steps = NULL;
    if (src->n_steps > 0) {
        keep = axf_xrealloc(keep, (size_t)src->n_steps * sizeof *keep);
        memcpy(keep, src->steps, (size_t)src->n_steps * sizeof *keep);
        dst->steps = keep;
    } else {
        free(keep);
    }
}

void axf_view_free_steps(axf_view *v)
{
    free(v->steps);
    v->steps = NULL;
    v->n_steps = 0;
}
