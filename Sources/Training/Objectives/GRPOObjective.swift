// GRPO (Shao et al. 2024, DeepSeekMath): PPO without a value model. G completions are sampled per
// prompt; each completion's advantage is its reward normalised within its group, broadcast to all
// its tokens; the clipped surrogate plus a k3 KL penalty to the reference is averaged over tokens.

import Foundation

/// Group relative policy optimisation.
public enum GRPOObjective {
    /// Group-normalised advantages: (r_i − mean_group) / (std_group + epsilon), or r_i − mean_group
    /// with `scaleByStandardDeviation` false (Dr. GRPO: the std division up-weights groups that are
    /// nearly all right or all wrong). std is the unbiased sample std (n − 1), as TRL computes it;
    /// a group of one has advantage 0. A group whose rewards are all equal gets advantage 0
    /// everywhere (it carries no signal about which completion is better).
    ///
    /// - Parameters:
    ///   - rewards: (B) rewards with B = groups × groupSize, the completions of one prompt adjacent.
    public static func groupAdvantages(
        rewards: [Double], groupSize: Int, scaleByStandardDeviation: Bool = true, epsilon: Double = 1e-4
    ) -> [Double] {
        precondition(
            groupSize > 0 && rewards.count % groupSize == 0,
            "GRPOObjective.groupAdvantages: \(rewards.count) rewards do not split into groups of \(groupSize)"
        )
        var out = [Double](repeating: 0, count: rewards.count)
        for start in stride(from: 0, to: rewards.count, by: groupSize) {
            let group = rewards[start..<(start + groupSize)]
            let g = Double(groupSize)
            let mean = group.reduce(0, +) / g
            let variance = groupSize > 1 ? group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (g - 1) : 0
            let scale = scaleByStandardDeviation ? 1 / (variance.squareRoot() + epsilon) : 1
            for i in start..<(start + groupSize) { out[i] = (rewards[i] - mean) * scale }
        }
        return out
    }

    public struct Output<Scalar: BinaryFloatingPoint> {
        /// Σ_tokens mask·(surrogate + β·k3) / normalizer.
        public var loss: Double
        /// (B,T) dLoss/dlogp per token.
        public var logProbGrad: [Scalar]
        /// The surrogate part of `loss`.
        public var policyLoss: Double
        /// Masked mean of the k3 estimate of KL(π‖π_ref) per token (0 without reference).
        public var meanKL: Double
        /// Fraction of masked tokens whose gradient the clip removed.
        public var clipFraction: Double
        /// Masked mean of ρ = exp(logp − oldLogp).
        public var meanRatio: Double
        /// Σ mask of this call.
        public var tokenCount: Double

        public var metrics: [String: Double] {
            [
                "loss": loss, "policy_loss": policyLoss, "kl": meanKL, "clip_fraction": clipFraction,
                "ratio": meanRatio,
            ]
        }
    }

    /// The GRPO loss of one batch of completions.
    ///
    /// Aggregation (documented choice): the per-token losses are summed over every completion token
    /// of the batch and divided by the total number of those tokens (DAPO's token-level
    /// normaliser). The original GRPO averages per sequence first, which gives each token of a short
    /// completion more weight than a token of a long one — a length bias that rewards short correct
    /// answers and lets long wrong ones off lightly. Pass `normalizer` = the token count of all
    /// micro-batches of the step under gradient accumulation, or a constant (Dr. GRPO) if wanted.
    ///
    /// Per token, with ρ = exp(logp − oldLogp), A = advantage of the row, r = logp_ref − logp:
    ///   ℓ = max(−A·ρ, −A·clip(ρ, 1−ε_low, 1+ε_high)) + β·(e^r − 1 − r)
    ///   dℓ/dlogp = [unclipped]·(−A·ρ) + β·(1 − e^r)
    ///
    /// - Parameters:
    ///   - logProbs: (B,T) current policy log-probs (sampling temperature).
    ///   - oldLogProbs: (B,T) log-probs of the sampling policy; pass `logProbs` itself when there is
    ///     a single update per generation (ρ = 1, the clip is inactive).
    ///   - referenceLogProbs: (B,T) frozen reference log-probs, or nil when klCoefficient is 0.
    ///   - mask: (B,T) completion mask.
    ///   - advantages: (B) from `groupAdvantages`.
    ///   - clipRange: ε_low; clipRangeHigh: ε_high (DAPO's clip-higher), default ε_low.
    ///   - klCoefficient: β.
    public static func loss<Scalar: BinaryFloatingPoint>(
        logProbs: [Scalar], oldLogProbs: [Scalar], referenceLogProbs: [Scalar]?, mask: [Scalar],
        batchSize: Int, length: Int, advantages: [Double],
        clipRange: Double = 0.2, clipRangeHigh: Double? = nil, klCoefficient: Double = 0.04,
        normalizer: Double? = nil
    ) -> Output<Scalar> {
        let fn = "GRPOObjective.loss"
        let n = batchSize * length
        ObjectiveShape.count(logProbs, n, "logProbs", in: fn)
        ObjectiveShape.count(oldLogProbs, n, "oldLogProbs", in: fn)
        ObjectiveShape.count(mask, n, "mask", in: fn)
        ObjectiveShape.count(advantages, batchSize, "advantages", in: fn)
        if let referenceLogProbs { ObjectiveShape.count(referenceLogProbs, n, "referenceLogProbs", in: fn) }
        precondition(
            referenceLogProbs != nil || klCoefficient == 0,
            "\(fn): klCoefficient \(klCoefficient) needs referenceLogProbs")
        let count = mask.reduce(0.0) { $0 + Double($1) }
        let total = normalizer ?? count
        var grad = [Double](repeating: 0, count: n)
        guard total > 0 else {
            return Output(
                loss: 0, logProbGrad: grad.narrowed(to: Scalar.self), policyLoss: 0, meanKL: 0,
                clipFraction: 0, meanRatio: 0, tokenCount: 0)
        }
        var policy = 0.0, kl = 0.0, clipped = 0.0, ratio = 0.0
        for b in 0..<batchSize {
            for t in 0..<length where mask[b * length + t] != 0 {
                let i = b * length + t
                let m = Double(mask[i])
                let lp = Double(logProbs[i])
                let s = ClippedSurrogate(
                    logProb: lp, oldLogProb: Double(oldLogProbs[i]),
                    advantage: advantages[b], clipRange: clipRange,
                    clipRangeHigh: clipRangeHigh)
                var d = s.derivative
                policy += m * s.loss
                if let referenceLogProbs, klCoefficient != 0 {
                    let ref = Double(referenceLogProbs[i])
                    kl += m * KLEstimator.k3.value(logProb: lp, referenceLogProb: ref)
                    d += klCoefficient * KLEstimator.k3.derivative(logProb: lp, referenceLogProb: ref)
                }
                grad[i] = m * d / total
                if s.clipped { clipped += m }
                ratio += m * s.ratio
            }
        }
        let c = max(count, .leastNonzeroMagnitude)
        return Output(
            loss: (policy + klCoefficient * kl) / total, logProbGrad: grad.narrowed(to: Scalar.self),
            policyLoss: policy / total, meanKL: kl / c, clipFraction: clipped / c,
            meanRatio: ratio / c, tokenCount: count)
    }
}
