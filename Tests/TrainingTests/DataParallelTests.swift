import Datasets
import Demo
import Foundation
import Models
import NN
import TensorCore
import Testing
import Tokenizers
@testable import Training

/// Data parallelism: ranks that each train on their share of the global batch and sum their
/// gradients take the same steps as one process on the whole batch.
@Suite struct DataParallelTests {
    /// Runs `body` once per rank of an in-process group, each on its own thread (not a shared
    /// pool: a rank blocked in a collective must not keep another rank from running).
    static func onRanks<T: Sendable>(_ size: Int, _ body: @escaping @Sendable (any Communicator) throws -> T)
        throws -> [T]
    {
        let group = LocalGroup(size: size)
        let results = ResultBox<T>(count: size)
        let done = DispatchSemaphore(value: 0)
        for rank in 0..<size {
            let thread = Thread {
                results.set(rank, Result { try body(group.communicator(rank: rank)) })
                done.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<size { done.wait() }
        return try results.values()
    }

    /// Rank 0's per-step numbers and final weights against the single-process run's.
    static func expectSameRun(
        steps single: [Double], _ parallel: [Double], weights: [NN.Parameter], _ rankWeights: [[Float]],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(single.count == parallel.count, sourceLocation: sourceLocation)
        for (i, (x, y)) in zip(single, parallel).enumerated() {
            #expect(abs(x - y) < 1e-5, "step \(i + 1): \(x) vs \(y)", sourceLocation: sourceLocation)
        }
        for (x, w) in zip(weights, rankWeights) {
            let worst = zip(x.value.scalars, w).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "\(x.name) differs by \(worst)", sourceLocation: sourceLocation)
        }
    }

    @Test func localGroupSumsAndBroadcastsInRankOrder() throws {
        let out = try Self.onRanks(3) { c -> ([Float], [Double], [Float]) in
            var f = (0..<7).map { Float($0 + 1) * Float(c.rank + 1) }
            f.withUnsafeMutableBufferPointer { c.allReduceSum($0) }
            let d = c.allReduceSum([Double(c.rank), 0.5])
            var b = [Float](repeating: Float(c.rank), count: 5)
            b.withUnsafeMutableBufferPointer { c.broadcast($0, root: 1) }
            c.barrier()
            return (f, d, b)
        }
        for (f, d, b) in out {
            #expect(f == (0..<7).map { Float($0 + 1) * 6 })
            #expect(d == [3, 1.5])
            #expect(b == [Float](repeating: 1, count: 5))
        }
        #expect(SingleProcess().share(of: 5) == 0..<5)
        #expect(try Self.onRanks(2) { $0.share(of: 5) } == [0..<2, 2..<5])
    }

    /// The gradient of one data-parallel step equals the single-process gradient, with micro-
    /// batches whose rows have very different numbers of targets (so per-rank normalisation would
    /// be wrong) and a micro-batch with fewer rows than ranks.
    @Test func stepGradientEqualsSingleProcess() throws {
        let config = ModelConfig(
            vocabSize: 50, hiddenSize: 16, layerCount: 2, headCount: 2, contextLength: 12)
        var rng = RandomGenerator(seed: 4)
        func row(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % 50) } }
        let a = SequenceBatch(
            rows: [row(12), row(11), row(3), row(4)],
            targetMasks: [
                [Bool](repeating: true, count: 12), [Bool](repeating: true, count: 11),
                [false, false, true], [false, true, true, false],
            ], padToken: 0)
        let b = SequenceBatch(rows: [row(7)], padToken: 0)
        let micro = [a, b]

