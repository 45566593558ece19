// Language modelling / SFT objective: masked negative log-likelihood with an explicit normaliser,
// and the PPO-ptx helper that scales it.

import Foundation

/// Next-token prediction loss on per-token log-probabilities.
///
/// Pretraining uses a mask of all ones (except padding); SFT uses the assistant-token mask that the
/// chat renderer returns together with the tokens.
public enum LanguageModelObjective {
    public struct Output<Scalar: BinaryFloatingPoint> {
        /// −Σ mask·logp / normalizer.
        public var loss: Double
        /// dLoss/dlogp per token, same (N) layout as the input: −mask / normalizer.
        public var logProbGrad: [Scalar]
        /// Σ mask·(−logp) of this call (unnormalised, for perplexity / bits-per-byte bookkeeping).
        public var negativeLogLikelihoodSum: Double
        /// Σ mask of this call.
        public var tokenCount: Double

        public var metrics: [String: Double] {
            ["loss": loss, "nll_sum": negativeLogLikelihoodSum, "tokens": tokenCount]
        }
    }

    /// Σ mask: the number of target tokens of one micro-batch. Sum this over every micro-batch of
    /// an optimizer step and pass the total as `normalizer` to each micro-batch, so that the
    /// accumulated gradient is the gradient of the mean over all target tokens of the step (a
    /// per-micro-batch mean would over-weight tokens of short micro-batches).
    public static func targetCount<Scalar: BinaryFloatingPoint>(mask: [Scalar]) -> Double {
        mask.reduce(0.0) { $0 + Double($1) }
    }

    /// Masked negative log-likelihood.
    ///
    /// - Parameters:
    ///   - logProbs: (N) log p(target) per token (any flat layout, e.g. (B,T−1) rows).
    ///   - mask: (N) 1 for target tokens, 0 for prompt/padding; non-binary weights are allowed.
    ///   - normalizer: the total target-token count of the whole optimizer step (see
    ///     `targetCount`). A normalizer of 0 (a step without any target token) yields loss 0 and
    ///     zero gradients, since there is nothing to learn from.
    public static func negativeLogLikelihood<Scalar: BinaryFloatingPoint>(
        logProbs: [Scalar], mask: [Scalar], normalizer: Double
    ) -> Output<Scalar> {
        ObjectiveShape.count(mask, logProbs.count, "mask", in: "LanguageModelObjective.negativeLogLikelihood")
        precondition(
            normalizer >= 0 && normalizer.isFinite,
            "LanguageModelObjective.negativeLogLikelihood: normalizer must be finite and ≥ 0, got \(normalizer)"
        )
        var sum = 0.0
        var count = 0.0
        for i in logProbs.indices {
            let m = Double(mask[i])
            guard m != 0 else { continue }  // skip masked positions even if their logp is −∞
            sum -= m * Double(logProbs[i])
            count += m
        }
        guard normalizer > 0 else {
            return Output(
                loss: 0, logProbGrad: [Scalar](repeating: 0, count: logProbs.count),
                negativeLogLikelihoodSum: sum, tokenCount: count)
        }
        let grad = mask.map { Scalar(-Double($0) / normalizer) }
        return Output(
            loss: sum / normalizer, logProbGrad: grad,
            negativeLogLikelihoodSum: sum, tokenCount: count)
    }

    /// PPO-ptx: the pretraining term of InstructGPT's objective is `coefficient × LM loss` on a
    /// pretraining batch; scaling the loss and its gradient here keeps that one multiplication in
    /// one place. The PPO and ptx gradients are then simply accumulated into the same parameters.
    public static func pretrainingMix<Scalar>(
        _ output: Output<Scalar>, coefficient: Double
    ) -> Output<Scalar> {
        var scaled = output
        scaled.loss *= coefficient
        scaled.logProbGrad = output.logProbGrad.map { Scalar(Double($0) * coefficient) }
        return scaled
    }
}
