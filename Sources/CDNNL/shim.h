// oneDNN (Debian libdnnl-dev) for bf16 matrix products with fp32 accumulation. oneDNN 2.x has no
// BLAS-style bf16 gemm in its C API, so a product is a matmul primitive per shape; these helpers
// build and run one (the Swift side caches them by shape).
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdlib.h>

// Debian's oneDNN runs on OpenMP (libgomp). Products are split over the package's own workers
// instead, each calling oneDNN with one OpenMP thread: OpenMP's threads spin after each product
// and took the cores from the kernels that follow (a fifth of an M step). Declared here because
// clang does not see gcc's omp.h.
extern void omp_set_num_threads(int);

typedef struct cdnnl_matmul {
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t a, b, c, scratchpad;
    size_t scratchpad_size;
} cdnnl_matmul;

static inline dnnl_engine_t cdnnl_engine_create(void) {
    dnnl_engine_t engine = NULL;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return NULL;
    return engine;
}

static inline dnnl_stream_t cdnnl_stream_create(dnnl_engine_t engine) {
    dnnl_stream_t stream = NULL;
    if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return NULL;
    return stream;
}

/// C (m×n, row stride ldc, fp32) = alpha · op(A) · op(B) + beta · C with A, B bf16 (raw uint16),
/// row-major, op = transpose when the flag is set. NULL when oneDNN has no implementation.
static inline cdnnl_matmul *cdnnl_matmul_create(dnnl_engine_t engine, int transA, int transB, int64_t m,
                                                int64_t n, int64_t k, float alpha, int64_t lda, int64_t ldb,
                                                float beta, int64_t ldc) {
    cdnnl_matmul *mm = (cdnnl_matmul *)calloc(1, sizeof(cdnnl_matmul));
    if (!mm) return NULL;
    dnnl_dims_t ad = {m, k}, as = {transA ? 1 : lda, transA ? lda : 1};
    dnnl_dims_t bd = {k, n}, bs = {transB ? 1 : ldb, transB ? ldb : 1};
    dnnl_dims_t cd = {m, n}, cs = {ldc, 1};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_matmul_desc_t desc;
    int ok = dnnl_memory_desc_init_by_strides(&mm->a, 2, ad, dnnl_bf16, as) == dnnl_success
        && dnnl_memory_desc_init_by_strides(&mm->b, 2, bd, dnnl_bf16, bs) == dnnl_success
        && dnnl_memory_desc_init_by_strides(&mm->c, 2, cd, dnnl_f32, cs) == dnnl_success
        && dnnl_matmul_desc_init(&desc, &mm->a, &mm->b, NULL, &mm->c) == dnnl_success
        && dnnl_primitive_attr_create(&attr) == dnnl_success;
    // A scratchpad per call (user mode): the library's shared one is not safe when one primitive
    // runs on several threads at once, as the split products do.
    if (ok) ok = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && alpha != 1.0f) ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha) == dnnl_success;
    if (ok && beta != 0.0f) {
        ok = dnnl_post_ops_create(&ops) == dnnl_success && dnnl_post_ops_append_sum(ops, beta) == dnnl_success
            && dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
    }
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) == dnnl_success
        && dnnl_primitive_create(&mm->primitive, pd) == dnnl_success;
    if (ok) {
        const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (scratch) mm->scratchpad = *scratch;
        mm->scratchpad_size = scratch ? dnnl_memory_desc_get_size(scratch) : 0;
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        if (mm->primitive) dnnl_primitive_destroy(mm->primitive);
        free(mm);
        return NULL;
    }
    return mm;
}

/// Runs a product made by `cdnnl_matmul_create`; 0 on success. Stream, memory objects and
/// scratchpad are made per call (cheap next to a product worth running in bf16), so one cached
/// primitive may run on several threads at once.
static inline int cdnnl_matmul_run(const cdnnl_matmul *mm, dnnl_engine_t engine,
                                   const uint16_t *a, const uint16_t *b, float *c) {
    dnnl_stream_t stream = NULL;
    dnnl_memory_t am = NULL, bm = NULL, cm = NULL, sm = NULL;
    void *scratch = mm->scratchpad_size ? malloc(mm->scratchpad_size) : NULL;
    int ok = (!mm->scratchpad_size || scratch)
        && dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success
        && dnnl_memory_create(&am, &mm->a, engine, (void *)a) == dnnl_success
        && dnnl_memory_create(&bm, &mm->b, engine, (void *)b) == dnnl_success
        && dnnl_memory_create(&cm, &mm->c, engine, (void *)c) == dnnl_success
        && (!scratch || dnnl_memory_create(&sm, &mm->scratchpad, engine, scratch) == dnnl_success);
    if (ok) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm},
                                   {DNNL_ARG_SCRATCHPAD, sm}};
        ok = dnnl_primitive_execute(mm->primitive, stream, sm ? 4 : 3, args) == dnnl_success
            && dnnl_stream_wait(stream) == dnnl_success;
    }
    if (am) dnnl_memory_destroy(am);
    if (bm) dnnl_memory_destroy(bm);
    if (cm) dnnl_memory_destroy(cm);
    if (sm) dnnl_memory_destroy(sm);
    if (stream) dnnl_stream_destroy(stream);
    free(scratch);
    return ok ? 0 : 1;
}

/// Name of the implementation oneDNN picked (e.g. "brg:avx512_core_bf16"), for start-up reports.
static inline const char *cdnnl_matmul_implementation(const cdnnl_matmul *mm) {
    const_dnnl_primitive_desc_t pd = NULL;
    const char *name = NULL;
    if (dnnl_primitive_get_primitive_desc(mm->primitive, &pd) != dnnl_success) return "unknown";
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success) return "unknown";
    return name;
}
