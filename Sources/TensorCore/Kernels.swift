import Foundation

/// Fused CPU kernels over raw buffers. Each works on row-major matrices given by a base pointer,
/// a row count and a row stride; each parallelises over rows with `Parallel`. Pointers are only
/// borrowed for the call.
public enum Kernels {}

/// Vector helpers shared by the kernels (8-wide SIMD with scalar tails).
@usableFromInline enum VectorMath {
    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Σ a[i]·b[i].
    @inlinable static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            acc += load(a + i) * load(b + i)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Dot products of up to four rows of `a` (row stride `lda`) with `b`, n > 0; unused lanes 0.
    @inlinable static func dot4(
        _ a: UnsafePointer<Float>, _ lda: Int, rows: Int, _ b: UnsafePointer<Float>,
        _ n: Int
    ) -> SIMD4<Float> {
        // Rows past `rows` alias row 0 and are dropped at the end (keeps the loop branch-free).
        let a0 = a, a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2 * lda : a,
            a3 = rows > 3 ? a + 3 * lda : a
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let bv = load(b + i)
            s0 = s0.addingProduct(load(a0 + i), bv)
            s1 = s1.addingProduct(load(a1 + i), bv)
            s2 = s2.addingProduct(load(a2 + i), bv)
            s3 = s3.addingProduct(load(a3 + i), bv)
            i += 8
        }
        var r = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
        while i < n {
            r += SIMD4<Float>(a0[i], a1[i], a2[i], a3[i]) * b[i]
            i += 1
        }
        for l in rows..<4 { r[l] = 0 }
        return r
    }

    /// C[r, 0..<columns] = alpha · Σ_p a[r, p] · B[p, 0..<columns] + beta · C for r < rows ≤ 4 and
    /// columns ≤ 16, with the 4×16 accumulators in registers (partial tiles go through a
    /// zero-padded copy of B's columns).
    @inlinable static func gemmTile4x16(
        a: UnsafePointer<Float>, lda: Int, rows: Int, b: UnsafePointer<Float>, ldb: Int,
        k: Int, alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        columns: Int
    ) {
        let a0 = a, a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2 * lda : a,
            a3 = rows > 3 ? a + 3 * lda : a
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { rb in
            let padded = rb.baseAddress!
            padded.initialize(repeating: 0, count: 16)
            for p in 0..<k {
                var bp = b + p * ldb
                if columns < 16 {
                    padded.update(from: bp, count: columns)
                    bp = UnsafePointer(padded)
                }
                let b0 = load(bp), b1 = load(bp + 8)
                let x0 = SIMD8<Float>(repeating: a0[p]), x1 = SIMD8<Float>(repeating: a1[p])
                let x2 = SIMD8<Float>(repeating: a2[p]), x3 = SIMD8<Float>(repeating: a3[p])
                c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1)
                c10 = c10.addingProduct(x1, b0); c11 = c11.addingProduct(x1, b1)
                c20 = c20.addingProduct(x2, b0); c21 = c21.addingProduct(x2, b1)
                c30 = c30.addingProduct(x3, b0); c31 = c31.addingProduct(x3, b1)
            }
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { tb in
            let t = tb.baseAddress!
            store(c00, t); store(c01, t + 8); store(c10, t + 16); store(c11, t + 24)
            store(c20, t + 32); store(c21, t + 40); store(c30, t + 48); store(c31, t + 56)
            for r in 0..<rows {
                let out = c + r * ldc, tile = t + 16 * r
                for j in 0..<columns {
                    out[j] = beta == 0 ? alpha * tile[j] : alpha * tile[j] + beta * out[j]
                }
            }
        }
    }

    /// y[i] += alpha · x[i].
    @inlinable static func axpy(
        _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int
    ) {
        let va = SIMD8<Float>(repeating: alpha)
        var i = 0
        while i + 8 <= n {
            store(load(y + i).addingProduct(va, load(x + i)), y + i)
            i += 8
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }

    /// Σ a[i]·b[i]·c[i].
    @inlinable static func dot3(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
        _ n: Int
    ) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            acc = acc.addingProduct(load(a + i) * load(b + i), load(c + i))
            i += 8
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i] * c[i]; i += 1 }
        return s
    }

    /// Σ (a[i] − mean)².
    @inlinable static func squaredDeviation(_ a: UnsafePointer<Float>, _ n: Int, from mean: Float) -> Float {
        var acc = SIMD8<Float>()
        let vm = SIMD8<Float>(repeating: mean)
        var i = 0
        while i + 8 <= n {
            let d = load(a + i) - vm
            acc = acc.addingProduct(d, d)
            i += 8
        }
        var s = acc.sum()
        while i < n { let d = a[i] - mean; s += d * d; i += 1 }
        return s
    }

    /// Σ a[i].
    @inlinable static func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n { acc += load(a + i); i += 8 }
        var s = acc.sum()
        while i < n { s += a[i]; i += 1 }
        return s
    }

    /// max a[i] (n > 0).
    @inlinable static func max(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        var i = 0
        if n >= 8 {
            var acc = load(a)
            i = 8
            while i + 8 <= n { acc = lanewiseMax(acc, load(a + i)); i += 8 }
            m = acc.max()
        }
        while i < n { m = Swift.max(m, a[i]); i += 1 }
        return m
    }

    /// e^x, 8 lanes: range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial (relative
    /// error ~2e-7, like `expf`); inputs are clamped to the finite range, -inf gives ~0.
    @inlinable @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamp with compare + blend: a per-lane loop here was compiled to scalar branches
        // through the stack and cost more than the polynomial.
        let lo = SIMD8<Float>(repeating: -87), hi = SIMD8<Float>(repeating: 88)
        let x = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
        // Round x·log2(e) to the nearest integer with the 1.5·2²³ trick (no SSE4.1 needed).
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let t = magic.addingProduct(x, 1.442_695_04)
        let n = t - magic
        let r = x.addingProduct(n, -0.693_145_751_953_125).addingProduct(n, -1.428_606_765_330_187_045e-6)
        // Horner with fused multiply-adds (one rounding each, one instruction with FMA).
        var p = SIMD8<Float>(repeating: 1.0 / 120).addingProduct(r, 1.0 / 720)
        p = SIMD8<Float>(repeating: 1.0 / 24).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 1.0 / 6).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 0.5).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 1).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 1).addingProduct(p, r)
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * scale
    }

    /// Lane-wise maximum as compare + blend: the generic `pointwiseMax` is not inlined and a
    /// per-lane loop was compiled to scalar branches.
    @inlinable @inline(__always)
    static func lanewiseMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// Scalar e^x with the same clamping as the vector path.
    @inlinable @inline(__always)
    static func exp(_ x: Float) -> Float { Foundation.exp(Swift.min(Swift.max(x, -87), 88)) }

    /// dst[i] = e^(src[i] - shift), returns Σ dst[i]. `dst` may equal `src`.
    @inlinable static func expShifted(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
        _ n: Int, shift: Float, scale: Float = 1
    ) -> Float {
        // Two independent accumulators: one chain of adds would wait on each add's latency.
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let vs = SIMD8<Float>(repeating: shift)
        while i + 16 <= n {
            let e0 = exp(load(src + i) * scale - vs), e1 = exp(load(src + i + 8) * scale - vs)
            store(e0, dst + i)
            store(e1, dst + i + 8)
            acc0 += e0
            acc1 += e1
            i += 16
        }
        if i + 8 <= n {
            let e = exp(load(src + i) * scale - vs)
            store(e, dst + i)
            acc0 += e
            i += 8
        }
        var s = (acc0 + acc1).sum()
        while i < n { let e = exp(src[i] * scale - shift); dst[i] = e; s += e; i += 1 }
        return s
    }

    /// a[i] *= c.
    @inlinable static func scale(_ a: UnsafeMutablePointer<Float>, _ n: Int, by c: Float) {
        for i in 0..<n { a[i] *= c }
    }
}
