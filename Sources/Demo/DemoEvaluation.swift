import Datasets
import Foundation
import Training
import Models
import TensorCore
import Tokenizers

/// Held-out measurements of a chat model on the demo tasks: accuracy by the verifier, the
/// reward model's score of its answers, and the KL it has spent relative to the SFT model.
public struct DemoEvaluator {
    public let template: ChatTemplate
    public let examples: [DemoExample]
    public let maxNewTokens: Int
    let prompts: [[Int32]]

    public init(template: ChatTemplate, examples: [DemoExample], maxNewTokens: Int) {
        self.template = template
        self.examples = examples
        self.maxNewTokens = maxNewTokens
        prompts = examples.map { template.renderPrompt([ChatMessage(role: .user, content: $0.prompt)]) }
    }

    /// The answer text of a generation (without the end-of-turn token).
    public func text(_ g: Generation) -> String {
        let body = g.tokens.filter { $0 != template.endOfTurnID }
        return (try? template.tokenizer.decodeText(body, skipSpecialTokens: true)) ?? ""
    }

    public struct Result: Sendable, Codable {
        public var accuracy: Double
        public var quality: Double
        public var accuracyByTask: [String: Double]
        /// Mean reward-model score of the greedy answers (nil without a reward model).
        public var reward: Double?
        public var samples: [String]
        /// Held-out prompts answered.
        public var promptCount = 0
        /// Whether each held-out prompt (the evaluator's order) was answered correctly: models
        /// are compared prompt by prompt (`pairedDifference`).
        public var correct: [Bool] = []
        /// What GRPO is trained on: 1 per correct answer plus 0.2 × partial credit.
        public var verifierReward: Double { accuracy + 0.2 * quality }
    }

    /// Greedy answers to every held-out prompt, verified; scored by `rewardModel` if given.
    public func evaluate(
        _ model: Transformer, rewardModel: ScalarModel? = nil, padToken: Int32, chunk: Int = 32
    ) -> Result {
        var rng = RandomGenerator(seed: 7)
        var generations: [Generation] = []
        for start in stride(from: 0, to: prompts.count, by: chunk) {
            let part = Array(prompts[start..<min(start + chunk, prompts.count)])
            generations += model.generate(
                prompts: part,
                options: SamplingOptions(
                    temperature: 0, maxNewTokens: maxNewTokens,
                    stopTokens: [template.endOfTurnID]), rng: &rng)
        }
        var correct = 0.0, quality = 0.0
        var byTask: [String: (Double, Double)] = [:]
        var samples: [String] = []
        var perPrompt: [Bool] = []
        for (e, g) in zip(examples, generations) {
            let answer = text(g)
            let s = DemoVerifier.score(task: e.task, prompt: e.prompt, response: answer)
            correct += s.correct ? 1 : 0
            perPrompt.append(s.correct)
            quality += s.quality
            byTask[e.task.rawValue, default: (0, 0)].0 += s.correct ? 1 : 0
            byTask[e.task.rawValue, default: (0, 0)].1 += 1
            if samples.count < 12, samples.allSatisfy({ !$0.hasPrefix(e.task.rawValue) }) || samples.count < 6
            {
                samples.append("\(e.task.rawValue): \(e.prompt) → \(answer)\(s.correct ? " ✓" : " ✗")")
            }
        }
        var reward: Double?
        if let rewardModel {
            var total = 0.0
            for start in stride(from: 0, to: prompts.count, by: chunk) {
                let idx = Array(start..<min(start + chunk, prompts.count))
                let batch = SequenceBatch(
                    prompts: idx.map { prompts[$0] },
                    completions: idx.map { generations[$0].completion(endOfTurn: template.endOfTurnID) },
                    padToken: padToken)
                let scores = rewardModel.sequenceScores(batch)
                total += scores.reduce(0) { $0 + Double($1) }
            }
            reward = total / Double(prompts.count)
        }
        let n = Double(max(examples.count, 1))
        return Result(
            accuracy: correct / n, quality: quality / n,
            accuracyByTask: byTask.mapValues { $0.0 / max($0.1, 1) }, reward: reward, samples: samples,
            promptCount: examples.count, correct: perPrompt)
    }

    /// Mean over held-out prompts of Σ_t (log π − log π_ref) on completions sampled from the
    /// policy at temperature 1: a Monte-Carlo estimate of KL(π ‖ π_ref) per answer.
    public func klDivergence(policy: Transformer, reference: Transformer, padToken: Int32, chunk: Int = 32)
        -> Double
    {
        var rng = RandomGenerator(seed: 11)
        var total = 0.0
        for start in stride(from: 0, to: prompts.count, by: chunk) {
            let part = Array(prompts[start..<min(start + chunk, prompts.count)])
            let gens = policy.generate(
                prompts: part,
                options: SamplingOptions(
                    temperature: 1, maxNewTokens: maxNewTokens,
                    stopTokens: [template.endOfTurnID]), rng: &rng)
            let batch = SequenceBatch(
                prompts: part, completions: gens.map { $0.completion(endOfTurn: template.endOfTurnID) },
                padToken: padToken)
            let lp = policy.scoreTargets(batch), ref = reference.scoreTargets(batch)
            for i in lp.indices where batch.mask[i] != 0 { total += Double(lp[i] - ref[i]) }
        }
        return total / Double(max(prompts.count, 1))
    }
}
