import Foundation
import Models
import NN
import TensorCore
import Testing
@testable import Training

private func scratchRun() throws -> RunDirectory {
    let run = RunDirectory(
        FileManager.default.temporaryDirectory.appendingPathComponent("health-\(UUID().uuidString)"))
    try run.create()
    return run
}

private let config = ModelConfig(
    family: .llama, vocabSize: 8, hiddenSize: 4, layerCount: 1, headCount: 2,
    intermediateSize: 8, contextLength: 16)

private func smallParameters() -> [Parameter] {
    var rng = RandomGenerator(seed: 1)
    return [("model.embed_tokens.weight", [8, 4]), ("model.norm.weight", [4])].map { name, shape in
        Parameter(
            name: name,
            value: Tensor(
                shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() * 0.1 }),
            decays: true)
    }
}

private func setGradients(_ ps: [Parameter], _ value: Float) {
    for p in ps { p.grad = Tensor(shape: p.shape, repeating: value) }
}

private func sgd(lr: Float) -> OptimizationSettings {
    var s = OptimizationSettings(learningRate: lr, steps: 10)
    s.optimizer = .sgd
    s.gradientClip = nil
    s.decay = .constant
    return s
}

@Suite struct WeightHealthTests {
    @Test func scanFindsNonFiniteTensorsAndTheLargestWeight() {
        let a = Tensor(shape: [3], scalars: [1, .nan, -.infinity])
        let b = Tensor(shape: [2], scalars: [-7, 2])
        let report = WeightHealth.scan([(name: "a", tensor: a), (name: "b", tensor: b)])
        #expect(report.nonFinite.map(\.name) == ["a"] && report.nonFinite.map(\.count) == [2])
        #expect(report.maxMagnitude == 7 && report.maxTensor == "b")
        #expect(WeightHealth.limit(initialMax: 1) == 1e4)
        #expect(WeightHealth.limit(initialMax: 500) == 5e4)
    }

    @Test func anUpdateThatExplodesTheWeightsStopsTheRun() throws {
        let ps = smallParameters()
        var stepper = OptimizerStepper(settings: sgd(lr: 1e6))
        setGradients(ps, 0.5)
        #expect(throws: WeightsDivergedError.self) { try stepper.apply(ps, step: 0, loss: 1) }
    }

    @Test func ordinaryUpdatesPass() throws {
        let ps = smallParameters()
        var stepper = OptimizerStepper(settings: sgd(lr: 1e-2))
        for step in 0..<5 {
            setGradients(ps, 0.5)
            let outcome = try stepper.apply(ps, step: step, loss: 1)
            #expect(outcome.skipped == nil)
        }
        try stepper.requireSavable()
    }

    @Test func aSkippedLastStepForbidsSaving() throws {
        let ps = smallParameters()
        var stepper = OptimizerStepper(settings: sgd(lr: 1e-2))
        setGradients(ps, 0.5)
        _ = try stepper.apply(ps, step: 0, loss: .nan)
        #expect(stepper.lastStepSkipped)
        #expect(throws: SkippedStepsError.self) { try stepper.requireSavable() }
        setGradients(ps, 0.5)
        _ = try stepper.apply(ps, step: 1, loss: 1)
        try stepper.requireSavable()
    }

    /// Every stage updates through `OptimizerStepper`, so a stage stops (and its command exits
    /// non-zero, saving nothing) when an update explodes the weights, even with finite losses.
    @Test func theSharedTrainingLoopStopsWhenAnUpdateExplodesTheWeights() throws {
        let model = try Transformer(config: config, seed: 3)
        var settings = sgd(lr: 1e6)
        settings.steps = 3
        var stepper = OptimizerStepper(settings: settings)
        let batch = SequenceBatch(rows: [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], padToken: 0)
        #expect(throws: WeightsDivergedError.self) {
            _ = try LanguageModelTraining.train(
                model: model, settings: settings, stepper: &stepper, stage: "sft",
                nextBatch: { _, _ in batch })
        }
    }

    @Test func checkpointRefusesNonFiniteWeightsAndKeepsTheGoodOne() throws {
        let run = try scratchRun()
        defer { try? FileManager.default.removeItem(at: run.url) }
        let ps = smallParameters()
        let state = TrainerState(stage: "test", step: 10, rng: RandomGenerator(seed: 0))
        try Checkpoint.save(to: run, config: config, parameters: ps, trainerState: state)
        let good = ps.map(\.value)
        ps[1].value[flat: 2] = .infinity
        var later = state
        later.step = 15
        #expect(throws: NonFiniteWeightsError.self) {
            try Checkpoint.save(to: run, config: config, parameters: ps, trainerState: later)
        }
        #expect(try Checkpoint.loadTrainerState(from: run).step == 10)
        let reloaded = smallParameters()
        try Checkpoint.loadModel(from: run, into: reloaded)
        #expect(reloaded.map(\.value) == good)
    }

    @Test func loadingRefusesNonFiniteWeightsNamingTheTensor() throws {
        let run = try scratchRun()
        defer { try? FileManager.default.removeItem(at: run.url) }
        let ps = smallParameters()
        var norm = ps[1].value
        norm[flat: 0] = .nan
        try SafeTensors.encode(
            [(name: ps[0].name, tensor: ps[0].value), (name: ps[1].name, tensor: norm)],
            metadata: ["format": "pt"]
        ).write(to: run.model)
        do {
            try Checkpoint.loadModel(from: run, into: smallParameters())
            Issue.record("a model with NaN weights loaded")
        } catch let error as NonFiniteWeightsError {
            #expect(error.description.contains("model.norm.weight"))
            #expect(error.description.contains(run.model.path))
        }
    }
}
