import Foundation
import Models
import NN
import TensorCore
import Testing
import Tokenizers
@testable import Training

/// Stages with LoRA adapters: only A and B learn, the base weights stay bit-identical, the frozen
/// reference is the same model with its adapters bypassed, and the saved adapter run reloads.
@Suite struct LoRATrainingTests {
    static func attach(_ model: Transformer, baseModel: String = "base") throws -> LoRAConfig {
        let config = LoRAConfig(
            rank: 4, alpha: 8, targets: LoRAConfig.defaultTargets(for: model.config.family),
            baseModel: baseModel)
        try model.attachLoRA(config, seed: 3)
        return config
    }

    /// Output projection and embeddings N(0, 0.5²) instead of 0.02²: behind the final norm, a
    /// frozen head that small bounds every logit by ≈0.6, so no adapter could lower the loss much.
    static func widenHead(_ model: Transformer, by factor: Float = 25) {
        for p in model.parameters where p.name.contains("embed") || p.name.contains("lm_head") {
            p.value = Tensor(shape: p.shape, scalars: p.value.scalars.map { $0 * factor })
        }
    }

    static func sftRows(_ d: StageData) throws -> [RenderedChat] {
        try d.sftExamples(
            from: StageDataFixture.file([
                #"{"prompt": "reverse: fox dog", "completion": "dog fox"}"#,
                #"{"messages": [{"role": "user", "content": "reverse: the lazy"}, {"role": "assistant", "content": "lazy the"}]}"#,
            ])
        ).rows
    }

