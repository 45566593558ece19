// Masked NLL with an explicit (whole-step) normaliser, and the PPO-ptx scaling.

import Testing
@testable import Training

@Suite struct ObjectiveLanguageModelTests {
    @Test func maskedNLLValueAndGradient() {
        // Tokens 1 and 2 are targets; the step has 4 target tokens in total (another micro-batch
        // holds the other 2), so: loss = (2 + 0.5) / 4 = 0.625, dlogp = −mask/4.
        let logProbs: [Double] = [-1, -2, -0.5, -3]
        let mask: [Double] = [0, 1, 1, 0]
        let out = LanguageModelObjective.negativeLogLikelihood(logProbs: logProbs, mask: mask, normalizer: 4)
        ObjectiveCheck.expectClose(out.loss, 0.625, "loss")
        ObjectiveCheck.expectClose(out.logProbGrad, [0, -0.25, -0.25, 0], "dlogp")
        ObjectiveCheck.expectClose(out.negativeLogLikelihoodSum, 2.5, "nll sum")
        ObjectiveCheck.expectClose(out.tokenCount, 2, "tokens")
        let numeric = ObjectiveCheck.numericalGradient(logProbs) {
            LanguageModelObjective.negativeLogLikelihood(logProbs: $0, mask: mask, normalizer: 4).loss
        }
        ObjectiveCheck.expectClose(out.logProbGrad, numeric, "finite differences")
    }

    @Test func accumulationWithStepNormaliserEqualsOneBatch() {
        // Micro-batch A has 2 target tokens, B has 1. Normalising each by its own count would give
        // (mean_A + mean_B)/2 and over-weight B's single token; the step normaliser (3) makes the
        // accumulated loss and gradient those of the whole step.
        let a: [Double] = [-1, -2], maskA: [Double] = [1, 1]
        let b: [Double] = [-4, -9], maskB: [Double] = [1, 0]
        let total =
            LanguageModelObjective.targetCount(mask: maskA) + LanguageModelObjective.targetCount(mask: maskB)
        #expect(total == 3)
        let outA = LanguageModelObjective.negativeLogLikelihood(logProbs: a, mask: maskA, normalizer: total)
        let outB = LanguageModelObjective.negativeLogLikelihood(logProbs: b, mask: maskB, normalizer: total)
        let whole = LanguageModelObjective.negativeLogLikelihood(
            logProbs: a + b, mask: maskA + maskB, normalizer: total)
        ObjectiveCheck.expectClose(outA.loss + outB.loss, 7.0 / 3, "accumulated loss")  // (1+2+4)/3
        ObjectiveCheck.expectClose(whole.loss, 7.0 / 3, "whole-step loss")
        ObjectiveCheck.expectClose(outA.logProbGrad + outB.logProbGrad, whole.logProbGrad, "gradients")
    }

    @Test func maskedMinusInfinityAndEmptyStep() {
        // A padded position may hold −∞ (log 0); it must not turn the loss into NaN.
        let out = LanguageModelObjective.negativeLogLikelihood(
            logProbs: [-Double.infinity, -2], mask: [0, 1], normalizer: 1)
        ObjectiveCheck.expectClose(out.loss, 2, "loss")
        // A step without targets has nothing to learn: loss 0, zero gradient, no NaN.
        let empty = LanguageModelObjective.negativeLogLikelihood(
            logProbs: [-1.0, -2], mask: [0, 0], normalizer: 0)
        #expect(empty.loss == 0 && empty.logProbGrad == [0, 0])
    }

    @Test func pretrainingMixScalesLossAndGradient() {
        // PPO-ptx: γ_ptx = 0.5 halves the LM loss (1.5 → 0.75) and its gradient (−0.5 → −0.25).
        let lm = LanguageModelObjective.negativeLogLikelihood(
            logProbs: [-1.0, -2], mask: [1, 1], normalizer: 2)
        let ptx = LanguageModelObjective.pretrainingMix(lm, coefficient: 0.5)
        ObjectiveCheck.expectClose(ptx.loss, 0.75, "scaled loss")
        ObjectiveCheck.expectClose(ptx.logProbGrad, [-0.25, -0.25], "scaled gradient")
        ObjectiveCheck.expectClose(ptx.tokenCount, 2, "token count unchanged")
    }

    @Test func floatInputsMatchDouble() {
        // The training loop passes Float; the arithmetic is Double inside, so the results agree.
        let outF = LanguageModelObjective.negativeLogLikelihood(
            logProbs: [Float(-1.25), -0.5], mask: [1, 1], normalizer: 2)
        #expect(outF.logProbGrad == [Float(-0.5), -0.5])
        ObjectiveCheck.expectClose(outF.loss, 0.875, "loss")
    }
}
