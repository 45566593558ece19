import Datasets
import Foundation
import Models
import NN
import TensorCore
import Tokenizers

/// Pretraining (next-token prediction on plain text) into a run directory, with evaluation,
/// atomic checkpoints and exact resume.
///
/// The text is tokenized once into memory-mapped token shards inside the run directory
/// (`data/train.bin`, `data/validation.bin`), keyed by what they were built from
/// (`data/source.json`, see `DataKey`). Batch `s` is a pure function of (seed, s)
/// (`BatchSampler`), and the schedule, optimizer moments and NaN guard are restored from the
/// checkpoint, so a run killed at any moment and resumed ends with the same weights and losses
/// as one that was never interrupted (same thread count). A resume with other data or settings
/// that would break this is refused (`ResumePlan`); a checkpoint is never written over the last
/// good one by a diverging run (`OptimizerStepper`, `WeightHealth`).
public enum Pretraining {
    public struct Parameters: Sendable, Codable {
        public var optimization = OptimizationSettings(learningRate: 1e-3, steps: 1000, warmupSteps: 50)
        public var batchSize = 16
        /// Held-out loss and bits per byte every this many steps (and at the end).
        public var evaluationInterval = 100
        /// Held-out batches per evaluation (each `batchSize` windows of the context length).
        public var evaluationBatches = 8
        public var checkpointInterval = 100
        public var validationFraction = 0.05
        public var seed: UInt64 = 0
        /// Stop after this step as if the process were killed there (train in chunks; tests of
        /// resume). The schedule still spans `optimization.steps`.
        public var stopAfterStep: Int?
        public init() {}
    }

    private struct StopRequested: Error {}

    /// The tokenized corpus of a run.
    public struct Data {
        public var train: TokenShard
        public var validation: TokenShard
        /// UTF-8 bytes of the validation text (bits per byte are per byte of the original text).
        public var validationBytes: Int
    }

    public struct Summary: Sendable {
        /// Loss of the last step trained in this call; nil when none was (a resume of a
        /// finished run).
        public var finalLoss: Double?
        public var validationLoss: Double
        public var validationBitsPerByte: Double
        public var resumedFrom: Int?
        /// Settings changed on resume (see `ResumePlan`).
        public var resumeChanges: [String] = []
        public var history: [[String: Double]]
    }

    /// Validation loss per token and bits per byte over the first `batches` batches of
    /// consecutive windows.
    public static func evaluate(model: Transformer, data: Data, batchSize: Int, batches: Int, padToken: Int32)
        -> (loss: Double, bitsPerByte: Double)
    {
        let t = model.config.contextLength
        let v = data.validation
        var rows: [[Int32]] = []
        var start = 0
        while start + 2 <= v.count, rows.count < batchSize * batches {
            rows.append(v.tokens(start..<min(start + t, v.count)))
            start += t
        }
        guard !rows.isEmpty else { return (.nan, .nan) }
        let grids = stride(from: 0, to: rows.count, by: batchSize).map {
            SequenceBatch(rows: Array(rows[$0..<min($0 + batchSize, rows.count)]), padToken: padToken)
        }
        let e = LanguageModelTraining.evaluate(model: model, batches: grids)
        // Mean loss of the scored tokens, scaled to all validation tokens, per byte of text.
        let bpb = e.loss * Double(v.count) / Double(max(data.validationBytes, 1)) / M_LN2
        return (e.loss, bpb)
    }

