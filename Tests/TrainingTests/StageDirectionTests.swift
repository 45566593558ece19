import Foundation
import Models
import NN
import TensorCore
import Testing
@testable import Training

/// Stage loops move their objective the right way on a tiny random model with a synthetic
/// reward: the reward of sampled completions must rise.
@Suite struct StageDirectionTests {
    static let config = ModelConfig(
        vocabSize: 16, hiddenSize: 32, layerCount: 2, headCount: 2, contextLength: 24)
    static let eot: Int32 = 15, pad: Int32 = 14
    static let prompts: [[Int32]] = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [2, 4]]

    /// Fraction of generated tokens equal to 3 (the behaviour the reward asks for).
    static func targetRate(_ model: Transformer, seed: UInt64) -> Double {
        var rng = RandomGenerator(seed: seed)
        let gens = model.generate(
            prompts: Array(repeating: prompts, count: 8).flatMap { $0 },
            options: SamplingOptions(temperature: 1, maxNewTokens: 6, stopTokens: [eot]), rng: &rng)
        let tokens = gens.flatMap(\.tokens)
        return Double(tokens.filter { $0 == 3 }.count) / Double(max(tokens.count, 1))
    }

    /// A reward model (from `trunk`) trained for a few steps to score completions of token 3 above
    /// others; returns it with its accuracy on its training comparisons.
    static func rewardModelPreferringToken3(trunk: Transformer) throws -> (ScalarModel, Double) {
        let rewardModel = ScalarModel(trunk: try trunk.copy(), seed: 3)
        var rm = RewardModelTraining.Parameters()
        rm.optimization = OptimizationSettings(learningRate: 3e-3, steps: 40)
        let comparisons = prompts.flatMap { p in
            (0..<4).map { k in
                RewardModelTraining.Comparison(
                    prompt: p, responses: [[3, 3, eot], [Int32(5 + k), 6, eot]], ranking: [0, 1])
            }
        }
        let summary = try RewardModelTraining.train(
            model: rewardModel, comparisons: comparisons, heldOut: comparisons,
            padToken: pad, parameters: rm)
        return (rewardModel, summary.heldOutAccuracy)
    }

    @Test func grpoRaisesTheVerifierReward() throws {
        let policy = try Transformer(config: Self.config, seed: 1)
        let reference = try policy.copy()
        let before = Self.targetRate(policy, seed: 99)
        var p = GRPO.Parameters()
        p.steps = 25
        p.promptsPerStep = 4
        p.groupSize = 8
        p.maxNewTokens = 6
        p.optimization.learningRate = 3e-3
        p.klCoefficient = 0.01
        try GRPO.train(
            policy: policy, reference: reference, prompts: Self.prompts, endOfTurn: Self.eot,
            padToken: Self.pad,
            parameters: p,
            reward: { _, g in
                Double(g.tokens.filter { $0 == 3 }.count) / Double(max(g.tokens.count, 1))
            })
        let after = Self.targetRate(policy, seed: 99)
        #expect(after > before + 0.2, "rate of the rewarded token: \(before) → \(after)")
    }

    @Test func ppoRaisesTheRewardModelScore() throws {
        // A "reward model" whose score is high when the last hidden state looks like token 3's:
        // trained for a few steps to score rows ending in 3 above others, then frozen.
        let policy = try Transformer(config: Self.config, seed: 2)
        let (rewardModel, heldOutAccuracy) = try Self.rewardModelPreferringToken3(trunk: policy)
        #expect(heldOutAccuracy > 0.9)

        let models = PPO.Models(
            policy: policy, reference: try policy.copy(), reward: rewardModel, value: try rewardModel.copy())
        var p = PPO.Parameters()
        p.steps = 15
        p.promptsPerStep = 16
        p.miniBatchSize = 8
        p.maxNewTokens = 6
        p.klCoefficient = 0.01
        p.unfinished = .keepScore
        p.policyOptimization.learningRate = 2e-3
        p.valueOptimization.learningRate = 2e-3
        let history = try PPO.train(
            models, prompts: Self.prompts, endOfTurn: Self.eot, padToken: Self.pad, parameters: p)
        let early = history.prefix(3).map { $0["reward"]! }.reduce(0, +) / 3
        let late = history.suffix(3).map { $0["reward"]! }.reduce(0, +) / 3
        #expect(late > early, "PPO reward \(early) → \(late)")
        #expect(history.allSatisfy { $0["kl"]!.isFinite })
    }
}
