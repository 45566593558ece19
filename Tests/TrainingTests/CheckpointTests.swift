import Foundation
import Models
import NN
import TensorCore
import Testing
@testable import Training

private func runDirectory() throws -> RunDirectory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
    let run = RunDirectory(url)
    try run.create()
    return run
}

private let config = ModelConfig(
    family: .llama, vocabSize: 8, hiddenSize: 4, layerCount: 1, headCount: 2,
    intermediateSize: 8, contextLength: 16)

/// A stand-in parameter list with HF names (the checkpoint code only sees `[Parameter]`).
private func parameters(seed: UInt64) -> [Parameter] {
    var rng = RandomGenerator(seed: seed)
    func t(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() })
    }
    return [
        Parameter(name: "model.embed_tokens.weight", value: t([8, 4]), decays: true),
        Parameter(name: "model.layers.0.self_attn.q_proj.weight", value: t([4, 4]), decays: true),
        Parameter(name: "model.norm.weight", value: t([4]), decays: false),
    ]
}

private func fakeBackward(_ ps: [Parameter], seed: UInt64) {
    var rng = RandomGenerator(seed: seed)
    for p in ps {
        p.grad = Tensor(shape: p.shape, scalars: (0..<p.value.count).map { _ in rng.nextNormal() * 0.1 })
    }
}

private struct PPOPayload: Codable, Equatable {
    var klCoefficient: Double
    var rolloutRNG: RandomGenerator
}

@Test func checkpointRoundTripResumesExactly() throws {
    let run = try runDirectory()
    defer { try? FileManager.default.removeItem(at: run.url) }
    let ps = parameters(seed: 1)
    var optimizer = Adam.adamW(weightDecay: 0.1)
    for step in 0..<3 {
        fakeBackward(ps, seed: UInt64(step))
        optimizer.step(ps, learningRate: 0.01)
    }
    var rng = RandomGenerator(seed: 99)
    _ = rng.next()
    var state = TrainerState(
        stage: "ppo", step: 3, epoch: 1, dataPosition: 48, rng: rng,
        schedule: .cosine(peak: 0.01, warmupSteps: 1, totalSteps: 10), bestMetric: 2.5,
        bestMetricName: "eval_loss",
        lossHistory: [.init(step: 1, loss: 3), .init(step: 2, loss: .nan), .init(step: 3, loss: 2.5)],
        stepGuard: StepGuard(maxConsecutiveSkips: 4))
    try state.setPayload(PPOPayload(klCoefficient: 0.05, rolloutRNG: RandomGenerator(seed: .max)))
    let score = Tensor(shape: [1, 4], scalars: [0.5, -0.5, 0.25, 1])
    try Checkpoint.save(
        to: run, config: config, parameters: ps, extraTensors: [("score.weight", score)],
        optimizer: optimizer, trainerState: state)
    #expect(
        Set(try FileManager.default.contentsOfDirectory(atPath: run.url.path))
            == ["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"])
    #expect(try SafeTensors(contentsOf: run.model).metadata["format"] == "pt")
    #expect(try run.loadConfig() == config)

    // Load into a freshly initialised model and a fresh optimizer.
    let loaded = parameters(seed: 2)
    var restored = Adam.adamW(weightDecay: 0.1)
    let (loadedState, extras) = try Checkpoint.resume(
        from: run, parameters: loaded,
        extraTensors: [("score.weight", [1, 4])], optimizer: &restored)
    #expect(extras == [score])
    #expect(zip(ps, loaded).allSatisfy { $0.value == $1.value })
    var expectedState = state
    expectedState.optimizer = "adamw"
    #expect(loadedState.step == 3 && loadedState.rng == rng && loadedState.schedule == state.schedule)
    #expect(loadedState.lossHistory[1].loss.isNaN && loadedState.lossHistory[2] == state.lossHistory[2])
    #expect(
        try loadedState.payload(as: PPOPayload.self)
            == PPOPayload(klCoefficient: 0.05, rolloutRNG: RandomGenerator(seed: .max)))
    #expect(restored.stepCount == 3)

    // The next step is bit-identical to the uninterrupted run's.
    fakeBackward(ps, seed: 3)
    fakeBackward(loaded, seed: 3)
    optimizer.step(ps, learningRate: 0.01)
    restored.step(loaded, learningRate: 0.01)
    #expect(zip(ps, loaded).allSatisfy { $0.value == $1.value })
}

