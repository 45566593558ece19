import CBLAS

/// Matrix products through the platform BLAS (`cblas_sgemm`), row-major.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, with op(X) = X or Xᵀ; M×N result, inner size K.
    /// `lda`, `ldb`, `ldc` are row strides of the matrices as stored (so a column slice of a
    /// wider matrix is addressed by offsetting the pointer and keeping the full row stride).
    ///
    /// `mixed` marks a product that may run in bf16 (the layers' projections): when
    /// `MatmulPrecision` says bf16 and the product is large, A and B are rounded to bf16 and
    /// multiplied with fp32 accumulation. `bBF16` is B already rounded (a cached weight), laid out
    /// as B. Products inside a parallel loop (attention's tiles) and decoding's few rows stay fp32.
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        mixed: Bool = false, bBF16: UnsafePointer<UInt16>? = nil
    ) {
        guard m > 0, n > 0 else { return }
        if mixed && usesBF16(m: m, n: n, k: k)
            && BF16Matmul.gemmRounding(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, bBF16: bBF16, beta: beta, c: c, ldc: ldc)
        {
            return
        }
        if k == 0 {
            // BLAS leaves C·beta; make the empty product explicit.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        if m == 1 && !transposeA {
            // One row (decoding a single sequence): a matrix–vector product. sgemm would pack
            // all of B for that one row, which took half of batch-1 generation's time.
            if beta == 0 { c.update(repeating: 0, count: n) }  // beta 0 must not read C (NaN · 0)
            if transposeB {
                gemv(m: n, n: k, alpha: alpha, a: b, lda: ldb, x: a, beta: beta, y: c)
            } else {
                gemv(transpose: true, m: k, n: n, alpha: alpha, a: b, lda: ldb, x: a, beta: beta, y: c)
            }
            return
        }
        if m <= skinnyRows && !transposeA && k >= 8 {
            skinnyGemm(
                transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                beta: beta, c: c, ldc: ldc)
            return
        }
        let workers = splitWorkers(work: m * n * k, along: max(m, n))
        if workers <= 1 {
            cblas_sgemm(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        // Split C into row blocks (or column blocks when it is wider than tall), one
        // single-threaded sgemm per worker.
        let byRows = m >= n
        Parallel.forEach(workers, costPerItem: Int.max / 4) { w in
            let total = byRows ? m : n
            let lo = total * w / workers, hi = total * (w + 1) / workers
            guard lo < hi else { return }
            if byRows {
                let aBlock = transposeA ? a + lo : a + lo * lda
                cblas_sgemm(
                    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(hi - lo), Int32(n), Int32(k), alpha, aBlock, Int32(lda), b, Int32(ldb), beta,
                    c + lo * ldc, Int32(ldc))
            } else {
                let bBlock = transposeB ? b + lo * ldb : b + lo
                cblas_sgemm(
                    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(hi - lo), Int32(k), alpha, a, Int32(lda), bBlock, Int32(ldb), beta,
                    c + lo, Int32(ldc))
            }
        }
    }

    /// Products with at most this many rows (batched decoding) go to `skinnyGemm`.
    static let skinnyRows = 8

    /// C = alpha · A · op(B) + beta · C for a few rows of A (m ≤ `skinnyRows`), reading B once.
    /// sgemm packs all of B (the weights) on every call, which dominated batched decoding; here
    /// the rows of A stay in L1 while B streams past. Columns of C are split over the workers.
    static func skinnyGemm(
        transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let workers = splitWorkers(work: m * n * k, along: n)
        Parallel.forEach(workers, costPerItem: Int.max / 4) { w in
            let lo = n * w / workers, hi = n * (w + 1) / workers
            if transposeB {
                // B is (n, k): output j is the dot product of each row of A with row j of B.
                // Four rows at a time: four independent FMA chains share each load of B's row.
                for j in lo..<hi {
                    let bj = b + j * ldb
                    var i = 0
                    while i < m {
                        let rows = min(4, m - i)
                        let dots = VectorMath.dot4(a + i * lda, lda, rows: rows, bj, k)
                        for r in 0..<rows {
                            let out = c + (i + r) * ldc + j
                            out.pointee = beta == 0 ? alpha * dots[r] : alpha * dots[r] + beta * out.pointee
                        }
                        i += rows
                    }
                }
            } else {
                // B is (k, n): a tile of up to 4 rows × 16 columns of C lives in registers while p
                // runs over k, so C is written once and B's rows stream past.
                var i = 0
                while i < m {
                    let rows = min(4, m - i)
                    var j = lo
                    while j < hi {
                        let cols = min(16, hi - j)
                        VectorMath.gemmTile4x16(
                            a: a + i * lda, lda: lda, rows: rows, b: b + j, ldb: ldb, k: k,
                            alpha: alpha, beta: beta, c: c + i * ldc + j, ldc: ldc, columns: cols)
                        j += cols
                    }
                    i += rows
                }
            }
        }
    }

    /// y = alpha · op(A) · x + beta · y for a row-major M×N matrix A.
    public static func gemv(
        transpose: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0 else { return }
        // Outputs are rows of A (no transpose) or its columns (transpose); split them.
        let outputs = transpose ? n : m
        let workers = splitWorkers(work: m * n * 8, along: outputs)
        if workers <= 1 {
            cblas_sgemv(
                CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a,
                Int32(lda),
                x, 1, beta, y, 1)
            return
        }
        Parallel.forEach(workers, costPerItem: Int.max / 4) { w in
            let lo = outputs * w / workers, hi = outputs * (w + 1) / workers
            guard lo < hi else { return }
            if transpose {
                cblas_sgemv(
                    CblasRowMajor, CblasTrans, Int32(m), Int32(hi - lo), alpha, a + lo, Int32(lda), x, 1,
                    beta,
                    y + lo, 1)
            } else {
                cblas_sgemv(
                    CblasRowMajor, CblasNoTrans, Int32(hi - lo), Int32(n), alpha, a + lo * lda, Int32(lda), x,
                    1,
                    beta, y + lo, 1)
            }
        }
    }

    /// Whether a `mixed` product of this size runs in bf16 (callers holding a cached bf16 weight
    /// ask first, so the copy is only made when it will be used).
    public static func usesBF16(m: Int, n: Int, k: Int) -> Bool {
        m > skinnyRows && k > 0 && m * n * k >= bf16Threshold && !Parallel.isWorker
            && MatmulPrecision.usesBF16
    }

    /// Smaller products stay fp32: rounding and oneDNN's call overhead outweigh the gain.
    static let bf16Threshold = 1 << 18

    /// Products at least this large (multiply–adds) are split over `Parallel`'s workers.
    static let splitThreshold = 1 << 21

    /// OpenBLAS runs single-threaded; large products are split over `Parallel`'s workers
    /// instead, so one set of threads serves both BLAS and the fused kernels (OpenBLAS's own
    /// workers busy-wait between calls and competed with the kernels for the cores).
    static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    static func splitWorkers(work: Int, along size: Int) -> Int {
        _ = configured
        guard work >= splitThreshold, !Parallel.isWorker else { return 1 }
        return max(1, min(Parallel.threadCount, size / 16))
    }

    /// Runs `body`, whose products are issued from inside a `Parallel` loop: each worker
    /// already owns a core, so they are not split again (kept for call sites' clarity).
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        _ = configured
        return try body()
    }

    /// Sets the OpenBLAS thread count. By default it is 1 and large products are split over
    /// `Parallel.threadCount` workers; raising it nests BLAS threads inside those workers.
    public static func setThreadCount(_ n: Int) {
        _ = configured
        openblas_set_num_threads(Int32(max(1, n)))
    }
}

extension Tensor {
    /// Matrix product of two rank-2 tensors: op(a) · op(b).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false)
        -> Tensor
    {
        var c = Tensor(shape: [0])
        matmul(a, b, transposeA: transposeA, transposeB: transposeB, into: &c)
        return c
    }

    /// c = alpha · op(a) · op(b) + beta · c for rank-2 tensors; `c` is resized when its shape
    /// differs (then beta must be 0).
    public static func matmul(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0, into c: inout Tensor
    ) {
        precondition(
            a.rank == 2 && b.rank == 2, "matmul: needs rank-2 tensors, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(
            k == kb,
            "matmul: inner sizes differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")"
        )
        if c.shape != [m, n] {
            precondition(beta == 0, "matmul: accumulating into \(c.shape) but the product is [\(m), \(n)]")
            c.resize(to: [m, n])
        }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1],
                        beta: beta, c: pc.baseAddress!, ldc: n)
                }
            }
        }
    }
}
