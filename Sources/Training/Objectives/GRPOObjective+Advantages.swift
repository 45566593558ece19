// Critic-free advantage estimators for group sampling: GRPO's group-normalised reward (with TRL's
// `scale_rewards` group | batch | none), RLOO's leave-one-out baseline and REINFORCE++'s
// batch-whitened reward. Each maps the (B) sequence rewards of G completions per prompt to one
// advantage per completion, broadcast to its tokens by `GRPOObjective.loss`.

import Foundation

extension GRPOObjective {
    /// Which advantage estimator (CLI `--advantage`).
    public enum AdvantageEstimator: String, Sendable, Codable, CaseIterable {
        /// GRPO (Shao et al. 2024, eq. in §4.1.2): r_i − mean(group), scaled per `RewardScaling`.
        case grpo
        /// RLOO (Ahmadian et al. 2024, eq. 6; Kool et al. 2019): r_i − mean of the other k − 1
        /// rewards of the group = k/(k−1)·(r_i − mean(group)). Not scaled.
        case rloo
        /// REINFORCE++ (Hu 2025, §3 "advantage normalization"): the reward whitened over the whole
        /// batch, (r_i − mean(batch)) / std(batch), no critic and no per-group baseline. (The paper
        /// also folds the KL into the per-token reward; here the KL stays the loss's k3 term.)
        case reinforcePlusPlus = "reinforce++"
    }

    /// What GRPO divides r_i − mean(group) by (TRL `scale_rewards`).
    public enum RewardScaling: String, Sendable, Codable, CaseIterable {
        /// The group's std (GRPO as published).
        case group
        /// The std of every reward of the batch (Lite PPO, Liu et al. 2025): groups whose rewards
        /// barely differ are not blown up.
        case batch
        /// No division (Dr. GRPO, Liu et al. 2025).
        case none
    }

    /// Mean and unbiased (n − 1) standard deviation of the batch's rewards; `reducing` sums
    /// [Σr, Σr², n] over ranks so every rank whitens with the same moments.
    public static func batchMoments(
        _ rewards: [Double], reducing: ([Double]) -> [Double] = { $0 }
    ) -> (mean: Double, std: Double) {
        let s = reducing([rewards.reduce(0, +), rewards.reduce(0) { $0 + $1 * $1 }, Double(rewards.count)])
        let n = s[2]
        guard n > 0 else { return (0, 0) }
        let mean = s[0] / n
        let variance = n > 1 ? max(0, (s[1] - n * mean * mean) / (n - 1)) : 0
        return (mean, variance.squareRoot())
    }

    /// One advantage per completion.
    ///
    /// - Parameters:
    ///   - rewards: (B) rewards, B = groups × groupSize, the completions of one prompt adjacent.
    ///   - scaling: GRPO only; RLOO and REINFORCE++ ignore it.
    ///   - batch: mean and std of the rewards of the whole step over all ranks (`batchMoments`);
    ///     nil computes them from `rewards`. Used by `.batch` scaling and REINFORCE++.
    ///   - epsilon: added to every std before dividing (TRL: 1e-4).
    public static func advantages(
        rewards: [Double], groupSize: Int, estimator: AdvantageEstimator = .grpo,
        scaling: RewardScaling = .group, batch: (mean: Double, std: Double)? = nil, epsilon: Double = 1e-4
    ) -> [Double] {
        precondition(
            groupSize > 0 && rewards.count % groupSize == 0,
            "GRPOObjective.advantages: \(rewards.count) rewards do not split into groups of \(groupSize)")
        let moments = batch ?? batchMoments(rewards)
        switch estimator {
        case .grpo:
            switch scaling {
            case .group:
                return groupAdvantages(rewards: rewards, groupSize: groupSize, epsilon: epsilon)
            case .none:
                return groupAdvantages(
                    rewards: rewards, groupSize: groupSize, scaleByStandardDeviation: false)
            case .batch:
                let centred = groupAdvantages(
                    rewards: rewards, groupSize: groupSize, scaleByStandardDeviation: false)
                return centred.map { $0 / (moments.std + epsilon) }
            }
        case .rloo:
            guard groupSize > 1 else { return [Double](repeating: 0, count: rewards.count) }
            let k = Double(groupSize)
            let centred = groupAdvantages(
                rewards: rewards, groupSize: groupSize, scaleByStandardDeviation: false)
            return centred.map { $0 * k / (k - 1) }
        case .reinforcePlusPlus:
            return rewards.map { ($0 - moments.mean) / (moments.std + epsilon) }
        }
    }
}
