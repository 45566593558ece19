// PPO's clipped value loss (as in OpenAI's baselines and lm-human-preferences).

import Foundation

extension PPOObjective {
    public struct ValueLossOutput<Scalar: BinaryFloatingPoint> {
        /// Σ mask·½·max((V − R)², (V_clip − R)²) / normalizer.
        public var loss: Double
        /// (N) dLoss/dV per position, for the value head's backward.
        public var valueGrad: [Scalar]
        /// Fraction of masked positions where the clipped term was selected (zero gradient).
        public var clipFraction: Double
        /// Masked mean of V.
        public var meanValue: Double
        /// 1 − Var(R − V)/Var(R) over the masked positions (1 is perfect, ≤ 0 is no better than
        /// predicting the mean); 0 when the returns have no variance.
        public var explainedVariance: Double

        public var metrics: [String: Double] {
            [
                "value_loss": loss, "value_clip_fraction": clipFraction, "value": meanValue,
                "explained_variance": explainedVariance,
            ]
        }
    }

    /// Clipped value loss. V_clip = V_old + clip(V − V_old, −c, c); the max of the two squared
    /// errors keeps one update from moving the value far from the rollout's estimate.
    /// dℓ/dV = V − R where the unclipped term is selected; where the clipped term is strictly
    /// larger V is outside [V_old − c, V_old + c], V_clip is constant in V and the gradient is 0.
    ///
    /// - Parameters:
    ///   - values: (N) current value-head outputs.
    ///   - oldValues: (N) value-head outputs at rollout time.
    ///   - returns: (N) GAE returns (targets).
    ///   - mask: (N) the same completion mask as the policy loss.
    ///   - clipRange: c (`cliprange_value`).
    ///   - normalizer: as in `policyLoss`.
    public static func valueLoss<Scalar: BinaryFloatingPoint>(
        values: [Scalar], oldValues: [Scalar], returns: [Scalar], mask: [Scalar],
        clipRange: Double = 0.2, normalizer: Double? = nil
    ) -> ValueLossOutput<Scalar> {
        let fn = "PPOObjective.valueLoss"
        ObjectiveShape.count(oldValues, values.count, "oldValues", in: fn)
        ObjectiveShape.count(returns, values.count, "returns", in: fn)
        ObjectiveShape.count(mask, values.count, "mask", in: fn)
        let count = mask.reduce(0.0) { $0 + Double($1) }
        let total = normalizer ?? count
        var grad = [Double](repeating: 0, count: values.count)
        guard total > 0 else {
            return ValueLossOutput(
                loss: 0, valueGrad: grad.narrowed(to: Scalar.self), clipFraction: 0,
                meanValue: 0, explainedVariance: 0)
        }
        var loss = 0.0, clipped = 0.0, valueSum = 0.0
        for i in values.indices where mask[i] != 0 {
            let m = Double(mask[i])
            let v = Double(values[i]), old = Double(oldValues[i]), target = Double(returns[i])
            let vClipped = old + min(max(v - old, -clipRange), clipRange)
            let unclippedLoss = 0.5 * (v - target) * (v - target)
            let clippedLoss = 0.5 * (vClipped - target) * (vClipped - target)
            if clippedLoss > unclippedLoss {
                loss += m * clippedLoss
                clipped += m
            } else {
                loss += m * unclippedLoss
                grad[i] = m * (v - target) / total
            }
            valueSum += m * v
        }
        let residual = zip(returns, values).map { Double($0) - Double($1) }
        let returnVariance = Whitening.moments(returns, mask: mask, unbiased: false).variance
        let residualVariance = Whitening.moments(residual, mask: mask.widenedToDouble, unbiased: false)
            .variance
        let c = max(count, .leastNonzeroMagnitude)
        return ValueLossOutput(
            loss: loss / total, valueGrad: grad.narrowed(to: Scalar.self), clipFraction: clipped / c,
            meanValue: valueSum / c,
            explainedVariance: returnVariance > 0 ? 1 - residualVariance / returnVariance : 0)
    }
}
