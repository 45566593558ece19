// Per-sequence log-probabilities for the sequence-level objectives (DPO family, KTO): a (B,T) grid
// of per-token log-probs with its completion mask, summed per row; and the way back from
// dLoss/d(sequence sum) to dLoss/dlogp per token.

import Foundation

/// The completion log-probabilities of B sequences on a (B,T) grid.
public struct SequenceLogProbs<Scalar: BinaryFloatingPoint> {
    /// (B,T) log p(token) per position.
    public var logProbs: [Scalar]
    /// (B,T) 1 on the completion tokens whose log-probs make up the sequence log-prob.
    public var mask: [Scalar]
    public var batchSize: Int
    public var length: Int

    public init(logProbs: [Scalar], mask: [Scalar], batchSize: Int, length: Int) {
        ObjectiveShape.count(logProbs, batchSize * length, "logProbs", in: "SequenceLogProbs.init")
        ObjectiveShape.count(mask, batchSize * length, "mask", in: "SequenceLogProbs.init")
        self.logProbs = logProbs
        self.mask = mask
        self.batchSize = batchSize
        self.length = length
    }

    /// (B) Σ_t mask·logp per row: log p(completion | prompt).
    public var sums: [Double] {
        (0..<batchSize).map { b in
            var s = 0.0
            for t in 0..<length where mask[b * length + t] != 0 {
                s += Double(mask[b * length + t]) * Double(logProbs[b * length + t])
            }
            return s
        }
    }

    /// (B) Σ_t mask per row: the completion length |y|.
    public var counts: [Double] {
        (0..<batchSize).map { b in
            (0..<length).reduce(0.0) { $0 + Double(mask[b * length + $1]) }
        }
    }

    /// dLoss/dlogp per token from dLoss/d(row sum): since sum_b = Σ_t mask·logp,
    /// dLoss/dlogp[b,t] = mask[b,t]·g[b]. (B) → (B,T).
    public func tokenGradient(sequenceGradient g: [Double]) -> [Scalar] {
        ObjectiveShape.count(g, batchSize, "sequenceGradient", in: "SequenceLogProbs.tokenGradient")
        var out = [Scalar](repeating: 0, count: batchSize * length)
        for b in 0..<batchSize {
            for t in 0..<length where mask[b * length + t] != 0 {
                out[b * length + t] = Scalar(Double(mask[b * length + t]) * g[b])
            }
        }
        return out
    }
}
