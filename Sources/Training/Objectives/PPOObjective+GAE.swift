// Generalized advantage estimation (Schulman et al. 2016) over the completion tokens of each row.

import Foundation

extension PPOObjective {
    /// GAE(γ, λ) per row, walking the masked positions from the last to the first:
    ///   δ_t = r_t + γ·V_{next} − V_t,   A_t = δ_t + γλ·A_{next},   R_t = A_t + V_t
    /// where "next" is the next *masked* position of the row (prompt and padding are skipped), and
    /// the last completion token is terminal (V_next = 0, A_next = 0): the episode ends there,
    /// whether by the end-of-turn token or by the length limit (whose score carries the penalty).
    ///
    /// - Parameters:
    ///   - rewards: (B,T) from `shapeRewards`.
    ///   - values: (B,T) value-head outputs of the rollout, V_t = value of the state before token t.
    ///   - mask: (B,T) the completion mask used for the rewards.
    /// - Returns: advantages (B,T) and returns (B,T) (the value targets), both 0 outside the mask.
    public static func generalizedAdvantages<Scalar: BinaryFloatingPoint>(
        rewards: [Scalar], values: [Scalar], mask: [Scalar], batchSize: Int, length: Int,
        gamma: Double, lambda: Double
    ) -> (advantages: [Scalar], returns: [Scalar]) {
        let fn = "PPOObjective.generalizedAdvantages"
        let n = batchSize * length
        ObjectiveShape.count(rewards, n, "rewards", in: fn)
        ObjectiveShape.count(values, n, "values", in: fn)
        ObjectiveShape.count(mask, n, "mask", in: fn)
        var advantages = [Scalar](repeating: 0, count: n)
        var returns = [Scalar](repeating: 0, count: n)
        for b in 0..<batchSize {
            var nextValue = 0.0
            var nextAdvantage = 0.0
            for t in stride(from: length - 1, through: 0, by: -1) where mask[b * length + t] != 0 {
                let i = b * length + t
                let v = Double(values[i])
                let delta = Double(rewards[i]) + gamma * nextValue - v
                let a = delta + gamma * lambda * nextAdvantage
                advantages[i] = Scalar(a)
                returns[i] = Scalar(a + v)
                nextValue = v
                nextAdvantage = a
            }
        }
        return (advantages, returns)
    }
}
