// Reward normalisation and score clipping for PPO. As in OpenAI's lm-human-preferences
// (`train_policy.py`, `normalize_before`): a gain and a bias are fitted once, on rollouts of the
// SFT policy at the start, so the reward model's score has mean 0 and standard deviation 1 there;
// the same affine map is then applied to every score. Clipping (TRL `score_clip`, OpenRLHF
// `reward_clip_range`) bounds the normalised score so one outlier cannot dominate a batch.

import Foundation

extension PPOObjective {
    /// score ↦ gain·score + bias.
    public struct RewardNormalization: Sendable, Codable, Equatable {
        public var gain: Double
        public var bias: Double
        public init(gain: Double = 1, bias: Double = 0) {
            self.gain = gain
            self.bias = bias
        }

        /// Fits gain and bias so `scores` map to mean `targetMean` and (population) standard
        /// deviation `targetStd`, as lm-human-preferences does with `tf.nn.moments`. `reducing`
        /// sums [Σs, Σs², n] over ranks. Scores that are all equal get gain 1 (only centred).
        public static func fit(
            scores: [Double], targetMean: Double = 0, targetStd: Double = 1,
            reducing: ([Double]) -> [Double] = { $0 }
        ) -> RewardNormalization {
            let s = reducing([scores.reduce(0, +), scores.reduce(0) { $0 + $1 * $1 }, Double(scores.count)])
            precondition(s[2] > 0, "RewardNormalization.fit: no scores")
            let mean = s[0] / s[2]
            let std = max(0, s[1] / s[2] - mean * mean).squareRoot()
            let gain = std > 1e-8 ? targetStd / std : 1
            return RewardNormalization(gain: gain, bias: targetMean - gain * mean)
        }

        public func callAsFunction(_ score: Double) -> Double { gain * score + bias }
    }

    /// gain·s + bias (when normalising), then clipped to [−limit, limit] (when a limit is given).
    public static func transformScores(
        _ scores: [Double], normalization: RewardNormalization?, clip limit: Double?
    ) -> [Double] {
        precondition(limit.map { $0 > 0 } ?? true, "PPOObjective.transformScores: clip must be positive")
        return scores.map { raw in
            let s = normalization.map { $0(raw) } ?? raw
            return limit.map { min(max(s, -$0), $0) } ?? s
        }
    }
}
