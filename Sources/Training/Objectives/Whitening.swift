// Masked whitening of per-token quantities (advantages, optionally rewards): statistics over the
// positions the mask selects only, so padding and prompt positions neither shift the mean nor
// shrink the variance.

import Foundation

public enum Whitening {
    /// Masked mean and variance. `unbiased` applies Bessel's correction n/(n−1) (n = Σ mask), as
    /// TRL's `masked_var` does; with n ≤ 1 the variance is 0. `reducing` combines the partial sums
    /// of several holders of the values (data parallelism: a sum over the ranks); the default,
    /// the identity, gives the moments of `values` alone.
    public static func moments<Scalar: BinaryFloatingPoint>(
        _ values: [Scalar], mask: [Scalar], unbiased: Bool = true,
        reducing: ([Double]) -> [Double] = { $0 }
    ) -> (mean: Double, variance: Double, count: Double) {
        ObjectiveShape.count(mask, values.count, "mask", in: "Whitening.moments")
        var n = 0.0, sum = 0.0
        for i in values.indices where mask[i] != 0 {
            n += Double(mask[i])
            sum += Double(mask[i]) * Double(values[i])
        }
        let totals = reducing([n, sum])
        n = totals[0]
        guard n > 0 else { return (0, 0, 0) }
        let mean = totals[1] / n
        var squares = 0.0
        for i in values.indices where mask[i] != 0 {
            let d = Double(values[i]) - mean
            squares += Double(mask[i]) * d * d
        }
        var variance = reducing([squares])[0] / n
        if unbiased { variance = n > 1 ? variance * n / (n - 1) : 0 }
        return (mean, variance, n)
    }

    /// (x − mean) / sqrt(var + epsilon) at masked positions, 0 elsewhere. With `shiftMean` false
    /// the mean is added back (only the scale changes), which is how rewards are whitened without
    /// turning every reward negative or positive.
    public static func whiten<Scalar: BinaryFloatingPoint>(
        _ values: [Scalar], mask: [Scalar], shiftMean: Bool = true, unbiased: Bool = true,
        epsilon: Double = 1e-8
    ) -> [Scalar] {
        let (mean, variance, _) = moments(values, mask: mask, unbiased: unbiased)
        return whiten(
            values, mask: mask, mean: mean, variance: variance, shiftMean: shiftMean, epsilon: epsilon)
    }

    /// The same with given statistics (data parallelism: the moments of all ranks' tokens).
    public static func whiten<Scalar: BinaryFloatingPoint>(
        _ values: [Scalar], mask: [Scalar], mean: Double, variance: Double, shiftMean: Bool = true,
        epsilon: Double = 1e-8
    ) -> [Scalar] {
        let scale = 1 / (variance + epsilon).squareRoot()
        var out = [Scalar](repeating: 0, count: values.count)
        for i in values.indices where mask[i] != 0 {
            var w = (Double(values[i]) - mean) * scale
            if !shiftMean { w += mean }
            out[i] = Scalar(w)
        }
        return out
    }
}
