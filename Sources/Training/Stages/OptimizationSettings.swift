import Models
import NN
import TensorCore

/// How a stage updates its parameters: the optimizer, its schedule, clipping and the NaN guard.
/// Every stage's `Parameters` embeds one; the CLI exposes the fields as shared options.
public struct OptimizationSettings: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
        case sgd, momentum, nesterov, adam, adamw
    }

    public var optimizer: OptimizerKind = .adamw
    public var learningRate: Float
    public var steps: Int
    public var warmupSteps: Int = 0
    public var decay: LearningRateSchedule.Decay = .cosine
    /// Final learning rate as a fraction of the peak.
    public var minLearningRateRatio: Float = 0.1
    public var weightDecay: Float = 0.1
    public var momentum: Float = 0.9
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    /// Global gradient-norm clip; nil disables clipping.
    public var gradientClip: Float? = 1.0
    /// Micro-batches accumulated into one optimizer step.
    public var accumulationSteps: Int = 1
    /// Non-finite steps in a row before the run stops with an error.
    public var maxConsecutiveSkips: Int = 5

    public init(learningRate: Float, steps: Int, warmupSteps: Int = 0) {
        self.learningRate = learningRate
        self.steps = steps
        self.warmupSteps = warmupSteps
    }

    public var schedule: LearningRateSchedule {
        LearningRateSchedule(
            decay: decay, peakLearningRate: learningRate, warmupSteps: warmupSteps,
            totalSteps: steps, minRatio: decay == .constant ? 1 : minLearningRateRatio)
    }

    public func makeOptimizer() -> any Optimizer {
        switch optimizer {
        case .sgd: SGD()
        case .momentum: SGD(momentum: momentum)
        case .nesterov: SGD(momentum: momentum, nesterov: true)
        case .adam: Adam(beta1: beta1, beta2: beta2)
        case .adamw: Adam.adamW(weightDecay: weightDecay, beta1: beta1, beta2: beta2)
        }
    }
}

/// Applies optimizer steps the same way in every stage: guard against non-finite values, clip,
/// step at the scheduled rate, zero the gradients.
public struct OptimizerStepper: Sendable {
    public var optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    public let gradientClip: Float?
    public var stepGuard: StepGuard

    /// Largest |w| allowed after a step (`WeightHealth.limit`), fixed at the first step from
    /// the weights training starts from (fresh, loaded or resumed).
    public private(set) var weightLimit: Float?

    public init(settings: OptimizationSettings) {
        optimizer = settings.makeOptimizer()
        schedule = settings.schedule
        gradientClip = settings.gradientClip
        stepGuard = StepGuard(maxConsecutiveSkips: settings.maxConsecutiveSkips)
    }

    /// True when the last step was skipped for a non-finite loss or gradient norm.
    public var lastStepSkipped: Bool { stepGuard.consecutiveSkips > 0 }

    /// Throws unless the weights may be saved now: a run whose most recent steps were skipped
    /// for non-finite values is unstable, and its state must not replace the last good
    /// checkpoint or become the final model. (Non-finite and exploded weights are stopped in
    /// `apply` already.)
    public func requireSavable() throws(SkippedStepsError) {
        guard stepGuard.consecutiveSkips > 0 else { return }
        throw SkippedStepsError(
            steps: Array(stepGuard.skippedSteps.suffix(stepGuard.consecutiveSkips)).map { $0 + 1 })
    }

    public struct Outcome: Sendable {
        public var learningRate: Float
        /// Global gradient norm before clipping.
        public var gradientNorm: Float
        /// Non-nil when the step was skipped (non-finite loss or gradients).
        public var skipped: String?
    }

    /// `step` is the 0-based index of the optimizer step (selects the scheduled rate).
    /// Throws `StepGuardError` after too many skipped steps in a row, and
    /// `WeightsDivergedError` when the update left a weight non-finite or beyond `weightLimit`.
    public mutating func apply(_ parameters: [Parameter], step: Int, loss: Float) throws -> Outcome {
        if weightLimit == nil {
            weightLimit = WeightHealth.limit(initialMax: WeightHealth.scan(parameters).maxMagnitude)
        }
        let lr = schedule.learningRate(at: step)
        let norm =
            gradientClip.map { GradientClipping.clip(parameters, maxNorm: $0) }
            ?? GradientClipping.globalNorm(parameters)
        if case .skip(let reason) = try stepGuard.check(
            step: step, loss: loss, gradientNorm: norm, parameters: parameters)
        {
            return Outcome(learningRate: lr, gradientNorm: norm, skipped: reason)
        }
        optimizer.step(parameters, learningRate: lr)
        for p in parameters { p.zeroGrad() }
        // One pass over the weights per step (an optimizer step makes several): catches a run
        // blowing up before it writes anything.
        let health = WeightHealth.scan(parameters)
        if let limit = weightLimit, !health.nonFinite.isEmpty || health.maxMagnitude > limit {
            throw WeightsDivergedError(step: step + 1, report: health, limit: limit)
        }
        return Outcome(learningRate: lr, gradientNorm: norm, skipped: nil)
    }
}

/// Saving was refused because the most recent steps were skipped for non-finite values.
public struct SkippedStepsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// 1-based steps skipped in a row, ending with the last step run.
    public var steps: [Int]
    public var description: String {
        let list =
            steps.count > 5
            ? "\(steps.first!)–\(steps.last!)" : steps.map(String.init).joined(separator: ", ")
        return
            "training diverged: the last \(steps.count) step(s) (\(list)) were skipped for non-finite loss or gradients, "
            + "so nothing was saved over the last good state; lower the learning rate, raise warmup or enable "
            + "gradient clipping, and resume from the last checkpoint"
    }
}
