// Entropy bonus: the one objective term that is not a function of the sampled token's log-prob.
// H(softmax(z/T)) depends on the whole distribution, so its gradient cannot travel through
// dLoss/dlogp and `TokenLogProbs.backward`; this hook computes dLoss/dlogits directly, to be
// added to the logits gradient of the policy loss before the model's backward.

import Foundation
import TensorCore

/// Loss term −coefficient · Σ_n w_n·H_n / normalizer (maximising entropy).
public enum EntropyBonus {
    public struct Output {
        /// −coefficient · Σ_n w_n·H_n / normalizer.
        public var loss: Double
        /// (N,V) dLoss/dlogits, to be added to the policy loss's logits gradient.
        public var logitsGrad: Tensor
        /// Σ_n w_n·H_n / Σ_n w_n (nats), for logging.
        public var meanEntropy: Double
    }

    /// With p = softmax(z/T) and H = −Σ_j p_j log p_j:
    ///   dH/dz_j = −(1/T)·p_j·(log p_j + H)
    /// so dLoss/dz_j = coefficient·w_n/normalizer·(1/T)·p_j·(log p_j + H).
    ///
    /// - Parameters:
    ///   - logits: (N,V) raw logits (before temperature).
    ///   - temperature: the sampling temperature, as for the log-probs.
    ///   - weights: (N) completion mask (or weights) per row.
    ///   - coefficient: entropy coefficient (≥ 0 rewards spread-out distributions).
    ///   - normalizer: divisor; `nil` uses Σ weights.
    public static func loss(
        logits: Tensor, temperature: Float = 1, weights: [Float], coefficient: Double,
        normalizer: Double? = nil
    ) -> Output {
        precondition(logits.rank == 2, "EntropyBonus.loss: logits must be (N,V), got \(logits.shape)")
        precondition(temperature > 0, "EntropyBonus.loss: temperature must be > 0, got \(temperature)")
        let rows = logits.shape[0], vocab = logits.shape[1]
        ObjectiveShape.count(weights, rows, "weights", in: "EntropyBonus.loss")
        let weightSum = weights.reduce(0.0) { $0 + Double($1) }
        let total = normalizer ?? weightSum
        var grad = Tensor(shape: [rows, vocab])
        guard total > 0, vocab > 0 else { return Output(loss: 0, logitsGrad: grad, meanEntropy: 0) }
        let invT = 1 / Double(temperature)
        var entropySum = 0.0
        var logP = [Double](repeating: 0, count: vocab)
        logits.withUnsafeBufferPointer { z in
            grad.withUnsafeMutableBufferPointer { g in
                for n in 0..<rows where weights[n] != 0 {
                    let row = n * vocab
                    var maxZ = -Double.infinity
                    for j in 0..<vocab { maxZ = max(maxZ, Double(z[row + j]) * invT) }
                    var sum = 0.0
                    for j in 0..<vocab { sum += exp(Double(z[row + j]) * invT - maxZ) }
                    let logSum = log(sum) + maxZ
                    var h = 0.0
                    for j in 0..<vocab {
                        logP[j] = Double(z[row + j]) * invT - logSum
                        h -= exp(logP[j]) * logP[j]
                    }
                    let w = Double(weights[n])
                    entropySum += w * h
                    let scale = coefficient * w / total * invT
                    for j in 0..<vocab {
                        g[row + j] = Float(scale * exp(logP[j]) * (logP[j] + h))
                    }
                }
            }
        }
        return Output(loss: -coefficient * entropySum / total, logitsGrad: grad,
                      meanEntropy: weightSum > 0 ? entropySum / weightSum : 0)
    }
}
