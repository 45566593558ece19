// PPO's clipped surrogate policy loss (Schulman et al. 2017), shared with GRPO.

import Foundation

/// One token of the clipped surrogate. With ratio ρ = exp(logp − oldLogp) and advantage A:
///   ℓ = max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε))
/// dℓ/dlogp = −A·ρ where the unclipped term is selected (dρ/dlogp = ρ), and 0 where the clipped term
/// is strictly larger (the clipped term is constant in logp there). At equality (ρ inside the
/// range) both terms coincide and the unclipped gradient is the gradient.
struct ClippedSurrogate {
    var loss: Double
    var derivative: Double
    var clipped: Bool
    var ratio: Double

    /// `clipRangeHigh` (DAPO's "clip-higher") defaults to `clipRange`, the symmetric PPO clip.
    init(
        logProb: Double, oldLogProb: Double, advantage: Double, clipRange: Double,
        clipRangeHigh: Double? = nil
    ) {
        let ratio = exp(logProb - oldLogProb)
        let unclipped = -advantage * ratio
        let clippedLoss = -advantage * min(max(ratio, 1 - clipRange), 1 + (clipRangeHigh ?? clipRange))
        self.ratio = ratio
        if clippedLoss > unclipped {
            loss = clippedLoss
            derivative = 0
            clipped = true
        } else {
            loss = unclipped
            derivative = unclipped  // −A·ρ
            clipped = false
        }
    }
}

extension PPOObjective {
    public struct PolicyLossOutput<Scalar: BinaryFloatingPoint> {
        /// Σ mask·ℓ_t / normalizer.
        public var loss: Double
        /// (N) dLoss/dlogp per token (0 outside the mask).
        public var logProbGrad: [Scalar]
        /// Fraction of masked tokens whose gradient the clip removed.
        public var clipFraction: Double
        /// Masked mean of the k3 estimate of KL(π_old‖π) (≥ 0): how far this epoch has moved.
        public var approxKL: Double
        /// Masked mean of ρ.
        public var meanRatio: Double
        /// Masked mean of the per-token entropy, if it was given (logged only).
        public var meanEntropy: Double?
        /// Σ mask of this call.
        public var tokenCount: Double

        public var metrics: [String: Double] {
            var m = [
                "policy_loss": loss, "clip_fraction": clipFraction, "approx_kl": approxKL,
                "ratio": meanRatio,
            ]
            if let meanEntropy { m["entropy"] = meanEntropy }
            return m
        }
    }

    /// Clipped surrogate averaged over the masked tokens.
    ///
    /// - Parameters:
    ///   - logProbs: (N) log π_θ(token) of the current parameters (with the sampling temperature).
    ///   - oldLogProbs: (N) log π of the rollout policy, computed once per rollout batch.
    ///   - advantages: (N) whitened GAE advantages.
    ///   - mask: (N) completion mask.
    ///   - clipRange: ε.
    ///   - normalizer: divisor of Σ mask·ℓ; `nil` uses Σ mask of this call. Under gradient
    ///     accumulation pass the token count of the whole minibatch.
    ///   - entropy: (N) optional per-token entropy of π_θ, averaged into the metrics only.
    public static func policyLoss<Scalar: BinaryFloatingPoint>(
        logProbs: [Scalar], oldLogProbs: [Scalar], advantages: [Scalar], mask: [Scalar],
        clipRange: Double = 0.2, normalizer: Double? = nil, entropy: [Scalar]? = nil
    ) -> PolicyLossOutput<Scalar> {
        let fn = "PPOObjective.policyLoss"
        ObjectiveShape.count(oldLogProbs, logProbs.count, "oldLogProbs", in: fn)
        ObjectiveShape.count(advantages, logProbs.count, "advantages", in: fn)
        ObjectiveShape.count(mask, logProbs.count, "mask", in: fn)
        if let entropy { ObjectiveShape.count(entropy, logProbs.count, "entropy", in: fn) }
        let count = mask.reduce(0.0) { $0 + Double($1) }
        let total = normalizer ?? count
        var grad = [Double](repeating: 0, count: logProbs.count)
        guard total > 0 else {
            return PolicyLossOutput(
                loss: 0, logProbGrad: grad.narrowed(to: Scalar.self), clipFraction: 0,
                approxKL: 0, meanRatio: 0, meanEntropy: nil, tokenCount: 0)
        }
        var loss = 0.0, clipped = 0.0, kl = 0.0, ratio = 0.0, entropySum = 0.0
        for i in logProbs.indices where mask[i] != 0 {
            let m = Double(mask[i])
            let new = Double(logProbs[i]), old = Double(oldLogProbs[i])
            let s = ClippedSurrogate(
                logProb: new, oldLogProb: old,
                advantage: Double(advantages[i]), clipRange: clipRange)
            loss += m * s.loss
            grad[i] = m * s.derivative / total
            if s.clipped { clipped += m }
            kl += m * KLEstimator.k3.value(logProb: old, referenceLogProb: new)
            ratio += m * s.ratio
            if let entropy { entropySum += m * Double(entropy[i]) }
        }
        let c = max(count, .leastNonzeroMagnitude)
        return PolicyLossOutput(
            loss: loss / total, logProbGrad: grad.narrowed(to: Scalar.self),
            clipFraction: clipped / c, approxKL: kl / c, meanRatio: ratio / c,
            meanEntropy: entropy == nil ? nil : entropySum / c, tokenCount: count)
    }
}
