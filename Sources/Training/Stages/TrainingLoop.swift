import Foundation
import NN
import TensorCore

/// The step skeleton every stage shares. A stage's step reads straight through:
///
///     draw the step's global batch (the same on every rank)
///     take this rank's share of it
///     compute the loss and its gradients on the share
///     one data-parallel block: gradients summed, metrics reduced by name (`update`)
///     a guarded optimizer step (`OptimizerStepper.apply`)
///
/// and `run` does the rest: replicas made identical before the first step, then per step the
/// time, the history and the progress report.
enum TrainingLoop {
    /// What one step hands back to the loop.
    struct Step {
        var metrics: [String: Double]
        /// A line for the log (a skipped step), or nil.
        var note: String? = nil
        /// Token sequences for the progress report (e.g. the most repeated answer).
        var sequences: [String: [Int32]] = [:]
    }

    /// Runs `body` for each step in `steps` (0-based, of `totalSteps`). Rank 0's weights of
    /// every model in `replicas` are copied to the other ranks first and gradients zeroed.
    /// Each step's metrics get "seconds" (unless `timed` is false) and "peak_rss_mb" (the process's
    /// peak resident memory so far, unless the step set it), join the returned history
    /// and go to `progress`.
    static func run(
        stage: String, steps: Range<Int>, totalSteps: Int, replicas: [[Parameter]],
        communicator: any Communicator, timed: Bool = true, progress: ProgressHandler?,
        _ body: (_ step: Int) throws -> Step
    ) throws -> [[String: Double]] {
        for parameters in replicas {
            communicator.broadcastParameters(parameters)
            for p in parameters { p.zeroGrad() }
        }
        var history: [[String: Double]] = []
        for step in steps {
            let started = Date()
            var result = try body(step)
            if timed { result.metrics["seconds"] = Date().timeIntervalSince(started) }
            // Peak memory so far, per stage run (the process's high-water mark; see docs/memory.md).
            if result.metrics["peak_rss_mb"] == nil {
                result.metrics["peak_rss_mb"] = ResourceUsage.peakResidentMegabytes
            }
            history.append(result.metrics)
            progress?(
                StageProgress(
                    stage: stage, step: step + 1, totalSteps: totalSteps, metrics: result.metrics,
                    note: result.note, sequences: result.sequences))
        }
        return history
    }
}

extension OptimizerStepper {
    /// The data-parallel block and the optimizer step of one update: gradients summed over the
    /// ranks, the metrics reduced by name, then one guarded step at the reduced `lossName`.
    /// Returns the reduced metrics with "lr" and "grad_norm", and the step's outcome.
    mutating func update(
        _ parameters: [Parameter], metrics: StepMetrics, step: Int, communicator: any Communicator,
        lossName: String = "loss"
    ) throws -> (metrics: [String: Double], outcome: Outcome) {
        communicator.allReduceGradients(parameters)
        var reduced = communicator.reduce(metrics)
        let outcome = try apply(parameters, step: step, loss: Float(reduced[lossName] ?? 0))
        reduced["lr"] = Double(outcome.learningRate)
        reduced["grad_norm"] = Double(outcome.gradientNorm)
        return (reduced, outcome)
    }
}

extension OptimizerStepper.Outcome {
    /// The log line of a skipped step (`step` 0-based), or nil.
    func note(step: Int) -> String? { skipped.map { "step \(step + 1) skipped: \($0)" } }
}
