import ArgumentParser
import Training

/// `rlhf dpo --loss dpo --dpo-variant …`: the DPO variants of issue 13, as TRL's loss types.
struct DPOVariantOptions: ParsableArguments {
    enum Variant: String, ExpressibleByArgument, CaseIterable {
        /// RSO's hinge max(0, 1 − β·margin).
        case hinge
        /// Robust DPO: --label-smoothing ε with the 1/(1 − 2ε) correction.
        case robust
        /// Reference log-probs taken as 0.
        case referenceFree = "reference-free"
    }

    @Option(
        name: .customLong("dpo-variant"),
        help:
            "With --loss dpo: hinge (RSO), robust (label noise --label-smoothing, unbiased), reference-free.")
    var variant: Variant?

    /// `loss` with the variant applied; only `.dpo` has variants.
    func apply(to loss: PreferenceObjective.Loss) throws -> PreferenceObjective.Loss {
        guard let variant else { return loss }
        guard case let .dpo(beta, eps) = loss else {
            throw ValidationError("--dpo-variant \(variant.rawValue) needs --loss dpo")
        }
        switch variant {
        case .hinge:
            guard eps == 0 else { throw ValidationError("--dpo-variant hinge takes no --label-smoothing") }
            return .hinge(beta: beta)
        case .robust: return .robust(beta: beta, labelSmoothing: eps)
        case .referenceFree: return .referenceFree(beta: beta, labelSmoothing: eps)
        }
    }
}
