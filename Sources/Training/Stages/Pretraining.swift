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
/// (`data/train.bin`, `data/validation.bin`). Batch `s` is a pure function of (seed, s)
/// (`BatchSampler`), and the schedule, optimizer moments and NaN guard are restored from the
/// checkpoint, so a run killed at any moment and resumed ends with the same weights and losses
/// as one that was never interrupted (same thread count).
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

    /// Tokenizes `documents` (separated by `<|endoftext|>`) into the run's shards, or opens the
    /// shards already there (resume). The validation part is the last documents. With several
    /// ranks, rank 0 writes the shards and the others open them after it.
    public static func prepare(documents: [String], tokenizer: Tokenizer, run: RunDirectory,
                               validationFraction: Double, communicator: any Communicator = SingleProcess()) throws -> Data {
        guard communicator.size > 1 else {
            return try prepareShards(documents: documents, tokenizer: tokenizer, run: run, validationFraction: validationFraction)
        }
        if communicator.isRoot {
            let data = try prepareShards(documents: documents, tokenizer: tokenizer, run: run, validationFraction: validationFraction)
            communicator.barrier()
            return data
        }
        communicator.barrier()
        return try prepareShards(documents: [], tokenizer: tokenizer, run: run, validationFraction: validationFraction)
    }

    private static func prepareShards(documents: [String], tokenizer: Tokenizer, run: RunDirectory,
                                      validationFraction: Double) throws -> Data {
        let dir = run.file("data")
        let trainURL = dir.appendingPathComponent("train.bin"), validationURL = dir.appendingPathComponent("validation.bin")
        let bytesURL = dir.appendingPathComponent("validation.bytes")
        if FileManager.default.fileExists(atPath: validationURL.path),
           let text = try? String(contentsOf: bytesURL, encoding: .utf8), let bytes = Int(text) {
            return Data(train: try TokenShard(contentsOf: trainURL), validation: try TokenShard(contentsOf: validationURL),
                        validationBytes: bytes)
        }
        guard !documents.isEmpty else { throw DatasetError(file: run.url.path, reason: "the corpus is empty") }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let separator = try tokenizer.requireSpecialTokenID(SpecialTokens.endOfText)
        let held = documents.count > 1 ? max(1, Int(Double(documents.count) * validationFraction)) : 0
        func tokens(_ docs: ArraySlice<String>) -> [Int32] {
            var out: [Int32] = []
            for d in docs { out += tokenizer.encode(d); out.append(separator) }
            return out
        }
        var trainTokens = tokens(documents.dropLast(held))
        var validationTokens = tokens(documents.suffix(held))
        var validationBytes = documents.suffix(held).reduce(0) { $0 + $1.utf8.count }
        if held == 0 {
            // One document: its last 5% is the validation text.
            let cut = Int(Double(trainTokens.count) * (1 - validationFraction))
            validationTokens = Array(trainTokens[cut...])
            trainTokens = Array(trainTokens[..<cut])
            validationBytes = (try? tokenizer.decode(validationTokens).count) ?? validationTokens.count
        }
        try TokenShard.write(trainTokens, vocabSize: tokenizer.vocabularySize, to: trainURL)
        try TokenShard.write(validationTokens, vocabSize: tokenizer.vocabularySize, to: validationURL)
        try Foundation.Data(String(validationBytes).utf8).write(to: bytesURL, options: .atomic)
        return Data(train: try TokenShard(contentsOf: trainURL), validation: try TokenShard(contentsOf: validationURL),
                    validationBytes: validationBytes)
    }

    public struct Summary: Sendable {
        public var finalLoss: Double
        public var validationLoss: Double
        public var validationBitsPerByte: Double
        public var resumedFrom: Int?
        public var history: [[String: Double]]
    }

    /// Validation loss per token and bits per byte over the first `batches` batches of
    /// consecutive windows.
    public static func evaluate(model: Transformer, data: Data, batchSize: Int, batches: Int, padToken: Int32)
        -> (loss: Double, bitsPerByte: Double) {
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
    public static func train(model: Transformer, tokenizer: Tokenizer, data: Data, run: RunDirectory,
                             parameters p: Parameters, resume: Bool, communicator: any Communicator = SingleProcess(),
                             progress: ProgressHandler? = nil) throws -> Summary {
        guard p.batchSize >= communicator.size else {
            throw DataParallelError("--batch-size \(p.batchSize) is smaller than the \(communicator.size) ranks; each rank needs a row")
        }
        let pad = try tokenizer.requireSpecialTokenID(SpecialTokens.pad)
        let t = model.config.contextLength
        var stepper = OptimizerStepper(settings: p.optimization)
        var startStep = 0
        var resumedFrom: Int?
        if resume, FileManager.default.fileExists(atPath: run.trainerState.path) {
            let restored = try Checkpoint.resume(from: run, parameters: model.parameters, optimizer: &stepper.optimizer)
            guard restored.state.stage == "pretrain" else {
                throw CheckpointError(path: run.trainerState.path, reason: "belongs to stage \(restored.state.stage), not pretrain")
            }
            if let guardState = restored.state.stepGuard { stepper.stepGuard = guardState }
            startStep = restored.state.step
            resumedFrom = startStep
        }
        let sampler = try BatchSampler(seed: p.seed, batchSize: p.batchSize, length: t - 1, range: 0..<data.train.count)
        let metrics = communicator.isRoot ? try MetricsLog(url: run.metrics, keepingStepsThrough: resumedFrom ?? 0) : nil
        var lastValidation = (loss: Double.nan, bitsPerByte: Double.nan)

        func checkpoint(step: Int, stepper: OptimizerStepper) throws {
            var state = TrainerState(stage: "pretrain", step: step, dataPosition: step * p.batchSize,
                                     rng: RandomGenerator(seed: p.seed), schedule: stepper.schedule,
                                     optimizer: stepper.optimizer.kind, stepGuard: stepper.stepGuard)
            try state.setPayload(p)
            try Checkpoint.save(to: run, config: model.config, parameters: model.parameters,
                                optimizer: stepper.optimizer, trainerState: state)
        }

        var history: [[String: Double]] = []
        do {
            history = try LanguageModelTraining.train(
            model: model, settings: p.optimization, startStep: startStep, stepper: &stepper, stage: "pretrain",
            nextBatch: { step, micro in
                let flat = sampler.batch(step: step * max(1, p.optimization.accumulationSteps) + micro, from: data.train)
                return SequenceBatch(rows: (0..<p.batchSize).map { Array(flat[($0 * t)..<(($0 + 1) * t)]) }, padToken: pad)
            },
            communicator: communicator,
            afterStep: { step, m, stepper in
                let done = step + 1
                if done == p.stopAfterStep && !communicator.isRoot { throw StopRequested() }
                guard communicator.isRoot else { return }
                if done % p.evaluationInterval == 0 || done == p.optimization.steps {
                    lastValidation = evaluate(model: model, data: data, batchSize: p.batchSize, batches: p.evaluationBatches,
                                              padToken: pad)
                    m["val_loss"] = lastValidation.loss
                    m["val_bpb"] = lastValidation.bitsPerByte
                }
                try metrics?.append(step: done, metrics: m)
                if done % p.checkpointInterval == 0 || done == p.optimization.steps {
                    try checkpoint(step: done, stepper: stepper)
                }
                if done == p.stopAfterStep { throw StopRequested() }
            },
            progress: communicator.isRoot ? progress : nil)
        } catch is StopRequested {}
        if history.isEmpty && communicator.isRoot {
            lastValidation = evaluate(model: model, data: data, batchSize: p.batchSize, batches: p.evaluationBatches, padToken: pad)
        }
        return Summary(finalLoss: history.last?["loss"] ?? .nan, validationLoss: lastValidation.loss,
                       validationBitsPerByte: lastValidation.bitsPerByte, resumedFrom: resumedFrom, history: history)
    }
}
