// KL estimators and the KL-coefficient controllers.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectiveKLTests {
    @Test func estimatorValues() {
        // log π = −1, log π_ref = −2 → r = −1: k1 = 1, k2 = 0.5, k3 = e^−1 − 1 + 1 = e^−1.
        ObjectiveCheck.expectClose(KLEstimator.k1.value(logProb: -1, referenceLogProb: -2), 1, "k1")
        ObjectiveCheck.expectClose(KLEstimator.k2.value(logProb: -1, referenceLogProb: -2), 0.5, "k2")
        ObjectiveCheck.expectClose(
            KLEstimator.k3.value(logProb: -1, referenceLogProb: -2), 0.36787944117144233, "k3")
        // The sampled token is likelier under the reference (r = 1): k1 = −1 is negative on this
        // token, k3 = e − 2 = 0.7182818284590451 is not.
        ObjectiveCheck.expectClose(KLEstimator.k1.value(logProb: -2, referenceLogProb: -1), -1, "k1 sign")
        ObjectiveCheck.expectClose(
            KLEstimator.k3.value(logProb: -2, referenceLogProb: -1), 0.7182818284590451, "k3")
    }

    @Test func k3IsNeverNegativeAndZeroAtEquality() {
        for lp in stride(from: -8.0, through: 0, by: 0.25) {
            for ref in stride(from: -8.0, through: 0, by: 0.25) {
                #expect(KLEstimator.k3.value(logProb: lp, referenceLogProb: ref) >= 0)
                #expect(KLEstimator.k2.value(logProb: lp, referenceLogProb: ref) >= 0)
            }
            #expect(KLEstimator.k3.value(logProb: lp, referenceLogProb: lp) == 0)
        }
        // Tiny differences keep their digits (expm1): r = 1e−8 → k3 ≈ r²/2 = 5e−17.
        let tiny = KLEstimator.k3.value(logProb: -1, referenceLogProb: -1 + 1e-8)
        #expect(abs(tiny - 5e-17) < 1e-20)
    }

    @Test func k1AndK3AreUnbiasedForKL() {
        // Exact expectation over a 3-token distribution p (policy) with reference q:
        // E_p[k1] = E_p[k3] = KL(p‖q) = Σ p log(p/q) (E_p[q/p − 1] = 0).
        let p = [0.5, 0.3, 0.2], q = [0.2, 0.3, 0.5]
        let kl = zip(p, q).reduce(0) { $0 + $1.0 * log($1.0 / $1.1) }
        for estimator in [KLEstimator.k1, .k3] {
            let expectation = zip(p, q).reduce(0) {
                $0 + $1.0 * estimator.value(logProb: log($1.0), referenceLogProb: log($1.1))
            }
            ObjectiveCheck.expectClose(expectation, kl, tolerance: 1e-12, "\(estimator)")
        }
    }

    @Test func derivativesMatchFiniteDifferences() {
        // d k3/d logπ = 1 − e^r, e.g. r = 0.5: 1 − e^0.5 = −0.6487212707001282.
        ObjectiveCheck.expectClose(
            KLEstimator.k3.derivative(logProb: -1.5, referenceLogProb: -1), -0.6487212707001282, "k3'")
        for estimator in KLEstimator.allCases {
            for (lp, ref) in [(-1.0, -2.0), (-2.0, -1.0), (-0.3, -0.3), (-4.0, -0.1)] {
                let numeric = ObjectiveCheck.numericalGradient([lp]) {
                    estimator.value(logProb: $0[0], referenceLogProb: ref)
                }
                ObjectiveCheck.expectClose(
                    [estimator.derivative(logProb: lp, referenceLogProb: ref)], numeric,
                    "\(estimator) at (\(lp), \(ref))")
            }
        }
    }

    @Test func adaptiveControllerSteps() {
        // β = 0.1, target 6, horizon 10 000, batch 256: n/horizon = 0.0256.
        // KL 12: error = clip(1, ±0.2) = 0.2 → β = 0.1·(1 + 0.2·0.0256) = 0.100512.
        var up = KLController.adaptive(initial: 0.1, target: 6, horizon: 10_000)
        up.update(currentKL: 12, sampleCount: 256)
        ObjectiveCheck.expectClose(up.coefficient, 0.100512, tolerance: 1e-12, "above target")
        // KL 3: error = clip(−0.5) = −0.2 → 0.099488.
        var down = KLController.adaptive(initial: 0.1, target: 6, horizon: 10_000)
        down.update(currentKL: 3, sampleCount: 256)
        ObjectiveCheck.expectClose(down.coefficient, 0.099488, tolerance: 1e-12, "below target")
        // KL 6.6: error 0.1 (inside the clip) → 0.1·(1 + 0.1·0.0256) = 0.100256.
        var near = KLController.adaptive(initial: 0.1, target: 6, horizon: 10_000)
        near.update(currentKL: 6.6, sampleCount: 256)
        ObjectiveCheck.expectClose(near.coefficient, 0.100256, tolerance: 1e-12, "near target")
        // Fixed: never moves.
        var fixed = KLController.fixed(0.05)
        fixed.update(currentKL: 100, sampleCount: 256)
        #expect(fixed.coefficient == 0.05)
    }

    @Test func adaptiveControllerConvergesToTarget() {
        // A toy policy whose KL falls as the penalty rises, KL = 0.6/β: the fixed point for target 6
        // is β = 0.1. Starting from β = 0.02 (KL 30), the controller must reach it.
        var controller = KLController.adaptive(initial: 0.02, target: 6, horizon: 10_000)
        for _ in 0..<3000 {
            controller.update(currentKL: 0.6 / controller.coefficient, sampleCount: 256)
        }
        ObjectiveCheck.expectClose(0.6 / controller.coefficient, 6, tolerance: 0.01, "KL at the end")
        // And it resumes exactly from its Codable state.
        let data = try! JSONEncoder().encode(controller)
        #expect(try! JSONDecoder().decode(KLController.self, from: data) == controller)
    }
}
