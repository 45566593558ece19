import Foundation
import Models
import NN
import TensorCore
import Testing
@testable import Training

/// The options of issue 13 on a tiny random model: IPO/ORPO/KTO move the right way, sampling
/// temperature is used for every log-prob, GRPO's truncated completions get no loss, PPO's reward
/// normalisation is fitted to mean 0 / std 1 on the SFT rollouts.
@Suite struct StageOptionsTests {
    typealias D = StageDirectionTests
    static let good: [Int32] = [3, 3, D.eot], bad: [Int32] = [5, 6, D.eot]

    /// Summed log-prob of `completion` after every prompt, one value per prompt.
    static func logProbs(_ model: Transformer, _ completion: [Int32]) -> [Double] {
        let batch = SequenceBatch(
            prompts: D.prompts, completions: D.prompts.map { _ in completion }, padToken: D.pad)
        return SequenceLogProbs(
            logProbs: model.scoreTargets(batch), mask: batch.mask, batchSize: batch.batchSize,
            length: batch.length
        ).sums
    }

    static func margin(_ model: Transformer) -> Double {
        zip(logProbs(model, good), logProbs(model, bad)).map { $0 - $1 }.reduce(0, +)
            / Double(D.prompts.count)
    }

    func preferenceRaisesTheMargin(_ loss: PreferenceObjective.Loss) throws {
        let policy = try Transformer(config: D.config, seed: 4)
        let reference = try policy.copy()
        let before = Self.margin(policy)
        var p = PreferenceTraining.Parameters()
        p.loss = loss
        p.optimization = OptimizationSettings(learningRate: 3e-3, steps: 15)
        p.pairsPerStep = 4
        let pairs = D.prompts.map {
            PreferenceTraining.Pair(prompt: $0, chosen: Self.good, rejected: Self.bad)
        }
        try PreferenceTraining.train(
            policy: policy, reference: reference, pairs: pairs, padToken: D.pad, parameters: p)
        let after = Self.margin(policy)
        #expect(after > before + 1, "\(loss): log π(chosen) − log π(rejected) \(before) → \(after)")
    }

    @Test func ipoRaisesTheMargin() throws { try preferenceRaisesTheMargin(.ipo(beta: 0.1)) }
    @Test func orpoRaisesTheMargin() throws { try preferenceRaisesTheMargin(.orpo(lambda: 0.1)) }
    @Test func hingeRaisesTheMargin() throws { try preferenceRaisesTheMargin(.hinge(beta: 0.1)) }
    @Test func robustRaisesTheMargin() throws {
        try preferenceRaisesTheMargin(.robust(beta: 0.1, labelSmoothing: 0.1))
    }

    @Test func ktoRaisesTheDesirableLikelihood() throws {
        let policy = try Transformer(config: D.config, seed: 5)
        let reference = try policy.copy()
        let before = Self.logProbs(policy, Self.good).reduce(0, +)
        let badBefore = Self.logProbs(policy, Self.bad).reduce(0, +)
        var p = KTOTraining.Parameters()
        p.optimization = OptimizationSettings(learningRate: 3e-3, steps: 15)
        p.examplesPerStep = 8
        let examples = D.prompts.flatMap {
            [
                KTOTraining.Example(prompt: $0, completion: Self.good, desirable: true),
                KTOTraining.Example(prompt: $0, completion: Self.bad, desirable: false),
            ]
        }
        try KTOTraining.train(
            policy: policy, reference: reference, examples: examples, padToken: D.pad, parameters: p)
        let after = Self.logProbs(policy, Self.good).reduce(0, +)
        let badAfter = Self.logProbs(policy, Self.bad).reduce(0, +)
        #expect(after > before + 1, "log π(desirable): \(before) → \(after)")
        #expect(badAfter < badBefore, "log π(undesirable): \(badBefore) → \(badAfter)")
    }

    /// With a learning rate too small to move the weights, the policy that is updated is the one
    /// that sampled: ratio ≡ 1 and KL to the (identical) reference 0 — only if every log-prob is
    /// taken at the sampling temperature.
    @Test func grpoLogProbsUseTheSamplingTemperature() throws {
        let policy = try Transformer(config: D.config, seed: 6)
        var p = GRPO.Parameters()
        p.steps = 1
        p.promptsPerStep = 2
        p.groupSize = 4
        p.maxNewTokens = 5
        p.temperature = 0.6
        p.epochs = 2
        p.optimization.learningRate = 1e-12
        p.klCoefficient = 0.1
        let history = try GRPO.train(
            policy: policy, reference: try policy.copy(), prompts: D.prompts, endOfTurn: D.eot,
            padToken: D.pad, parameters: p, reward: { i, _ in Double(i) })
        let m = history[0]
        #expect(abs(m["ratio"]! - 1) < 1e-5, "ratio \(m["ratio"]!)")
        #expect(abs(m["kl"]!) < 1e-6, "kl \(m["kl"]!)")
        #expect(m["clip_fraction"]! == 0)
    }

