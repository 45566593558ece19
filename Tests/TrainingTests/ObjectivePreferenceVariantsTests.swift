// Hinge (RSO), robust DPO, reference-free DPO and ranking weights, on the pair of
// ObjectivePreferenceTests (policy sums −3 and −4, reference sums −3.5 and −3.5).

import Foundation
import Testing
@testable import Training

@Suite struct ObjectivePreferenceVariantsTests {
    let base = ObjectivePreferenceTests()

    @Test func hingeInsideAndBeyondTheMargin() {
        // β = 0.1: h = 0.1, ℓ = 1 − h = 0.9, dℓ/dh = −1 → −β = −0.1 per chosen token.
        let out = base.run(.hinge(beta: 0.1))
        ObjectiveCheck.expectClose(out.loss, 0.9, "loss")
        ObjectiveCheck.expectClose(out.chosenLogProbGrad, [-0.1, -0.1, 0], "chosen")
        ObjectiveCheck.expectClose(out.rejectedLogProbGrad, [0.1, 0.1, 0.1], "rejected")
        base.expectGradientsMatch(.hinge(beta: 0.1))
        // β = 3: h = 3 ≥ 1, the pair is past the margin: no loss, no gradient.
        let past = base.run(.hinge(beta: 3))
        #expect(past.loss == 0)
        #expect(past.chosenLogProbGrad.allSatisfy { $0 == 0 })
        #expect(past.rejectedLogProbGrad.allSatisfy { $0 == 0 })
    }

    @Test func robustDPOHasTheUnbiasingCorrection() {
        // ε = 0.1, h = 0.1: [0.9·softplus(−0.1) − 0.1·softplus(0.1)] / 0.8 = 0.6318966600735709;
        // β·[−0.9·σ(−0.1) − 0.1·σ(0.1)] / 0.8 = −0.060002081252106 per chosen token.
        let out = base.run(.robust(beta: 0.1, labelSmoothing: 0.1))
        ObjectiveCheck.expectClose(out.loss, 0.6318966600735709, "loss")
        ObjectiveCheck.expectClose(out.chosenLogProbGrad[0], -0.060002081252106, "chosen token")
        base.expectGradientsMatch(.robust(beta: 0.1, labelSmoothing: 0.1))
        // ε = 0 is plain DPO.
        ObjectiveCheck.expectClose(
            base.run(.robust(beta: 0.1, labelSmoothing: 0)).loss, base.run(.dpo(beta: 0.1)).loss, "ε=0")
    }

    @Test func referenceFreeIgnoresTheReference() {
        // References −1 and −9 would make the DPO margin 0.1·((−3+1) − (−4+9)) = −0.7; reference-free
        // uses h = 0.1·(−3 − (−4)) = 0.1: ℓ = softplus(−0.1) = 0.6443966600735709.
        func run(_ kind: PreferenceObjective.Loss) -> PreferenceObjective.Output<Double> {
            PreferenceObjective.loss(
                kind,
                chosen: SequenceLogProbs(
                    logProbs: base.chosenLogProbs, mask: base.chosenMask, batchSize: 1, length: 3),
                rejected: SequenceLogProbs(
                    logProbs: base.rejectedLogProbs, mask: base.rejectedMask, batchSize: 1, length: 3),
                referenceChosen: [-1], referenceRejected: [-9])
        }
        #expect(!PreferenceObjective.Loss.referenceFree(beta: 0.1).needsReference)
        ObjectiveCheck.expectClose(run(.referenceFree(beta: 0.1)).loss, 0.6443966600735709, "reference-free")
        ObjectiveCheck.expectClose(run(.dpo(beta: 0.1)).loss, 1.103186048885458, "dpo, softplus(0.7)")
        base.expectGradientsMatch(.referenceFree(beta: 0.1))
    }

    @Test func pairWeightsMakeEachPromptOneUnit() {
        // Two pairs: the fixture pair (ℓ₁ = 0.6443966600735709) with weight 1 and the same pair
        // swapped (h = −0.1, ℓ₂ = softplus(0.1) = 0.7443966600735709) with weight 1/3:
        // (ℓ₁ + ℓ₂/3) / (4/3).
        let c = SequenceLogProbs(
            logProbs: base.chosenLogProbs + base.rejectedLogProbs,
            mask: base.chosenMask + base.rejectedMask, batchSize: 2, length: 3)
        let r = SequenceLogProbs(
            logProbs: base.rejectedLogProbs + base.chosenLogProbs,
            mask: base.rejectedMask + base.chosenMask, batchSize: 2, length: 3)
        let out = PreferenceObjective.loss(
            .dpo(beta: 0.1), chosen: c, rejected: r, referenceChosen: [-3.5, -3.5],
            referenceRejected: [-3.5, -3.5], weights: [1, 1.0 / 3])
        ObjectiveCheck.expectClose(
            out.loss, (0.6443966600735709 + 0.7443966600735709 / 3) / (4.0 / 3), "loss")
        // The first pair's chosen token gradient: −0.047502081252106 scaled by 1 / (4/3).
        ObjectiveCheck.expectClose(out.chosenLogProbGrad[0], -0.047502081252106 * 0.75, "weighted grad")

        // A ranking of 3 responses gives 3 pairs of weight 1/3 (one unit); a pair keeps weight 1.
        let ranking = RewardModelTraining.Comparison(
            prompt: [1], responses: [[2], [3], [4]], ranking: [2, 0, 1])
        let third: Double = 1.0 / 3
        let weights: [Double] = ranking.pairs.map(\.weight)
        #expect(weights == [third, third, third])
        let chosen: [[Int32]] = ranking.pairs.map(\.chosen)
        #expect(chosen == [[4], [4], [2]])
        let pair = RewardModelTraining.Comparison(prompt: [1], responses: [[2], [3]], ranking: [1, 0])
        let pairWeights: [Double] = pair.pairs.map(\.weight)
        #expect(pairWeights == [1])
    }
}
