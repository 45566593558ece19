import Foundation

/// Causal attention without the (B, H, T, T) probabilities: keys are visited in tiles and the
/// softmax is kept online (running row maximum and sum, the output rescaled when the maximum
/// grows), so memory is O(T) per head and a tile of scores stays in cache. Backward recomputes
/// each tile's probabilities from the saved log-sum-exp (FlashAttention-2's scheme).
extension Kernels {
    /// Query rows per tile.
    @usableFromInline static let flashQueryTile = 64
    /// Key rows per tile.
    @usableFromInline static let flashKeyTile = 128

    /// Saved per (batch, head, query) by the forward for the backward: log Σ_j exp(score_ij).
    public static func logSumExpCount(_ g: AttentionGeometry) -> Int { g.batch * g.heads * g.length }

    /// First key each query of one sequence may see: 0, or the start of its segment (a run of equal
    /// ids). Nondecreasing in the query index.
    static func firstVisibleKeys(
        _ segments: UnsafePointer<Int32>?, length: Int, into lo: UnsafeMutablePointer<Int>
    ) {
        guard length > 0 else { return }
        lo[0] = 0
        for i in 1..<length { lo[i] = segments.map { $0[i] == $0[i - 1] ? lo[i - 1] : i } ?? 0 }
    }

    /// out = softmax(q·kᵀ/√D + causal and segment mask)·v per (batch, head), as `attentionForward`,
    /// writing `logSumExp` (B, H, T) for `flashAttentionBackward` instead of the probabilities.
    public static func flashAttentionForward(
        q: HeadLayout, k: HeadLayout, v: HeadLayout, out: HeadLayout,
        logSumExp: UnsafeMutablePointer<Float>, segments: UnsafePointer<Int32>?,
        geometry g: AttentionGeometry
    ) {
        let T = g.length, D = g.headDimension, group = g.heads / g.kvHeads
        let scale = 1 / Float(D).squareRoot()
        let BQ = flashQueryTile, BK = flashKeyTile
        guard T > 0 else { return }
        BLAS.singleThreaded {
            Parallel.forRanges(g.batch * g.heads, costPerItem: T * T * D) { range in
                let s = UnsafeMutablePointer<Float>.allocate(capacity: BQ * BK)
                let acc = UnsafeMutablePointer<Float>.allocate(capacity: BQ * D)
                let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: BQ)
                let rowSum = UnsafeMutablePointer<Float>.allocate(capacity: BQ)
                let lo = UnsafeMutablePointer<Int>.allocate(capacity: T)
                defer {
                    s.deallocate(); acc.deallocate(); rowMax.deallocate(); rowSum.deallocate();
                    lo.deallocate()
                }
                var segmentsOf = -1
                for task in range {
                    let b = task / g.heads, h = task % g.heads, kvh = h / group
                    if b != segmentsOf {
                        firstVisibleKeys(segments.map { $0 + b * T }, length: T, into: lo)
                        segmentsOf = b
                    }
                    let Q = UnsafePointer(q.base + b * T * q.stride + h * D)
                    let K = UnsafePointer(k.base + b * T * k.stride + kvh * D)
                    let V = UnsafePointer(v.base + b * T * v.stride + kvh * D)
                    let O = out.base + b * T * out.stride + h * D
                    let L = logSumExp + task * T
                    var i0 = 0
                    while i0 < T {
                        let i1 = min(T, i0 + BQ), rows = i1 - i0
                        acc.update(repeating: 0, count: rows * D)
                        rowMax.update(repeating: -.infinity, count: rows)
                        rowSum.update(repeating: 0, count: rows)
                        // Key tiles from the first one any of these rows sees (lo is nondecreasing)
                        // up to the diagonal.
                        var j0 = lo[i0] / BK * BK
                        while j0 < i1 {
                            let j1 = min(i1, j0 + BK), cols = j1 - j0
                            BLAS.gemm(
                                transposeB: true, m: rows, n: cols, k: D, alpha: scale, a: Q + i0 * q.stride,
                                lda: q.stride, b: K + j0 * k.stride, ldb: k.stride, c: s, ldc: BK)
                            for r in 0..<rows {
                                let i = i0 + r, row = s + r * BK
                                // Row i sees keys [lo[i], i]; here the part of it inside this tile.
                                let a = max(lo[i], j0) - j0, e = min(i + 1, j1) - j0
                                guard a < e else {
                                    row.update(repeating: 0, count: cols)
                                    continue
                                }
                                row.update(repeating: 0, count: a)
                                (row + e).update(repeating: 0, count: cols - e)
                                let newMax = max(rowMax[r], VectorMath.max(row + a, e - a))
                                let sum = VectorMath.expShifted(row + a, row + a, e - a, shift: newMax)
                                if rowSum[r] > 0 {
                                    let c = VectorMath.exp(rowMax[r] - newMax)
                                    if c != 1 { VectorMath.scale(acc + r * D, D, by: c) }
                                    rowSum[r] = rowSum[r] * c + sum
                                } else {
                                    rowSum[r] = sum
                                }
                                rowMax[r] = newMax
                            }
                            BLAS.gemm(
                                m: rows, n: D, k: cols, a: s, lda: BK, b: V + j0 * v.stride, ldb: v.stride,
                                beta: 1, c: acc, ldc: D)
                            j0 = j1
                        }
                        for r in 0..<rows {
                            // Every row sees at least its own key, so the sum is positive.
                            let inv = 1 / rowSum[r], o = O + (i0 + r) * out.stride, a = acc + r * D
                            for d in 0..<D { o[d] = a[d] * inv }
                            L[i0 + r] = rowMax[r] + Foundation.log(rowSum[r])
                        }
                        i0 = i1
                    }
                }
            }
        }
    }

    /// Backward of `flashAttentionForward`: writes (overwrites) dq, dk, dv given dOut, the forward's
    /// output `out` and its `logSumExp`. q, k, v are the forward inputs (after any rotary embedding).
    public static func flashAttentionBackward(
        q: HeadLayout, k: HeadLayout, v: HeadLayout, out: HeadLayout,
        logSumExp: UnsafePointer<Float>, dOut: HeadLayout,
        dq: HeadLayout, dk: HeadLayout, dv: HeadLayout,
        segments: UnsafePointer<Int32>?, geometry g: AttentionGeometry
    ) {
        let T = g.length, D = g.headDimension, group = g.heads / g.kvHeads
        let scale = 1 / Float(D).squareRoot()
        let BQ = flashQueryTile, BK = flashKeyTile
        guard T > 0 else { return }
        BLAS.singleThreaded {
            // One task per (batch, kv head): the query heads sharing a kv head accumulate into
            // the same dk/dv rows, so they run in one task.
            Parallel.forRanges(g.batch * g.kvHeads, costPerItem: group * T * T * D * 3) { range in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: BQ * BK)
                let dp = UnsafeMutablePointer<Float>.allocate(capacity: BQ * BK)
                let delta = UnsafeMutablePointer<Float>.allocate(capacity: BQ)
                let lo = UnsafeMutablePointer<Int>.allocate(capacity: T)
                defer { p.deallocate(); dp.deallocate(); delta.deallocate(); lo.deallocate() }
                for task in range {
                    let b = task / g.kvHeads, kvh = task % g.kvHeads
                    firstVisibleKeys(segments.map { $0 + b * T }, length: T, into: lo)
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
                        let O = UnsafePointer(out.base + b * T * out.stride + h * D)
                        let dO = UnsafePointer(dOut.base + b * T * dOut.stride + h * D)
                        let dQ = dq.base + b * T * dq.stride + h * D
                        let L = logSumExp + (b * g.heads + h) * T
                        for t in 0..<T { (dQ + t * dq.stride).update(repeating: 0, count: D) }
                        var i0 = 0
                        while i0 < T {
                            let i1 = min(T, i0 + BQ), rows = i1 - i0
                            // Σ_j P_ij·dP_ij = dO_i · O_i (the softmax backward's row term).
                            for r in 0..<rows {
                                delta[r] = VectorMath.dot(
                                    dO + (i0 + r) * dOut.stride, O + (i0 + r) * out.stride, D)
                            }
                            var j0 = lo[i0] / BK * BK
                            while j0 < i1 {
                                let j1 = min(i1, j0 + BK), cols = j1 - j0
                                BLAS.gemm(
                                    transposeB: true, m: rows, n: cols, k: D, alpha: scale,
                                    a: Q + i0 * q.stride,
                                    lda: q.stride, b: K + j0 * k.stride, ldb: k.stride, c: p, ldc: BK)
                                for r in 0..<rows {
                                    let i = i0 + r, row = p + r * BK
                                    let a = max(lo[i], j0) - j0, e = min(i + 1, j1) - j0
                                    guard a < e else {
                                        row.update(repeating: 0, count: cols)
                                        continue
                                    }
                                    row.update(repeating: 0, count: a)
                                    (row + e).update(repeating: 0, count: cols - e)
                                    _ = VectorMath.expShifted(row + a, row + a, e - a, shift: L[i])
                                }
                                // dV_j += Pᵀ·dO_i
                                BLAS.gemm(
                                    transposeA: true, m: cols, n: D, k: rows, a: p, lda: BK,
                                    b: dO + i0 * dOut.stride, ldb: dOut.stride, beta: 1,
                                    c: dV + j0 * dv.stride, ldc: dv.stride)
                                // dP = dO_i·V_jᵀ, then dS = P ⊙ (dP − delta); masked entries have P = 0.
                                BLAS.gemm(
                                    transposeB: true, m: rows, n: cols, k: D, a: dO + i0 * dOut.stride,
                                    lda: dOut.stride, b: V + j0 * v.stride, ldb: v.stride, c: dp, ldc: BK)
                                for r in 0..<rows {
                                    let pr = p + r * BK, dr = dp + r * BK, c = delta[r]
                                    for j in 0..<cols { dr[j] = pr[j] * (dr[j] - c) }
                                }
                                // dQ_i += scale·dS·K_j;  dK_j += scale·dSᵀ·Q_i
                                BLAS.gemm(
                                    m: rows, n: D, k: cols, alpha: scale, a: dp, lda: BK,
                                    b: K + j0 * k.stride,
                                    ldb: k.stride, beta: 1, c: dQ + i0 * dq.stride, ldc: dq.stride)
                                BLAS.gemm(
                                    transposeA: true, m: cols, n: D, k: rows, alpha: scale, a: dp, lda: BK,
                                    b: Q + i0 * q.stride, ldb: q.stride, beta: 1, c: dK + j0 * dk.stride,
                                    ldc: dk.stride)
                                j0 = j1
                            }
                            i0 = i1
                        }
                    }
                }
            }
        }
    }
}
