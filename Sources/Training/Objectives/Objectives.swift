// Objectives: every training objective of the pipeline as a pure function of per-token
// log-probabilities (and values, rewards), returning its loss, dLoss/dlogp per token and metrics.
//
// Conventions shared by every file in this folder:
//
// - Per-token arrays are row-major (B,T): element `b * length + t` is row b, position t.
//   Position t holds the log-probability of the t-th *predicted* token of the row, i.e. the
//   already shifted pairing `logits[:, :-1]` ↔ `tokens[:, 1:]` (see `SequenceBatch` and `LogProbPass`).
//   Every per-token array passed to one call (log-probs, old log-probs, reference log-probs,
//   values, masks) uses the same grid, so the policy, reference and value masks cannot disagree.
// - Masks are arrays of the same scalar type with 1 for a position that counts and 0 for one
//   that does not (prompt, padding). Non-binary weights are allowed where a doc comment says so.
// - Arrays are generic over `BinaryFloatingPoint`: the training loop passes `[Float]` (what
//   `TokenLogProbs.forward` returns and `TokenLogProbs.backward` takes), tests pass `[Double]`
//   so that finite differences are exact to ~1e-9. All arithmetic happens in `Double`.
// - Losses and metrics are `Double`. Gradients come back in the scalar type of the input.
// - Normalisers are explicit where gradient accumulation matters: a loss averaged over tokens
//   takes the token count of the whole optimizer step (all micro-batches), not of the micro-batch.
// - Entropy: the gradient of the entropy with respect to the logits is not a function of
//   dLoss/dlogp of the sampled token, so no objective here returns an entropy-bonus gradient
//   through `logProbGrad`. Entropy is a logged metric only (no stage trains with an entropy bonus).
//
// Where things are:
//   LanguageModelObjective   pretraining / SFT masked NLL, PPO-ptx scaling
//   RewardModelObjective     Bradley–Terry with margins, K-wise ranking → weighted pairs
//   KLEstimator, KLController  per-token k1/k2/k3, fixed or adaptive β
//   Whitening                masked mean/variance whitening
//   PPOObjective             shapeRewards → generalizedAdvantages → policyLoss + valueLoss
//   SequenceLogProbs         (B,T) token log-probs ↔ per-sequence sums for sequence-level losses
//   PreferenceObjective      DPO, IPO, ORPO, SimPO;  KTOObjective: KTO
//   GRPOObjective            group advantages, clipped surrogate + k3 KL, token-level mean
//
// Shape mismatches are programmer errors (the stage loop builds these arrays) and trap via
// `precondition` with a message naming the function, the argument and both sizes.

import Foundation

/// Numerically stable scalar helpers shared by the objectives.
enum ObjectiveMath {
    /// σ(x) = 1 / (1 + e^−x) without overflow for large |x|.
    static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// softplus(x) = log(1 + e^x) without overflow.
    static func softplus(_ x: Double) -> Double {
        max(x, 0) + log1p(exp(-abs(x)))
    }

    /// log σ(x) = −softplus(−x).
    static func logSigmoid(_ x: Double) -> Double {
        -softplus(-x)
    }

    /// log(1 − e^a) for a < 0 (Mächler 2012): `expm1` near 0, `log1p` far from it, so neither
    /// form loses the digits that matter. Returns −∞ at a = 0.
    static func log1mexp(_ a: Double) -> Double {
        precondition(a <= 0, "log1mexp: argument must be ≤ 0, got \(a)")
        return a > -M_LN2 ? log(-expm1(a)) : log1p(-exp(a))
    }
}

/// Shape checks with messages that name the function, the argument and both sizes.
enum ObjectiveShape {
    static func count<C: Collection>(
        _ array: C, _ expected: Int, _ name: String, in function: String
    ) {
        precondition(
            array.count == expected,
            "\(function): `\(name)` has \(array.count) elements, expected \(expected)")
    }
}

extension Array where Element: BinaryFloatingPoint {
    /// The array widened to Double (exact for Float and Double).
    var widenedToDouble: [Double] { map { Double($0) } }
}

extension Array where Element == Double {
    /// The array narrowed to the caller's scalar type.
    func narrowed<S: BinaryFloatingPoint>(to _: S.Type) -> [S] { map { S($0) } }
}
