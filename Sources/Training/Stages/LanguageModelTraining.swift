import Foundation
import Models
import NN
import TensorCore

/// Next-token training, shared by pretraining, SFT and PPO-ptx: masked negative log-likelihood
/// with gradient accumulation normalised by the target tokens of the whole optimizer step.
public enum LanguageModelTraining {
    /// One optimizer step over `microBatches`; gradients accumulate across them and the loss is
    /// Σ token losses / Σ target tokens of the step (not a mean of per-micro-batch means).
    /// Returns the step's mean loss per target token and the target-token count.
    ///
    /// With several ranks each micro-batch is the global one: this rank trains on its share of
    /// the rows, the target tokens of the whole step are counted over all ranks before any
    /// backward (so every rank scales by the same 1/N), and the gradients are summed over the
    /// ranks at the end: the step equals one process's step on the global batch.
    public static func accumulate(
        model: Transformer, microBatches: [SequenceBatch],
        communicator: any Communicator = SingleProcess()
    ) -> (loss: Double, tokens: Int) {
        let local = microBatches.map { communicator.share(of: $0) }
        var accumulation = GradientAccumulation(targetTokenCounts: local.map { $0?.targetCount ?? 0 })
        let globalTokens = communicator.allReduceSum([Double(accumulation.totalTargetTokens)])[0]
        for batch in local {
            guard let batch else { accumulation.add(lossSum: 0, tokens: 0); continue }
            let pass = LogProbPass(model: model, batch: batch)
            let out = LanguageModelObjective.negativeLogLikelihood(
                logProbs: pass.logProbs, mask: batch.mask, normalizer: globalTokens)
            pass.backward(model: model, logProbGrad: out.logProbGrad)
            accumulation.add(lossSum: out.negativeLogLikelihoodSum, tokens: batch.targetCount)
        }
        guard communicator.size > 1 else { return (accumulation.meanLoss, accumulation.totalTargetTokens) }
        // The data-parallel block: gradients and the loss in nats summed over the ranks.
        communicator.allReduceGradients(model.trainableParameters)
        let lossSum = communicator.allReduceSum([accumulation.lossSum])[0]
        return (globalTokens > 0 ? lossSum / globalTokens : 0, Int(globalTokens))
    }

    /// Mean loss per target token and the summed loss in nats over `batches`, without gradients.
    public static func evaluate(model: Transformer, batches: [SequenceBatch]) -> (
        loss: Double, nats: Double, tokens: Int
    ) {
        var nats = 0.0, tokens = 0
        for batch in batches {
            let lp = model.scoreTargets(batch)
            for i in lp.indices where batch.mask[i] != 0 { nats -= Double(lp[i]) }
            tokens += batch.targetCount
        }
        return (tokens > 0 ? nats / Double(tokens) : 0, nats, tokens)
    }

    /// Trains for `settings.steps` optimizer steps starting at `startStep`, drawing
    /// `settings.accumulationSteps` micro-batches per step from `nextBatch(step, micro)`.
    /// `afterStep` runs after every step (evaluation, checkpoints) and sees the stepper's state
    /// (optimizer moments, guard) to save it; it may throw to stop. With several ranks,
    /// `nextBatch` returns the global batch (the same on every rank) and each rank trains on its
    /// share; rank 0's weights are copied to the others first.
    public static func train(
        model: Transformer, settings: OptimizationSettings, startStep: Int = 0,
        stepper: inout OptimizerStepper,
        stage: String, nextBatch: (_ step: Int, _ micro: Int) -> SequenceBatch,
        communicator: any Communicator = SingleProcess(),
        afterStep: (
            (_ step: Int, _ metrics: inout [String: Double], _ stepper: OptimizerStepper) throws -> Void
        )? = nil,
        progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        guard startStep <= settings.steps else {
            throw ResumeError(
                path: stage,
                reason: "the run is already at step \(startStep); \(settings.steps) steps "
                    + "end before it (give more steps to train further)")
        }
        model.setLoRATraining(true)  // adapter dropout on while training
        defer { model.setLoRATraining(false) }
        let history = try TrainingLoop.run(
            stage: stage, steps: startStep..<settings.steps, totalSteps: settings.steps,
            replicas: [model.trainableParameters],
            communicator: communicator, timed: false, progress: progress
        ) { step in
            let started = Date()
            let micro = (0..<max(1, settings.accumulationSteps)).map { nextBatch(step, $0) }
            let (loss, tokens) = accumulate(model: model, microBatches: micro, communicator: communicator)
            let outcome = try stepper.apply(model.trainableParameters, step: step, loss: Float(loss))
            let seconds = Date().timeIntervalSince(started)
            var metrics: [String: Double] = [
                "loss": loss, "lr": Double(outcome.learningRate), "grad_norm": Double(outcome.gradientNorm),
                "tokens": Double(tokens),
                "tokens_per_second": Double(micro.reduce(0) { $0 + $1.batchSize * $1.length })
                    / max(seconds, 1e-9),
                // Here, not in the loop: pretraining logs the metrics in `afterStep`.
                "peak_rss_mb": ResourceUsage.peakResidentMegabytes,
            ]
            try afterStep?(step, &metrics, stepper)
            return TrainingLoop.Step(metrics: metrics, note: outcome.note(step: step))
        }
        try stepper.requireSavable()
        return history
    }
}
