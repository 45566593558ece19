// Matrix–vector (and few-row) products over weight-only quantized matrices: int8 with one fp32
// scale per output row, or bf16. Weights are read once per call and widened to fp32 in registers;
// inputs, accumulation and outputs are fp32. Used by TensorCore's `QuantizedWeights` for decoding.
#ifndef RLHF_QUANTIZED_MATVEC_H
#define RLHF_QUANTIZED_MATVEC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets a kernel can be built for; `rlhf_qmv_best_isa` says which this CPU runs.
enum {
    RLHF_QMV_SCALAR = 0,
    RLHF_QMV_AVX2 = 1,    // AVX2 + FMA (Haswell, Zen 1+)
    RLHF_QMV_AVX512 = 2,  // AVX-512 F + BW + VL (Skylake-SP, Zen 4+)
};

/// The fastest instruction set this CPU supports (CPUID through the compiler's runtime).
int rlhf_qmv_best_isa(void);

/// Whether this CPU can run kernels built for `isa`.
int rlhf_qmv_supports(int isa);

/// For every output row r in [row_begin, row_end) and input row i in [0, m):
///   y[i * y_stride + r] (= or +=) scale[r] * sum_k w[r * cols + k] * x[i * x_stride + k]
/// `w` is row-major (rows, cols) int8. `accumulate` != 0 adds to y. `isa` must be supported.
void rlhf_qmv_int8(
    int isa, const int8_t *w, const float *scale, int64_t cols, int64_t row_begin, int64_t row_end,
    const float *x, int64_t m, int64_t x_stride, float *y, int64_t y_stride, int accumulate);

/// The same over bf16 weights (raw bits: the upper half of an fp32), no scale.
void rlhf_qmv_bf16(
    int isa, const uint16_t *w, int64_t cols, int64_t row_begin, int64_t row_end,
    const float *x, int64_t m, int64_t x_stride, float *y, int64_t y_stride, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
