// DPO, IPO, ORPO, SimPO on hand-computed pairs, with finite-difference checks per token.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectivePreferenceTests {
    // One pair. Chosen: tokens −1, −2 (+ padding): Σ = −3, |c| = 2, ā = −1.5.
    // Rejected: −1, −1, −2: Σ = −4, |r| = 3, ā = −4/3. Reference sums: −3.5 and −3.5.
    let chosenLogProbs: [Double] = [-1, -2, 0]
    let chosenMask: [Double] = [1, 1, 0]
    let rejectedLogProbs: [Double] = [-1, -1, -2]
    let rejectedMask: [Double] = [1, 1, 1]
    let referenceChosen = [-3.5], referenceRejected = [-3.5]

    func run(_ kind: PreferenceObjective.Loss, chosen: [Double]? = nil, rejected: [Double]? = nil)
        -> PreferenceObjective.Output<Double>
    {
        PreferenceObjective.loss(
            kind,
            chosen: SequenceLogProbs(
                logProbs: chosen ?? chosenLogProbs, mask: chosenMask, batchSize: 1, length: 3),
            rejected: SequenceLogProbs(
                logProbs: rejected ?? rejectedLogProbs, mask: rejectedMask, batchSize: 1, length: 3),
            referenceChosen: referenceChosen, referenceRejected: referenceRejected)
    }

    /// Finite differences of the loss w.r.t. every chosen and rejected token log-prob.
    func expectGradientsMatch(
        _ kind: PreferenceObjective.Loss, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let out = run(kind)
        let numericChosen = ObjectiveCheck.numericalGradient(chosenLogProbs) { run(kind, chosen: $0).loss }
        let numericRejected = ObjectiveCheck.numericalGradient(rejectedLogProbs) {
            run(kind, rejected: $0).loss
        }
        ObjectiveCheck.expectClose(
            out.chosenLogProbGrad, numericChosen, "\(kind) chosen", sourceLocation: sourceLocation)
        ObjectiveCheck.expectClose(
            out.rejectedLogProbGrad, numericRejected, "\(kind) rejected", sourceLocation: sourceLocation)
    }

    @Test func dpoByHand() {
        // h = 0.1·((−3 + 3.5) − (−4 + 3.5)) = 0.1·(0.5 + 0.5) = 0.1.
        // loss = −log σ(0.1) = 0.6443966600735709; dℓ/dh = −σ(−0.1) = −0.47502081252106;
        // every chosen token: β·dℓ/dh = −0.047502081252106, every rejected token: +0.047502081252106.
        let out = run(.dpo(beta: 0.1))
        ObjectiveCheck.expectClose(out.loss, 0.6443966600735709, "loss")
        ObjectiveCheck.expectClose(
            out.chosenLogProbGrad, [-0.047502081252106, -0.047502081252106, 0], "chosen")
        ObjectiveCheck.expectClose(
            out.rejectedLogProbGrad, [0.047502081252106, 0.047502081252106, 0.047502081252106], "rejected")
        // Implicit rewards β·log-ratio: 0.05 and −0.05; margin 0.1; the pair is ranked right.
        ObjectiveCheck.expectClose(out.chosenRewards, [0.05], "chosen reward")
        ObjectiveCheck.expectClose(out.rejectedRewards, [-0.05], "rejected reward")
        ObjectiveCheck.expectClose(out.meanMargin, 0.1, "margin")
        #expect(out.accuracy == 1)
        expectGradientsMatch(.dpo(beta: 0.1))
    }

    @Test func dpoLabelSmoothing() {
        // ε = 0.1: 0.9·softplus(−0.1) + 0.1·softplus(0.1) = 0.6543966600735709;
        // dℓ/dh = −0.9·σ(−0.1) + 0.1·σ(0.1), times β = 0.1: −0.037502081252106 per chosen token.
        let out = run(.dpo(beta: 0.1, labelSmoothing: 0.1))
        ObjectiveCheck.expectClose(out.loss, 0.6543966600735709, "loss")
        ObjectiveCheck.expectClose(out.chosenLogProbGrad[0], -0.037502081252106, "chosen token")
        expectGradientsMatch(.dpo(beta: 0.1, labelSmoothing: 0.1))
    }

    @Test func ipoUsesAveragedLogRatios() {
        // h = 0.5/2 − (−0.5)/3 = 0.41666…; 1/(2β) = 5; loss = (0.41666… − 5)² = 21.006944444444443.
        // dℓ/dh = 2·(h − 5) = −9.1666…; chosen tokens: dℓ/dh / 2 = −4.583333333333333,
        // rejected tokens: −dℓ/dh / 3 = 3.0555555555555554.
        let out = run(.ipo(beta: 0.1))
        ObjectiveCheck.expectClose(out.loss, 21.006944444444443, "loss")
        ObjectiveCheck.expectClose(
            out.chosenLogProbGrad, [-4.583333333333333, -4.583333333333333, 0], "chosen")
        ObjectiveCheck.expectClose(
            out.rejectedLogProbGrad, [3.0555555555555554, 3.0555555555555554, 3.0555555555555554], "rejected")
        // Rewards are β·(averaged log-ratio): 0.1·0.25 = 0.025 and 0.1·(−0.5/3).
        ObjectiveCheck.expectClose(out.chosenRewards, [0.025], "chosen reward")
        ObjectiveCheck.expectClose(out.rejectedRewards, [-0.016666666666666666], "rejected reward")
        expectGradientsMatch(.ipo(beta: 0.1))
        // Padding the chosen completion with more masked positions changes nothing (length is |y|).
        let padded = PreferenceObjective.loss(
            .ipo(beta: 0.1),
            chosen: SequenceLogProbs(
                logProbs: [-1, -2, 0, 0, 0], mask: [1, 1, 0, 0, 0], batchSize: 1, length: 5),
            rejected: SequenceLogProbs(
                logProbs: rejectedLogProbs + [0, 0], mask: rejectedMask + [0, 0], batchSize: 1, length: 5),
            referenceChosen: referenceChosen, referenceRejected: referenceRejected)
        ObjectiveCheck.expectClose(padded.loss, out.loss, "padding-invariant")
    }

    @Test func simpoByHand() {
        // β = 2, γ = 0.5: h = 2·(−1.5) − 2·(−4/3) − 0.5 = −0.8333…; loss = softplus(0.8333…) =
        // 1.1942181492675368; dℓ/dh = −σ(0.8333…); chosen tokens β·dℓ/dh/2 = −0.6970592839654074,
        // rejected tokens −β·dℓ/dh/3 = 0.4647061893102716. No reference involved.
        let out = run(.simpo(beta: 2, gamma: 0.5))
        ObjectiveCheck.expectClose(out.loss, 1.1942181492675368, "loss")
        ObjectiveCheck.expectClose(
            out.chosenLogProbGrad, [-0.6970592839654074, -0.6970592839654074, 0], "chosen")
        ObjectiveCheck.expectClose(
            out.rejectedLogProbGrad, [0.4647061893102716, 0.4647061893102716, 0.4647061893102716], "rejected")
        ObjectiveCheck.expectClose(out.chosenRewards, [-3], "β·ā chosen")
        #expect(out.accuracy == 0)  // ā(c) = −1.5 < ā(r) = −1.333: this pair is ranked wrong
        expectGradientsMatch(.simpo(beta: 2, gamma: 0.5))
        expectGradientsMatch(.simpo(beta: 2, gamma: 0.5, labelSmoothing: 0.2))
    }

    @Test func orpoByHand() {
        // ā_c = −1.5: log odds = −1.5 − log(1 − e^−1.5) = −1.247517541074546;
        // ā_r = −4/3: log odds = −1.0273553900201573; z = −0.22016215105438874.
        // loss = 1.5 + 0.1·softplus(0.22016…) = 1.580927498023567.
        // dℓ/dā_c = −1 − 0.1·σ(−z)/(1 − e^ā_c), per chosen token /2 = −0.5357086385309947;
        // dℓ/dā_r = +0.1·σ(−z)/(1 − e^ā_r), per rejected token /3 = 0.025113938518117784.
        let out = run(.orpo(lambda: 0.1))
        ObjectiveCheck.expectClose(out.loss, 1.580927498023567, "loss")
        ObjectiveCheck.expectClose(
            out.chosenLogProbGrad, [-0.5357086385309947, -0.5357086385309947, 0], "chosen")
        ObjectiveCheck.expectClose(
            out.rejectedLogProbGrad, [0.025113938518117784, 0.025113938518117784, 0.025113938518117784],
            "rejected")
        ObjectiveCheck.expectClose(out.chosenRewards, [-0.15], "λ·ā chosen")
        expectGradientsMatch(.orpo(lambda: 0.1))
    }

    @Test func orpoLogOddsStableNearCertainty() {
        // ā = −ε, ε = 1e−10 (p ≈ 1): 1 − e^−ε = ε(1 − ε/2 + …), so log(1 − e^ā) = log ε − ε/2 and
        // log odds = −ε − log ε + ε/2 = 23.025850929940457 − 5e−11 = 23.025850929890457, which
        // expm1 delivers to full precision (the naive log(1 − exp(ā)) loses ~7 digits).
        let (odds, derivative) = PreferenceObjective.logOdds(averageLogProb: -1e-10)
        ObjectiveCheck.expectClose(odds, 23.025850929890457, tolerance: 1e-14, "log odds")
        ObjectiveCheck.expectClose(derivative, 1e10, tolerance: 1e-6, "derivative 1/(1 − p)")
        // p = 1 exactly (saturated Float log-probs): finite, no gradient, no NaN.
        let (capped, cappedDerivative) = PreferenceObjective.logOdds(averageLogProb: 0)
        #expect(capped.isFinite && cappedDerivative == 0)
        // Far from certainty it is the log1p branch: ā = −5 → −5 − log(1 − e^−5).
        ObjectiveCheck.expectClose(
            PreferenceObjective.logOdds(averageLogProb: -5).0, -5 - log(1 - exp(-5.0)), "log1p branch")
        let out = PreferenceObjective.loss(
            .orpo(lambda: 0.5),
            chosen: SequenceLogProbs(logProbs: [Float(0), 0], mask: [1, 1], batchSize: 1, length: 2),
            rejected: SequenceLogProbs(logProbs: [Float(-1), -3], mask: [1, 1], batchSize: 1, length: 2))
        #expect(out.loss.isFinite && out.chosenLogProbGrad.allSatisfy { $0.isFinite })
    }

    @Test func batchOfPairsAveragesAndDPOMovesTheRightWay() {
        // Two pairs on a (2,2) grid: loss is the mean of the per-pair losses; the gradient raises the
        // chosen log-probs (dℓ/dlogp < 0) and lowers the rejected ones.
        let chosen = SequenceLogProbs(
            logProbs: [-1.0, -0.5, -2, 0], mask: [1, 1, 1, 0], batchSize: 2, length: 2)
        let rejected = SequenceLogProbs(
            logProbs: [-0.7, -0.7, -1.5, -0.2], mask: [1, 1, 1, 1], batchSize: 2, length: 2)
        let refC = [-1.6, -2.2], refR = [-1.2, -1.9]
        let out = PreferenceObjective.loss(
            .dpo(beta: 0.5), chosen: chosen, rejected: rejected,
            referenceChosen: refC, referenceRejected: refR)
        func single(_ i: Int) -> Double {
            let h = 0.5 * ((chosen.sums[i] - refC[i]) - (rejected.sums[i] - refR[i]))
            return log1p(exp(-h))
        }
        ObjectiveCheck.expectClose(out.loss, (single(0) + single(1)) / 2, "mean of pairs")
        for (g, m) in zip(out.chosenLogProbGrad, chosen.mask) where m != 0 { #expect(g < 0) }
        for g in out.rejectedLogProbGrad { #expect(g > 0) }
        // One gradient step on the token log-probs lowers the loss.
        let step = 0.5
        let stepped = PreferenceObjective.loss(
            .dpo(beta: 0.5),
            chosen: SequenceLogProbs(
                logProbs: zip(chosen.logProbs, out.chosenLogProbGrad).map { $0 - step * $1 },
                mask: chosen.mask, batchSize: 2, length: 2),
            rejected: SequenceLogProbs(
                logProbs: zip(rejected.logProbs, out.rejectedLogProbGrad).map { $0 - step * $1 },
                mask: rejected.mask, batchSize: 2, length: 2),
            referenceChosen: refC, referenceRejected: refR)
        #expect(stepped.loss < out.loss)
        #expect(stepped.meanMargin > out.meanMargin)
    }

    @Test func sequenceSumsAndTokenGradient() {
        let s = SequenceLogProbs(
            logProbs: [-1.0, -2, -3, -4, -5, -6], mask: [0, 1, 1, 1, 1, 0], batchSize: 2, length: 3)
        #expect(s.sums == [-5, -9])
        #expect(s.counts == [2, 2])
        #expect(s.tokenGradient(sequenceGradient: [2, -1]) == [0, 2, 2, -1, -1, 0])
    }
}

@Suite struct ObjectivePreferenceFloatTests {
    @Test func floatPathAgreesWithDouble() {
        // The training loop passes Float log-probs; the result must match the Double computation
        // to Float precision, for every loss.
        let c: [Double] = [-1.25, -0.5, -2], r: [Double] = [-0.75, -1.5, -1]
        let cm: [Double] = [1, 1, 0], rm: [Double] = [1, 1, 1]
        for kind in [
            PreferenceObjective.Loss.dpo(beta: 0.2), .ipo(beta: 0.3), .orpo(lambda: 0.2),
            .simpo(beta: 2, gamma: 0.3),
        ] {
            let d = PreferenceObjective.loss(
                kind, chosen: SequenceLogProbs(logProbs: c, mask: cm, batchSize: 1, length: 3),
                rejected: SequenceLogProbs(logProbs: r, mask: rm, batchSize: 1, length: 3),
                referenceChosen: [-2], referenceRejected: [-3])
            let f = PreferenceObjective.loss(
                kind,
                chosen: SequenceLogProbs(
                    logProbs: c.map(Float.init), mask: cm.map(Float.init), batchSize: 1, length: 3),
                rejected: SequenceLogProbs(
                    logProbs: r.map(Float.init), mask: rm.map(Float.init), batchSize: 1, length: 3),
                referenceChosen: [-2], referenceRejected: [-3])
            ObjectiveCheck.expectClose(f.loss, d.loss, tolerance: 1e-6, "\(kind) loss")
            ObjectiveCheck.expectClose(
                f.chosenLogProbGrad.map(Double.init), d.chosenLogProbGrad, tolerance: 1e-6, "\(kind) chosen")
            ObjectiveCheck.expectClose(
                f.rejectedLogProbGrad.map(Double.init), d.rejectedLogProbGrad, tolerance: 1e-6,
                "\(kind) rejected")
            #expect(
                Set(f.metrics.keys) == [
                    "loss", "reward_margin", "reward_chosen", "reward_rejected", "reward_accuracy",
                ])
        }
    }
}
