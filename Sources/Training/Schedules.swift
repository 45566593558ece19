import Foundation

/// Learning rate as a function of the step, saved in `trainer_state.json` so a resumed run
/// continues on the same curve.
///
/// `step` is the 0-based index of the optimizer step about to be taken. Warmup rises linearly
/// from `peak/warmupSteps` (step 0) to `peak` (step `warmupSteps − 1`), so the first step never
/// uses a zero rate; decay then runs from `peak` at step `warmupSteps` to
/// `peak·minRatio` at step `totalSteps` (and stays there if training goes on).
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public enum Decay: String, Codable, Sendable, CaseIterable {
        /// `peak` after warmup.
        case constant
        /// Half-cosine from `peak` to `peak·minRatio`.
        case cosine
        /// Straight line from `peak` to `peak·minRatio`.
        case linear
    }

    public var decay: Decay
    public var peakLearningRate: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    /// Final rate as a fraction of the peak (0.1 is common for cosine).
    public var minRatio: Float

    public init(
        decay: Decay, peakLearningRate: Float, warmupSteps: Int = 0, totalSteps: Int, minRatio: Float = 0
    ) {
        precondition(
            peakLearningRate >= 0 && warmupSteps >= 0 && totalSteps >= 0 && (0...1).contains(minRatio),
            "LearningRateSchedule: invalid settings")
        self.decay = decay
        self.peakLearningRate = peakLearningRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minRatio = minRatio
    }

    public static func constant(_ learningRate: Float, warmupSteps: Int = 0) -> Self {
        Self(
            decay: .constant, peakLearningRate: learningRate, warmupSteps: warmupSteps, totalSteps: 0,
            minRatio: 1)
    }

    public static func cosine(peak: Float, warmupSteps: Int, totalSteps: Int, minRatio: Float = 0.1) -> Self {
        Self(
            decay: .cosine, peakLearningRate: peak, warmupSteps: warmupSteps, totalSteps: totalSteps,
            minRatio: minRatio)
    }

    public static func linear(peak: Float, warmupSteps: Int, totalSteps: Int, minRatio: Float = 0) -> Self {
        Self(
            decay: .linear, peakLearningRate: peak, warmupSteps: warmupSteps, totalSteps: totalSteps,
            minRatio: minRatio)
    }

    public func learningRate(at step: Int) -> Float {
        let peak = Double(peakLearningRate)
        if step < warmupSteps {
            return Float(peak * Double(step + 1) / Double(warmupSteps))
        }
        let floor = peak * Double(minRatio)
        let decaySteps = totalSteps - warmupSteps
        let progress = decaySteps > 0 ? min(1, Double(step - warmupSteps) / Double(decaySteps)) : 1
        switch decay {
        case .constant:
            return peakLearningRate
        case .cosine:
            return Float(floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * progress)))
        case .linear:
            return Float(peak + (floor - peak) * progress)
        }
    }
}
