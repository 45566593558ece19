// The DPO variants TRL and OpenRLHF offer beside plain DPO: hinge (RSO), robust DPO and
// reference-free DPO. Each is a function of the same margin h as DPO; only ℓ(h) differs.

import Foundation

extension PreferenceObjective {
    /// Loss of one pair for `.hinge`, `.robust` and `.referenceFree`, with its derivatives w.r.t.
    /// the policy's summed log-probs (see `pairLoss`).
    static func variantPairLoss(
        _ kind: Loss, policyChosen pc: Double, policyRejected pr: Double,
        referenceChosen rc: Double, referenceRejected rr: Double
    ) -> (loss: Double, dChosen: Double, dRejected: Double, chosenReward: Double, rejectedReward: Double) {
        switch kind {
        case let .hinge(beta):
            // RSO eq. 10: ℓ = max(0, 1 − h); dℓ/dh = −1 inside the hinge, 0 beyond the margin.
            let h = beta * ((pc - rc) - (pr - rr))
            let dh: Double = h < 1 ? -1 : 0
            return (max(0, 1 - h), beta * dh, -beta * dh, beta * (pc - rc), beta * (pr - rr))

        case let .robust(beta, eps):
            // Chowdhury et al. 2024 eq. 8: ℓ = [(1−ε)·softplus(−h) − ε·softplus(h)] / (1 − 2ε),
            // an unbiased estimate of the clean-label DPO loss when labels flip with probability ε.
            precondition((0..<0.5).contains(eps), "PreferenceObjective.robust: ε must be in [0, 0.5)")
            let h = beta * ((pc - rc) - (pr - rr))
            let scale = 1 / (1 - 2 * eps)
            let loss = ((1 - eps) * ObjectiveMath.softplus(-h) - eps * ObjectiveMath.softplus(h)) * scale
            let dh = (-(1 - eps) * ObjectiveMath.sigmoid(-h) - eps * ObjectiveMath.sigmoid(h)) * scale
            return (loss, beta * dh, -beta * dh, beta * (pc - rc), beta * (pr - rr))

        case let .referenceFree(beta, eps):
            // DPO with log π_ref ≡ 0: h = β·(log π(c) − log π(r)).
            let h = beta * (pc - pr)
            let (loss, dh) = smoothedLogistic(h, labelSmoothing: eps)
            return (loss, beta * dh, -beta * dh, beta * pc, beta * pr)

        case .dpo, .ipo, .orpo, .simpo:
            preconditionFailure("PreferenceObjective.variantPairLoss: \(kind) is not a variant")
        }
    }
}
