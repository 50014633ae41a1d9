/* The engine's int8 product y = dequant(q_x · q_wᵀ) with the float32 epilogue of gemm.h, on
 * weights quantized and packed once (arithmetic: axf/quant.h). Three kernels, picked at run time:
 *   VNNI    AVX-512 VNNI vpdpbusd, which multiplies unsigned by signed bytes: the inputs are
 *           stored as u8 = q_x + 128 and the packing keeps comp[n] = 128 · sum_k q_w[n][k], so
 *           sum (q_x + 128) q_w - comp[n] is the signed sum exactly (vpdpbusd adds four products
 *           into an int32 without saturating; |partial sums| <= 255 · 127 · K < 2^31).
 *   AVX2    both operands sign-extended to int16 and multiplied with vpmaddwd (pairs of int16
 *           products summed into int32: |q_x q_w| <= 127², no saturation). Not vpmaddubsw, whose
 *           u8 × s8 pair sums saturate at 32,767 (two products of 255 × 127 reach 64,770).
 *   portable plain C int32 sums.
 * The integer sums are exact, so the three agree bit for bit (tests/test_qgemm.c).
 *
 * Packed layout (memory only): panels of nr output channels, panel p holding rows
 * [p·nr, p·nr + nr) of q_w (rows past N zero), k-major in groups of kg consecutive k:
 *   VNNI     nr 32, kg 4: byte [g][j][b] = q_w[p·32 + j][4g + b]   (one zmm per group)
 *   AVX2     nr 16, kg 2: byte [g][j][b] = q_w[p·16 + j][2g + b]   (two xmm per group)
 *   portable nr 16, kg 1: byte [k][j]    = q_w[p·16 + j][k]
 * K is padded to a multiple of kg with zero weights. Quantized inputs (axf_qact) are rows of kp
 * (K padded) elements: u8 (VNNI, padding 128), int16 (AVX2, padding 0) or int8 (portable). */
#ifndef AXF_ENGINE_QGEMM_H
#define AXF_ENGINE_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "engine_internal.h"
#include "gemm.h"

#define AXF_QGEMM_KMAX 65536

typedef enum { AXF_QK_PORTABLE = 0, AXF_QK_AVX2, AXF_QK_VNNI } axf_qkern;

/* -1 (default): use VNNI when the CPU has it and axf_isa_level() allows AVX-512; 0: never. */
extern int axf__vnni;
/* The kernel for the instruction-set level in force: VNNI when AVX-512 is allowed and the CPU has
 * avx512vnni, else AVX2 when allowed, else portable. */
axf_qkern axf__qgemm_kind(void);
const char *axf__qgemm_kind_name(axf_qkern k);

typedef struct axf_qgemm_w {
    int8_t *p;        /* panels, see above */
    int32_t *comp;    /* [npan · nr] VNNI compensation, NULL for the others */
    float *scale;     /* [npan · nr] s_w, zero past N */
    int N, K, kp, nr;
    axf_qkern kind;   /* the kernel the layout is for */
} axf_qgemm_w;

/* Packs q[N, K] (row stride ldq, values in [-127, 127]) and scale[N] for kernel `kind`; NULL for
 * an empty matrix. K <= AXF_QGEMM_KMAX. */
axf_qgemm_w *axf__qgemm_pack(const int8_t *q, const float *scale, int N, int K, int ldq, axf_qkern kind);
void axf__qgemm_w_free(axf_qgemm_w *w);
size_t axf__qgemm_w_bytes(const axf_qgemm_w *w);

/* Quantized inputs: T rows of kp elements (type by kind) and their scales s_x. */
typedef struct axf_qact {
    void *x;
    float *s;         /* [T] */
    int T, K, kp;
    axf_qkern kind;
} axf_qact;

/* Bytes of x for T rows of K (any kind). */
size_t axf__qact_bytes(int T, int K);
/* Quantizes x[T, K] (row stride ldx) into a (x: buf of axf__qact_bytes(T, K), s: scales[T]) for
 * kernel `kind`, rows split over the engine's threads (e NULL: the caller's thread). */
void axf__qact_quantize(axf_engine *e, axf_qact *a, void *buf, float *scales, const float *x, int ldx, int T,
                        int K, axf_qkern kind);
/* y[T, N] (ldy) = the int8 product of a (T rows) and w, then epi (NULL: none; gemm.h). a and w
 * must be of the same kind and K. Work split over the engine's threads (e NULL: the caller's). */
void axf__qgemm(axf_engine *e, const axf_qgemm_w *w, const axf_qact *a, const axf_gemm_epi *epi, float *y,
                int ldy);

/* ---- the engine's int8 weights (layer.c) ---- */

/* The packed int8 weights of block `block` (0: attention, w[AXF_W_Q..AXF_W_O]; 1: FFN,
 * w[AXF_W_1], w[AXF_W_2]) of layer li under lp: the kept heads' / neurons' part of each matrix,
 * quantized as a matrix of its own (axf_quant_gather), for the kernel in force. Made on first use
 * and kept until the layer's mask or the kernel changes (an engine whose weights are not frozen
 * drops them after every layer: axf__q8_drop_layer). A part with nothing kept is NULL. */
axf_qgemm_w *const *axf__q8_block(axf_engine *e, int li, const axf_layer_plan *lp, int block);
void axf__q8_drop_layer(axf_engine *e, int li);
/* Frees every layer's int8 weights and the input scratch (engine free). */
void axf__q8_drop(axf_engine *e);
/* Quantizes x[T, K] (ldx) into the engine's scratch for the kernel in force. */
void axf__q8_input(axf_engine *e, axf_qact *a, const float *x, int ldx, int T, int K);

#endif
