// Direct preference objectives on chosen/rejected pairs: DPO, IPO, ORPO, SimPO. Each is a function
// of the completions' summed (or length-averaged) log-probs under the policy and, for DPO and IPO,
// under the frozen reference model; the gradient flows back to every completion token.

import Foundation

/// Pairwise direct preference optimisation losses.
public enum PreferenceObjective {
    /// Which loss, with its hyper-parameters.
    public enum Loss: Sendable, Codable, Equatable {
        /// DPO (Rafailov et al. 2023): −(1−ε)·log σ(h) − ε·log σ(−h) with
        /// h = β·((log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))), log-probs summed over
        /// the completion. ε = labelSmoothing is conservative DPO (assumed label-flip rate); 0 is DPO.
        case dpo(beta: Double, labelSmoothing: Double = 0)
        /// IPO (Azar et al. 2023): (h − 1/(2β))² with h the difference of per-token AVERAGED
        /// log-ratios (with sums, β would have to shrink with the length to mean what the paper means).
        case ipo(beta: Double)
        /// ORPO (Hong et al. 2024): −ā(c) + λ·(−log σ(log odds(c) − log odds(r))), with
        /// ā = length-averaged log-prob, odds = p/(1−p) of p = e^ā, log(1−p) via log1mexp. No reference.
        case orpo(lambda: Double)
        /// SimPO (Meng et al. 2024): −log σ(β·ā(c) − β·ā(r) − γ) (label smoothing as in DPO). No reference.
        case simpo(beta: Double, gamma: Double, labelSmoothing: Double = 0)
        /// Hinge / RSO (Liu et al. 2023, "Statistical Rejection Sampling", eq. 10; TRL `hinge`):
        /// max(0, 1 − h) with h the DPO margin β·(log-ratio(c) − log-ratio(r)).
        case hinge(beta: Double)
        /// Robust DPO (Chowdhury et al. 2024, eq. 8; TRL `robust`): the unbiased loss under label
        /// noise ε, [(1−ε)·(−log σ(h)) − ε·(−log σ(−h))] / (1 − 2ε), h as in DPO; ε < 1/2.
        case robust(beta: Double, labelSmoothing: Double)
        /// Reference-free DPO (TRL `reference_free`): DPO with the reference log-probs taken as 0,
        /// h = β·(log π(c) − log π(r)) on summed log-probs.
        case referenceFree(beta: Double, labelSmoothing: Double = 0)

        /// Default coefficients, defined once here (the CLI reads them): β 0.1 for the DPO family
        /// and IPO (TRL's), SimPO's β 2.0 and γ 0.5 (the paper's, TRL's `simpo_gamma`), ORPO's λ 0.1
        /// (the paper's, TRL's `beta` for ORPO).
        public static let defaultBeta = 0.1
        public static let defaultSimPOBeta = 2.0
        public static let defaultSimPOGamma = 0.5
        public static let defaultORPOLambda = 0.1

        /// Whether the loss needs the reference model's log-probs.
        public var needsReference: Bool {
            switch self {
            case .dpo, .ipo, .hinge, .robust: return true
            case .orpo, .simpo, .referenceFree: return false
            }
        }
    }

    public struct Output<Scalar: BinaryFloatingPoint> {
        /// Mean over pairs (or Σ / normalizer) of the per-pair loss.
        public var loss: Double
        /// (B,T) dLoss/dlogp for the chosen completions' tokens.
        public var chosenLogProbGrad: [Scalar]
        /// (B,T) dLoss/dlogp for the rejected completions' tokens.
        public var rejectedLogProbGrad: [Scalar]
        /// (B) implicit reward of each chosen completion: β·log-ratio for DPO (summed) and IPO
        /// (averaged), β·ā for SimPO, λ·ā for ORPO (as TRL logs them).
        public var chosenRewards: [Double]
        /// (B) the same for the rejected completions.
        public var rejectedRewards: [Double]
        /// Mean over pairs of chosen − rejected reward. (Under DPO both rewards may fall while this
        /// grows; that is expected.)
        public var meanMargin: Double
        public var meanChosenReward: Double
        public var meanRejectedReward: Double
        /// Fraction of pairs with chosen reward > rejected reward (a tie counts one half).
        public var accuracy: Double

