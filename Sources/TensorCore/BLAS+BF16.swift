import CDNNL
import Foundation

/// bf16 × bf16 → fp32 matrix products through oneDNN's matmul primitive (one per shape, built on
/// first use and kept), and the fp32 → bf16 rounding of their inputs.
public enum BF16Matmul {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    struct Shape: Hashable {
        var transposeA: Bool, transposeB: Bool
        var m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
        var alpha: Float, beta: Float
    }

    /// oneDNN's engine and primitives. The primitives are immutable once built and may
    /// run on several threads at once; the dictionary is guarded by the lock.
    final class Backend: @unchecked Sendable {
        let engine: dnnl_engine_t
        private let lock = NSLock()
        private var primitives: [Shape: UnsafeMutablePointer<cdnnl_matmul>] = [:]

        init?() {
            guard let engine = cdnnl_engine_create() else { return nil }
            self.engine = engine
        }

        func primitive(_ s: Shape) -> UnsafeMutablePointer<cdnnl_matmul>? {
            lock.lock()
            defer { lock.unlock() }
            if let p = primitives[s] { return p }
            let p = cdnnl_matmul_create(
                engine, s.transposeA ? 1 : 0, s.transposeB ? 1 : 0, Int64(s.m), Int64(s.n),
                Int64(s.k), s.alpha, Int64(s.lda), Int64(s.ldb), s.beta, Int64(s.ldc))
            if let p { primitives[s] = p }
            return p
        }
    }

    static let backend: Backend? = Backend()

    /// Builds and runs a small product; the implementation oneDNN chose, or why bf16 cannot run.
    public static func probe() -> Result<String, Unavailable> {
        guard let backend else { return .failure(Unavailable(description: "oneDNN has no CPU engine")) }
        let n = 16
        // Small integers are exact in bf16, so the product must be exact too.
        let a = (0..<(n * n)).map { Float($0 % 7) - 3 }, b = (0..<(n * n)).map { Float($0 % 5) - 2 }
        var expected = [Float](repeating: 0, count: n * n), got = expected
        for i in 0..<n {
            for j in 0..<n { for p in 0..<n { expected[i * n + j] += a[i * n + p] * b[p * n + j] } }
        }
        let shape = Shape(
            transposeA: false, transposeB: false, m: n, n: n, k: n, lda: n, ldb: n, ldc: n, alpha: 1, beta: 0)
        guard let primitive = backend.primitive(shape) else {
            return .failure(Unavailable(description: "oneDNN has no bf16 matmul for this CPU"))
        }
        let a16 = a.map(bf16), b16 = b.map(bf16)
        omp_set_num_threads(1)
        let status = a16.withUnsafeBufferPointer { pa in
            b16.withUnsafeBufferPointer { pb in
                got.withUnsafeMutableBufferPointer { pc in
                    cdnnl_matmul_run(
                        primitive, backend.engine, pa.baseAddress!, pb.baseAddress!,
                        pc.baseAddress!)
                }
            }
        }
        guard status == 0 else {
            return .failure(Unavailable(description: "oneDNN's bf16 matmul failed to run"))
        }
        guard got == expected else {
            return .failure(Unavailable(description: "oneDNN's bf16 matmul gave wrong results"))
        }
        return .success(String(cString: cdnnl_matmul_implementation(primitive)))
    }

