import Datasets
import Demo
import Foundation
import Models
import NN
import Testing
import Tokenizers
@testable import Training

/// A run stopped between checkpoints (as by `kill -9`) and resumed ends bit-for-bit where an
/// uninterrupted run ends: same weights, same losses, same metrics log.
@Test func resumedPretrainingEqualsUninterrupted() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent(
        "rlhf-resume-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let documents = DemoTasks.pretrainingDocuments(seed: 3, byteCount: 60_000)
    let tokenizer = try BPETrainer.train(texts: documents, parameters: .init(vocabularySize: 300))
    let config = ModelConfig(
        vocabSize: tokenizer.vocabularySize, hiddenSize: 32, layerCount: 2, headCount: 2, contextLength: 32)
    var p = Pretraining.Parameters()
    p.optimization = OptimizationSettings(learningRate: 3e-3, steps: 12, warmupSteps: 2)
    p.batchSize = 4
    p.checkpointInterval = 4
    p.evaluationInterval = 6
    p.evaluationBatches = 2
    p.seed = 5

    func fresh(_ name: String) throws -> (RunDirectory, Transformer, Pretraining.Data) {
        let run = RunDirectory(root.appendingPathComponent(name))
        try run.create()
        let data = try Pretraining.prepare(
            documents: documents, tokenizer: tokenizer, run: run, validationFraction: 0.1)
        return (run, try Transformer(config: config, seed: 9), data)
    }

    let (runA, modelA, dataA) = try fresh("a")
    let a = try Pretraining.train(
        model: modelA, tokenizer: tokenizer, data: dataA, run: runA, parameters: p, resume: false)
    #expect(a.history.count == 12)
    #expect(a.history.last!["loss"]! < a.history.first!["loss"]!)

    // Interrupted at step 10: the last checkpoint is step 8; steps 9–10 are lost with the process.
    let (runB, modelB, dataB) = try fresh("b")
    var stopped = p
    stopped.stopAfterStep = 10
    _ = try Pretraining.train(
        model: modelB, tokenizer: tokenizer, data: dataB, run: runB, parameters: stopped, resume: false)
    // A new process: a new model object with other initial weights, restored from disk.
    let (_, modelC, dataC) = try fresh("b")
    let c = try Pretraining.train(
        model: try Transformer(config: config, seed: 123), tokenizer: tokenizer, data: dataC,
        run: runB, parameters: p, resume: true)
    _ = modelC
    #expect(c.resumedFrom == 8)
    #expect(c.history.count == 4)
    for (x, y) in zip(a.history.suffix(4), c.history) { #expect(x["loss"] == y["loss"]) }
    #expect(a.validationLoss == c.validationLoss)

    let finalA = try ModelRunWeights.load(runA, config: config)
    let finalB = try ModelRunWeights.load(runB, config: config)
    for (x, y) in zip(finalA, finalB) { #expect(x.value == y.value, "\(x.name) differs after resume") }
    let logB = try MetricsLog.read(runB.metrics)
    #expect(logB.count == 12, "metrics.jsonl keeps one line per step, none duplicated")
}

/// Loads a run's weights into a fresh model's parameter list.
enum ModelRunWeights {
    static func load(_ run: RunDirectory, config: ModelConfig) throws -> [NN.Parameter] {
        let model = try Transformer(config: config, seed: 0)
        try Checkpoint.loadModel(from: run, into: model.parameters)
        return model.parameters
    }
}
