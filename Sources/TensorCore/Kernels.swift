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
    @inlinable static func expShifted(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                                      _ n: Int, shift: Float, scale: Float = 1) -> Float {
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
