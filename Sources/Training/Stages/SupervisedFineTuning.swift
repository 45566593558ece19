import Foundation
import Models
import NN
import TensorCore
import Tokenizers

/// Supervised fine-tuning on demonstrations: the conversation renders to tokens and a loss
/// mask together (assistant tokens only), and the model learns next-token prediction there.
public enum SupervisedFineTuning {
    public struct Parameters: Sendable {
        public var optimization = OptimizationSettings(learningRate: 3e-4, steps: 200, warmupSteps: 10)
        public var batchSize = 16
        /// Pack several conversations into each row (documents cannot attend to each other and
        /// positions restart per document); off: one conversation per row, right-padded.
        public var packing = false
        public var seed: UInt64 = 0
        public init() {}
    }

    /// Batches of examples for step `step`: a deterministic function of (seed, step), so resume
    /// is exact. Examples longer than `contextLength` must have been rejected or cut before.
    public static func batch(
        _ examples: [RenderedChat], step: Int, micro: Int, parameters p: Parameters,
        contextLength: Int, padToken: Int32
    ) -> SequenceBatch {
        var rng = RandomGenerator(seed: p.seed &+ UInt64(step) &* 0x9E37_79B9 &+ UInt64(micro) &* 0x85EB_CA6B)
        let picks = (0..<p.batchSize).map { _ in examples[Int(rng.next() % UInt64(examples.count))] }
        guard p.packing else {
            return SequenceBatch(
                rows: picks.map { $0.tokens }, targetMasks: picks.map(\.lossMask),
                padToken: padToken)
        }
        // Greedy packing: fill rows of the context length with whole conversations.
        var rows: [[Int32]] = [], masks: [[Bool]] = [], segments: [[Int32]] = []
        var row: [Int32] = [], mask: [Bool] = [], seg: [Int32] = [], doc: Int32 = 0
        for ex in picks {
            if row.count + ex.tokens.count > contextLength, !row.isEmpty {
                rows.append(row); masks.append(mask); segments.append(seg)
                row = []; mask = []; seg = []
            }
            row += ex.tokens
            // The first token of a document is never a target (nothing before it in its document).
            mask += [false] + ex.lossMask.dropFirst()
            seg += [Int32](repeating: doc, count: ex.tokens.count)
            doc += 1
        }
        if !row.isEmpty { rows.append(row); masks.append(mask); segments.append(seg) }
        return SequenceBatch(rows: rows, targetMasks: masks, segments: segments, padToken: padToken)
    }

    /// Fine-tunes `model` in place; returns per-step metrics. With several ranks, every rank
    /// draws the same global batch and trains on its share of the rows (see
    /// `LanguageModelTraining.accumulate`). With `checkpointing`, rank 0 writes checkpoints and
    /// a run with `resume` continues from its checkpoint (`SupervisedFineTuning+Checkpoint.swift`);
    /// the metrics are those of the steps trained in this call.
    @discardableResult
    public static func train(
        model: Transformer, examples: [RenderedChat], padToken: Int32, parameters p: Parameters,
        checkpointing: Checkpointing? = nil, communicator: any Communicator = SingleProcess(),
        progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        precondition(!examples.isEmpty, "SFT: no examples")
        var stepper = OptimizerStepper(settings: p.optimization)
        var startStep = 0
        let key = checkpointing == nil ? "" : dataKey(examples)
        if let c = checkpointing, c.resume, FileManager.default.fileExists(atPath: c.run.trainerState.path) {
            startStep = try restoreCheckpoint(c, model: model, parameters: p, dataKey: key, stepper: &stepper)
        }
        // A stop ends the loop early; the stepper's schedule still spans every step.
        var loop = p.optimization
        if let stop = checkpointing?.stopAfterStep { loop.steps = max(min(loop.steps, stop), startStep) }
        return try LanguageModelTraining.train(
            model: model, settings: loop, startStep: startStep, stepper: &stepper, stage: "sft",
            nextBatch: {
                batch(
                    examples, step: $0, micro: $1, parameters: p,
                    contextLength: model.config.contextLength, padToken: padToken)
            },
            communicator: communicator,
            afterStep: checkpointing.map { c in
                { step, _, stepper in
                    let done = step + 1
                    let due =
                        done % c.interval == 0 || done == p.optimization.steps || done == c.stopAfterStep
                    // A skipped (non-finite) step never replaces the last good checkpoint.
                    if communicator.isRoot, due, !stepper.lastStepSkipped {
                        try saveCheckpoint(
                            c, model: model, parameters: p, dataKey: key, step: done, stepper: stepper)
                    }
                }
            },
            progress: progress)
    }
}
