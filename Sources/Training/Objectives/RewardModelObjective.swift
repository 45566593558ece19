// Reward model objective: Bradley–Terry on scalar rewards, with K-wise rankings expanded into
// all K(K−1)/2 pairs of one prompt weighted so that each prompt counts as one unit.

import Datasets
import Foundation

/// Bradley–Terry loss −log σ(r_chosen − r_rejected − margin) over a batch of comparisons.
public enum RewardModelObjective {
    /// One comparison between two entries of the batch's reward array.
    public struct Pair: Hashable, Sendable, Codable {
        /// Index of the preferred response's reward.
        public var chosen: Int
        /// Index of the less preferred response's reward.
        public var rejected: Int
        /// Weight of this pair in the batch mean. A plain chosen/rejected record has weight 1; the
        /// pairs of one K-wise ranking share weight 1 between them (see `rankingPairs`).
        public var weight: Double
        /// Required reward gap (Llama 2 uses a margin that grows with the rating difference); 0
        /// gives the plain Bradley–Terry loss.
        public var margin: Double

        public init(chosen: Int, rejected: Int, weight: Double = 1, margin: Double = 0) {
            self.chosen = chosen
            self.rejected = rejected
            self.weight = weight
            self.margin = margin
        }
    }

    /// All K(K−1)/2 pairs of one prompt's ranking, each weighted 1/(K(K−1)/2), so the prompt
    /// contributes one unit to the batch however many responses it ranks (InstructGPT: otherwise
    /// the model sees each response K−1 times per epoch and overfits to prompts with many pairs).
    ///
    /// - Parameters:
    ///   - order: response indices best first (a permutation of 0..<K); K ≥ 2.
    ///   - firstIndex: where response 0 of this prompt sits in the batch's reward array; response
    ///     i's reward is at `firstIndex + i`.
    ///   - margin: margin applied to every pair (0 for none).
    public static func rankingPairs(order: [Int], firstIndex: Int = 0, margin: Double = 0) -> [Pair] {
        let k = order.count
        precondition(
            k >= 2, "RewardModelObjective.rankingPairs: a ranking needs at least 2 responses, got \(k)")
        precondition(
            Set(order) == Set(0..<k),
            "RewardModelObjective.rankingPairs: `order` \(order) is not a permutation of 0..<\(k)")
        let weight = 1 / Double(k * (k - 1) / 2)
        return RankingRecord.rankedPairs(order).map {
            Pair(
                chosen: firstIndex + $0.better, rejected: firstIndex + $0.worse, weight: weight,
                margin: margin)
        }
    }

    public struct Output<Scalar: BinaryFloatingPoint> {
        /// Σ_p w_p·(−log σ(r_c − r_r − m_p)) / normalizer.
        public var loss: Double
        /// dLoss/dr for every entry of the reward array (zero for entries in no pair).
        public var rewardGrad: [Scalar]
        /// Fraction of pairs (unweighted) with r_chosen > r_rejected; a tie counts one half, so a
        /// model that scores everything the same is at 50%, the same as random.
        public var accuracy: Double
        /// Mean over pairs (unweighted) of r_chosen − r_rejected.
        public var meanMargin: Double
        public var meanChosenReward: Double
        public var meanRejectedReward: Double

        public var metrics: [String: Double] {
            [
                "loss": loss, "accuracy": accuracy, "margin": meanMargin,
                "reward_chosen": meanChosenReward, "reward_rejected": meanRejectedReward,
            ]
        }
    }

    /// Bradley–Terry loss over `pairs` of the rewards in `rewards`.
    ///
    /// - Parameters:
    ///   - rewards: (R) scalar reward of each response in the batch (score at its end-of-turn token).
    ///   - pairs: comparisons among them.
    ///   - normalizer: divisor of the weighted sum; `nil` uses Σ weights (the number of prompt units
    ///     of this call). With gradient accumulation pass Σ weights of the whole optimizer step.
    public static func bradleyTerry<Scalar: BinaryFloatingPoint>(
        rewards: [Scalar], pairs: [Pair], normalizer: Double? = nil
    ) -> Output<Scalar> {
        precondition(!pairs.isEmpty, "RewardModelObjective.bradleyTerry: no pairs")
        let r = rewards.widenedToDouble
        let total = normalizer ?? pairs.reduce(0) { $0 + $1.weight }
        precondition(total > 0, "RewardModelObjective.bradleyTerry: normalizer must be > 0, got \(total)")
        var loss = 0.0
        var grad = [Double](repeating: 0, count: r.count)
        var correct = 0.0, margin = 0.0, chosen = 0.0, rejected = 0.0
        for p in pairs {
            precondition(
                r.indices.contains(p.chosen) && r.indices.contains(p.rejected),
                "RewardModelObjective.bradleyTerry: pair \(p) indexes outside the \(r.count) rewards")
            let d = r[p.chosen] - r[p.rejected]
            let z = d - p.margin
            // ℓ = −log σ(z) = softplus(−z);  dℓ/dz = −σ(−z).
            loss += p.weight * ObjectiveMath.softplus(-z)
            let g = -p.weight * ObjectiveMath.sigmoid(-z) / total
            grad[p.chosen] += g
            grad[p.rejected] -= g
            correct += d > 0 ? 1 : (d == 0 ? 0.5 : 0)
            margin += d
            chosen += r[p.chosen]
            rejected += r[p.rejected]
        }
        let n = Double(pairs.count)
        return Output(
            loss: loss / total, rewardGrad: grad.narrowed(to: Scalar.self),
            accuracy: correct / n, meanMargin: margin / n,
            meanChosenReward: chosen / n, meanRejectedReward: rejected / n)
    }
}
