import Foundation

/// Sizes of one causal self-attention call. Queries have `heads` heads, keys and values
/// `kvHeads` (grouped-query attention: query head h reads key/value head h / (heads / kvHeads)).
public struct AttentionGeometry: Sendable, Equatable {
    public var batch: Int
    public var length: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDimension: Int

    public init(batch: Int, length: Int, heads: Int, kvHeads: Int, headDimension: Int) {
        precondition(heads % kvHeads == 0, "attention: \(kvHeads) key/value heads must divide \(heads) heads")
        self.batch = batch
        self.length = length
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
    }

    /// Scalars in the saved attention probabilities, (B, H, T, T).
    public var probabilityCount: Int { batch * heads * length * length }
}

/// Where a (B·T, width) matrix holds its heads: head h of token n starts at
/// `base + n · stride + h · headDimension` (so q, k, v may be column slices of one buffer).
public struct HeadLayout {
    public var base: UnsafeMutablePointer<Float>
    public var stride: Int
    public init(base: UnsafeMutablePointer<Float>, stride: Int) {
        self.base = base
        self.stride = stride
    }
}

extension Kernels {
    /// Query rows per tile: each tile multiplies only against the keys it can see (causal), which
    /// halves the work of the full T×T product.
    @usableFromInline static let attentionTile = 64

    /// Causal softmax attention, out = softmax(q·kᵀ/√D + mask)·v per (batch, head).
    /// `segments` (B·T), when given, restricts each token to keys of its own segment (runs of
    /// equal ids). `probs` (B,H,T,T) receives the attention probabilities for backward.
    public static func attentionForward(
        q: HeadLayout, k: HeadLayout, v: HeadLayout, out: HeadLayout,
        probs: UnsafeMutablePointer<Float>, segments: UnsafePointer<Int32>?,
        geometry g: AttentionGeometry
    ) {
        let T = g.length, D = g.headDimension, group = g.heads / g.kvHeads
        let scale = 1 / Float(D).squareRoot()
        BLAS.singleThreaded {
            Parallel.forEach(g.batch * g.heads, costPerItem: T * T * D) { task in
                let b = task / g.heads, h = task % g.heads, kvh = h / group
                let Q = q.base + b * T * q.stride + h * D
                let K = UnsafePointer(k.base + b * T * k.stride + kvh * D)
                let V = UnsafePointer(v.base + b * T * v.stride + kvh * D)
                let O = out.base + b * T * out.stride + h * D
                let P = probs + task * T * T
                let seg = segments.map { $0 + b * T }
                var i0 = 0
                while i0 < T {
                    let i1 = min(T, i0 + attentionTile)
                    BLAS.gemm(
                        transposeB: true, m: i1 - i0, n: i1, k: D, alpha: scale,
                        a: Q + i0 * q.stride, lda: q.stride, b: K, ldb: k.stride,
                        c: P + i0 * T, ldc: T)
                    for i in i0..<i1 {
                        let row = P + i * T
                        var lo = 0
                        if let seg {
                            lo = i
                            while lo > 0 && seg[lo - 1] == seg[i] { lo -= 1 }
                            for j in 0..<lo { row[j] = 0 }
                        }
                        let n = i + 1 - lo
                        let m = VectorMath.max(row + lo, n)
                        let s = VectorMath.expShifted(row + lo, row + lo, n, shift: m)
                        VectorMath.scale(row + lo, n, by: 1 / s)
                        for j in (i + 1)..<T { row[j] = 0 }
                    }
                    BLAS.gemm(
                        m: i1 - i0, n: D, k: i1, a: P + i0 * T, lda: T, b: V, ldb: v.stride,
                        c: O + i0 * out.stride, ldc: out.stride)
                    i0 = i1
                }
            }
        }
    }

