// Per-token estimators of KL(π‖π_ref) from one sample drawn from π (Schulman, "Approximating KL
// divergence", 2020). With r = log π_ref − log π evaluated at the sampled token:
//   k1 = −r                 unbiased, high variance, negative on many tokens
//   k2 = r²/2               biased, low variance, ≥ 0
//   k3 = exp(r) − 1 − r     unbiased, low variance, ≥ 0 (since e^r ≥ 1 + r)
// A k1 that goes negative on average is a sign that the log-probs are not those of the sampling
// distribution (temperature, top-k/top-p, suppressed end token), not a property of the policy.

import Foundation

/// Which single-sample estimator of KL(π‖π_ref) to use per token.
public enum KLEstimator: String, Sendable, Codable, CaseIterable {
    case k1, k2, k3

    /// The estimate at one token.
    public func value(logProb: Double, referenceLogProb: Double) -> Double {
        let r = referenceLogProb - logProb
        switch self {
        case .k1: return -r
        case .k2: return 0.5 * r * r
        // expm1(r) − r keeps the digits when r is tiny (policy ≈ reference).
        case .k3: return expm1(r) - r
        }
    }

    /// d(estimate)/d(log π) at one token (π_ref is frozen), with dr/dlogπ = −1:
    ///   k1: 1;   k2: −r = log π − log π_ref;   k3: −e^r + 1 = 1 − π_ref/π.
    public func derivative(logProb: Double, referenceLogProb: Double) -> Double {
        let r = referenceLogProb - logProb
        switch self {
        case .k1: return 1
        case .k2: return -r
        case .k3: return -expm1(r)
        }
    }
}
