// KTO with its mismatched-pair reference point.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectiveKTOTests {
    @Test func referencePointFromMismatchedPairs() {
        // Prompt i paired with completion i+1 mod B.
        #expect(KTOObjective.mismatchedCompletionIndices(count: 3) == [1, 2, 0])
        // Log-ratios 0.5, 0.2, 0.3 → mean 1/3.
        ObjectiveCheck.expectClose(
            KTOObjective.referencePoint(
                policyLogProbs: [-3, -4, -5], referenceLogProbs: [-3.5, -4.2, -5.3]),
            1.0 / 3, "z0")
        // A negative mean estimate is clamped to 0 (KL ≥ 0).
        #expect(KTOObjective.referencePoint(policyLogProbs: [-4, -5], referenceLogProbs: [-3, -4.5]) == 0)
    }

    // Three examples on a (3,2) grid: two desirable, one undesirable.
    //   0 (desirable):   Σ logπ = −2, ref −2.5 → ρ = 0.5
    //   1 (desirable):   Σ logπ = −2 (one token + padding), ref −1.8 → ρ = −0.2
    //   2 (undesirable): Σ logπ = −3, ref −3.2 → ρ = 0.2
    let logProbs: [Double] = [-1, -1, -2, 0, -1.5, -1.5]
    let mask: [Double] = [1, 1, 1, 0, 1, 1]
    let reference = [-2.5, -1.8, -3.2]
    let labels = [true, true, false]

    func run(_ lp: [Double]) -> KTOObjective.Output<Double> {
        KTOObjective.loss(
            policy: SequenceLogProbs(logProbs: lp, mask: mask, batchSize: 3, length: 2),
            referenceLogProbs: reference, desirable: labels, referencePoint: 1.0 / 3,
            beta: 0.5, desirableWeight: 1, undesirableWeight: 1.5)
    }

    @Test func ktoByHand() {
        // β = 0.5, z0 = 1/3, λ_D = 1, λ_U = 1.5:
        //   0: u = 0.5·(0.5 − 1/3) = 0.08333: ℓ = σ(−u) = 0.47917871462725703
        //   1: u = 0.5·(−0.2 − 1/3) = −0.26667: ℓ = σ(−u) = 0.5662743941954392
        //   2: v = 0.5·(1/3 − 0.2) = 0.06667: ℓ = 1.5·σ(−v) = 0.7250092551458829
        // loss = mean = 0.5901541213228597.
        // dℓ/dρ / 3: −βσ(u)σ(−u)/3 = −0.04159441234590446, −0.040934617445671256;
        //            +1.5βσ(v)σ(−v)/3 = 0.062430606963515156; spread to each example's tokens.
        let out = run(logProbs)
        ObjectiveCheck.expectClose(out.loss, 0.5901541213228597, "loss")
        ObjectiveCheck.expectClose(
            out.logProbGrad,
            [
                -0.04159441234590446, -0.04159441234590446, -0.040934617445671256, 0,
                0.062430606963515156, 0.062430606963515156,
            ], "dlogp")
        // Rewards β·ρ: 0.25, −0.1, 0.1; desirable mean 0.075, undesirable 0.1, margin −0.025.
        ObjectiveCheck.expectClose(out.rewards, [0.25, -0.1, 0.1], "rewards")
        ObjectiveCheck.expectClose(out.margin, -0.025, "margin")
        // Right side of z0: example 0 yes, 1 no, 2 yes (0.2 < 1/3).
        ObjectiveCheck.expectClose(out.accuracy, 2.0 / 3, "accuracy")
        #expect(out.referencePoint == 1.0 / 3)
        // z0 is a constant: finite differences with z0 held fixed agree.
        let numeric = ObjectiveCheck.numericalGradient(logProbs) { run($0).loss }
        ObjectiveCheck.expectClose(out.logProbGrad, numeric, "finite differences")
    }

    @Test func gradientRaisesDesirableAndLowersUndesirable() {
        let out = run(logProbs)
        #expect(out.logProbGrad[0] < 0 && out.logProbGrad[2] < 0)  // desirable: push log π up
        #expect(out.logProbGrad[4] > 0)  // undesirable: push log π down
        #expect(out.logProbGrad[3] == 0)  // padding
    }
}