        public var metrics: [String: Double] {
            [
                "loss": loss, "reward_margin": meanMargin, "reward_chosen": meanChosenReward,
                "reward_rejected": meanRejectedReward, "reward_accuracy": accuracy,
            ]
        }
    }

    /// The loss of one pair and its derivatives w.r.t. the policy's summed log-probs of the chosen
    /// and rejected completions. `referenceChosen`/`referenceRejected` are summed reference
    /// log-probs (ignored by ORPO and SimPO); `chosenCount`/`rejectedCount` are |y| in tokens.
    public static func pairLoss(
        _ kind: Loss, policyChosen pc: Double, policyRejected pr: Double,
        referenceChosen rc: Double, referenceRejected rr: Double,
        chosenCount nc: Double, rejectedCount nr: Double
    ) -> (loss: Double, dChosen: Double, dRejected: Double, chosenReward: Double, rejectedReward: Double) {
        switch kind {
        case let .dpo(beta, eps):
            let h = beta * ((pc - rc) - (pr - rr))
            let (loss, dh) = smoothedLogistic(h, labelSmoothing: eps)
            return (loss, beta * dh, -beta * dh, beta * (pc - rc), beta * (pr - rr))

        case let .ipo(beta):
            precondition(nc > 0 && nr > 0, "PreferenceObjective.ipo: empty completion")
            let h = (pc - rc) / nc - (pr - rr) / nr
            let e = h - 1 / (2 * beta)
            let dh = 2 * e
            return (e * e, dh / nc, -dh / nr, beta * (pc - rc) / nc, beta * (pr - rr) / nr)

        case let .orpo(lambda):
            precondition(nc > 0 && nr > 0, "PreferenceObjective.orpo: empty completion")
            let (oddsC, dOddsC) = logOdds(averageLogProb: pc / nc)
            let (oddsR, dOddsR) = logOdds(averageLogProb: pr / nr)
            let z = oddsC - oddsR
            // ℓ = −ā_c + λ·softplus(−z);  dℓ/dz = −λ·σ(−z).
            let loss = -pc / nc + lambda * ObjectiveMath.softplus(-z)
            let dz = -lambda * ObjectiveMath.sigmoid(-z)
            let dAvgC = -1 + dz * dOddsC
            let dAvgR = -dz * dOddsR
            return (loss, dAvgC / nc, dAvgR / nr, lambda * pc / nc, lambda * pr / nr)

        case let .simpo(beta, gamma, eps):
            precondition(nc > 0 && nr > 0, "PreferenceObjective.simpo: empty completion")
            let h = beta * pc / nc - beta * pr / nr - gamma
            let (loss, dh) = smoothedLogistic(h, labelSmoothing: eps)
            return (loss, beta * dh / nc, -beta * dh / nr, beta * pc / nc, beta * pr / nr)

        case .hinge, .robust, .referenceFree:
            return variantPairLoss(
                kind, policyChosen: pc, policyRejected: pr, referenceChosen: rc, referenceRejected: rr)
        }
    }

    /// −(1−ε)·log σ(h) − ε·log σ(−h) and its derivative −(1−ε)·σ(−h) + ε·σ(h).
    static func smoothedLogistic(_ h: Double, labelSmoothing eps: Double) -> (Double, Double) {
        let loss = (1 - eps) * ObjectiveMath.softplus(-h) + eps * ObjectiveMath.softplus(h)
        let d = -(1 - eps) * ObjectiveMath.sigmoid(-h) + eps * ObjectiveMath.sigmoid(h)
        return (loss, d)
    }

    /// log(p/(1−p)) for log p = a < 0, and its derivative 1/(1 − e^a) = −1/expm1(a).
    /// a is capped just below 0 (p = 1 exactly, possible with saturated Float log-probs), where the
    /// log-odds would be +∞; the cap has zero derivative, so such a pair gets no odds-ratio gradient.
    static func logOdds(averageLogProb a: Double) -> (Double, Double) {
        let cap = -1e-12
        if a > cap { return (cap - ObjectiveMath.log1mexp(cap), 0) }
        return (a - ObjectiveMath.log1mexp(a), -1 / expm1(a))
    }

