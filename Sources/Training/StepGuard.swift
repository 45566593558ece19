import NN
import TensorCore

/// Detects loss spikes to NaN/inf: a step whose loss or gradient norm is not finite is skipped
/// (its gradients are zeroed, the optimizer is not called, the schedule still advances) and
/// counted; after `maxConsecutiveSkips` skipped steps in a row the run stops with an error that
/// says what happened, instead of training on garbage.
public struct StepGuard: Codable, Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        case proceed
        /// The step was skipped; `reason` is for the log ("loss is nan", …).
        case skip(reason: String)
    }

    public var maxConsecutiveSkips: Int
    public private(set) var consecutiveSkips = 0
    public private(set) var totalSkips = 0
    /// Steps skipped so far (for the report).
    public private(set) var skippedSteps: [Int] = []

    public init(maxConsecutiveSkips: Int = 5) {
        precondition(maxConsecutiveSkips >= 1, "StepGuard: maxConsecutiveSkips must be at least 1")
        self.maxConsecutiveSkips = maxConsecutiveSkips
    }

    /// Call after backward (and after measuring the gradient norm), before the optimizer step.
    /// On `.skip` the gradients of `parameters` have been zeroed.
    public mutating func check(step: Int, loss: Float, gradientNorm: Float?, parameters: [Parameter])
        throws(StepGuardError) -> Decision
    {
        var problems: [String] = []
        if !loss.isFinite { problems.append("loss is \(loss)") }
        if let gradientNorm, !gradientNorm.isFinite { problems.append("gradient norm is \(gradientNorm)") }
        guard !problems.isEmpty else {
            consecutiveSkips = 0
            return .proceed
        }
        for p in parameters { p.zeroGrad() }
        consecutiveSkips += 1
        totalSkips += 1
        skippedSteps.append(step)
        let reason = problems.joined(separator: ", ")
        if consecutiveSkips >= maxConsecutiveSkips {
            throw StepGuardError(step: step, consecutiveSkips: consecutiveSkips, lastReason: reason)
        }
        return .skip(reason: reason)
    }
}

public struct StepGuardError: Error, CustomStringConvertible, Sendable, Equatable {
    public var step: Int
    public var consecutiveSkips: Int
    public var lastReason: String

    public var description: String {
        "training diverged: \(consecutiveSkips) consecutive steps skipped up to step \(step) (\(lastReason)); "
            + "lower the learning rate, raise warmup or enable gradient clipping, and resume from the last checkpoint"
    }
}
