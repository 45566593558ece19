// The KL-penalty coefficient β of PPO: fixed, or adapted toward a target KL (Ziegler et al. 2019,
// "Fine-Tuning Language Models from Human Preferences"):
//   e = clip(KL / target − 1, −0.2, 0.2);   β ← β · (1 + e · n / horizon)
// where KL is the current mean per-sequence KL and n the number of samples since the last update.

import Foundation

/// β for the per-token KL penalty; `Codable` so that `trainer_state.json` resumes it exactly.
public struct KLController: Sendable, Codable, Equatable {
    /// The current β.
    public private(set) var coefficient: Double
    /// Target per-sequence KL (nats); `nil` for a fixed controller.
    public let target: Double?
    /// Number of samples over which the adaptive controller may move β by ±20%.
    public let horizon: Double

    /// A controller that keeps β constant.
    public static func fixed(_ coefficient: Double) -> KLController {
        KLController(coefficient: coefficient, target: nil, horizon: 1)
    }

    /// Ziegler et al.'s proportional controller (their defaults: target 6 nats, horizon 10 000).
    public static func adaptive(initial: Double, target: Double, horizon: Double = 10_000) -> KLController {
        precondition(
            target > 0 && horizon > 0,
            "KLController.adaptive: target and horizon must be > 0, got \(target), \(horizon)")
        return KLController(coefficient: initial, target: target, horizon: horizon)
    }

    /// Moves β after a rollout batch.
    /// - Parameters:
    ///   - currentKL: mean over the batch of the per-sequence KL (sum of per-token KL over the
    ///     completion), as `PPOObjective.shapeRewards` reports it.
    ///   - sampleCount: sequences seen since the last update (the batch size).
    public mutating func update(currentKL: Double, sampleCount: Int) {
        guard let target, currentKL.isFinite else { return }
        let error = min(max(currentKL / target - 1, -0.2), 0.2)
        coefficient *= 1 + error * Double(sampleCount) / horizon
    }
}