@Test func loadingNamesMissingUnexpectedAndMisshapedTensors() throws {
    let run = try runDirectory()
    defer { try? FileManager.default.removeItem(at: run.url) }
    try Checkpoint.save(to: run, config: config, parameters: parameters(seed: 1))
    let wrong = [
        Parameter(name: "model.embed_tokens.weight", value: Tensor(shape: [8, 4]), decays: true),
        Parameter(
            name: "model.layers.0.self_attn.q_proj.weight", value: Tensor(shape: [2, 4]), decays: true),
        Parameter(name: "model.layers.0.mlp.up_proj.weight", value: Tensor(shape: [8, 4]), decays: true),
    ]
    do {
        try Checkpoint.loadModel(from: run, into: wrong)
        Issue.record("expected a mismatch error")
    } catch let error as TensorMismatchError {
        #expect(error.missing == ["model.layers.0.mlp.up_proj.weight"])
        #expect(error.unexpected == ["model.norm.weight"])
        #expect(
            error.misshaped == [
                .init(name: "model.layers.0.self_attn.q_proj.weight", expected: [2, 4], actual: [4, 4])
            ])
        #expect(error.description.contains("model.safetensors does not match the model"))
        #expect(
            error.description.contains(
                "mis-shaped tensor model.layers.0.self_attn.q_proj.weight: expected shape [2, 4], found [4, 4]"
            ))
    }
    // Nothing was loaded into the parameters on failure.
    #expect(wrong[0].value == Tensor(shape: [8, 4]))
}

@Test func optimizerStateIsValidatedOnLoad() throws {
    let run = try runDirectory()
    defer { try? FileManager.default.removeItem(at: run.url) }
    let ps = parameters(seed: 1)
    fakeBackward(ps, seed: 0)
    var adamw = Adam.adamW()
    adamw.step(ps, learningRate: 0.1)
    try Checkpoint.save(
        to: run, config: config, parameters: ps, optimizer: adamw,
        trainerState: TrainerState(stage: "pretrain", step: 1, rng: RandomGenerator(seed: 1)))
    var sgd = SGD(momentum: 0.9)
    #expect { try Checkpoint.loadOptimizer(from: run, into: &sgd, parameters: ps) } throws: { error in
        "\(error)".contains("holds adamw state; this run uses sgd_momentum")
    }
    var other = Adam.adamW()
    #expect {
        try Checkpoint.loadOptimizer(from: run, into: &other, parameters: Array(ps.prefix(2)))
    } throws: { error in
        "\(error)".contains("unexpected tensors (2): model.norm.weight.exp_avg, model.norm.weight.exp_avg_sq")
    }
}

@Test func corruptFilesGiveErrorsNamingTheFile() throws {
    let run = try runDirectory()
    defer { try? FileManager.default.removeItem(at: run.url) }
    let ps = parameters(seed: 1)
    try Checkpoint.save(
        to: run, config: config, parameters: ps,
        trainerState: TrainerState(stage: "sft", rng: RandomGenerator(seed: 1)))
    var bytes = try Data(contentsOf: run.model)
    bytes[0] = 0xFF; bytes[5] = 0x7F  // absurd header length
    try bytes.write(to: run.model)
    #expect { try Checkpoint.loadModel(from: run, into: ps) } throws: { error in
        let text = "\(error)"
        return text.contains(run.model.path) && text.contains("header length")
    }
    try Data("{\"stage\": \"sft\"}".utf8).write(to: run.trainerState)
    #expect { try Checkpoint.loadTrainerState(from: run) } throws: { error in
        "\(error)".contains("trainer_state.json: invalid trainer state: missing field step")
    }
}

@Test func interruptedSaveLeavesTheOldCheckpointAndIsCleanedUp() throws {
    let run = try runDirectory()
    defer { try? FileManager.default.removeItem(at: run.url) }
    let old = parameters(seed: 1)
    try Checkpoint.save(
        to: run, config: config, parameters: old,
        trainerState: TrainerState(stage: "pretrain", step: 10, rng: RandomGenerator(seed: 1)))
    // Killed after writing the temporaries, before the commit journal: old checkpoint stays.
    let new = parameters(seed: 2)
    let pending = try Checkpoint.stage(
        to: run, config: config, parameters: new,
        trainerState: TrainerState(stage: "pretrain", step: 20, rng: RandomGenerator(seed: 2)))
    #expect(
        try FileManager.default.contentsOfDirectory(atPath: run.url.path).filter {
            $0.hasPrefix(".tmp-checkpoint-")
        }.count == 3)
    let fresh = parameters(seed: 3)
    try Checkpoint.loadModel(from: run, into: fresh)
    #expect(zip(fresh, old).allSatisfy { $0.value == $1.value })
    #expect(try Checkpoint.loadTrainerState(from: run).step == 10)
    #expect(
        try FileManager.default.contentsOfDirectory(atPath: run.url.path).allSatisfy {
            !$0.hasPrefix(".tmp-")
        })
    _ = pending
}

