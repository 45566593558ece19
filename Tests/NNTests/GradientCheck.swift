import NN
import Testing
import TensorCore

/// Finite-difference checks: the analytic gradient (already computed) against central
/// differences of `loss`, at a few spread-out entries of every parameter and input.
struct GradientCheck {
    var eps: Float = 1e-2
    var relative: Double = 2e-2
    var absolute: Double = 3e-3
    var samples = 5

    /// Entries to probe in a tensor of `count` scalars (deterministic, spread over the tensor).
    func indices(_ count: Int) -> [Int] {
        let n = min(samples, count)
        return (0..<n).map { (($0 * 7919 + 3) % count) }
    }

    func numeric(_ loss: () -> Double, set: (Float) -> Void, at value: Float) -> Double {
        set(value + eps)
        let lp = loss()
        set(value - eps)
        let lm = loss()
        set(value)
        return (lp - lm) / Double(2 * eps)
    }

    func close(_ a: Double, _ b: Double) -> Bool {
        abs(a - b) <= absolute + relative * max(abs(a), abs(b))
    }

    /// Compares `grads[i]` (copied after backward) with the numeric gradient of each parameter.
    func checkParameters(
        _ params: [Parameter], grads: [Tensor], loss: () -> Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for (p, g) in zip(params, grads) {
            for i in indices(p.value.count) {
                let v = p.value[flat: i]
                let num = numeric(loss, set: { p.value[flat: i] = $0 }, at: v)
                #expect(
                    close(num, Double(g[flat: i])),
                    "\(p.name)[\(i)]: numeric \(num) vs analytic \(g[flat: i])",
                    sourceLocation: sourceLocation)
            }
        }
    }

    /// Same for an input tensor held in `box`.
    func checkInput(
        _ box: TensorBox, grad: Tensor, loss: () -> Double, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for i in indices(box.value.count) {
            let v = box.value[flat: i]
            let num = numeric(loss, set: { box.value[flat: i] = $0 }, at: v)
            #expect(
                close(num, Double(grad[flat: i])), "input[\(i)]: numeric \(num) vs analytic \(grad[flat: i])",
                sourceLocation: sourceLocation)
        }
    }
}

final class TensorBox {
    var value: Tensor
    init(_ value: Tensor) { self.value = value }
}

/// Σ w·y in Double (the probe loss; its gradient with respect to y is w).
func weightedSum(_ y: Tensor, _ w: Tensor) -> Double {
    precondition(y.count == w.count)
    var s = 0.0
    for i in 0..<y.count { s += Double(y[flat: i]) * Double(w[flat: i]) }
    return s
}

func randomTensor(_ shape: [Int], std: Float = 1, seed: UInt64) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return .randomNormal(shape: shape, std: std, rng: &rng)
}

/// Re-draws every parameter with a larger spread so that gradients are well above rounding.
func scrambleParameters(_ params: [Parameter], seed: UInt64) {
    var rng = RandomGenerator(seed: seed)
    for p in params {
        let isGain = !p.decays && !p.name.hasSuffix(".bias")
        p.value = .randomNormal(shape: p.shape, std: isGain ? 0.2 : 0.4, rng: &rng)
        if isGain {
            p.value.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] += 1 } }
        }
        p.zeroGrad()
    }
}
