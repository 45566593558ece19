import Datasets
import Demo
import Foundation
import Models
import NN
import TensorCore
import Testing
import Tokenizers
@testable import Training

/// Runs are never silently continued with other data, settings or tokenizer; checkpoints never
/// replace a good state with a diverged one.
@Suite struct PretrainingDataSafetyTests {
    static let documents = DemoTasks.pretrainingDocuments(seed: 3, byteCount: 20_000)
    static let otherDocuments = DemoTasks.pretrainingDocuments(seed: 4, byteCount: 20_000)
    static let tokenizer = try! BPETrainer.train(texts: documents, parameters: .init(vocabularySize: 300))
    static let smallTokenizer = try! BPETrainer.train(
        texts: documents, parameters: .init(vocabularySize: 270))

    let root = FileManager.default.temporaryDirectory.appendingPathComponent(
        "rlhf-safety-\(UUID().uuidString)")

    func config(_ tokenizer: Tokenizer = tokenizer) -> ModelConfig {
        ModelConfig(
            vocabSize: tokenizer.vocabularySize, hiddenSize: 16, layerCount: 1, headCount: 2,
            contextLength: 16)
    }

    func parameters(steps: Int = 8) -> Pretraining.Parameters {
        var p = Pretraining.Parameters()
        p.optimization = OptimizationSettings(learningRate: 3e-3, steps: steps, warmupSteps: 1)
        p.batchSize = 2
        p.checkpointInterval = 4
        p.evaluationInterval = 100
        p.evaluationBatches = 1
        p.seed = 5
        return p
    }

    func run(_ name: String) throws -> RunDirectory {
        let run = RunDirectory(root.appendingPathComponent(name))
        try run.create()
        return run
    }

    /// Trains `p` into `run` (preparing its shards from `documents`).
    @discardableResult
    func train(
        _ run: RunDirectory, _ p: Pretraining.Parameters, resume: Bool = false,
        documents: [String] = documents
    ) throws -> Pretraining.Summary {
        let data = try Pretraining.prepare(
            documents: documents, tokenizer: Self.tokenizer, run: run,
            validationFraction: p.validationFraction, resume: resume)
        return try Pretraining.train(
            model: try Transformer(config: config(), seed: 9), tokenizer: Self.tokenizer, data: data,
            run: run, parameters: p, resume: resume)
    }

