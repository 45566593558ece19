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
                var partial: Float = 0
                // Blocks of 1024 in Float, then into the Double total: fast and accurate enough.
                var i = 0
                while i < g.count {
                    let end = min(g.count, i + 1024)
                    partial = 0
                    for j in i..<end { partial += g[j] * g[j] }
                    sum += Double(partial)
                    i = end
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