    /// C = alpha · op(A) · op(B) + beta · C with bf16 A, B (raw bits) and fp32 C, row-major with
    /// row strides as stored. False when oneDNN could not build or run the product (C untouched
    /// unless it ran partway, which oneDNN does not do).
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) -> Bool {
        guard let backend,
            let primitive = backend.primitive(
                Shape(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, lda: lda, ldb: ldb,
                    ldc: ldc,
                    alpha: alpha, beta: beta))
        else { return false }
        return cdnnl_matmul_run(primitive, backend.engine, a, b, c) == 0
    }

    /// fp32 → bf16 bits, rounding to nearest even (NaN stays NaN).
    @inlinable public static func bf16(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: u >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    /// bf16 bits → fp32 (exact).
    @inlinable public static func float(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// Rounds a rows × columns block of fp32 (row stride `stride`) into a contiguous bf16 block.
    public static func convert(
        _ src: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int,
        into dst: UnsafeMutablePointer<UInt16>
    ) {
        Parallel.forRanges(rows, costPerItem: columns / 4) { range in
            for r in range {
                let s = src + r * stride, d = dst + r * columns
                var j = 0
                while j + 16 <= columns {
                    let v = UnsafeRawPointer(s + j).loadUnaligned(as: SIMD16<UInt32>.self)
                    // NaN is not special-cased here: a NaN weight or activation has already
                    // failed the step (the health checks stop on it), and the sum keeps it a NaN
                    // or an infinity.
                    let rounded = (v &+ 0x7FFF &+ ((v &>> 16) & 1)) &>> 16
                    UnsafeMutableRawPointer(d + j).storeBytes(
                        of: SIMD16<UInt16>(truncatingIfNeeded: rounded),
                        as: SIMD16<UInt16>.self)
                    j += 16
                }
                while j < columns { d[j] = bf16(s[j]); j += 1 }
            }
        }
    }

    /// Reusable conversion buffers (allocating megabytes per product cost page faults each time).
    final class Scratch: @unchecked Sendable {
        private let lock = NSLock()
        private var free: [UnsafeMutableBufferPointer<UInt16>] = []

        func take(_ count: Int) -> UnsafeMutableBufferPointer<UInt16> {
            lock.lock()
            defer { lock.unlock() }
            if let i = free.firstIndex(where: { $0.count >= count }) { return free.remove(at: i) }
            if !free.isEmpty { free.removeLast().deallocate() }
            return .allocate(capacity: count)
        }

        func give(_ buffer: UnsafeMutableBufferPointer<UInt16>) {
            lock.lock()
            free.append(buffer)
            lock.unlock()
        }
    }

    static let scratch = Scratch()

    /// The product with fp32 inputs rounded to bf16 on the way (`bBF16`, when given, is B already
    /// rounded, laid out as B with row stride `ldb`). False when oneDNN could not run it.
    static func gemmRounding(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        bBF16: UnsafePointer<UInt16>?, beta: Float, c: UnsafeMutablePointer<Float>,
        ldc: Int
    ) -> Bool {
        let aRows = transposeA ? k : m, aColumns = transposeA ? m : k
        let a16 = scratch.take(aRows * aColumns)
        defer { scratch.give(a16) }
        convert(a, rows: aRows, columns: aColumns, stride: lda, into: a16.baseAddress!)
        if let bBF16 {
            return split(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a16.baseAddress!, lda: aColumns, b: bBF16, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        let bRows = transposeB ? n : k, bColumns = transposeB ? k : n
        let b16 = scratch.take(bRows * bColumns)
        defer { scratch.give(b16) }
        convert(b, rows: bRows, columns: bColumns, stride: ldb, into: b16.baseAddress!)
        return split(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a16.baseAddress!, lda: aColumns, b: b16.baseAddress!, ldb: bColumns, beta: beta, c: c, ldc: ldc
        )
    }

    /// The product split into row blocks of C (or column blocks when C is wider than tall), one
    /// single-threaded oneDNN call per `Parallel` worker, as `BLAS.gemm` does with sgemm.
    static func split(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) -> Bool {
        let workers = BLAS.splitWorkers(work: m * n * k, along: max(m, n))
        let byRows = m >= n
        // Build every block's primitive first: a shape oneDNN refuses then falls back to sgemm
        // before any block has written into C (with beta ≠ 0 a partial write could not be redone).
        guard let backend else { return false }
        for w in 0..<workers {
            let total = byRows ? m : n, lo = total * w / workers, hi = total * (w + 1) / workers
            guard lo < hi else { continue }
            guard
                backend.primitive(
                    Shape(
                        transposeA: transposeA, transposeB: transposeB, m: byRows ? hi - lo : m,
                        n: byRows ? n : hi - lo, k: k, lda: lda, ldb: ldb, ldc: ldc,
                        alpha: alpha, beta: beta)) != nil
            else { return false }
        }
        let failures = UnsafeMutablePointer<Int>.allocate(capacity: max(1, workers))
        failures.initialize(repeating: 0, count: max(1, workers))
        defer { failures.deallocate() }
        Parallel.forEach(workers, costPerItem: Int.max / 4) { w in
            omp_set_num_threads(1)
            let total = byRows ? m : n
            let lo = total * w / workers, hi = total * (w + 1) / workers
            guard lo < hi else { return }
            let ok =
                byRows
                ? gemm(
                    transposeA: transposeA, transposeB: transposeB, m: hi - lo, n: n, k: k, alpha: alpha,
                    a: transposeA ? a + lo : a + lo * lda, lda: lda, b: b, ldb: ldb, beta: beta,
                    c: c + lo * ldc, ldc: ldc)
                : gemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: hi - lo, k: k, alpha: alpha,
                    a: a, lda: lda, b: transposeB ? b + lo * ldb : b + lo, ldb: ldb, beta: beta,
                    c: c + lo, ldc: ldc)
            if !ok { failures[w] = 1 }
        }
        // Running a built primitive on valid buffers does not fail in oneDNN's CPU engine.
        precondition(
            (0..<max(1, workers)).allSatisfy { failures[$0] == 0 }, "oneDNN failed to run a built bf16 matmul"
        )
        return true
    }
}

/// A bf16 copy of a tensor, remade only when the tensor's version changes (weights change once
/// per optimizer step but feed several products per step: forward, input gradient, recompute).
public final class BF16Copy: @unchecked Sendable {
    // @unchecked: used by the single thread that runs a model's products (as `Parameter`).
    private var buffer = UnsafeMutableBufferPointer<UInt16>(start: nil, count: 0)
    private var version = -1

    public init() {}

    deinit { buffer.deallocate() }

    /// The copy of `tensor` (as a contiguous row-major block); valid until the next call.
    public func of(_ tensor: Tensor, version: Int) -> UnsafePointer<UInt16> {
        if buffer.count != tensor.count {
            buffer.deallocate()
            buffer = .allocate(capacity: max(1, tensor.count))
            self.version = -1
        }
        if self.version != version {
            let rows = tensor.rank == 2 ? tensor.shape[0] : 1, columns = tensor.count / max(1, rows)
            if tensor.count > 0 {
                tensor.withUnsafeBufferPointer { t in
                    BF16Matmul.convert(
                        t.baseAddress!, rows: rows, columns: columns, stride: columns,
                        into: buffer.baseAddress!)
                }
            }
            self.version = version
        }
        return UnsafePointer(buffer.baseAddress!)
    }
}

extension BLAS {
    /// C = op(A) · op(B) + beta · C with B held only as bf16 bits (a frozen model's weight, no
    /// fp32 copy): the bf16 product (fp32 accumulation) when a product of this size runs in
    /// bf16, otherwise B widened to fp32 for this one call.
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, bBF16Only b16: UnsafePointer<UInt16>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        // `b` is never read when `bBF16` is given; `a` stands in for it.
        if usesBF16(m: m, n: n, k: k)
            && BF16Matmul.gemmRounding(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
                b: a, ldb: ldb, bBF16: b16, beta: beta, c: c, ldc: ldc)
        {
            return
        }
        let bRows = transposeB ? n : k
        var wide = [Float](repeating: 0, count: bRows * ldb)
        for i in wide.indices { wide[i] = BF16Matmul.float(b16[i]) }
        wide.withUnsafeBufferPointer { w in
            gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                b: w.baseAddress!, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}