    /// Backward of `attentionForward`: writes (overwrites) dq, dk, dv given dOut and the saved
    /// probabilities. q, k, v are the forward inputs (after any rotary embedding).
    public static func attentionBackward(
        q: HeadLayout, k: HeadLayout, v: HeadLayout,
        probs: UnsafePointer<Float>, dOut: HeadLayout,
        dq: HeadLayout, dk: HeadLayout, dv: HeadLayout,
        geometry g: AttentionGeometry
    ) {
        let T = g.length, D = g.headDimension, group = g.heads / g.kvHeads
        let scale = 1 / Float(D).squareRoot()
        let tile = attentionTile
        BLAS.singleThreaded {
            // One task per (batch, kv head): the query heads sharing a kv head accumulate into
            // the same dk/dv rows, so they run in one task.
            Parallel.forRanges(g.batch * g.kvHeads, costPerItem: group * T * T * D * 3) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tile * T)
                defer { scratch.deallocate() }
                for task in range {
                    let b = task / g.kvHeads, kvh = task % g.kvHeads
                    let K = UnsafePointer(k.base + b * T * k.stride + kvh * D)
                    let V = UnsafePointer(v.base + b * T * v.stride + kvh * D)
                    let dK = dk.base + b * T * dk.stride + kvh * D
                    let dV = dv.base + b * T * dv.stride + kvh * D
                    for t in 0..<T {
                        (dK + t * dk.stride).update(repeating: 0, count: D)
                        (dV + t * dv.stride).update(repeating: 0, count: D)
                    }
                    for h in (kvh * group)..<((kvh + 1) * group) {
                        let Q = UnsafePointer(q.base + b * T * q.stride + h * D)
                        let dO = UnsafePointer(dOut.base + b * T * dOut.stride + h * D)
                        let dQ = dq.base + b * T * dq.stride + h * D
                        let P = probs + (b * g.heads + h) * T * T
                        var i0 = 0
                        while i0 < T {
                            let i1 = min(T, i0 + tile), rows = i1 - i0
                            // dP = dO · Vᵀ over the visible keys
                            BLAS.gemm(
                                transposeB: true, m: rows, n: i1, k: D, a: dO + i0 * dOut.stride,
                                lda: dOut.stride, b: V, ldb: v.stride, c: scratch, ldc: T)
                            // dS = P ⊙ (dP − Σ_j P·dP); masked entries have P = 0, so dS = 0 there.
                            for r in 0..<rows {
                                let p = P + (i0 + r) * T, d = scratch + r * T
                                let dotv = VectorMath.dot(p, d, i1)
                                for j in 0..<i1 { d[j] = p[j] * (d[j] - dotv) }
                            }
                            BLAS.gemm(
                                m: rows, n: D, k: i1, alpha: scale, a: scratch, lda: T, b: K, ldb: k.stride,
                                c: dQ + i0 * dq.stride, ldc: dq.stride)
                            BLAS.gemm(
                                transposeA: true, m: i1, n: D, k: rows, alpha: scale, a: scratch, lda: T,
                                b: Q + i0 * q.stride, ldb: q.stride, beta: 1, c: dK, ldc: dk.stride)
                            BLAS.gemm(
                                transposeA: true, m: i1, n: D, k: rows, a: P + i0 * T, lda: T,
                                b: dO + i0 * dOut.stride, ldb: dOut.stride, beta: 1, c: dV, ldc: dv.stride)
                            i0 = i1
                        }
                    }
                }
            }
        }
    }

    /// One query token per row against cached keys/values (generation). Row r reads cache row
    /// `cacheRows[r]`, whose first `lengths[r]` positions are valid (including the current token).
    /// kCache/vCache: (rows, capacity, kvHeads·D); q, out: (R, heads·D) with the given strides.
    public static func attentionDecode(
        q: HeadLayout, kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>,
        cacheRowStride: Int, cacheRows: [Int], lengths: [Int],
        heads: Int, kvHeads: Int, headDimension D: Int, out: HeadLayout
    ) {
        let group = heads / kvHeads
        let tokenStride = kvHeads * D
        let scale = 1 / Float(D).squareRoot()
        let maxLength = lengths.max() ?? 0
        BLAS.singleThreaded {
            Parallel.forRanges(cacheRows.count * heads, costPerItem: maxLength * D * 2) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, maxLength))
                defer { scores.deallocate() }
                for task in range {
                    let r = task / heads, h = task % heads, kvh = h / group
                    let n = lengths[r]
                    let K = kCache + cacheRows[r] * cacheRowStride + kvh * D
                    let V = vCache + cacheRows[r] * cacheRowStride + kvh * D
                    let qp = UnsafePointer(q.base + r * q.stride + h * D)
                    BLAS.gemv(m: n, n: D, alpha: scale, a: K, lda: tokenStride, x: qp, y: scores)
                    let m = VectorMath.max(scores, n)
                    let s = VectorMath.expShifted(scores, scores, n, shift: m)
                    VectorMath.scale(scores, n, by: 1 / s)
                    BLAS.gemv(
                        transpose: true, m: n, n: D, a: V, lda: tokenStride, x: scores,
                        y: out.base + r * out.stride + h * D)
                }
            }
        }
    }
}