@Test func saveInterruptedAfterCommitIsRolledForward() throws {
    let run = try runDirectory()
    defer { try? FileManager.default.removeItem(at: run.url) }
    try Checkpoint.save(
        to: run, config: config, parameters: parameters(seed: 1),
        trainerState: TrainerState(stage: "pretrain", step: 10, rng: RandomGenerator(seed: 1)))
    let new = parameters(seed: 2)
    let pending = try Checkpoint.stage(
        to: run, config: config, parameters: new,
        trainerState: TrainerState(stage: "pretrain", step: 20, rng: RandomGenerator(seed: 2)))
    // Killed after the journal was written and the first rename happened: a torn state on disk
    // (new config, old model and trainer state) that recovery must complete.
    let journal = Checkpoint.Journal(id: pending.id, files: pending.files)
    try JSONEncoder().encode(journal).write(to: run.file(Checkpoint.journalName))
    try AtomicFileWriter.rename(run.file(pending.files[0].temporary), to: run.file(pending.files[0].final))

    #expect(try Checkpoint.recover(in: run) == .rolledForward(id: pending.id))
    let fresh = parameters(seed: 3)
    try Checkpoint.loadModel(from: run, into: fresh)
    #expect(zip(fresh, new).allSatisfy { $0.value == $1.value })
    #expect(try Checkpoint.loadTrainerState(from: run).step == 20)
    #expect(
        Set(try FileManager.default.contentsOfDirectory(atPath: run.url.path))
            == ["config.json", "model.safetensors", "trainer_state.json"])
    #expect(try Checkpoint.recover(in: run) == .clean)
}

/// Simulates `kill -9` at every point of a save: after staging (no journal) and after each
/// rename of a committed save. Every time, loading sees exactly the old or exactly the new
/// checkpoint, never a mix.
@Test(arguments: [-1, 0, 1, 2, 3, 4])
func killAtAnyPointLeavesOldOrNewCheckpoint(renamesDone: Int) throws {
    let run = try runDirectory()
    defer { try? FileManager.default.removeItem(at: run.url) }
    let old = parameters(seed: 1), new = parameters(seed: 2)
    var oldOptimizer = SGD(momentum: 0.9), newOptimizer = SGD(momentum: 0.9)
    fakeBackward(old, seed: 1)
    oldOptimizer.step(old, learningRate: 0.1)
    fakeBackward(new, seed: 2)
    for _ in 0..<2 { newOptimizer.step(new, learningRate: 0.1) }
    try Checkpoint.save(
        to: run, config: config, parameters: old, optimizer: oldOptimizer,
        trainerState: TrainerState(stage: "pretrain", step: 1, rng: RandomGenerator(seed: 1)))
    let pending = try Checkpoint.stage(
        to: run, config: config, parameters: new, optimizer: newOptimizer,
        trainerState: TrainerState(stage: "pretrain", step: 2, rng: RandomGenerator(seed: 2)))
    #expect(
        pending.files.map(\.final) == [
            "config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json",
        ])
    if renamesDone >= 0 {
        try JSONEncoder().encode(Checkpoint.Journal(id: pending.id, files: pending.files)).write(
            to: run.file(Checkpoint.journalName))
        for entry in pending.files.prefix(renamesDone) {
            try AtomicFileWriter.rename(run.file(entry.temporary), to: run.file(entry.final))
        }
    }
    let loaded = parameters(seed: 3)
    var optimizer = SGD(momentum: 0.9)
    let (state, _) = try Checkpoint.resume(from: run, parameters: loaded, optimizer: &optimizer)
    let expected = renamesDone >= 0 ? new : old
    #expect(state.step == (renamesDone >= 0 ? 2 : 1))
    #expect(optimizer.stepCount == (renamesDone >= 0 ? 2 : 1))
    #expect(zip(loaded, expected).allSatisfy { $0.value == $1.value })
    #expect(
        Set(try FileManager.default.contentsOfDirectory(atPath: run.url.path))
            == ["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"])
}
