import Foundation
import Testing
@testable import TensorCore

/// Developer measurement (scripts/bench-attention): causal attention forward and forward+backward
/// at one context length, fused or materialising (B, H, T, T). Off unless RLHF_BENCH=1; run one
/// configuration per process so that its peak memory can be read.
@Suite struct AttentionBenchmarkTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test(.enabled(if: environment["RLHF_BENCH"] == "1", "benchmark: set RLHF_BENCH=1"))
    func attentionTimes() {
        let t = Int(Self.environment["RLHF_BENCH_T"] ?? "") ?? 1024
        let fused = Self.environment["RLHF_BENCH_ATTENTION"] != "materialised"
        let b = 1, h = 8, d = 64, w = 3 * h * d
        let g = AttentionGeometry(batch: b, length: t, heads: h, kvHeads: h, headDimension: d)
        var rng = RandomGenerator(seed: 1)
        var qkv = (0..<(b * t * w)).map { _ in rng.nextNormal() }
        var dOut = (0..<(b * t * h * d)).map { _ in rng.nextNormal() }
        var out = [Float](repeating: 0, count: b * t * h * d)
        var grad = [Float](repeating: 0, count: b * t * w)
        var saved = [Float](repeating: 0, count: fused ? Kernels.logSumExpCount(g) : g.probabilityCount)
        var forwardBest = Double.infinity, totalBest = Double.infinity
        for _ in 0..<5 {
            qkv.withUnsafeMutableBufferPointer { qb in
                out.withUnsafeMutableBufferPointer { ob in
                    saved.withUnsafeMutableBufferPointer { sb in
                        dOut.withUnsafeMutableBufferPointer { db in
                            grad.withUnsafeMutableBufferPointer { gb in
                                let p = qb.baseAddress!, gp = gb.baseAddress!
                                let q = HeadLayout(base: p, stride: w),
                                    k = HeadLayout(base: p + h * d, stride: w)
                                let v = HeadLayout(base: p + 2 * h * d, stride: w)
                                let o = HeadLayout(base: ob.baseAddress!, stride: h * d)
                                let dO = HeadLayout(base: db.baseAddress!, stride: h * d)
                                let dq = HeadLayout(base: gp, stride: w),
                                    dk = HeadLayout(base: gp + h * d, stride: w)
                                let dv = HeadLayout(base: gp + 2 * h * d, stride: w)
                                let start = DispatchTime.now().uptimeNanoseconds
                                if fused {
                                    Kernels.flashAttentionForward(
                                        q: q, k: k, v: v, out: o, logSumExp: sb.baseAddress!,
                                        segments: nil, geometry: g)
                                } else {
                                    Kernels.attentionForward(
                                        q: q, k: k, v: v, out: o, probs: sb.baseAddress!,
                                        segments: nil, geometry: g)
                                }
                                let mid = DispatchTime.now().uptimeNanoseconds
                                if fused {
                                    Kernels.flashAttentionBackward(
                                        q: q, k: k, v: v, out: o, logSumExp: sb.baseAddress!,
                                        dOut: dO, dq: dq, dk: dk, dv: dv, segments: nil,
                                        geometry: g)
                                } else {
                                    Kernels.attentionBackward(
                                        q: q, k: k, v: v, probs: sb.baseAddress!, dOut: dO,
                                        dq: dq, dk: dk, dv: dv, geometry: g)
                                }
                                let end = DispatchTime.now().uptimeNanoseconds
                                forwardBest = min(forwardBest, Double(mid - start) / 1e6)
                                totalBest = min(totalBest, Double(end - start) / 1e6)
                            }
                        }
                    }
                }
            }
        }
        print(
            String(
                format:
                    "bench attention %@ T=%d (B 1, H 8, D 64, causal): forward %.2f ms, forward+backward %.2f ms",
                fused ? "fused" : "materialised", t, forwardBest, totalBest))
    }
}
