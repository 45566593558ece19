// PPO: reward shaping, GAE, clipped policy and value losses.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectivePPOTests {
    // Two rows of length 3. Row 0: position 0 is prompt, completion at 1–2, finished.
    // Row 1: completion at 0–1, position 2 is padding, never ended.
    let logProbs: [Double] = [-9, -1, -2, -1, -0.5, 0]
    let referenceLogProbs: [Double] = [-9, -1.5, -1.5, -1.2, -0.5, 0]
    let mask: [Double] = [0, 1, 1, 1, 1, 0]

    @Test func shapedRewardsWithK1AndUnfinishedPenalty() {
        // k1 = logπ − logπref: row 0: 0.5, −0.5; row 1: 0.2, 0. β = 0.1 → −β·k1 = −0.05, +0.05, −0.02, 0.
        // Scores 1 and 2; row 1 never ended, penalty 1 is subtracted → 1.
        // rewards = [0, −0.05, 0.05 + 1, −0.02, 0 + 1, 0].
        let out = PPOObjective.shapeRewards(
            logProbs: logProbs, referenceLogProbs: referenceLogProbs, mask: mask, batchSize: 2, length: 3,
            scores: [1, 2], finished: [true, false], klCoefficient: 0.1, estimator: .k1,
            unfinished: .subtract(1))
        ObjectiveCheck.expectClose(out.rewards, [0, -0.05, 1.05, -0.02, 1.0, 0], "rewards")
        ObjectiveCheck.expectClose(out.kl, [0, 0.5, -0.5, 0.2, 0, 0], "kl")
        ObjectiveCheck.expectClose(out.sequenceKL, [0, 0.2], "sequence KL")
        ObjectiveCheck.expectClose(out.meanKL, 0.1, "mean KL")
        ObjectiveCheck.expectClose(out.meanKLReward, -0.01, "KL reward")
        ObjectiveCheck.expectClose(out.meanRawScore, 1.5, "raw score")
        ObjectiveCheck.expectClose(out.unfinishedFraction, 0.5, "unfinished")
        ObjectiveCheck.expectClose(out.scores, [1, 1], "scores used")
    }

    @Test func shapedRewardsWithK3AndReplacedScore() {
        // k3 with r = ref − logp: row 0: r = −0.5 → e^−0.5 − 0.5 = 0.10653065971263342,
        // r = 0.5 → e^0.5 − 1.5 = 0.1487212707001282; row 1: r = −0.2 → 0.018730753077981832, 0.
        // Unfinished row 1's score is replaced by −1.
        let out = PPOObjective.shapeRewards(
            logProbs: logProbs, referenceLogProbs: referenceLogProbs, mask: mask, batchSize: 2, length: 3,
            scores: [1, 2], finished: [true, false], klCoefficient: 0.1, estimator: .k3,
            unfinished: .replaceScore(-1))
        ObjectiveCheck.expectClose(
            out.kl, [0, 0.10653065971263342, 0.1487212707001282, 0.018730753077981832, 0, 0], "k3")
        ObjectiveCheck.expectClose(
            out.rewards,
            [
                0, -0.010653065971263342, 1 - 0.01487212707001282,
                -0.0018730753077981832, -1, 0,
            ], "rewards")
        for k in out.kl { #expect(k >= 0) }
    }

    @Test func scoreWhitening() {
        // Scores 1 and 2 whitened across the batch (mean 1.5, unbiased std √0.5) → ∓1/√2;
        // β = 0 leaves only the scores on the last tokens.
        let out = PPOObjective.shapeRewards(
            logProbs: logProbs, referenceLogProbs: referenceLogProbs, mask: mask, batchSize: 2, length: 3,
            scores: [1, 2], finished: [true, true], klCoefficient: 0, whitening: .scores)
        ObjectiveCheck.expectClose(
            out.rewards, [0, 0, -0.7071067811865476, 0, 0.7071067811865476, 0], "rewards")
        // Token-reward whitening keeps the mean and rescales by the masked std.
        let tokens = PPOObjective.shapeRewards(
            logProbs: logProbs, referenceLogProbs: referenceLogProbs, mask: mask, batchSize: 2, length: 3,
            scores: [1, 2], finished: [true, true], klCoefficient: 0, whitening: .tokenRewards)
        // Masked rewards [0, 1, 0, 2]: mean 0.75, unbiased var (0.5625+0.0625+0.5625+1.5625)/3 = 11/12.
        let s = (11.0 / 12).squareRoot()
        let expected = [0.0, 1, 0, 2].map { ($0 - 0.75) / s + 0.75 }
        ObjectiveCheck.expectClose(
            tokens.rewards, [0, expected[0], expected[1], expected[2], expected[3], 0], "token whitening")
    }

    @Test func gaeMatchesHandUnrolledRecursion() {
        // One row, position 0 is prompt. γ = 0.9, λ = 0.8 (γλ = 0.72):
        //   t3: δ = 1.0 + 0 − 0.3 = 0.7;                 A3 = 0.7
        //   t2: δ = −0.2 + 0.9·0.3 − 0.4 = −0.33;         A2 = −0.33 + 0.72·0.7 = 0.174
        //   t1: δ = 0.1 + 0.9·0.4 − 0.5 = −0.04;          A1 = −0.04 + 0.72·0.174 = 0.08528
        // returns = A + V = 0.58528, 0.574, 1.0; the prompt position stays 0.
        let (advantages, returns) = PPOObjective.generalizedAdvantages(
            rewards: [0, 0.1, -0.2, 1.0], values: [9, 0.5, 0.4, 0.3], mask: [0, 1, 1, 1],
            batchSize: 1, length: 4, gamma: 0.9, lambda: 0.8)
        ObjectiveCheck.expectClose(advantages, [0, 0.08528, 0.174, 0.7], tolerance: 1e-12, "advantages")
        ObjectiveCheck.expectClose(returns, [0, 0.58528, 0.574, 1.0], tolerance: 1e-12, "returns")
    }

    @Test func gaeLimits() {
        // Row 1 is padded at the end (garbage values there must not leak in).
        let rewards: [Double] = [0.5, -1, 2, 0.25, 1, 7], values: [Double] = [1, 2, 3, 0.5, -0.5, 99]
        let mask: [Double] = [1, 1, 1, 1, 1, 0]
        // λ = 1, γ = 1: A_t = Σ_{s≥t} r_s − V_t (Monte Carlo): row 0 returns 1.5, 1, 2; row 1 1.25, 1.
        let (mc, mcReturns) = PPOObjective.generalizedAdvantages(
            rewards: rewards, values: values, mask: mask, batchSize: 2, length: 3, gamma: 1, lambda: 1)
        ObjectiveCheck.expectClose(
            mcReturns, [1.5, 1, 2, 1.25, 1, 0], tolerance: 1e-12, "Monte Carlo returns")
        ObjectiveCheck.expectClose(
            mc, [0.5, -1, -1, 0.75, 1.5, 0], tolerance: 1e-12, "Monte Carlo advantages")
        // λ = 0: A_t = δ_t = r_t + γV_{t+1} − V_t (one-step TD), γ = 0.5:
        // row 0: 0.5 + 1 − 1 = 0.5, −1 + 1.5 − 2 = −1.5, 2 − 3 = −1; row 1: 0.25 − 0.25 − 0.5 = −0.5, 1 + 0.5 = 1.5.
        let (td, _) = PPOObjective.generalizedAdvantages(
            rewards: rewards, values: values, mask: mask, batchSize: 2, length: 3, gamma: 0.5, lambda: 0)
        ObjectiveCheck.expectClose(td, [0.5, -1.5, -1, -0.5, 1.5, 0], tolerance: 1e-12, "TD advantages")
    }

    @Test func clippedPolicyLossByHand() {
        // ε = 0.2, ratios set through logp = old + log ρ:
        //   token 0: ρ = 1.5, A = 1:  max(−1.5, −1.2) = −1.2 (clipped branch, gradient 0)
        //   token 1: ρ = 0.5, A = 1:  max(−0.5, −0.8) = −0.5 (unclipped, dℓ/dlogp = −Aρ = −0.5)
        //   token 2: ρ = 1.1, A = −2: max(2.2, 2.2)   = 2.2  (inside the range, dℓ/dlogp = 2.2)
        //   token 3: ρ = 1.5, A = −1: max(1.5, 1.2)   = 1.5  (pessimistic: unclipped, dℓ/dlogp = 1.5)
        //   token 4: masked out.
        // loss = (−1.2 − 0.5 + 2.2 + 1.5)/4 = 0.5; dlogp = [0, −0.5, 2.2, 1.5, 0]/4; clip fraction 1/4.
        let old: [Double] = [-1, -2, -0.5, -1.2, -3]
        let logProbs = zip(old, [1.5, 0.5, 1.1, 1.5, 4]).map { $0 + log($1) }
        let advantages: [Double] = [1, 1, -2, -1, 5]
        let mask: [Double] = [1, 1, 1, 1, 0]
        let out = PPOObjective.policyLoss(
            logProbs: logProbs, oldLogProbs: old, advantages: advantages,
            mask: mask, clipRange: 0.2)
        ObjectiveCheck.expectClose(out.loss, 0.5, "loss")
        ObjectiveCheck.expectClose(out.logProbGrad, [0, -0.125, 0.55, 0.375, 0], "dlogp")
        ObjectiveCheck.expectClose(out.clipFraction, 0.25, "clip fraction")
        ObjectiveCheck.expectClose(out.meanRatio, (1.5 + 0.5 + 1.1 + 1.5) / 4, "ratio")
        // approx KL = mean of ρ − 1 − log ρ (k3 of KL(old‖new)).
        let k3 = [1.5, 0.5, 1.1, 1.5].reduce(0) { $0 + $1 - 1 - log($1) } / 4
        ObjectiveCheck.expectClose(out.approxKL, k3, "approx KL")
        let numeric = ObjectiveCheck.numericalGradient(logProbs) {
            PPOObjective.policyLoss(logProbs: $0, oldLogProbs: old, advantages: advantages, mask: mask).loss
        }
        ObjectiveCheck.expectClose(out.logProbGrad, numeric, "finite differences")
    }

    @Test func policyLossNormaliserAndEntropyMetric() {
        // Two micro-batches with the minibatch token count as normaliser sum to the whole minibatch.
        let old: [Double] = [-1, -2, -0.7], new: [Double] = [-0.9, -2.3, -0.6],
            adv: [Double] = [0.4, -1.3, 2]
        let whole = PPOObjective.policyLoss(
            logProbs: new, oldLogProbs: old, advantages: adv, mask: [1, 1, 1])
        let a = PPOObjective.policyLoss(
            logProbs: Array(new[0..<2]), oldLogProbs: Array(old[0..<2]),
            advantages: Array(adv[0..<2]), mask: [1, 1], normalizer: 3)
        let b = PPOObjective.policyLoss(
            logProbs: [new[2]], oldLogProbs: [old[2]], advantages: [adv[2]],
            mask: [1], normalizer: 3, entropy: [1.5])
        ObjectiveCheck.expectClose(a.loss + b.loss, whole.loss, "accumulated loss")
        ObjectiveCheck.expectClose(a.logProbGrad + b.logProbGrad, whole.logProbGrad, "accumulated gradient")
        #expect(b.meanEntropy == 1.5 && a.meanEntropy == nil)
        // On-policy (first epoch): ρ = 1, nothing clipped, dlogp = −A/N.
        let first = PPOObjective.policyLoss(
            logProbs: old, oldLogProbs: old, advantages: adv, mask: [1, 1, 1])
        ObjectiveCheck.expectClose(first.logProbGrad, adv.map { -$0 / 3 }, "on-policy gradient")
        #expect(first.clipFraction == 0 && first.approxKL == 0)
    }

    @Test func clippedValueLossByHand() {
        // c = 0.2:
        //   0: V = 1, V_old = 0.5, R = 0: V_clip = 0.7; ½·1 = 0.5 vs ½·0.49 → unclipped, dV = 1
        //   1: V = 0, V_old = 0.5, R = 1: V_clip = 0.3; 0.5 vs 0.245 → unclipped, dV = −1
        //   2: V = 2, V_old = 1, R = 2:   V_clip = 1.2; 0 vs ½·0.64 = 0.32 → clipped, dV = 0
        // loss = (0.5 + 0.5 + 0.32)/3 = 0.44; dV = [1, −1, 0]/3; clip fraction 1/3.
        let values: [Double] = [1, 0, 2], old: [Double] = [0.5, 0.5, 1], returns: [Double] = [0, 1, 2]
        let mask: [Double] = [1, 1, 1]
        let out = PPOObjective.valueLoss(
            values: values, oldValues: old, returns: returns, mask: mask, clipRange: 0.2)
        ObjectiveCheck.expectClose(out.loss, 0.44, "loss")
        ObjectiveCheck.expectClose(out.valueGrad, [1.0 / 3, -1.0 / 3, 0], "dV")
        ObjectiveCheck.expectClose(out.clipFraction, 1.0 / 3, "clip fraction")
        ObjectiveCheck.expectClose(out.meanValue, 1, "mean value")
        let numeric = ObjectiveCheck.numericalGradient(values) {
            PPOObjective.valueLoss(values: $0, oldValues: old, returns: returns, mask: mask, clipRange: 0.2)
                .loss
        }
        ObjectiveCheck.expectClose(out.valueGrad, numeric, "finite differences")
    }

    @Test func valueLossFiniteDifferencesWithMask() {
        let values: [Double] = [0.3, -0.4, 1.7, 0.05, 9], old: [Double] = [0.2, 0.1, 1.0, 0.0, 0]
        let returns: [Double] = [1.0, -0.6, 0.2, 0.1, 0], mask: [Double] = [1, 1, 1, 1, 0]
        let out = PPOObjective.valueLoss(
            values: values, oldValues: old, returns: returns, mask: mask, clipRange: 0.3)
        let numeric = ObjectiveCheck.numericalGradient(values) {
            PPOObjective.valueLoss(values: $0, oldValues: old, returns: returns, mask: mask, clipRange: 0.3)
                .loss
        }
        ObjectiveCheck.expectClose(out.valueGrad, numeric, "finite differences")
        #expect(out.valueGrad[4] == 0)
        // A perfect value function explains all the variance.
        let perfect = PPOObjective.valueLoss(
            values: returns, oldValues: returns, returns: returns, mask: mask)
        ObjectiveCheck.expectClose(perfect.explainedVariance, 1, "explained variance")
        #expect(perfect.loss == 0)
    }
}
