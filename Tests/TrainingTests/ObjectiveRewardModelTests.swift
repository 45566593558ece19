// Bradley–Terry loss, margins, K-wise ranking expansion and pair accuracy.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectiveRewardModelTests {
    @Test func singlePairValueAndGradient() {
        // r_c = 1, r_r = 0: loss = −log σ(1) = log(1 + e^−1) = 0.31326168751822286,
        // dℓ/dr_c = −σ(−1) = −0.2689414213699951, dℓ/dr_r = +0.2689414213699951.
        let out = RewardModelObjective.bradleyTerry(
            rewards: [1.0, 0.0],
            pairs: [.init(chosen: 0, rejected: 1)])
        ObjectiveCheck.expectClose(out.loss, 0.31326168751822286, "loss")
        ObjectiveCheck.expectClose(out.rewardGrad, [-0.2689414213699951, 0.2689414213699951], "dr")
        #expect(out.accuracy == 1)
        ObjectiveCheck.expectClose(out.meanMargin, 1, "margin")
    }

    @Test func marginShiftsTheLoss() {
        // Margin 0.5: −log σ(1 − 0.5) = log(1 + e^−0.5) = 0.4740769841801067.
        let out = RewardModelObjective.bradleyTerry(
            rewards: [1.0, 0.0],
            pairs: [.init(chosen: 0, rejected: 1, margin: 0.5)])
        ObjectiveCheck.expectClose(out.loss, 0.4740769841801067, "loss")
    }

    @Test func rankingExpansionWeights() {
        // Responses ranked 2 > 0 > 1, stored from index 5: pairs (7,5), (7,6), (5,6), weight 1/3 each.
        let pairs = RewardModelObjective.rankingPairs(order: [2, 0, 1], firstIndex: 5)
        #expect(pairs.map(\.chosen) == [7, 7, 5])
        #expect(pairs.map(\.rejected) == [5, 6, 6])
        for p in pairs { ObjectiveCheck.expectClose(p.weight, 1.0 / 3, "weight") }
        // K = 4: 6 pairs, weight 1/6, summing to one prompt unit.
        let four = RewardModelObjective.rankingPairs(order: [3, 1, 0, 2])
        #expect(four.count == 6)
        ObjectiveCheck.expectClose(four.reduce(0) { $0 + $1.weight }, 1, "total weight")
        // K = 2 is a plain pair of weight 1.
        #expect(
            RewardModelObjective.rankingPairs(order: [1, 0]) == [.init(chosen: 1, rejected: 0, weight: 1)])
    }

    @Test func eachPromptCountsAsOneUnit() {
        // Batch of three prompts: a K=3 ranking (rewards 0..2, 3 pairs), a K=4 ranking (3..6,
        // 6 pairs) and one plain pair (7, 8). With prompt-unit weights the batch loss is the mean
        // of the three prompt losses, each prompt loss being the mean over its own pairs — the
        // K=4 prompt does not count six times.
        let rewards: [Double] = [2, 1, 0, 0.3, 0.2, 0.1, 0.0, 1, 0]
        let pairs =
            RewardModelObjective.rankingPairs(order: [0, 1, 2], firstIndex: 0)
            + RewardModelObjective.rankingPairs(order: [0, 1, 2, 3], firstIndex: 3)
            + [RewardModelObjective.Pair(chosen: 7, rejected: 8)]
        let out = RewardModelObjective.bradleyTerry(rewards: rewards, pairs: pairs)
        func bt(_ d: Double) -> Double { log1p(exp(-d)) }
        let promptA = (bt(1) + bt(2) + bt(1)) / 3
        let promptB = (bt(0.1) + bt(0.2) + bt(0.3) + bt(0.1) + bt(0.2) + bt(0.1)) / 6
        let promptC = bt(1)
        ObjectiveCheck.expectClose(out.loss, (promptA + promptB + promptC) / 3, "prompt-unit mean")
        let numeric = ObjectiveCheck.numericalGradient(rewards) {
            RewardModelObjective.bradleyTerry(rewards: $0, pairs: pairs).loss
        }
        ObjectiveCheck.expectClose(out.rewardGrad, numeric, "finite differences")
    }

    @Test func gradientWithMarginsAndExternalNormaliser() {
        let rewards: [Double] = [0.3, -1.2, 0.7, 2.0]
        let pairs: [RewardModelObjective.Pair] = [
            .init(chosen: 0, rejected: 1, weight: 1, margin: 1),
            .init(chosen: 3, rejected: 2, weight: 0.5, margin: 0.25),
            .init(chosen: 2, rejected: 0, weight: 0.5, margin: 0),
        ]
        let out = RewardModelObjective.bradleyTerry(rewards: rewards, pairs: pairs, normalizer: 4)
        let numeric = ObjectiveCheck.numericalGradient(rewards) {
            RewardModelObjective.bradleyTerry(rewards: $0, pairs: pairs, normalizer: 4).loss
        }
        ObjectiveCheck.expectClose(out.rewardGrad, numeric, "finite differences")
    }

    @Test func accuracyCountsTiesAsHalf() {
        // (0,1) tie → 0.5, (0,2) right → 1, (2,1) wrong → 0: accuracy 1.5/3 = 0.5.
        let out = RewardModelObjective.bradleyTerry(
            rewards: [1.0, 1.0, 0.0],
            pairs: [
                .init(chosen: 0, rejected: 1), .init(chosen: 0, rejected: 2), .init(chosen: 2, rejected: 1),
            ])
        ObjectiveCheck.expectClose(out.accuracy, 0.5, "accuracy")
        // A constant reward model is at chance, 50%.
        let constant = RewardModelObjective.bradleyTerry(
            rewards: [0.0, 0, 0],
            pairs: RewardModelObjective.rankingPairs(order: [0, 1, 2]))
        ObjectiveCheck.expectClose(constant.accuracy, 0.5, "constant model")
        ObjectiveCheck.expectClose(constant.loss, log(2.0), "loss at zero gap")
    }

    @Test func extremeRewardGapsStayFinite() {
        let out = RewardModelObjective.bradleyTerry(
            rewards: [Float(-800), 800], pairs: [.init(chosen: 0, rejected: 1)])
        ObjectiveCheck.expectClose(out.loss, 1600, "loss ≈ gap")
        #expect(out.rewardGrad == [Float(-1), 1])
    }
}