    @Test func ppoLogProbsUseTheSamplingTemperature() throws {
        let policy = try Transformer(config: D.config, seed: 7)
        let reward = ScalarModel(trunk: try policy.copy(), seed: 3)
        let models = PPO.Models(
            policy: policy, reference: try policy.copy(), reward: reward, value: try reward.copy())
        var p = PPO.Parameters()
        p.steps = 1
        p.promptsPerStep = 4
        p.miniBatchSize = 4
        p.epochs = 1
        p.maxNewTokens = 5
        p.temperature = 0.6
        p.policyOptimization.learningRate = 1e-12
        p.valueOptimization.learningRate = 1e-12
        let m = try PPO.train(models, prompts: D.prompts, endOfTurn: D.eot, padToken: D.pad, parameters: p)[0]
        #expect(abs(m["approx_kl"]!) < 1e-6, "approx_kl \(m["approx_kl"]!)")
        #expect(abs(m["kl"]!) < 1e-6, "kl \(m["kl"]!)")
        #expect(m["clip_fraction"]! == 0)
    }

    /// Truncated completions (no end token within maxNewTokens) get no loss: with every
    /// completion truncated there is nothing to train on, so the weights do not move; without the
    /// mask they do.
    @Test func grpoMasksTruncatedCompletions() throws {
        func run(mask: Bool) throws -> (changed: Bool, metrics: [String: Double]) {
            let policy = try Transformer(config: D.config, seed: 8)
            let before = policy.parameters.map { $0.value.scalars }
            var p = GRPO.Parameters()
            p.steps = 1
            p.promptsPerStep = 2
            p.groupSize = 4
            p.maxNewTokens = 3
            p.maskTruncatedCompletions = mask
            p.optimization.learningRate = 1e-2
            p.klCoefficient = 0
            // An end token that is never sampled in practice: the vocabulary has no id 99, so
            // every completion runs to maxNewTokens.
            let history = try GRPO.train(
                policy: policy, reference: try policy.copy(), prompts: D.prompts,
                endOfTurn: 99, padToken: D.pad, parameters: p,
                reward: { _, g in Double(g.tokens.first ?? 0) })
            let after = policy.parameters.map { $0.value.scalars }
            return (before != after, history[0])
        }
        let masked = try run(mask: true)
        #expect(!masked.changed)
        #expect(masked.metrics["finished_fraction"] == 0)
        #expect(try run(mask: false).changed)
    }

    /// A published model ends answers on more than one token (Llama 3: `<|eot_id|>` and
    /// `<|end_of_text|>`): rollouts stop on every one of them and count as finished. With every id
    /// of the vocabulary a stop token, each completion is one finished token.
    @Test func rolloutsStopOnEveryExtraStopToken() throws {
        let everyID = Set((0..<Int32(D.config.vocabSize)))
        let policy = try Transformer(config: D.config, seed: 10)
        var g = GRPO.Parameters()
        g.steps = 1
        g.promptsPerStep = 2
        g.groupSize = 4
        g.maxNewTokens = 4
        g.extraStopTokens = everyID
        let grpo = try GRPO.train(
            policy: policy, reference: try policy.copy(), prompts: D.prompts, endOfTurn: 99,
            padToken: D.pad, parameters: g, reward: { _, c in Double(c.tokens.count) })
        #expect(grpo[0]["finished_fraction"] == 1)
        let reward = ScalarModel(trunk: try policy.copy(), seed: 3)
        let models = PPO.Models(
            policy: policy, reference: try policy.copy(), reward: reward, value: try reward.copy())
        var p = PPO.Parameters()
        p.steps = 1
        p.promptsPerStep = 4
        p.miniBatchSize = 4
        p.maxNewTokens = 4
        p.extraStopTokens = everyID
        let ppo = try PPO.train(models, prompts: D.prompts, endOfTurn: 99, padToken: D.pad, parameters: p)
        #expect(ppo[0]["unfinished_fraction"] == 0)
        #expect(ppo[0]["completion_tokens"] == 1)
    }

