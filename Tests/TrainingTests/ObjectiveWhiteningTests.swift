// Masked whitening.

import Foundation
import Testing
@testable import Training

@Suite struct ObjectiveWhiteningTests {
    @Test func maskedWhiteningIgnoresMaskedPositions() {
        // Masked values 1, 2, 3 (the 100 is padding): mean 2, unbiased var (1+0+1)/2 = 1 → −1, 0, 1.
        let out = Whitening.whiten([1.0, 2, 3, 100], mask: [1, 1, 1, 0])
        ObjectiveCheck.expectClose(out, [-1, 0, 1, 0], "whitened")
        // Population variance 2/3 → ±sqrt(3/2) = ±1.224744871391589.
        let biased = Whitening.whiten([1.0, 2, 3, 100], mask: [1, 1, 1, 0], unbiased: false)
        ObjectiveCheck.expectClose(
            biased, [-1.224744871391589, 0, 1.224744871391589, 0], "population variance")
    }

    @Test func scaleOnlyKeepsTheMean() {
        // [0, 4]: mean 2, unbiased var 8, std 2√2: whitened ∓1/√2; keeping the mean: 2 ∓ 1/√2.
        let shifted = Whitening.whiten([0.0, 4], mask: [1, 1])
        ObjectiveCheck.expectClose(shifted, [-0.7071067811865476, 0.7071067811865476], "shift")
        let scaled = Whitening.whiten([0.0, 4], mask: [1, 1], shiftMean: false)
        ObjectiveCheck.expectClose(scaled, [1.2928932188134524, 2.7071067811865476], "scale only")
    }

    @Test func whitenedValuesHaveZeroMeanUnitVariance() {
        let values: [Double] = (0..<20).map { sin(Double($0) * 1.7) * 3 + 0.5 }
        let mask: [Double] = (0..<20).map { $0 % 3 == 0 ? 0 : 1 }
        let out = Whitening.whiten(values, mask: mask)
        let (mean, variance, count) = Whitening.moments(out, mask: mask)
        #expect(count == 13)
        ObjectiveCheck.expectClose(mean, 0, tolerance: 1e-12, "mean")
        ObjectiveCheck.expectClose(variance, 1, tolerance: 1e-7, "variance")
        for i in mask.indices where mask[i] == 0 { #expect(out[i] == 0) }
    }
}
