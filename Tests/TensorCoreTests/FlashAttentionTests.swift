import Foundation
import Testing
@testable import TensorCore

private func random(_ n: Int, seed: UInt64) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    return (0..<n).map { _ in rng.nextNormal() }
}

/// The fused (tiled, online-softmax) attention against the kernel that materialises the
/// probabilities: outputs and all three gradients, with grouped-query heads, segment ids, and
/// lengths below, at, and not a multiple of the tile (64), including segments crossing tiles.
@Suite struct FlashAttentionTests {
    @Test(arguments: [
        (1, 5, 2, 1, 4, false), (2, 70, 4, 2, 3, true), (1, 64, 2, 2, 8, false),
        (2, 150, 4, 1, 16, true), (1, 129, 2, 2, 5, false),
    ])
    func fusedMatchesMaterialisedAttention(_ c: (Int, Int, Int, Int, Int, Bool)) {
        let (b, t, h, kv, d, withSegments) = c
        let w = (h + 2 * kv) * d
        let g = AttentionGeometry(batch: b, length: t, heads: h, kvHeads: kv, headDimension: d)
        // Larger scores than unit normals give peaked softmaxes, where a wrong rescale would show.
        var qkv = random(b * t * w, seed: 11).map { $0 * 2 }
        let dOut = random(b * t * h * d, seed: 12)
        // Segments of 37 tokens: boundaries fall inside query and key tiles.
        let segs: [Int32]? = withSegments ? (0..<(b * t)).map { Int32($0 / 37) } : nil
        var refOut = [Float](repeating: 0, count: b * t * h * d), out = refOut
        var probs = [Float](repeating: 0, count: g.probabilityCount)
        var lse = [Float](repeating: 0, count: Kernels.logSumExpCount(g))
        var refGrad = [Float](repeating: .nan, count: b * t * w), grad = refGrad
        var dOutCopy = dOut
        func heads(_ p: UnsafeMutablePointer<Float>) -> (HeadLayout, HeadLayout, HeadLayout) {
            (
                HeadLayout(base: p, stride: w), HeadLayout(base: p + h * d, stride: w),
                HeadLayout(base: p + (h + kv) * d, stride: w)
            )
        }
        func withSegs(_ body: (UnsafePointer<Int32>?) -> Void) {
            if let segs { segs.withUnsafeBufferPointer { body($0.baseAddress!) } } else { body(nil) }
        }
        qkv.withUnsafeMutableBufferPointer { qb in
            let (q, k, v) = heads(qb.baseAddress!)
            withSegs { seg in
                refOut.withUnsafeMutableBufferPointer { ob in
                    probs.withUnsafeMutableBufferPointer { pb in
                        let o = HeadLayout(base: ob.baseAddress!, stride: h * d)
                        Kernels.attentionForward(
                            q: q, k: k, v: v, out: o, probs: pb.baseAddress!, segments: seg, geometry: g)
                        dOutCopy.withUnsafeMutableBufferPointer { db in
                            refGrad.withUnsafeMutableBufferPointer { gb in
                                let (dq, dk, dv) = heads(gb.baseAddress!)
                                Kernels.attentionBackward(
                                    q: q, k: k, v: v, probs: pb.baseAddress!,
                                    dOut: HeadLayout(base: db.baseAddress!, stride: h * d),
                                    dq: dq, dk: dk, dv: dv, geometry: g)
                            }
                        }
                    }
                }
                out.withUnsafeMutableBufferPointer { ob in
                    lse.withUnsafeMutableBufferPointer { lb in
                        let o = HeadLayout(base: ob.baseAddress!, stride: h * d)
                        Kernels.flashAttentionForward(
                            q: q, k: k, v: v, out: o, logSumExp: lb.baseAddress!, segments: seg,
                            geometry: g)
                        dOutCopy.withUnsafeMutableBufferPointer { db in
                            grad.withUnsafeMutableBufferPointer { gb in
                                let (dq, dk, dv) = heads(gb.baseAddress!)
                                Kernels.flashAttentionBackward(
                                    q: q, k: k, v: v, out: o, logSumExp: lb.baseAddress!,
                                    dOut: HeadLayout(base: db.baseAddress!, stride: h * d),
                                    dq: dq, dk: dk, dv: dv, segments: seg, geometry: g)
                            }
                        }
                    }
                }
            }
        }
        let outError = zip(out, refOut).map { abs($0 - $1) }.max()!
        let gradError = zip(grad, refGrad).map { abs($0 - $1) / max(1, abs($1)) }.max()!
        #expect(outError < 1e-5)
        #expect(gradError < 1e-4)
        #expect(!grad.contains { $0.isNaN }, "every gradient entry was written")
    }
}