        let single = try Transformer(config: config, seed: 1)
        let expected = LanguageModelTraining.accumulate(model: single, microBatches: micro)
        let ranks = try Self.onRanks(2) { c -> (Double, Int, [[Float]]) in
            let model = try Transformer(config: config, seed: 1)
            let r = LanguageModelTraining.accumulate(model: model, microBatches: micro, communicator: c)
            return (r.loss, r.tokens, model.parameters.map { $0.grad.scalars })
        }
        for (loss, tokens, grads) in ranks {
            #expect(tokens == expected.tokens)
            #expect(abs(loss - expected.loss) < 1e-6)
            for (p, g) in zip(single.parameters, grads) {
                let scale = max(p.grad.scalars.map(abs).max() ?? 0, 1e-6)
                let worst = zip(p.grad.scalars, g).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-4 * scale, "\(p.name): gradients differ by \(worst) (largest \(scale))")
            }
        }
        #expect(ranks[0].2 == ranks[1].2, "every rank ends with the same summed gradient")
    }

    /// Pretraining with two ranks sharing one run directory follows the single-process run:
    /// same losses, same final weights, one metrics log written by rank 0.
    @Test func pretrainingFollowsSingleProcess() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rlhf-dp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let documents = DemoTasks.pretrainingDocuments(seed: 3, byteCount: 40_000)
        let tokenizer = try BPETrainer.train(texts: documents, parameters: .init(vocabularySize: 300))
        let config = ModelConfig(
            vocabSize: tokenizer.vocabularySize, hiddenSize: 32, layerCount: 2, headCount: 2,
            contextLength: 32)
        var p = Pretraining.Parameters()
        p.optimization = OptimizationSettings(learningRate: 3e-3, steps: 8, warmupSteps: 2)
        p.batchSize = 5
        p.checkpointInterval = 4
        p.evaluationInterval = 4
        p.evaluationBatches = 2
        let parameters = p

        let single = RunDirectory(root.appendingPathComponent("single"))
        try single.create()
        let data = try Pretraining.prepare(
            documents: documents, tokenizer: tokenizer, run: single, validationFraction: 0.1)
        let a = try Pretraining.train(
            model: try Transformer(config: config, seed: 9), tokenizer: tokenizer, data: data,
            run: single, parameters: p, resume: false)

        let shared = RunDirectory(root.appendingPathComponent("parallel"))
        try shared.create()
        let ranks = try Self.onRanks(2) { [parameters] c -> [Double] in
            let d = try Pretraining.prepare(
                documents: c.isRoot ? documents : [], tokenizer: tokenizer, run: shared,
                validationFraction: 0.1, communicator: c)
            // Rank 1 starts from other weights: rank 0's are broadcast before the first step.
            let s = try Pretraining.train(
                model: try Transformer(config: config, seed: 9 + UInt64(c.rank)), tokenizer: tokenizer,
                data: d, run: shared, parameters: parameters, resume: false, communicator: c)
            return s.history.map { $0["loss"]! }
        }
        #expect(ranks[0] == ranks[1])
        for (x, y) in zip(a.history.map { $0["loss"]! }, ranks[0]) { #expect(abs(x - y) < 1e-5) }
        #expect(try MetricsLog.read(shared.metrics).count == 8)

        let wa = try ModelRunWeights.load(single, config: config)
        let wb = try ModelRunWeights.load(shared, config: config)
        for (x, y) in zip(wa, wb) {
            let worst = zip(x.value.scalars, y.value.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "\(x.name) differs by \(worst)")
        }
    }

    /// DPO with the pairs of each step split over 2 ranks takes the single-process steps (the
    /// loss is a mean over pairs: each rank's gradient is weighted by its share, 2 of 5 or 3 of 5).
    @Test(arguments: [PreferenceObjective.Loss.dpo(beta: 0.1), .simpo(beta: 2, gamma: 0.5)])
    func preferenceStepsFollowSingleProcess(loss: PreferenceObjective.Loss) throws {
        let config = ModelConfig(
            vocabSize: 40, hiddenSize: 16, layerCount: 1, headCount: 2, contextLength: 16)
        var rng = RandomGenerator(seed: 8)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(1 + rng.next() % 39) } }
        let pairs = (0..<9).map { i in
            PreferenceTraining.Pair(
                prompt: tokens(2 + i % 3), chosen: tokens(1 + i % 4), rejected: tokens(2 + i % 2))
        }
        var p = PreferenceTraining.Parameters()
        p.loss = loss
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 3, warmupSteps: 0)
        p.pairsPerStep = 5
        let parameters = p

        let single = try Transformer(config: config, seed: 3)
        let a = try PreferenceTraining.train(
            policy: single, reference: try single.copy(), pairs: pairs, padToken: 0,
            parameters: parameters)
        let ranks = try Self.onRanks(2) { c -> ([Double], [[Float]]) in
            let policy = try Transformer(config: config, seed: 3)
            let h = try PreferenceTraining.train(
                policy: policy, reference: try policy.copy(), pairs: pairs, padToken: 0,
                parameters: parameters, communicator: c)
            return (
                h.map { $0["loss"]! + 10 * $0["reward_accuracy"]! }, policy.parameters.map(\.value.scalars)
            )
        }
        #expect(ranks[0].1 == ranks[1].1, "the replicas stay identical")
        // Loss and reward accuracy (weighted means over the ranks' pairs) as one number per step.
        Self.expectSameRun(
            steps: a.map { $0["loss"]! + 10 * $0["reward_accuracy"]! }, ranks[0].0,
            weights: single.parameters, ranks[0].1)
    }

    /// KTO on 2 ranks (5 examples per step, split 2/3) follows one process: the reference point
    /// comes from the whole step's mismatched pairs, the loss from all examples.
    @Test func ktoFollowsSingleProcess() throws {
        let config = ModelConfig(
            vocabSize: 40, hiddenSize: 16, layerCount: 1, headCount: 2, contextLength: 16)
        var rng = RandomGenerator(seed: 13)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(1 + rng.next() % 39) } }
        let examples = (0..<8).map { i in
            KTOTraining.Example(
                prompt: tokens(2 + i % 3), completion: tokens(1 + i % 4), desirable: i % 3 != 0)
        }
        var p = KTOTraining.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 3, warmupSteps: 0)
        p.examplesPerStep = 5
        let parameters = p

        let single = try Transformer(config: config, seed: 4)
        let a = try KTOTraining.train(
            policy: single, reference: try single.copy(), examples: examples, padToken: 0,
            parameters: parameters)
        let ranks = try Self.onRanks(2) { c -> ([Double], [[Float]]) in
            let policy = try Transformer(config: config, seed: 4)
            let h = try KTOTraining.train(
                policy: policy, reference: try policy.copy(), examples: examples, padToken: 0,
                parameters: parameters, communicator: c)
            return (
                h.map { $0["loss"]! + 10 * $0["reward_accuracy"]! + $0["kl"]! + $0["reward_margin"]! },
                policy.parameters.map(\.value.scalars)
            )
        }
        #expect(ranks[0].1 == ranks[1].1, "the replicas stay identical")
        // Loss, accuracy, reference point and margin as one number per step.
        Self.expectSameRun(
            steps: a.map { $0["loss"]! + 10 * $0["reward_accuracy"]! + $0["kl"]! + $0["reward_margin"]! },
            ranks[0].0, weights: single.parameters, ranks[0].1)
    }

    /// A reward model trained on 2 ranks (rankings of 2 and 3 responses split 3/3 of 6 per step)
    /// follows the single-process run: losses, pair accuracy and final weights.
    @Test func rewardModelFollowsSingleProcess() throws {
        let config = ModelConfig(
            vocabSize: 40, hiddenSize: 16, layerCount: 1, headCount: 2, contextLength: 16)
        var rng = RandomGenerator(seed: 11)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(1 + rng.next() % 39) } }
        let comparisons = (0..<10).map { i in
            RewardModelTraining.Comparison(
                prompt: tokens(2 + i % 3), responses: (0..<(2 + i % 2)).map { tokens(1 + (i + $0) % 4) },
                ranking: i % 2 == 0 ? [1, 0] : [2, 0, 1])
        }
        var p = RewardModelTraining.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 3, warmupSteps: 0)
        p.comparisonsPerStep = 6
        p.evaluationInterval = 0
        let parameters = p

        let single = ScalarModel(trunk: try Transformer(config: config, seed: 5), seed: 6)
        let a = try RewardModelTraining.train(
            model: single, comparisons: comparisons, heldOut: [], padToken: 0, parameters: parameters)
        let ranks = try Self.onRanks(2) { c -> ([Double], [[Float]]) in
            let model = ScalarModel(trunk: try Transformer(config: config, seed: 5), seed: 6)
            let s = try RewardModelTraining.train(
                model: model, comparisons: comparisons, heldOut: [], padToken: 0,
                parameters: parameters, communicator: c)
            return (
                s.history.map { $0["loss"]! + 10 * $0["accuracy"]! }, model.parameters.map(\.value.scalars)
            )
        }
        #expect(ranks[0].1 == ranks[1].1, "the replicas stay identical")
        Self.expectSameRun(
            steps: a.history.map { $0["loss"]! + 10 * $0["accuracy"]! }, ranks[0].0,
            weights: single.parameters, ranks[0].1)
    }

    /// GRPO on 2 ranks (two groups each, rollouts sampled per rank) raises the verifier reward as
    /// the single-process direction test does, and the replicas stay identical.
    @Test func grpoOnTwoRanksRaisesTheReward() throws {
        let before = StageDirectionTests.targetRate(
            try Transformer(config: StageDirectionTests.config, seed: 1), seed: 99)
        var p = GRPO.Parameters()
        p.steps = 25
        p.promptsPerStep = 4
        p.groupSize = 8
        p.maxNewTokens = 6
        p.optimization.learningRate = 3e-3
        p.klCoefficient = 0.01
        let parameters = p
        let ranks = try Self.onRanks(2) { c -> (Double, [Double], [[Float]]) in
            let policy = try Transformer(config: StageDirectionTests.config, seed: 1)
            let history = try GRPO.train(
                policy: policy, reference: try policy.copy(), prompts: StageDirectionTests.prompts,
                endOfTurn: StageDirectionTests.eot, padToken: StageDirectionTests.pad, parameters: parameters,
                reward: { _, g in Double(g.tokens.filter { $0 == 3 }.count) / Double(max(g.tokens.count, 1))
                },
                communicator: c)
            return (
                StageDirectionTests.targetRate(policy, seed: 99), history.map { $0["reward"]! + $0["kl"]! },
                policy.parameters.map(\.value.scalars)
            )
        }
        #expect(ranks[0].2 == ranks[1].2, "the replicas stay identical")
        #expect(ranks[0].1 == ranks[1].1, "every rank reports the same (global) metrics")
        #expect(ranks[0].0 > before + 0.2, "rate of the rewarded token: \(before) → \(ranks[0].0)")
    }

    /// PPO on 2 ranks (prompts, minibatches and the ptx batch split by owner; whitening moments,
    /// token counts and metrics over both) raises the reward-model score like the single-process
    /// direction test, and policy and value replicas stay identical.
    @Test func ppoOnTwoRanksRaisesTheScore() throws {
        let cfg = StageDirectionTests.config, eot = StageDirectionTests.eot, pad = StageDirectionTests.pad
        let base = try Transformer(config: cfg, seed: 2)
        let (rewardModel, _) = try StageDirectionTests.rewardModelPreferringToken3(trunk: base)
        var p = PPO.Parameters()
        p.steps = 15
        p.promptsPerStep = 16
        p.miniBatchSize = 8
        p.maxNewTokens = 6
        p.klCoefficient = 0.01
        p.unfinished = .keepScore
        p.policyOptimization.learningRate = 2e-3
        p.valueOptimization.learningRate = 2e-3
        p.ptxCoefficient = 0.1
        let parameters = p
        nonisolated(unsafe) let shared = (base: base, reward: rewardModel)
        let ranks = try Self.onRanks(2) { c -> ([Double], [[Float]]) in
            let policy = try shared.base.copy()
            let models = PPO.Models(
                policy: policy, reference: try shared.base.copy(), reward: try shared.reward.copy(),
                value: try shared.reward.copy())
            var ptxStep = 0
            let history = try PPO.train(
                models, prompts: StageDirectionTests.prompts, endOfTurn: eot, padToken: pad,
                parameters: parameters,
                pretrainingBatch: {
                    ptxStep += 1
                    return SequenceBatch(
                        rows: [[1, 2, 3, 4], [4, 5, 6], [Int32(1 + ptxStep % 9), 2, 2]], padToken: pad)
                },
                communicator: c)
            #expect(history.allSatisfy { $0["kl"]!.isFinite && $0["ptx_loss"]!.isFinite })
            return (
                history.map { $0["reward"]! },
                (policy.parameters + models.value.parameters).map(\.value.scalars)
            )
        }
        #expect(ranks[0].1 == ranks[1].1, "policy and value replicas stay identical")
        #expect(ranks[0].0 == ranks[1].0, "every rank reports the same (global) reward")
        let early = ranks[0].0.prefix(3).reduce(0, +) / 3, late = ranks[0].0.suffix(3).reduce(0, +) / 3
        #expect(late > early, "PPO reward \(early) → \(late)")
    }

    @Test func batchSmallerThanRanksIsRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rlhf-dp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let documents = DemoTasks.pretrainingDocuments(seed: 3, byteCount: 10_000)
        let tokenizer = try BPETrainer.train(texts: documents, parameters: .init(vocabularySize: 280))
        let run = RunDirectory(root)
        try run.create()
        nonisolated(unsafe) let data = try Pretraining.prepare(
            documents: documents, tokenizer: tokenizer, run: run,
            validationFraction: 0.1)
        var p = Pretraining.Parameters()
        p.batchSize = 2
        let errors = try Self.onRanks(3) { [p] c -> String in
            let config = ModelConfig(
                vocabSize: tokenizer.vocabularySize, hiddenSize: 16, layerCount: 1, headCount: 2,
                contextLength: 16)
            do {
                _ = try Pretraining.train(
                    model: try Transformer(config: config, seed: 1), tokenizer: tokenizer, data: data,
                    run: run, parameters: p, resume: false, communicator: c)
                return ""
            } catch { return "\(error)" }
        }
        for e in errors { #expect(e.contains("--batch-size 2 is smaller than the 3 ranks"), "\(e)") }
    }
}

/// Results written by rank threads, read after they all finished.
final class ResultBox<T: Sendable>: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, any Error>) { lock.lock(); slots[i] = r; lock.unlock() }
    func values() throws -> [T] {
        lock.lock(); defer { lock.unlock() }
        return try slots.map { try $0!.get() }
    }
}
