// GRPO: group-normalised advantages, clipped surrogate + k3 KL, token-level aggregation.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectiveGRPOTests {
    @Test func groupAdvantagesByHand() {
        // Group 1: rewards 1, 0, 0, 1: mean 0.5, unbiased std √(4·0.25/3) = √(1/3) = 0.5773502691896258
        // → ±0.5/(0.57735… + 1e−4) = ±0.8658754297607016. Group 2 all equal → 0 (no signal).
        let adv = GRPOObjective.groupAdvantages(rewards: [1, 0, 0, 1, 1, 1, 1, 1], groupSize: 4)
        let a = 0.8658754297607016
        ObjectiveCheck.expectClose(adv, [a, -a, -a, a, 0, 0, 0, 0], tolerance: 1e-12, "advantages")
        // Without std scaling: r − mean.
        let unscaled = GRPOObjective.groupAdvantages(
            rewards: [1, 0, 0, 1, 3, 1, 2, 2], groupSize: 4,
            scaleByStandardDeviation: false)
        ObjectiveCheck.expectClose(unscaled, [0.5, -0.5, -0.5, 0.5, 1, -1, 0, 0], "unscaled")
    }

    @Test func onPolicyLossWithK3ByHand() {
        // 2 completions × 2 tokens, on-policy (old = logp, ρ = 1), A = [1, −1], β = 0.1.
        // r = ref − logp = [−0.2, 0, 0.1, 0]; k3 = [0.018730753077981832, 0, 0.005170918075647624, 0].
        // loss = (−1 − 1 + 1 + 1)/4 + 0.1·(0.01873… + 0.00517…)/4 = 0.0005975417788407378.
        // dlogp = (−A + β·(1 − e^r))/4:
        //   (−1 + 0.1·(1 − e^−0.2))/4 = −0.24546826882694955, −0.25,
        //   ( 1 + 0.1·(1 − e^0.1))/4 = 0.2473707270481088,   0.25.
        let logProbs: [Double] = [-1, -2, -0.5, -1.5]
        let reference: [Double] = [-1.2, -2, -0.4, -1.5]
        let mask: [Double] = [1, 1, 1, 1]
        let out = GRPOObjective.loss(
            logProbs: logProbs, oldLogProbs: logProbs, referenceLogProbs: reference,
            mask: mask, batchSize: 2, length: 2, advantages: [1, -1], klCoefficient: 0.1)
        ObjectiveCheck.expectClose(out.loss, 0.0005975417788407378, tolerance: 1e-12, "loss")
        ObjectiveCheck.expectClose(
            out.logProbGrad, [-0.24546826882694955, -0.25, 0.2473707270481088, 0.25], "dlogp")
        ObjectiveCheck.expectClose(out.meanKL, (0.018730753077981832 + 0.005170918075647624) / 4, "mean KL")
        #expect(out.clipFraction == 0)
        // The KL part's gradient, with ρ held at the old log-probs (they are constants of the rollout).
        let numeric = ObjectiveCheck.numericalGradient(logProbs) {
            GRPOObjective.loss(
                logProbs: $0, oldLogProbs: logProbs, referenceLogProbs: reference, mask: mask,
                batchSize: 2, length: 2, advantages: [1, -1], klCoefficient: 0.1
            ).loss
        }
        ObjectiveCheck.expectClose(out.logProbGrad, numeric, "finite differences")
    }

    @Test func tokenLevelAggregationIsLengthUnbiased() {
        // A 1-token and a 3-token completion, both A = 1, on-policy, β = 0: every token gets −1/4
        // (sum over the group's 4 tokens / 4). Per-sequence averaging would give the short
        // completion's token −1/2 and each long one's −1/6.
        let lp: [Double] = [-1, 0, 0, -1, -1, -1]
        let out = GRPOObjective.loss(
            logProbs: lp, oldLogProbs: lp, referenceLogProbs: nil, mask: [1, 0, 0, 1, 1, 1],
            batchSize: 2, length: 3, advantages: [1, 1], klCoefficient: 0)
        ObjectiveCheck.expectClose(out.logProbGrad, [-0.25, 0, 0, -0.25, -0.25, -0.25], "dlogp")
        ObjectiveCheck.expectClose(out.tokenCount, 4, "tokens")
    }

    @Test func offPolicyClippedGradientsMatchFiniteDifferences() {
        // Row 0 (A = 0.8): ratios 1.25, 0.7, 1.05; row 1 (A = −1.2): 0.9, 1.1, padding.
        let old: [Double] = [-1, -2, -0.5, -1.5, -0.8, -3]
        let logProbs = zip(old, [1.25, 0.7, 1.05, 0.9, 1.1, 1]).map { $0 + log($1) }
        let reference: [Double] = [-1.1, -1.8, -0.6, -1.2, -0.9, -3]
        let mask: [Double] = [1, 1, 1, 1, 1, 0]
        let advantages = [0.8, -1.2]
        for high in [nil, 0.28] as [Double?] {
            let out = GRPOObjective.loss(
                logProbs: logProbs, oldLogProbs: old, referenceLogProbs: reference, mask: mask,
                batchSize: 2, length: 3, advantages: advantages, clipRange: 0.2,
                clipRangeHigh: high, klCoefficient: 0.05)
            let numeric = ObjectiveCheck.numericalGradient(logProbs) {
                GRPOObjective.loss(
                    logProbs: $0, oldLogProbs: old, referenceLogProbs: reference, mask: mask,
                    batchSize: 2, length: 3, advantages: advantages, clipRange: 0.2,
                    clipRangeHigh: high, klCoefficient: 0.05
                ).loss
            }
            ObjectiveCheck.expectClose(
                out.logProbGrad, numeric, "finite differences, clip high \(String(describing: high))")
            // Token 0 (ρ = 1.25, A > 0) is clipped by 1 + 0.2 but not by clip-higher's 1 + 0.28; token 1 (ρ = 0.7,
            // A > 0) is never clipped (pessimistic side); row 1 has A < 0 and ρ = 0.9, 1.1 inside.
            ObjectiveCheck.expectClose(out.clipFraction, high == nil ? 0.2 : 0, "clip fraction")
        }
    }
}
