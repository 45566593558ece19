import Foundation

extension Kernels {
    /// Row-wise softmax in place over `rows` rows of `n` entries (row stride `stride`), of
    /// `x · scale`.
    public static func softmax(
        _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, stride: Int, scale: Float = 1
    ) {
        Parallel.forRanges(rows, costPerItem: n * 8) { range in
            for r in range {
                let p = x + r * stride
                let m = VectorMath.max(p, n) * scale
                let s = VectorMath.expShifted(p, p, n, shift: m, scale: scale)
                VectorMath.scale(p, n, by: 1 / s)
            }
        }
    }

    /// Log-softmax of one row of `x · scale` into `out` (may alias `x`); returns log Σ e^(x·scale).
    @discardableResult
    public static func logSoftmax(
        _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, n: Int,
        scale: Float = 1
    ) -> Float {
        let m = VectorMath.max(x, n) * scale
        var s: Float = 0
        var i = 0
        var acc = SIMD8<Float>()
        let vm = SIMD8<Float>(repeating: m)
        while i + 8 <= n { acc += VectorMath.exp(VectorMath.load(x + i) * scale - vm); i += 8 }
        s = acc.sum()
        while i < n { s += VectorMath.exp(x[i] * scale - m); i += 1 }
        let lse = m + Foundation.log(s)
        for j in 0..<n { out[j] = x[j] * scale - lse }
        return lse
    }
}