    @Test func sftTrainsOnlyTheAdaptersAndTheLossFalls() throws {
        let d = StageDataFixture.data(context: 64)
        let model = try StageFromFiles.model(d)
        Self.widenHead(model)
        let base = model.parameters.map(\.value.scalars)
        _ = try Self.attach(model)
        let adapters = model.loraParameters.map(\.value.scalars)
        var p = SupervisedFineTuning.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 40)
        p.batchSize = 4
        let history = try SupervisedFineTuning.train(
            model: model, examples: try Self.sftRows(d), padToken: d.padToken,
            parameters: p)
        let first = history[0]["loss"]!, last = history.last!["loss"]!
        #expect(last < first * 0.6, "loss \(first) → \(last)")
        #expect(model.parameters.map(\.value.scalars) == base, "base weights changed")
        #expect(model.loraParameters.map(\.value.scalars) != adapters)
        #expect(model.projections.allSatisfy { !$0.weight.hasGradient })
    }

    /// DPO against the model itself with adapters bypassed: a tie at step 0 (B = 0), then the
    /// margin grows while the base stays put.
    @Test(arguments: [PreferenceObjective.Loss.dpo(beta: 0.1), .ipo(beta: 0.1), .simpo(beta: 2, gamma: 0.5)])
    func preferenceWithTheBaseAsReference(loss: PreferenceObjective.Loss) throws {
        let d = StageDataFixture.data(context: 64)
        let url = StageDataFixture.file([
            #"{"prompt": "p1", "chosen": "the fox", "rejected": "the dog"}"#,
            #"{"prompt": "p2", "responses": ["lazy dog", "quick fox", "dog"], "ranking": [1, 0, 2]}"#,
        ])
        let pairs = StageData.preferencePairs(try d.comparisons(from: url).rows)
        let policy = try StageFromFiles.model(d)
        let base = policy.parameters.map(\.value.scalars)
        _ = try Self.attach(policy)
        var p = PreferenceTraining.Parameters()
        p.loss = loss
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 15)
        p.pairsPerStep = 4
        let history = try PreferenceTraining.train(
            policy: policy, reference: loss.needsReference ? policy : nil,
            pairs: pairs, padToken: d.padToken, parameters: p)
        if loss.needsReference { #expect(history[0]["reward_margin"]! == 0) }
        #expect(
            history.last!["loss"]! < history[0]["loss"]!,
            "\(loss): \(history[0]["loss"]!) → \(history.last!["loss"]!)")
        #expect(policy.parameters.map(\.value.scalars) == base)
    }

    /// A LoRA run saves PEFT's two files (no base weights) and `ModelRun.read` of it loads the base
    /// from base_model_name_or_path plus the adapter: the same logits as the trained model.
    @Test func savedRunReloadsThroughItsBase() throws {
        let d = StageDataFixture.data(context: 64)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lora-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let baseDirectory = RunDirectory(root.appendingPathComponent("base"))
        let model = try StageFromFiles.model(d)
        try ModelRun(directory: baseDirectory, model: model, tokenizer: d.tokenizer).save()
        var run = try ModelRun.read(baseDirectory)
        run.lora = try Self.attach(run.model, baseModel: "../base")  // relative to the adapter directory
        var p = SupervisedFineTuning.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 5)
        p.batchSize = 2
        try SupervisedFineTuning.train(
            model: run.model, examples: try Self.sftRows(d), padToken: d.padToken,
            parameters: p)
        let out = RunDirectory(root.appendingPathComponent("adapter"))
        try run.derived(directory: out, model: run.model).save()
        #expect(out.hasLoRAAdapter && !out.hasModel)
        let tokens: [Int32] = [1, 5, 9, 3, 7, 2, 4, 8]
        let expected = run.model.forward(tokens: tokens, batchSize: 2, length: 4).scalars
        let reloaded = try ModelRun.read(out)
        #expect(reloaded.lora?.rank == 4 && reloaded.model.hasLoRA)
        #expect(reloaded.model.forward(tokens: tokens, batchSize: 2, length: 4).scalars == expected)
        // Merged (what `rlhf merge` writes): the same logits up to rounding, no adapters.
        reloaded.model.mergeLoRA()
        let merged = reloaded.model.forward(tokens: tokens, batchSize: 2, length: 4).scalars
        #expect(zip(merged, expected).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    /// KTO with the policy itself as reference (adapters bypassed) is the same run as with a
    /// separate copy of the base as reference, and leaves the base weights unchanged.
    @Test func ktoWithTheBaseAsReferenceEqualsASeparateCopy() throws {
        let config = ModelConfig(
            vocabSize: 40, hiddenSize: 16, layerCount: 1, headCount: 2, contextLength: 16)
        var rng = RandomGenerator(seed: 13)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(1 + rng.next() % 39) } }
        let examples = (0..<8).map { i in
            KTOTraining.Example(
                prompt: tokens(2 + i % 3), completion: tokens(1 + i % 4), desirable: i % 3 != 0)
        }
        var p = KTOTraining.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 6, warmupSteps: 0)
        p.examplesPerStep = 4
        let separate = try Transformer(config: config, seed: 4)
        let copy = try separate.copy()
        _ = try Self.attach(separate)
        let a = try KTOTraining.train(
            policy: separate, reference: copy, examples: examples, padToken: 0, parameters: p)
        let shared = try Transformer(config: config, seed: 4)
        let base = shared.parameters.map(\.value.scalars)
        _ = try Self.attach(shared)
        let b = try KTOTraining.train(
            policy: shared, reference: shared, examples: examples, padToken: 0, parameters: p)
        #expect(a.map { $0["loss"]! } == b.map { $0["loss"]! })
        #expect(a.map { $0["kl"]! } == b.map { $0["kl"]! })
        #expect(separate.loraParameters.map(\.value.scalars) == shared.loraParameters.map(\.value.scalars))
        #expect(shared.parameters.map(\.value.scalars) == base)
        #expect(b.last!["loss"]! != b[0]["loss"]!)
    }

    /// Reward model with adapters: the score head trains in full, the trunk's base stays put; the
    /// run saves as PEFT's SEQ_CLS adapter (score head in it) and reloads to the same scores.
    @Test func rewardModelTrainsAdaptersAndHead() throws {
        let d = StageDataFixture.data(context: 64)
        let words = ["the", "lazy", "dog", "brown", "over", "quick"]
        var lines: [String] = []
        for (i, w) in words.enumerated() {
            lines.append(
                #"{"prompt": "say something \#(i)", "chosen": "fox \#(w)", "rejected": "\#(w) dog"}"#)
        }
        let rows = try d.comparisons(from: StageDataFixture.file(lines)).rows
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lora-rm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let baseDirectory = RunDirectory(root.appendingPathComponent("sft"))
        try ModelRun(directory: baseDirectory, model: try StageFromFiles.model(d), tokenizer: d.tokenizer)
            .save()
        var run = try ModelRun.read(baseDirectory)
        let base = run.model.parameters.map(\.value.scalars)
        run.lora = try Self.attach(run.model, baseModel: baseDirectory.url.path)
        let rm = ScalarModel(trunk: run.model, seed: 2)
        #expect(rm.trainableParameters.count == run.model.loraParameters.count + 1)
        let head = rm.head.weight.value.scalars
        var p = RewardModelTraining.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 30)
        p.comparisonsPerStep = 4
        let before = RewardModelTraining.accuracy(model: rm, comparisons: rows, padToken: d.padToken)
        let summary = try RewardModelTraining.train(
            model: rm, comparisons: rows, heldOut: rows, padToken: d.padToken,
            parameters: p)
        #expect(summary.heldOutAccuracy > max(before, 0.8), "accuracy \(before) → \(summary.heldOutAccuracy)")
        #expect(run.model.parameters.map(\.value.scalars) == base)
        #expect(rm.head.weight.value.scalars != head)

        let out = RunDirectory(root.appendingPathComponent("rm"))
        try run.derived(directory: out, model: rm.trunk, scoreHead: rm.head).save()
        let config = try LoRAConfig.read(out.loraConfig)
        #expect(config.savesScoreHead)
        let reloaded = try ModelRun.read(out, scoreHead: true)
        let batch = SequenceBatch(rows: [[1, 5, 9, 3], [4, 8, 2]], padToken: d.padToken)
        #expect(reloaded.scalarModel!.sequenceScores(batch) == rm.sequenceScores(batch))
    }

    /// GRPO with adapters and the policy itself as KL reference: the rewarded token becomes more
    /// frequent, the base stays bit-identical.
    @Test func grpoTrainsAdaptersAgainstTheBase() throws {
        let policy = try Transformer(config: StageDirectionTests.config, seed: 1)
        Self.widenHead(policy, by: 5)  // sampling must stay diverse: a group of equal answers teaches nothing
        let before = StageDirectionTests.targetRate(policy, seed: 99)
        let base = policy.parameters.map(\.value.scalars)
        try policy.attachLoRA(
            LoRAConfig(
                rank: 8, alpha: 16, targets: LoRAConfig.defaultTargets(for: policy.config.family),
                baseModel: "b"), seed: 5)
        var p = GRPO.Parameters()
        p.steps = 25
        p.promptsPerStep = 4
        p.groupSize = 8
        p.maxNewTokens = 6
        p.optimization.learningRate = 2e-2
        p.klCoefficient = 0.01
        let history = try GRPO.train(
            policy: policy, reference: policy, prompts: StageDirectionTests.prompts,
            endOfTurn: StageDirectionTests.eot, padToken: StageDirectionTests.pad, parameters: p,
            reward: { _, g in Double(g.tokens.filter { $0 == 3 }.count) / Double(max(g.tokens.count, 1)) })
        #expect(history[0]["kl"]! == 0)
        #expect(StageDirectionTests.targetRate(policy, seed: 99) > before + 0.2)
        #expect(policy.parameters.map(\.value.scalars) == base)
    }

    /// PPO with adapters on the policy and on the value model (`--lora-rank … --value-lora`): the
    /// reference is the policy itself with its adapters bypassed, the frozen reward model is the
    /// value model's trunk with them bypassed; the reward rises, no base weight moves or gets a
    /// gradient, and the optimizers hold state for the adapters (and the value head) only.
    @Test func ppoTrainsAdaptersOnPolicyAndValue() throws {
        let policy = try Transformer(config: StageDirectionTests.config, seed: 2)
        let (reward, accuracy) = try StageDirectionTests.rewardModelPreferringToken3(trunk: policy)
        #expect(accuracy > 0.9)
        Self.widenHead(policy, by: 5)  // a frozen head of 0.02² weights leaves adapters little to move
        let separateReference = try policy.copy()
        let policyBase = policy.parameters.map(\.value.scalars)
        let trunkBase = reward.trunk.parameters.map(\.value.scalars)
        let rewardHead = reward.head.weight.value.scalars
        _ = try Self.attach(policy)
        _ = try Self.attach(reward.trunk)
        let value = reward.sharingTrunk()
        #expect(value.trunk === reward.trunk && value.head !== reward.head)
        let models = PPO.Models(policy: policy, reference: policy, reward: reward, value: value)
        var p = PPO.Parameters()
        p.steps = 15
        p.promptsPerStep = 16
        p.miniBatchSize = 8
        p.maxNewTokens = 6
        p.klCoefficient = 0.01
        p.unfinished = .keepScore
        p.policyOptimization.learningRate = 1e-2
        p.valueOptimization.learningRate = 1e-2

        // One step by hand: optimizer state exists for the adapters (and the value head) only.
        var state = PPO.State(parameters: p, rank: 0)
        let rollout = PPO.rollout(
            policy, prompts: StageDirectionTests.prompts, endOfTurn: StageDirectionTests.eot, state: &state,
            communicator: SingleProcess())
        let experience = PPO.score(
            rollout, models: models, prompts: StageDirectionTests.prompts, endOfTurn: StageDirectionTests.eot,
            padToken: StageDirectionTests.pad, klCoefficient: p.klCoefficient, parameters: p,
            communicator: SingleProcess())
        #expect(experience.shaped.meanKL == 0)  // B = 0: the policy is its base
        _ = try PPO.update(
            models, experience: experience, pretrainingBatch: nil, state: &state,
            communicator: SingleProcess())
        let policyMoments = try #require(state.policyStepper.optimizer as? Adam).moments.moments
        let valueMoments = try #require(state.valueStepper.optimizer as? Adam).moments.moments
        #expect(policyMoments.allSatisfy { $0.count == policy.loraParameters.count })
        #expect(valueMoments.allSatisfy { $0.count == value.trunk.loraParameters.count + 1 })

        let history = try PPO.train(
            models, prompts: StageDirectionTests.prompts, endOfTurn: StageDirectionTests.eot,
            padToken: StageDirectionTests.pad, parameters: p)
        let early = history.prefix(3).map { $0["reward"]! }.reduce(0, +) / 3
        let late = history.suffix(3).map { $0["reward"]! }.reduce(0, +) / 3
        #expect(late > early, "PPO reward \(early) → \(late)")
        #expect(policy.parameters.map(\.value.scalars) == policyBase)
        #expect(reward.trunk.parameters.map(\.value.scalars) == trunkBase)
        #expect(reward.head.weight.value.scalars == rewardHead)
        #expect(value.head.weight.value.scalars != rewardHead)
        #expect(!policy.parameters.contains { $0.hasGradient })
        // (The reward trunk's base has gradients from training the reward model: all still zero.)
        #expect(reward.trunk.parameters.allSatisfy { $0.grad.scalars.allSatisfy { $0 == 0 } })

        // The reference the run used is the base model's log-probs, bit for bit, while the
        // trained policy's own differ.
        let batch = SequenceBatch(rows: [[1, 2, 3, 3, 15], [4, 5, 3]], padToken: StageDirectionTests.pad)
        let baseLogProbs = separateReference.scoreTargets(batch)
        #expect(policy.baseScoreTargets(batch) == baseLogProbs)
        #expect(policy.scoreTargets(batch) != baseLogProbs)
    }

    /// GRPO honours --lora-dropout in its updates: the same run with dropout trains different
    /// adapters, from the same first rollouts, and leaves dropout off afterwards.
    @Test func grpoAppliesAdapterDropoutInUpdates() throws {
        func run(dropout: Float) throws -> (
            history: [[String: Double]], adapters: [[Float]], policy: Transformer
        ) {
            let policy = try Transformer(config: StageDirectionTests.config, seed: 1)
            Self.widenHead(policy, by: 5)
            try policy.attachLoRA(
                LoRAConfig(
                    rank: 4, alpha: 8, dropout: dropout,
                    targets: LoRAConfig.defaultTargets(for: policy.config.family), baseModel: "b"), seed: 5)
            var p = GRPO.Parameters()
            p.steps = 2
            p.promptsPerStep = 2
            p.groupSize = 4
            p.maxNewTokens = 4
            p.optimization.learningRate = 1e-2
            let history = try GRPO.train(
                policy: policy, reference: policy, prompts: StageDirectionTests.prompts,
                endOfTurn: StageDirectionTests.eot, padToken: StageDirectionTests.pad, parameters: p,
                reward: { _, g in Double(g.tokens.filter { $0 == 3 }.count) })
            return (history, policy.loraParameters.map(\.value.scalars), policy)
        }
        let plain = try run(dropout: 0), dropped = try run(dropout: 0.5)
        #expect(plain.history[0]["reward"] == dropped.history[0]["reward"])
        #expect(plain.adapters != dropped.adapters)
        #expect(dropped.policy.loraAdapters.allSatisfy { !$0.training })
    }

    /// SFT interrupted after step 3 and resumed in a fresh model (as a new process would) ends
    /// bit for bit where the uninterrupted run does: LoRA with dropout (adapters, their moments
    /// and dropout streams restored) and a full run.
    @Test(arguments: [true, false])
    func sftResumeEqualsUninterrupted(lora: Bool) throws {
        let d = StageDataFixture.data(context: 64)
        let rows = try Self.sftRows(d)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lora-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let config = LoRAConfig(
            rank: 4, alpha: 8, dropout: 0.2, targets: ["q_proj", "v_proj", "up_proj"], baseModel: "b")
        func fresh() throws -> Transformer {
            let model = try StageFromFiles.model(d)
            Self.widenHead(model)
            if lora { try model.attachLoRA(config, seed: 3) }
            return model
        }
        var p = SupervisedFineTuning.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 6, warmupSteps: 2)
        p.batchSize = 2
        p.seed = 7
        func train(_ model: Transformer, _ dir: String, stopAfter: Int? = nil, resume: Bool = false)
            throws -> [Double]
        {
            let c = SupervisedFineTuning.Checkpointing(
                run: RunDirectory(root.appendingPathComponent(dir)), interval: 2, stopAfterStep: stopAfter,
                resume: resume, lora: lora ? config : nil)
            return try SupervisedFineTuning.train(
                model: model, examples: rows, padToken: d.padToken, parameters: p, checkpointing: c
            ).map { $0["loss"]! }
        }
        let whole = try fresh()
        let wholeLosses = try train(whole, "whole")
        let first = try train(try fresh(), "cut", stopAfter: 3)
        #expect(first.count == 3)
        let resumed = try fresh()
        let rest = try train(resumed, "cut", resume: true)
        #expect(first + rest == wholeLosses)
        let trained = lora ? \Transformer.loraParameters : \Transformer.parameters
        #expect(
            resumed[keyPath: trained].map(\.value.scalars) == whole[keyPath: trained].map(\.value.scalars))
        if lora {
            // The checkpoint is the adapter run itself: PEFT's two files, no base weights.
            let cut = RunDirectory(root.appendingPathComponent("cut"))
            #expect(cut.hasLoRAAdapter && !cut.hasModel)
        }
    }

    /// A LoRA resume with other adapter settings (or another seed) is refused, naming each.
    @Test func sftResumeRefusesChangedAdapters() throws {
        let d = StageDataFixture.data(context: 64)
        let rows = try Self.sftRows(d)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lora-refuse-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = RunDirectory(root)
        let config = LoRAConfig(rank: 4, alpha: 8, targets: ["q_proj", "v_proj"], baseModel: "b")
        var p = SupervisedFineTuning.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 4)
        p.batchSize = 2
        func train(_ lora: LoRAConfig, seed: UInt64 = 0, resume: Bool) throws {
            let model = try StageFromFiles.model(d)
            try model.attachLoRA(lora, seed: 3)
            var q = p
            q.seed = seed
            try SupervisedFineTuning.train(
                model: model, examples: rows, padToken: d.padToken, parameters: q,
                checkpointing: .init(run: run, interval: 1, stopAfterStep: 2, resume: resume, lora: lora))
        }
        try train(config, resume: false)
        var changed = config
        changed.rank = 8
        #expect { try train(changed, resume: true) } throws: { "\($0)".contains("lora rank 4 → 8") }
        changed = config
        changed.alpha = 4
        #expect { try train(changed, resume: true) } throws: { "\($0)".contains("lora alpha 8.0 → 4.0") }
        changed = config
        changed.targets = ["q_proj"]
        #expect { try train(changed, resume: true) } throws: {
            "\($0)".contains("lora targets q_proj,v_proj → q_proj")
        }
        #expect { try train(config, seed: 5, resume: true) } throws: { "\($0)".contains("seed 0 → 5") }
        try train(config, resume: true)  // the same settings continue
    }

    /// `--frozen-dtype bf16`: the reference held in bf16 gives the fp32 reference's log-probs
    /// within bf16 tolerance.
    @Test func bf16FrozenReferenceLogProbs() throws {
        let d = StageDataFixture.data(context: 64)
        let model = try StageFromFiles.model(d)
        Self.widenHead(model, by: 5)
        let reference = try model.copy()
        reference.holdFrozenWeightsInBF16()
        let batch = SequenceBatch(rows: [[1, 5, 9, 3, 7, 2, 4, 8], [4, 8, 2, 6, 1]], padToken: d.padToken)
        let expected = model.scoreTargets(batch), got = reference.scoreTargets(batch)
        let error = zip(expected, got).map { abs($0 - $1) }.max()!
        #expect(
            error <= 0.05 && error > 0,
            "max |Δ log p| \(error); log-probs \(expected.min()!)…\(expected.max()!)")
    }
}