    /// Trains `model` (fresh, or restored from `run` when `resume` and a checkpoint exists)
    /// and checkpoints into `run`. With several ranks (data parallelism) `batchSize` is the
    /// global batch, split over the ranks, so the run follows the single-process one; rank 0
    /// evaluates and writes metrics and checkpoints.
    public static func train(
        model: Transformer, tokenizer: Tokenizer, data: Data, run: RunDirectory,
        parameters p: Parameters, resume: Bool, communicator: any Communicator = SingleProcess(),
        progress: ProgressHandler? = nil
    ) throws -> Summary {
        guard p.batchSize >= communicator.size else {
            throw DataParallelError(
                "--batch-size \(p.batchSize) is smaller than the \(communicator.size) ranks; each rank needs a row"
            )
        }
        let pad = try tokenizer.requireSpecialTokenID(SpecialTokens.pad)
        let t = model.config.contextLength
        try requireFits(data, vocabularySize: model.config.vocabSize)
        var stepper = OptimizerStepper(settings: p.optimization)
        var startStep = 0
        var resumedFrom: Int?
        var changes: [String] = []
        if resume, let plan = try resumePlan(run: run, parameters: p) {
            let restored = try Checkpoint.resume(
                from: run, parameters: model.parameters, optimizer: &stepper.optimizer)
            if let guardState = restored.state.stepGuard { stepper.stepGuard = guardState }
            startStep = restored.state.step
            resumedFrom = startStep
            changes = plan.changes
        }
        let sampler = try BatchSampler(
            seed: p.seed, batchSize: p.batchSize, length: t - 1, range: 0..<data.train.count)
        let metrics =
            communicator.isRoot
            ? try MetricsLog(url: run.metrics, keepingStepsThrough: resumedFrom ?? 0) : nil
        var lastValidation = (loss: Double.nan, bitsPerByte: Double.nan)
        var lastLoss: Double?
        // A checkpoint due at a skipped step waits for the next step that trains (see below).
        var checkpointPending = false

        func checkpoint(step: Int, stepper: OptimizerStepper) throws {
            var state = TrainerState(
                stage: "pretrain", step: step, dataPosition: step * p.batchSize,
                rng: RandomGenerator(seed: p.seed), schedule: stepper.schedule,
                optimizer: stepper.optimizer.kind, stepGuard: stepper.stepGuard)
            try state.setPayload(p)
            try Checkpoint.save(
                to: run, config: model.config, parameters: model.parameters,
                optimizer: stepper.optimizer, trainerState: state)
        }

        var history: [[String: Double]] = []
        do {
            history = try LanguageModelTraining.train(
                model: model, settings: p.optimization, startStep: startStep, stepper: &stepper,
                stage: "pretrain",
                nextBatch: { step, micro in
                    let flat = sampler.batch(
                        step: step * max(1, p.optimization.accumulationSteps) + micro, from: data.train)
                    return SequenceBatch(
                        rows: (0..<p.batchSize).map { Array(flat[($0 * t)..<(($0 + 1) * t)]) }, padToken: pad)
                },
                communicator: communicator,
                afterStep: { step, m, stepper in
                    let done = step + 1
                    lastLoss = m["loss"]
                    if done == p.stopAfterStep && !communicator.isRoot { throw StopRequested() }
                    guard communicator.isRoot else { return }
                    if done % p.evaluationInterval == 0 || done == p.optimization.steps {
                        lastValidation = evaluate(
                            model: model, data: data, batchSize: p.batchSize, batches: p.evaluationBatches,
                            padToken: pad)
                        m["val_loss"] = lastValidation.loss
                        m["val_bpb"] = lastValidation.bitsPerByte
                    }
                    try metrics?.append(step: done, metrics: m)
                    // A step skipped for a non-finite loss or gradient means the run is unstable: its
                    // state must not replace the last good checkpoint. The checkpoint is written at
                    // the next step that trains; a run that ends on skipped steps saves nothing.
                    if checkpointPending || done % p.checkpointInterval == 0 || done == p.optimization.steps {
                        if stepper.lastStepSkipped {
                            checkpointPending = true
                            if done == p.optimization.steps { try stepper.requireSavable() }
                        } else {
                            try checkpoint(step: done, stepper: stepper)
                            checkpointPending = false
                        }
                    }
                    if done == p.stopAfterStep { throw StopRequested() }
                },
                progress: communicator.isRoot ? progress : nil)
        } catch is StopRequested {}
        if history.isEmpty && communicator.isRoot {
            lastValidation = evaluate(
                model: model, data: data, batchSize: p.batchSize, batches: p.evaluationBatches, padToken: pad)
        }
        return Summary(
            finalLoss: lastLoss, validationLoss: lastValidation.loss,
            validationBitsPerByte: lastValidation.bitsPerByte, resumedFrom: resumedFrom,
            resumeChanges: changes,
            history: history)
    }
}
