// KTO (Ethayarajh et al. 2024): unpaired desirable/undesirable completions, a prospect-theoretic
// value relative to a reference point z0 that estimates KL(π‖π_ref) from mismatched
// prompt/completion pairs of the same batch.

import Foundation

/// Kahneman–Tversky optimisation on `{"prompt","completion","label"}` examples.
public enum KTOObjective {
    public struct Output<Scalar: BinaryFloatingPoint> {
        /// Mean over examples (or Σ / normalizer) of the weighted per-example loss.
        public var loss: Double
        /// (B,T) dLoss/dlogp per completion token.
        public var logProbGrad: [Scalar]
        /// (B) implicit rewards β·(log π(y|x) − log π_ref(y|x)).
        public var rewards: [Double]
        /// The reference point z0 that was used (no gradient flows through it).
        public var referencePoint: Double
        /// Mean implicit reward of the desirable / undesirable examples (0 if there are none).
        public var meanDesirableReward: Double
        public var meanUndesirableReward: Double
        /// meanDesirableReward − meanUndesirableReward.
        public var margin: Double
        /// Fraction of examples on the right side of the reference point: log-ratio > z0 for
        /// desirable, < z0 for undesirable (the decision boundary of the loss); a tie counts one half.
        public var accuracy: Double

        public var metrics: [String: Double] {
            [
                "loss": loss, "kl": referencePoint, "reward_desirable": meanDesirableReward,
                "reward_undesirable": meanUndesirableReward, "reward_margin": margin,
                "reward_accuracy": accuracy,
            ]
        }
    }

    /// For each example i, the index of the completion to pair with its prompt in the mismatched
    /// KL batch: the next example's completion, (i + 1) mod B (as TRL does), so no example is paired
    /// with its own completion when B ≥ 2.
    public static func mismatchedCompletionIndices(count: Int) -> [Int] {
        precondition(count >= 2, "KTOObjective.mismatchedCompletionIndices: need ≥ 2 examples, got \(count)")
        return (0..<count).map { ($0 + 1) % count }
    }

    /// z0 = max(0, mean_j (log π(y_j'|x_j) − log π_ref(y_j'|x_j))) over the mismatched pairs, both
    /// log-probs summed over the completion. Treated as a constant by the loss (the paper stops
    /// its gradient).
    /// `reducing` combines the partial sums of several holders of the pairs (data parallelism: a
    /// sum over the ranks); the default, the identity, uses these pairs alone.
    public static func referencePoint(
        policyLogProbs: [Double], referenceLogProbs: [Double],
        reducing: ([Double]) -> [Double] = { $0 }
    ) -> Double {
        ObjectiveShape.count(
            referenceLogProbs, policyLogProbs.count, "referenceLogProbs",
            in: "KTOObjective.referencePoint")
        let sum = zip(policyLogProbs, referenceLogProbs).reduce(0.0) { $0 + $1.0 - $1.1 }
        let totals = reducing([sum, Double(policyLogProbs.count)])
        guard totals[1] > 0 else { return 0 }
        return max(0, totals[0] / totals[1])
    }

    /// The KTO loss. With ρ = log π(y|x) − log π_ref(y|x) (summed over the completion):
    ///   desirable:   ℓ = λ_D·(1 − σ(β·(ρ − z0))),   dℓ/dρ = −λ_D·β·σ(u)·σ(−u),  u = β(ρ − z0)
    ///   undesirable: ℓ = λ_U·(1 − σ(β·(z0 − ρ))),   dℓ/dρ = +λ_U·β·σ(v)·σ(−v),  v = β(z0 − ρ)
    ///
    /// - Parameters:
    ///   - policy: (B,T) policy log-probs of the completions with their mask.
    ///   - referenceLogProbs: (B) summed reference log-probs of the same completions.
    ///   - desirable: (B) the labels.
    ///   - referencePoint: z0 from `referencePoint(policyLogProbs:referenceLogProbs:)`.
    ///   - desirableWeight: λ_D; undesirableWeight: λ_U (the paper suggests
    ///     λ_D·n_D / (λ_U·n_U) ∈ [1, 4/3] when the classes are imbalanced).
    ///   - normalizer: divisor of Σ losses; `nil` uses B.
    public static func loss<Scalar: BinaryFloatingPoint>(
        policy: SequenceLogProbs<Scalar>, referenceLogProbs: [Double], desirable: [Bool],
        referencePoint z0: Double, beta: Double,
        desirableWeight: Double = 1, undesirableWeight: Double = 1, normalizer: Double? = nil
    ) -> Output<Scalar> {
        let fn = "KTOObjective.loss"
        let count = policy.batchSize
        precondition(count > 0, "\(fn): no examples")
        ObjectiveShape.count(referenceLogProbs, count, "referenceLogProbs", in: fn)
        ObjectiveShape.count(desirable, count, "desirable", in: fn)
        let total = normalizer ?? Double(count)
        precondition(total > 0, "\(fn): normalizer must be > 0, got \(total)")

        let sums = policy.sums
        var loss = 0.0, correct = 0.0
        var grad = [Double](repeating: 0, count: count)
        var rewards = [Double](repeating: 0, count: count)
        var desirableSum = 0.0, desirableCount = 0.0, undesirableSum = 0.0, undesirableCount = 0.0
        for i in 0..<count {
            let rho = sums[i] - referenceLogProbs[i]
            rewards[i] = beta * rho
            if desirable[i] {
                let u = beta * (rho - z0)
                let s = ObjectiveMath.sigmoid(u)
                loss += desirableWeight * ObjectiveMath.sigmoid(-u)  // 1 − σ(u) = σ(−u), exact for large u
                grad[i] = -desirableWeight * beta * s * ObjectiveMath.sigmoid(-u) / total
                desirableSum += rewards[i]
                desirableCount += 1
                correct += rho > z0 ? 1 : (rho == z0 ? 0.5 : 0)
            } else {
                let v = beta * (z0 - rho)
                let s = ObjectiveMath.sigmoid(v)
                loss += undesirableWeight * ObjectiveMath.sigmoid(-v)
                grad[i] = undesirableWeight * beta * s * ObjectiveMath.sigmoid(-v) / total
                undesirableSum += rewards[i]
                undesirableCount += 1
                correct += rho < z0 ? 1 : (rho == z0 ? 0.5 : 0)
            }
        }
        let meanD = desirableCount > 0 ? desirableSum / desirableCount : 0
        let meanU = undesirableCount > 0 ? undesirableSum / undesirableCount : 0
        return Output(
            loss: loss / total, logProbGrad: policy.tokenGradient(sequenceGradient: grad),
            rewards: rewards, referencePoint: z0, meanDesirableReward: meanD,
            meanUndesirableReward: meanU, margin: meanD - meanU, accuracy: correct / Double(count))
    }
}