    @Test func ppoRewardNormalizationIsFittedOnTheSFTRollouts() throws {
        let policy = try Transformer(config: D.config, seed: 9)
        let reward = ScalarModel(trunk: try policy.copy(), seed: 3)
        let models = PPO.Models(
            policy: policy, reference: try policy.copy(), reward: reward, value: try reward.copy())
        var p = PPO.Parameters()
        p.promptsPerStep = 8
        p.maxNewTokens = 5
        p.rewardNormalizationSamples = 32
        let fitted = PPO.fitRewardNormalization(
            models, prompts: D.prompts, endOfTurn: D.eot, padToken: D.pad, parameters: p)
        // The same rollouts again (same seed, same policy), scored by hand.
        var rng = RandomGenerator(seed: p.seed ^ 0x5EED_0F_5C0E)
        let drawn = (0..<32).map { _ in D.prompts[Int(rng.next() % UInt64(D.prompts.count))] }
        var sampleRNG = RandomGenerator(seed: p.seed ^ 0x5EED_0F_5C0E &+ 1)
        var raw: [Double] = []
        for start in stride(from: 0, to: 32, by: 8) {
            let part = Array(drawn[start..<start + 8])
            let gens = policy.generate(
                prompts: part, options: SamplingOptions(temperature: 1, maxNewTokens: 5, stopTokens: [D.eot]),
                rng: &sampleRNG)
            let batch = SequenceBatch(
                prompts: part, completions: gens.map { $0.completion(endOfTurn: D.eot) }, padToken: D.pad)
            raw += reward.sequenceScores(batch).map(Double.init)
        }
        let normalised = raw.map { fitted($0) }
        let mean = normalised.reduce(0, +) / 32
        let variance = normalised.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 32
        #expect(abs(mean) < 1e-6 && abs(variance - 1) < 1e-6, "mean \(mean), variance \(variance)")
        #expect(fitted.gain != 1)

        // Training reports the fitted map.
        p.steps = 1
        p.normalizeReward = true
        p.rewardClip = 0.5
        let m = try PPO.train(models, prompts: D.prompts, endOfTurn: D.eot, padToken: D.pad, parameters: p)[0]
        #expect(m["reward_gain"] == fitted.gain && m["reward_bias"] == fitted.bias)
        #expect(abs(m["reward"]!) <= 0.5, "clipped normalised score \(m["reward"]!)")
    }

    /// epochs > 1 with minibatches: every epoch takes one optimizer step per minibatch of the
    /// step's completions (2 prompts × 4 completions in minibatches of 3: 3 per epoch), and an
    /// update after the first sees a moved policy (ratio ≠ 1).
    @Test func grpoMinibatchesTakeOneStepEach() throws {
        let policy = try Transformer(config: D.config, seed: 10)
        var p = GRPO.Parameters()
        p.steps = 1
        p.promptsPerStep = 2
        p.groupSize = 4
        p.maxNewTokens = 4
        p.epochs = 2
        p.miniBatchSize = 3
        p.clipRangeHigh = 0.28
        p.optimization.learningRate = 1e-2
        let m = try GRPO.train(
            policy: policy, reference: try policy.copy(), prompts: D.prompts, endOfTurn: D.eot,
            padToken: D.pad, parameters: p, reward: { _, g in Double(g.tokens.count) })[0]
        #expect(m["optimizer_steps"] == 6)
        #expect(abs(m["ratio"]! - 1) > 1e-6, "ratio \(m["ratio"]!)")
        p.miniBatchSize = nil
        p.epochs = 1
        let whole = try GRPO.train(
            policy: try Transformer(config: D.config, seed: 10), reference: try policy.copy(),
            prompts: D.prompts, endOfTurn: D.eot, padToken: D.pad, parameters: p,
            reward: { _, g in Double(g.tokens.count) })[0]
        #expect(whole["optimizer_steps"] == 1)
        #expect(whole["ratio"] == 1)
    }

    /// The estimator reaches the stage: with a reward that is constant within each group, GRPO's
    /// group baseline leaves nothing to learn (weights unchanged without KL), while REINFORCE++
    /// (batch-whitened, no group baseline) does move the policy.
    @Test func grpoAdvantageEstimatorIsUsed() throws {
        func changes(_ estimator: GRPOObjective.AdvantageEstimator) throws -> Bool {
            let policy = try Transformer(config: D.config, seed: 11)
            let before = policy.parameters.map { $0.value.scalars }
            var p = GRPO.Parameters()
            p.steps = 1
            p.promptsPerStep = 4
            p.groupSize = 2
            p.maxNewTokens = 3
            p.klCoefficient = 0
            p.advantage = estimator
            p.optimization.learningRate = 1e-2
            try GRPO.train(
                policy: policy, reference: try policy.copy(), prompts: D.prompts, endOfTurn: D.eot,
                padToken: D.pad, parameters: p, reward: { i, _ in Double(i) })
            return policy.parameters.map { $0.value.scalars } != before
        }
        #expect(try !changes(.grpo))
        #expect(try !changes(.rloo))
        #expect(try changes(.reinforcePlusPlus))
    }
}