    @Test func resumeWithAHugeLearningRateKeepsTheLastGoodCheckpoint() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run("a")
        var p = parameters(steps: 8)
        p.stopAfterStep = 4
        try train(r, p)
        let good = try ModelRunWeights.load(r, config: config()).map(\.value)
        var huge = parameters(steps: 12)
        huge.optimization.learningRate = 1e6
        huge.checkpointInterval = 1
        do {
            try train(r, huge, resume: true)
            Issue.record("a run with lr 1e6 finished")
        } catch {
            // Whichever comes first: weights beyond the bound, or too many skipped steps.
            #expect(
                error is WeightsDivergedError || error is StepGuardError || error is SkippedStepsError,
                "\(error)")
            #expect("\(error)".contains("training diverged"))
        }
        #expect(try Checkpoint.loadTrainerState(from: r).step == 4)
        #expect(try ModelRunWeights.load(r, config: config()).map(\.value) == good)
    }

    /// Finite but enormous weights make every loss non-finite: every step is skipped, so no
    /// checkpoint is written (each is deferred to a step that trains) and the run ends with an error.
    @Test func skippedStepsNeverCheckpoint() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run("skips")
        var p = parameters(steps: 3)
        p.checkpointInterval = 1
        let data = try Pretraining.prepare(
            documents: Self.documents, tokenizer: Self.tokenizer, run: r, validationFraction: 0.1)
        let model = try Transformer(config: config(), seed: 9)
        let embedding = model.parameters.first { $0.name == "model.embed_tokens.weight" }!
        embedding.value = Tensor(shape: embedding.shape, repeating: 1e30)
        #expect(throws: SkippedStepsError.self) {
            try Pretraining.train(
                model: model, tokenizer: Self.tokenizer, data: data, run: r, parameters: p, resume: false)
        }
        #expect(!FileManager.default.fileExists(atPath: r.trainerState.path))
        #expect(!FileManager.default.fileExists(atPath: r.model.path))
        #expect(try MetricsLog.read(r.metrics).count == 3, "the skipped steps are still logged")
    }

    @Test func resumeRefusesAnotherSeedOrBatchSizeAndReportsOtherChanges() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run("b")
        var p = parameters()
        p.stopAfterStep = 4
        try train(r, p)
        var seed = parameters()
        seed.seed = 6
        #expect(throws: ResumeError.self) { try Pretraining.resumePlan(run: r, parameters: seed) }
        var batch = parameters()
        batch.batchSize = 3
        #expect(throws: ResumeError.self) { try train(r, batch, resume: true) }
        var lr = parameters(steps: 10)
        lr.optimization.learningRate = 1e-3
        let plan = try Pretraining.resumePlan(run: r, parameters: lr)
        #expect(plan?.step == 4)
        #expect(plan?.changes == ["steps 8 → 10", "lr 0.003 → 0.001"])
    }

    @Test func resumeWithFewerStepsThanTheCheckpointIsAnError() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run("c")
        try train(r, parameters(steps: 8))
        do {
            try train(r, parameters(steps: 4), resume: true)
            Issue.record("resumed a step-8 run with --steps 4")
        } catch let error as ResumeError {
            #expect(error.reason.contains("already at step 8"))
        }
        // The same number of steps: nothing to train, and no loss to report.
        let done = try train(r, parameters(steps: 8), resume: true)
        #expect(done.finalLoss == nil && done.resumedFrom == 8)
    }

    @Test func stopAfterReportsTheLastLoss() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        var p = parameters()
        p.stopAfterStep = 3
        let summary = try train(try run("d"), p)
        let logged = try MetricsLog.read(try run("d").metrics).last?["loss"]?.doubleValue
        #expect(summary.finalLoss != nil && summary.finalLoss == logged)
    }

    @Test func shardsAreRebuiltForOtherDataAndRefusedOnResume() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run("e")
        let first = try Pretraining.prepare(
            documents: Self.documents, tokenizer: Self.tokenizer, run: r, validationFraction: 0.1)
        let again = try Pretraining.prepare(
            documents: Self.documents, tokenizer: Self.tokenizer, run: r, validationFraction: 0.1)
        #expect(again.train.count == first.train.count)
        let stale = r.file("data/train.bin.tmp-99999")  // a shard write killed half-way
        try Data([1, 2, 3]).write(to: stale)
        let other = try Pretraining.prepare(
            documents: Self.otherDocuments, tokenizer: Self.tokenizer, run: r,
            validationFraction: 0.1)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        let direct = try Pretraining.prepare(
            documents: Self.otherDocuments, tokenizer: Self.tokenizer, run: try run("e2"),
            validationFraction: 0.1)
        #expect(other.train.tokens(0..<other.train.count) == direct.train.tokens(0..<direct.train.count))
        #expect(other.train.count != first.train.count)
        #expect(throws: CheckpointError.self) {
            try Pretraining.prepare(
                documents: Self.documents, tokenizer: Self.tokenizer, run: r, validationFraction: 0.1,
                resume: true)
        }
        let smaller = try Pretraining.prepare(
            documents: Self.otherDocuments, tokenizer: Self.smallTokenizer, run: r,
            validationFraction: 0.1)
        #expect(smaller.train.vocabSize == Self.smallTokenizer.vocabularySize)
    }

    @Test func tokensBeyondTheModelsVocabularyAreAnErrorNotACrash() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try run("f")
        let data = try Pretraining.prepare(
            documents: Self.documents, tokenizer: Self.tokenizer, run: r, validationFraction: 0.1)
        let model = try Transformer(config: config(Self.smallTokenizer), seed: 1)
        #expect(throws: DatasetError.self) {
            try Pretraining.train(
                model: model, tokenizer: Self.tokenizer, data: data, run: r, parameters: parameters(),
                resume: false)
        }
    }
}
