import Foundation
import Models

extension Pretraining {
    /// How a resumed run's settings compare with those its checkpoint was written with.
    ///
    /// Refused (they change which batches are drawn or what the saved state means, so the run
    /// could not continue the one it resumes): the seed, the batch size, the micro-batches per
    /// step, the validation fraction and the optimizer kind. Allowed and reported: the number of
    /// steps (when it does not end before the checkpoint), the learning rate and its schedule,
    /// weight decay, momentum and betas, clipping, the NaN guard's patience, and the evaluation
    /// and checkpoint intervals — the divergence messages tell the user to change exactly these
    /// and resume.
    public struct ResumePlan: Sendable, Equatable {
        /// Step of the checkpoint the run continues from.
        public var step: Int
        /// "lr 0.001 → 0.0005", one entry per allowed change.
        public var changes: [String]
    }

    /// The plan for resuming `run` with `parameters`, or nil when it has no checkpoint yet.
    /// Throws `ResumeError` for a refused change or a `--steps` that ends before the checkpoint.
    public static func resumePlan(run: RunDirectory, parameters p: Parameters) throws -> ResumePlan? {
        guard FileManager.default.fileExists(atPath: run.trainerState.path) else { return nil }
        let state = try Checkpoint.loadTrainerState(from: run)
        guard state.stage == "pretrain" else {
            throw CheckpointError(
                path: run.trainerState.path, reason: "belongs to stage \(state.stage), not pretrain")
        }
        let saved = try state.payload(as: Parameters.self)
        return try resumePlan(step: state.step, saved: saved, current: p, source: run.trainerState.path)
    }

    static func resumePlan(step: Int, saved: Parameters?, current p: Parameters, source: String) throws
        -> ResumePlan
    {
        var refused: [String] = [], changes: [String] = []
        if let s = saved {
            func compare<T: Equatable>(_ name: String, _ old: T, _ new: T, allowed: Bool) {
                guard old != new else { return }
                (allowed ? { changes.append($0) } : { refused.append($0) })("\(name) \(old) → \(new)")
            }
            func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "none" }
            let (o, n) = (s.optimization, p.optimization)
            compare("seed", s.seed, p.seed, allowed: false)
            compare("batch size", s.batchSize, p.batchSize, allowed: false)
            compare("accumulation steps", o.accumulationSteps, n.accumulationSteps, allowed: false)
            compare("validation fraction", s.validationFraction, p.validationFraction, allowed: false)
            compare("optimizer", o.optimizer.rawValue, n.optimizer.rawValue, allowed: false)
            compare("steps", o.steps, n.steps, allowed: true)
            compare("lr", o.learningRate, n.learningRate, allowed: true)
            compare("warmup", o.warmupSteps, n.warmupSteps, allowed: true)
            compare("schedule", o.decay.rawValue, n.decay.rawValue, allowed: true)
            compare("min lr ratio", o.minLearningRateRatio, n.minLearningRateRatio, allowed: true)
            compare("weight decay", o.weightDecay, n.weightDecay, allowed: true)
            compare("momentum", o.momentum, n.momentum, allowed: true)
            compare("beta1", o.beta1, n.beta1, allowed: true)
            compare("beta2", o.beta2, n.beta2, allowed: true)
            compare("clip", text(o.gradientClip), text(n.gradientClip), allowed: true)
            compare("max consecutive skips", o.maxConsecutiveSkips, n.maxConsecutiveSkips, allowed: true)
            compare("eval interval", s.evaluationInterval, p.evaluationInterval, allowed: true)
            compare("eval batches", s.evaluationBatches, p.evaluationBatches, allowed: true)
            compare("checkpoint interval", s.checkpointInterval, p.checkpointInterval, allowed: true)
        }
        if !refused.isEmpty {
            throw ResumeError(
                path: source,
                reason: "cannot resume: \(refused.joined(separator: ", ")) "
                    + "\(refused.count == 1 ? "differs" : "differ") from the run's own settings, and an exact "
                    + "continuation needs the same; give the original values, or start a new run")
        }
        if p.optimization.steps < step {
            throw ResumeError(
                path: source,
                reason: "the run is already at step \(step); --steps \(p.optimization.steps) "
                    + "ends before it (give --steps above \(step) to train further)")
        }
        return ResumePlan(step: step, changes: changes)
    }
}
