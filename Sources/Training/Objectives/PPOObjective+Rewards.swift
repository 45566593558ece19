// PPO reward shaping: the per-token reward is the KL penalty −β·KL_t on every completion token
// plus the reward model's score on the last completion token (the end-of-turn token the reward
// model was trained to score), as in Ziegler et al. and InstructGPT.

import Foundation

/// PPO's pieces, each a pure function over the (B,T) grid of one rollout batch (see
/// `Objectives.swift` for the layout). The stage loop calls them in this order:
/// `shapeRewards` → `generalizedAdvantages` → `Whitening.whiten` (advantages) → per minibatch
/// `policyLoss` + `valueLoss`, then `KLController.update`.
public enum PPOObjective {
    /// What happens to the score of a completion that never produced its end-of-turn token
    /// (it ran into `maxNewTokens`): the reward model never saw a finished answer, so its score
    /// is unreliable and the policy must learn that rambling does not pay.
    public enum UnfinishedCompletion: Sendable, Codable, Equatable {
        /// Keep the reward model's score.
        case keepScore
        /// score − penalty (TRL's `missing_eos_penalty`).
        case subtract(Double)
        /// Replace the score by a fixed value (e.g. −1 with scores normalised to mean 0, std 1).
        case replaceScore(Double)
    }

    /// Optional reward normalisation (off by default; PITFALLS: make it a setting).
    public enum RewardWhitening: String, Sendable, Codable, CaseIterable {
        case none
        /// Whiten the B sequence scores across the batch (mean 0, unbiased std 1) before shaping.
        case scores
        /// Rescale the final per-token rewards by their masked std, keeping their mean (TRL's
        /// `whiten_rewards`).
        case tokenRewards
    }

    public struct ShapedRewards<Scalar: BinaryFloatingPoint> {
        /// (B,T) per-token rewards: −β·KL_t + [t is the row's last completion token]·score.
        public var rewards: [Scalar]
        /// (B,T) per-token KL estimate (0 outside the mask).
        public var kl: [Scalar]
        /// (B) Σ_t KL_t over each completion.
        public var sequenceKL: [Double]
        /// (B) the scores placed on the end tokens (after the unfinished rule and whitening).
        public var scores: [Double]
        /// Mean over rows of `sequenceKL`: what `KLController.update(currentKL:)` expects.
        public var meanKL: Double
        /// Mean raw reward-model score (before penalty and whitening).
        public var meanRawScore: Double
        /// Mean over rows of Σ_t −β·KL_t.
        public var meanKLReward: Double
        /// Fraction of rows that never ended.
        public var unfinishedFraction: Double

        public var metrics: [String: Double] {
            [
                "kl": meanKL, "score": meanRawScore, "kl_reward": meanKLReward,
                "unfinished_fraction": unfinishedFraction,
            ]
        }
    }

    /// Builds the per-token rewards of one rollout batch.
    ///
    /// - Parameters:
    ///   - logProbs: (B,T) log π(token) under the rollout policy, computed with the sampling temperature.
    ///   - referenceLogProbs: (B,T) log π_ref(token) of the frozen SFT model, same temperature.
    ///   - mask: (B,T) 1 on completion tokens (contiguous per row, ≥ 1 per row), 0 on prompt/padding.
    ///   - scores: (B) reward-model score of each full sequence.
    ///   - finished: (B) whether the row ended with its end-of-turn token.
    ///   - klCoefficient: β (from `KLController.coefficient`).
    public static func shapeRewards<Scalar: BinaryFloatingPoint>(
        logProbs: [Scalar], referenceLogProbs: [Scalar], mask: [Scalar],
        batchSize: Int, length: Int, scores: [Double], finished: [Bool],
        klCoefficient: Double, estimator: KLEstimator = .k1,
        unfinished: UnfinishedCompletion = .keepScore, whitening: RewardWhitening = .none
    ) -> ShapedRewards<Scalar> {
        let fn = "PPOObjective.shapeRewards"
        let n = batchSize * length
        ObjectiveShape.count(logProbs, n, "logProbs", in: fn)
        ObjectiveShape.count(referenceLogProbs, n, "referenceLogProbs", in: fn)
        ObjectiveShape.count(mask, n, "mask", in: fn)
        ObjectiveShape.count(scores, batchSize, "scores", in: fn)
        ObjectiveShape.count(finished, batchSize, "finished", in: fn)

        var finalScores = scores
        for b in 0..<batchSize where !finished[b] {
            switch unfinished {
            case .keepScore: break
            case .subtract(let penalty): finalScores[b] -= penalty
            case .replaceScore(let value): finalScores[b] = value
            }
        }
        if whitening == .scores {
            finalScores = Whitening.whiten(finalScores, mask: [Double](repeating: 1, count: batchSize))
        }

        var rewards = [Double](repeating: 0, count: n)
        var kl = [Double](repeating: 0, count: n)
        var sequenceKL = [Double](repeating: 0, count: batchSize)
        for b in 0..<batchSize {
            var last = -1
            for t in 0..<length where mask[b * length + t] != 0 {
                let i = b * length + t
                let k = estimator.value(
                    logProb: Double(logProbs[i]), referenceLogProb: Double(referenceLogProbs[i]))
                kl[i] = k
                rewards[i] = -klCoefficient * k
                sequenceKL[b] += k
                last = i
            }
            precondition(last >= 0, "\(fn): row \(b) has no completion token in `mask`")
            rewards[last] += finalScores[b]
        }
        if whitening == .tokenRewards {
            rewards = Whitening.whiten(rewards, mask: mask.widenedToDouble, shiftMean: false)
        }
        let rows = Double(batchSize)
        let meanKL = sequenceKL.reduce(0, +) / rows
        return ShapedRewards(
            rewards: rewards.narrowed(to: Scalar.self), kl: kl.narrowed(to: Scalar.self),
            sequenceKL: sequenceKL, scores: finalScores, meanKL: meanKL,
            meanRawScore: scores.reduce(0, +) / rows, meanKLReward: -klCoefficient * meanKL,
            unfinishedFraction: Double(finished.filter { !$0 }.count) / rows)
    }
}
