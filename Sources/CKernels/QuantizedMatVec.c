// Weight-only quantized matrix–vector products (see include/QuantizedMatVec.h).
//
// Batch-1 decoding is bound by the bytes of weights read per token, so these kernels read each
// weight once per call and widen it in registers (int8 → int32 → fp32, or bf16 → fp32 by a shift),
// multiplying fp32 inputs with fp32 accumulation. Each instruction-set variant is compiled with its
// own `target` attribute and chosen at run time, so one binary runs on AVX2-only CPUs and uses
// AVX-512 where present. Blocks of R output rows × MB input rows keep R·MB accumulators in
// registers: one input chunk serves R weight rows, one weight chunk serves MB inputs.
#include "QuantizedMatVec.h"

#include <string.h>

static inline float bf16_to_f32(uint16_t bits) {
    uint32_t u = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// ---- scalar (any CPU; also the reference order of the tails) ----

static void scalar_kernel(
    const int8_t *w8, const uint16_t *w16, const float *scale, int64_t cols, int64_t row_begin,
    int64_t row_end, const float *x, int64_t m, int64_t x_stride, float *y, int64_t y_stride,
    int accumulate) {
    for (int64_t r = row_begin; r < row_end; r++) {
        for (int64_t i = 0; i < m; i++) {
            const float *xi = x + i * x_stride;
            float sum = 0;
            if (w8) {
                const int8_t *wr = w8 + r * cols;
                for (int64_t k = 0; k < cols; k++) sum += (float)wr[k] * xi[k];
            } else {
                const uint16_t *wr = w16 + r * cols;
                for (int64_t k = 0; k < cols; k++) sum += bf16_to_f32(wr[k]) * xi[k];
            }
            float v = scale ? sum * scale[r] : sum;
            float *out = y + i * y_stride + r;
            *out = accumulate ? *out + v : v;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define TARGET256 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

// Widening loads: 16 (AVX-512) or 8 (AVX2) weights → fp32 lanes.
#define LOAD512_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define LOADM512_I8(mask, p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, p)))
#define LOAD512_BF16(p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))
#define LOADM512_BF16(mask, p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p)), 16))
#define LOAD256_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define LOAD256_BF16(p) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))

TARGET256 INLINE float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE void store_result(
    float v, const float *scale, int64_t r, float *y, int64_t i, int64_t y_stride, int accumulate) {
    if (scale) v *= scale[r];
    float *out = y + i * y_stride + r;
    *out = accumulate ? *out + v : v;
}

// One block: rows r0..r0+R-1 × inputs 0..MB-1. R and MB are literal constants at every call, so
// the loops unroll and the accumulators live in registers.
#define DEFINE_BLOCK512(NAME, WTYPE, LOAD, LOADM)                                                    \
    TARGET512 INLINE void NAME(                                                                      \
        const WTYPE *w, const float *scale, int64_t cols, int64_t r0, const int R, const float *x,  \
        const int MB, int64_t x_stride, float *y, int64_t y_stride, int accumulate) {               \
        __m512 acc[8][4];                                                                            \
        for (int j = 0; j < R; j++)                                                                  \
            for (int i = 0; i < MB; i++) acc[j][i] = _mm512_setzero_ps();                            \
        int64_t k = 0;                                                                               \
        for (; k + 16 <= cols; k += 16) {                                                            \
            __m512 xv[4];                                                                            \
            for (int i = 0; i < MB; i++) xv[i] = _mm512_loadu_ps(x + i * x_stride + k);              \
            for (int j = 0; j < R; j++) {                                                            \
                __m512 wv = LOAD(w + (r0 + j) * cols + k);                                           \
                for (int i = 0; i < MB; i++) acc[j][i] = _mm512_fmadd_ps(wv, xv[i], acc[j][i]);      \
            }                                                                                        \
        }                                                                                            \
        if (k < cols) {                                                                              \
            __mmask16 mask = (__mmask16)((1u << (cols - k)) - 1);                                    \
            __m512 xv[4];                                                                            \
            for (int i = 0; i < MB; i++) xv[i] = _mm512_maskz_loadu_ps(mask, x + i * x_stride + k);  \
            for (int j = 0; j < R; j++) {                                                            \
                __m512 wv = LOADM(mask, w + (r0 + j) * cols + k);                                    \
                for (int i = 0; i < MB; i++) acc[j][i] = _mm512_fmadd_ps(wv, xv[i], acc[j][i]);      \
            }                                                                                        \
        }                                                                                            \
        for (int j = 0; j < R; j++)                                                                  \
            for (int i = 0; i < MB; i++)                                                             \
                store_result(_mm512_reduce_add_ps(acc[j][i]), scale, r0 + j, y, i, y_stride,         \
                             accumulate);                                                            \
    }

#define DEFINE_BLOCK256(NAME, WTYPE, LOAD, SCALAR)                                                   \
    TARGET256 INLINE void NAME(                                                                      \
        const WTYPE *w, const float *scale, int64_t cols, int64_t r0, const int R, const float *x,  \
        const int MB, int64_t x_stride, float *y, int64_t y_stride, int accumulate) {               \
        __m256 acc[4][4];                                                                            \
        for (int j = 0; j < R; j++)                                                                  \
            for (int i = 0; i < MB; i++) acc[j][i] = _mm256_setzero_ps();                            \
        int64_t k = 0;                                                                               \
        for (; k + 8 <= cols; k += 8) {                                                              \
            __m256 xv[4];                                                                            \
            for (int i = 0; i < MB; i++) xv[i] = _mm256_loadu_ps(x + i * x_stride + k);              \
            for (int j = 0; j < R; j++) {                                                            \
                __m256 wv = LOAD(w + (r0 + j) * cols + k);                                           \
                for (int i = 0; i < MB; i++) acc[j][i] = _mm256_fmadd_ps(wv, xv[i], acc[j][i]);      \
            }                                                                                        \
        }                                                                                            \
        for (int j = 0; j < R; j++)                                                                  \
            for (int i = 0; i < MB; i++) {                                                           \
                float s = hsum256(acc[j][i]);                                                        \
                const WTYPE *wr = w + (r0 + j) * cols;                                               \
                const float *xi = x + i * x_stride;                                                  \
                for (int64_t t = k; t < cols; t++) s += SCALAR(wr[t]) * xi[t];                       \
                store_result(s, scale, r0 + j, y, i, y_stride, accumulate);                          \
            }                                                                                        \
    }

#define I8_TO_F32(v) ((float)(v))
DEFINE_BLOCK512(block512_int8, int8_t, LOAD512_I8, LOADM512_I8)
DEFINE_BLOCK512(block512_bf16, uint16_t, LOAD512_BF16, LOADM512_BF16)
DEFINE_BLOCK256(block256_int8, int8_t, LOAD256_I8, I8_TO_F32)
DEFINE_BLOCK256(block256_bf16, uint16_t, LOAD256_BF16, bf16_to_f32)

// Drivers: inputs in chunks of up to 4; rows in blocks sized so R·MB accumulators fit the
// register file (32 zmm / 16 ymm), the remainder one row at a time.
#define DEFINE_DRIVER(NAME, TARGET, WTYPE, BLOCK, R1, R2, R34)                                        \
    TARGET static void NAME(                                                                          \
        const WTYPE *w, const float *scale, int64_t cols, int64_t row_begin, int64_t row_end,         \
        const float *x, int64_t m, int64_t x_stride, float *y, int64_t y_stride, int accumulate) {    \
        for (int64_t i0 = 0; i0 < m; i0 += 4) {                                                       \
            const float *xi = x + i0 * x_stride;                                                      \
            float *yi = y + i0 * y_stride;                                                            \
            int64_t r = row_begin;                                                                    \
            switch (m - i0 < 4 ? m - i0 : 4) {                                                        \
            case 1:                                                                                   \
                for (; r + R1 <= row_end; r += R1)                                                    \
                    BLOCK(w, scale, cols, r, R1, xi, 1, x_stride, yi, y_stride, accumulate);          \
                for (; r < row_end; r++) BLOCK(w, scale, cols, r, 1, xi, 1, x_stride, yi, y_stride, accumulate); \
                break;                                                                                \
            case 2:                                                                                   \
                for (; r + R2 <= row_end; r += R2)                                                    \
                    BLOCK(w, scale, cols, r, R2, xi, 2, x_stride, yi, y_stride, accumulate);          \
                for (; r < row_end; r++) BLOCK(w, scale, cols, r, 1, xi, 2, x_stride, yi, y_stride, accumulate); \
                break;                                                                                \
            case 3:                                                                                   \
                for (; r + R34 <= row_end; r += R34)                                                  \
                    BLOCK(w, scale, cols, r, R34, xi, 3, x_stride, yi, y_stride, accumulate);         \
                for (; r < row_end; r++) BLOCK(w, scale, cols, r, 1, xi, 3, x_stride, yi, y_stride, accumulate); \
                break;                                                                                \
            default:                                                                                  \
                for (; r + R34 <= row_end; r += R34)                                                  \
                    BLOCK(w, scale, cols, r, R34, xi, 4, x_stride, yi, y_stride, accumulate);         \
                for (; r < row_end; r++) BLOCK(w, scale, cols, r, 1, xi, 4, x_stride, yi, y_stride, accumulate); \
                break;                                                                                \
            }                                                                                         \
        }                                                                                             \
    }

DEFINE_DRIVER(driver512_int8, TARGET512, int8_t, block512_int8, 8, 4, 2)
DEFINE_DRIVER(driver512_bf16, TARGET512, uint16_t, block512_bf16, 8, 4, 2)
DEFINE_DRIVER(driver256_int8, TARGET256, int8_t, block256_int8, 4, 2, 2)
DEFINE_DRIVER(driver256_bf16, TARGET256, uint16_t, block256_bf16, 4, 2, 2)

int rlhf_qmv_supports(int isa) {
    switch (isa) {
    case RLHF_QMV_SCALAR: return 1;
    case RLHF_QMV_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case RLHF_QMV_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2")
            && __builtin_cpu_supports("fma");
    default: return 0;
    }
}

#else

int rlhf_qmv_supports(int isa) { return isa == RLHF_QMV_SCALAR; }

#endif

int rlhf_qmv_best_isa(void) {
    if (rlhf_qmv_supports(RLHF_QMV_AVX512)) return RLHF_QMV_AVX512;
    if (rlhf_qmv_supports(RLHF_QMV_AVX2)) return RLHF_QMV_AVX2;
    return RLHF_QMV_SCALAR;
}

void rlhf_qmv_int8(
    int isa, const int8_t *w, const float *scale, int64_t cols, int64_t row_begin, int64_t row_end,
    const float *x, int64_t m, int64_t x_stride, float *y, int64_t y_stride, int accumulate) {
#if defined(__x86_64__)
    if (isa == RLHF_QMV_AVX512) {
        driver512_int8(w, scale, cols, row_begin, row_end, x, m, x_stride, y, y_stride, accumulate);
        return;
    }
    if (isa == RLHF_QMV_AVX2) {
        driver256_int8(w, scale, cols, row_begin, row_end, x, m, x_stride, y, y_stride, accumulate);
        return;
    }
#endif
    scalar_kernel(w, NULL, scale, cols, row_begin, row_end, x, m, x_stride, y, y_stride, accumulate);
}

void rlhf_qmv_bf16(
    int isa, const uint16_t *w, int64_t cols, int64_t row_begin, int64_t row_end, const float *x,
    int64_t m, int64_t x_stride, float *y, int64_t y_stride, int accumulate) {
#if defined(__x86_64__)
    if (isa == RLHF_QMV_AVX512) {
        driver512_bf16(w, NULL, cols, row_begin, row_end, x, m, x_stride, y, y_stride, accumulate);
        return;
    }
    if (isa == RLHF_QMV_AVX2) {
        driver256_bf16(w, NULL, cols, row_begin, row_end, x, m, x_stride, y, y_stride, accumulate);
        return;
    }
#endif
    scalar_kernel(NULL, w, NULL, cols, row_begin, row_end, x, m, x_stride, y, y_stride, accumulate);
}
