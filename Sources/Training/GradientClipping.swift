import Foundation
import NN
import TensorCore

/// Global-norm gradient clipping (as `torch.nn.utils.clip_grad_norm_`): if the L2 norm of all
/// gradients together exceeds `maxNorm`, every gradient is scaled by `maxNorm / (norm + 1e-6)`.
public enum GradientClipping {
    /// L2 norm over every parameter's gradient, accumulated in Double (millions of squares).
    /// Non-finite if any gradient is NaN or infinite.
    public static func globalNorm(_ parameters: [Parameter]) -> Float {
        var sum = 0.0
        for p in parameters {
            p.grad.withUnsafeBufferPointer { g in
                // Blocks of 1024 in eight Float lanes, then into the Double total: vectorised
                // (a scalar Float reduction is not) and accurate enough.
                guard let base = g.baseAddress else { return }
                var i = 0
                while i < g.count {
                    let end = min(g.count, i + 1024)
                    var lanes = SIMD8<Float>()
                    while i + 8 <= end {
                        let x = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
                        lanes += x * x
                        i += 8
                    }
                    var partial = lanes.sum()
                    while i < end {
                        partial += base[i] * base[i]
                        i += 1
                    }
                    sum += Double(partial)
                }
            }
        }
        return Float(sum.squareRoot())
    }

    /// Clips in place and returns the norm before clipping (log it). A non-finite norm leaves
    /// the gradients untouched; `StepGuard` decides to skip such a step.
    @discardableResult
    public static func clip(_ parameters: [Parameter], maxNorm: Float) -> Float {
        precondition(maxNorm > 0, "GradientClipping.clip: maxNorm must be positive, got \(maxNorm)")
        let norm = globalNorm(parameters)
        guard norm.isFinite, norm > maxNorm else { return norm }
        let scale = maxNorm / (norm + 1e-6)
        for p in parameters {
            p.grad.withUnsafeMutableBufferPointer { g in
                for i in g.indices { g[i] *= scale }
            }
        }
        return norm
    }
}