    /// The loss over B pairs.
    ///
    /// - Parameters:
    ///   - chosen: policy log-probs of the chosen completions, (B,T) with the completion mask.
    ///   - rejected: policy log-probs of the rejected completions, (B,T') with its mask.
    ///   - referenceChosen: (B) summed reference log-probs of the chosen completions (frozen model,
    ///     same tokens, same temperature; compute once per batch, `SequenceLogProbs.sums`).
    ///     Required by DPO and IPO, ignored otherwise.
    ///   - referenceRejected: (B) the same for the rejected completions.
    ///   - weights: (B) weight of each pair's loss, or nil for 1 each. A ranking of K responses
    ///     expands to K(K−1)/2 pairs of weight 2/(K(K−1)) so each prompt counts once, as in the
    ///     reward model.
    ///   - normalizer: divisor of Σ weight·(per-pair loss); `nil` uses Σ weights (B without
    ///     weights). Under gradient accumulation pass the total weight of the whole optimizer step.
    public static func loss<Scalar: BinaryFloatingPoint>(
        _ kind: Loss, chosen: SequenceLogProbs<Scalar>, rejected: SequenceLogProbs<Scalar>,
        referenceChosen: [Double]? = nil, referenceRejected: [Double]? = nil,
        weights: [Double]? = nil, normalizer: Double? = nil
    ) -> Output<Scalar> {
        let fn = "PreferenceObjective.loss"
        let pairs = chosen.batchSize
        precondition(pairs > 0, "\(fn): no pairs")
        precondition(
            rejected.batchSize == pairs,
            "\(fn): \(pairs) chosen but \(rejected.batchSize) rejected completions")
        let zeros = [Double](repeating: 0, count: pairs)
        if kind.needsReference {
            precondition(
                referenceChosen != nil && referenceRejected != nil,
                "\(fn): \(kind) needs referenceChosen and referenceRejected")
        }
        let refC = kind.needsReference ? referenceChosen! : zeros
        let refR = kind.needsReference ? referenceRejected! : zeros
        ObjectiveShape.count(refC, pairs, "referenceChosen", in: fn)
        ObjectiveShape.count(refR, pairs, "referenceRejected", in: fn)
        if let weights { ObjectiveShape.count(weights, pairs, "weights", in: fn) }
        let w = weights ?? [Double](repeating: 1, count: pairs)
        let total = normalizer ?? w.reduce(0, +)
        precondition(total > 0, "\(fn): normalizer must be > 0, got \(total)")

        let pc = chosen.sums, pr = rejected.sums, nc = chosen.counts, nr = rejected.counts
        var loss = 0.0, correct = 0.0
        var dChosen = zeros, dRejected = zeros, rewardC = zeros, rewardR = zeros
        for i in 0..<pairs {
            let p = pairLoss(
                kind, policyChosen: pc[i], policyRejected: pr[i],
                referenceChosen: refC[i], referenceRejected: refR[i],
                chosenCount: nc[i], rejectedCount: nr[i])
            loss += w[i] * p.loss
            dChosen[i] = w[i] * p.dChosen / total
            dRejected[i] = w[i] * p.dRejected / total
            rewardC[i] = p.chosenReward
            rewardR[i] = p.rejectedReward
            correct += p.chosenReward > p.rejectedReward ? 1 : (p.chosenReward == p.rejectedReward ? 0.5 : 0)
        }
        let n = Double(pairs)
        let meanC = rewardC.reduce(0, +) / n, meanR = rewardR.reduce(0, +) / n
        return Output(
            loss: loss / total,
            chosenLogProbGrad: chosen.tokenGradient(sequenceGradient: dChosen),
            rejectedLogProbGrad: rejected.tokenGradient(sequenceGradient: dRejected),
            chosenRewards: rewardC, rejectedRewards: rewardR,
            meanMargin: meanC - meanR, meanChosenReward: meanC, meanRejectedReward: meanR,
            accuracy: correct / n)
    }
}
