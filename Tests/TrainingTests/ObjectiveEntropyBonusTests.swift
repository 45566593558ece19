// The entropy-bonus hook (dLoss/dlogits directly, since entropy is not a function of dlogp).

import Foundation
import Testing
import TensorCore
@testable import Training

@Suite struct ObjectiveEntropyBonusTests {
    /// Reference entropy in Double, for finite differences.
    func entropy(_ z: [Double], temperature: Double) -> Double {
        let s = z.map { $0 / temperature }
        let m = s.max()!
        let logSum = log(s.reduce(0) { $0 + exp($1 - m) }) + m
        return s.reduce(0) { $0 - exp($1 - logSum) * ($1 - logSum) }
    }

    @Test func twoClassByHand() {
        // z = [1, 0]: p = σ(1) = 0.7310585786300049, H = 0.5822031451189439,
        // dH/dz0 = −p(1−p)·1 = −0.19661193324148185 = −dH/dz1. Loss = −H (coefficient 1), so
        // dLoss/dz = [0.19661193324148185, −0.19661193324148185].
        let out = EntropyBonus.loss(logits: Tensor(shape: [1, 2], scalars: [1, 0]), weights: [1], coefficient: 1)
        ObjectiveCheck.expectClose(out.meanEntropy, 0.5822031451189439, tolerance: 1e-6, "entropy")
        ObjectiveCheck.expectClose(out.loss, -0.5822031451189439, tolerance: 1e-6, "loss")
        ObjectiveCheck.expectClose(out.logitsGrad.scalars.map(Double.init), [0.19661193324148185, -0.19661193324148185],
                                   tolerance: 1e-6, "dlogits")
        // Temperature 2 on z = [2, 0] is the same distribution; the chain rule halves the gradient.
        let hot = EntropyBonus.loss(logits: Tensor(shape: [1, 2], scalars: [2, 0]), temperature: 2, weights: [1], coefficient: 1)
        ObjectiveCheck.expectClose(hot.logitsGrad.scalars.map(Double.init), [0.098305966620740925, -0.098305966620740925],
                                   tolerance: 1e-6, "dlogits at T = 2")
        // Uniform logits are the maximum: H = log 3, zero gradient.
        let flat = EntropyBonus.loss(logits: Tensor(shape: [1, 3], scalars: [0.5, 0.5, 0.5]), weights: [1], coefficient: 1)
        ObjectiveCheck.expectClose(flat.meanEntropy, log(3.0), tolerance: 1e-6, "uniform entropy")
        for g in flat.logitsGrad.scalars { #expect(abs(g) < 1e-7) }
    }

    @Test func gradientMatchesFiniteDifferencesWithMask() {
        let z: [Double] = [0.3, -1.2, 2.0, 0.1, 0.5, 0.5, -0.7, 1.1, 9, 9, 9, 9]
        let weights: [Float] = [1, 0.5, 0]
        let out = EntropyBonus.loss(logits: Tensor(shape: [3, 4], scalars: z.map(Float.init)), temperature: 0.7,
                                    weights: weights, coefficient: 0.01)
        func loss(_ x: [Double]) -> Double {
            var total = 0.0
            for n in 0..<3 { total += Double(weights[n]) * entropy(Array(x[(n * 4)..<(n * 4 + 4)]), temperature: 0.7) }
            return -0.01 * total / 1.5
        }
        ObjectiveCheck.expectClose(out.loss, loss(z), tolerance: 1e-7, "loss")
        let numeric = ObjectiveCheck.numericalGradient(z, loss)
        ObjectiveCheck.expectClose(out.logitsGrad.scalars.map(Double.init), numeric, tolerance: 1e-7, "finite differences")
    }
}
