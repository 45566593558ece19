// GRPO's reward scaling (group | batch | none), RLOO and REINFORCE++ advantages, by hand.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectiveGRPOAdvantagesTests {
    // Two groups of two: [1, 0] (mean 0.5, unbiased std √0.5) and [3, 3] (no signal).
    // Whole batch: mean 1.75, unbiased variance (0.5625 + 3.0625 + 1.5625 + 1.5625)/3 = 2.25, std 1.5.
    let rewards: [Double] = [1, 0, 3, 3]
    let eps = 1e-4

    @Test func groupScalingDividesByTheGroupStd() {
        let a = GRPOObjective.advantages(rewards: rewards, groupSize: 2, scaling: .group)
        let s = 0.5.squareRoot()
        ObjectiveCheck.expectClose(a, [0.5 / (s + eps), -0.5 / (s + eps), 0, 0], "group")
    }

    @Test func batchScalingDividesByTheBatchStd() {
        let a = GRPOObjective.advantages(rewards: rewards, groupSize: 2, scaling: .batch)
        ObjectiveCheck.expectClose(a, [0.5 / (1.5 + eps), -0.5 / (1.5 + eps), 0, 0], "batch")
        // Moments of a larger (all-rank) batch replace the local ones.
        let shared = GRPOObjective.advantages(rewards: rewards, groupSize: 2, scaling: .batch, batch: (0, 4))
        ObjectiveCheck.expectClose(shared, [0.5 / (4 + eps), -0.5 / (4 + eps), 0, 0], "shared batch")
    }

    @Test func noScalingOnlyCentres() {
        let a = GRPOObjective.advantages(rewards: rewards, groupSize: 2, scaling: .none)
        ObjectiveCheck.expectClose(a, [0.5, -0.5, 0, 0], "none")
    }

    @Test func rlooSubtractsTheMeanOfTheOthers() {
        // [1, 2, 6]: baselines (2+6)/2 = 4, (1+6)/2 = 3.5, (1+2)/2 = 1.5.
        let a = GRPOObjective.advantages(rewards: [1, 2, 6, 5, 5, 5], groupSize: 3, estimator: .rloo)
        ObjectiveCheck.expectClose(a, [-3, -1.5, 4.5, 0, 0, 0], "rloo")
        // Scaling does not apply to RLOO.
        let scaled = GRPOObjective.advantages(
            rewards: [1, 2, 6], groupSize: 3, estimator: .rloo, scaling: .batch)
        ObjectiveCheck.expectClose(scaled, [-3, -1.5, 4.5], "rloo ignores scaling")
    }

    @Test func reinforcePlusPlusWhitensOverTheBatch() {
        let a = GRPOObjective.advantages(rewards: rewards, groupSize: 2, estimator: .reinforcePlusPlus)
        ObjectiveCheck.expectClose(a, rewards.map { ($0 - 1.75) / (1.5 + eps) }, "reinforce++")
        // No per-group baseline: the all-equal group [3, 3] keeps a positive advantage.
        #expect(a[2] > 0 && a[3] > 0)
        #expect(GRPOObjective.AdvantageEstimator(rawValue: "reinforce++") == .reinforcePlusPlus)
    }

    @Test func batchMomentsReduceOverRanks() {
        // Two "ranks" holding [1, 0] and [3, 3]: summing [Σr, Σr², n] gives the whole batch's moments.
        let other = [6.0, 18.0, 2.0]
        let m = GRPOObjective.batchMoments([1, 0]) { zip($0, other).map { $0 + $1 } }
        ObjectiveCheck.expectClose(m.mean, 1.75, "mean")
        ObjectiveCheck.expectClose(m.std, 1.5, "std")
    }

    @Test func rewardNormalizationFitsMeanZeroStdOne() {
        let scores: [Double] = [2, 4, 4, 4, 5, 5, 7, 9]  // mean 5, population std 2
        let n = PPOObjective.RewardNormalization.fit(scores: scores)
        ObjectiveCheck.expectClose(n.gain, 0.5, "gain")
        ObjectiveCheck.expectClose(n.bias, -2.5, "bias")
        ObjectiveCheck.expectClose(
            PPOObjective.transformScores([9, 1], normalization: n, clip: 1.5), [1.5, -1.5], "clip")
        ObjectiveCheck.expectClose(
            PPOObjective.transformScores([9, 1], normalization: nil, clip: nil), [9, 1], "identity")
    }
}
