import Datasets
import Foundation
import Training
import Models
import NN
import TensorCore
import Tokenizers

/// The alignment half of the demo — labelled data, reward model, PPO, DPO, GRPO — as functions
/// of the SFT model, so each stage can also be rerun on a saved SFT run.
extension DemoPipeline {
    /// What every alignment stage starts from.
    public struct AlignmentContext {
        public let sft: Transformer
        public let template: ChatTemplate
        public let evaluator: DemoEvaluator
        public let padToken: Int32
        public let parameters: Parameters
        public var endOfTurn: Int32 { template.endOfTurnID }

        public init(
            sft: Transformer, template: ChatTemplate, evaluator: DemoEvaluator, padToken: Int32,
            parameters: Parameters
        ) {
            self.sft = sft
            self.template = template
            self.evaluator = evaluator
            self.padToken = padToken
            self.parameters = parameters
        }

        /// A rendered single-turn prompt.
        func render(_ prompt: String) -> [Int32] {
            template.renderPrompt([ChatMessage(role: .user, content: prompt)])
        }
    }

    /// Simulated labelers' rankings of SFT samples, as reward-model comparisons and DPO pairs,
    /// split into a training part and a held-out part (the same prompts for both).
    public struct LabelledData {
        public var comparisons: [RewardModelTraining.Comparison] = []
        public var heldOutComparisons: [RewardModelTraining.Comparison] = []
        public var pairs: [PreferenceTraining.Pair] = []
        public var heldOutPairs: [PreferenceTraining.Pair] = []
        /// The task and the verifier's scores of each held-out comparison (same order).
        public var heldOutDetails: [LabelledDetail] = []
        /// The best and the worst answer of each held-out comparison by the verifier (the truth).
        public var heldOutTruthPairs: [PreferenceTraining.Pair] = []
        public var labelerAgreement = Double.nan
        public var count: Int { comparisons.count + heldOutComparisons.count }
    }

    /// Samples `responsesPerPrompt` answers per prompt from the SFT model and has the simulated
    /// labelers rank them. Prompts whose answers are all equally good teach nothing and are skipped.
    public static func labelledData(_ c: AlignmentContext) -> LabelledData {
        let p = c.parameters
        var labeler = SimulatedLabeler(noise: p.labelerNoise, seed: p.seed, grading: p.labelerGrading)
        var rng = RandomGenerator(seed: p.seed ^ 0x5EED)
        let records = DemoTasks.rlPrompts(seed: p.seed ^ 0xAB, count: p.rewardPrompts)
        var comparisons: [RewardModelTraining.Comparison] = []
        var pairs: [PreferenceTraining.Pair] = []
        var details: [LabelledDetail] = []
        var truthPairs: [PreferenceTraining.Pair] = []
        let sampling = SamplingOptions(
            temperature: 1, maxNewTokens: p.maxNewTokens, stopTokens: [c.endOfTurn])
        for start in stride(from: 0, to: records.count, by: 16) {
            let part = Array(records[start..<min(start + 16, records.count)])
            let prompts = part.map { c.render($0.prompt) }
            let repeated = prompts.flatMap { [[Int32]](repeating: $0, count: p.responsesPerPrompt) }
            let generations = c.sft.generate(prompts: repeated, options: sampling, rng: &rng)
            for (i, record) in part.enumerated() {
                let group = Array(generations[(i * p.responsesPerPrompt)..<((i + 1) * p.responsesPerPrompt)])
                guard let task = DemoTasks.task(of: record.prompt) else { continue }
                // Labelers see each distinct answer once.
                var seen = Set<String>()
                var texts: [String] = [], completions: [[Int32]] = []
                for g in group {
                    let text = c.evaluator.text(g)
                    guard !text.isEmpty, seen.insert(text).inserted else { continue }
                    texts.append(text)
                    completions.append(g.tokens.last == c.endOfTurn ? g.tokens : g.tokens + [c.endOfTurn])
                }
                var scores = texts.map { DemoVerifier.score(task: task, prompt: record.prompt, response: $0) }
                if p.labelersRankDistinctGrades {
                    // Answers the labelers cannot tell apart are shown once: their order would be
                    // arbitrary, pairs the reward model can only get half right.
                    var grades = Set<Double>()
                    let keep = scores.indices.filter {
                        grades.insert(SimulatedLabeler.grade(scores[$0], p.labelerGrading)).inserted
                    }
                    texts = keep.map { texts[$0] }
                    completions = keep.map { completions[$0] }
                    scores = keep.map { scores[$0] }
                }
                let distinct = Set(scores.map { SimulatedLabeler.grade($0, p.labelerGrading) })
                guard texts.count >= 2, distinct.count >= 2 else { continue }
                let ranking = labeler.rank(task: task, prompt: record.prompt, responses: texts)
                comparisons.append(.init(prompt: prompts[i], responses: completions, ranking: ranking))
                details.append(LabelledDetail(task: task, scores: scores))
                pairs.append(
                    .init(
                        prompt: prompts[i], chosen: completions[ranking.first!],
                        rejected: completions[ranking.last!]))
                let ideal = SimulatedLabeler.idealRanking(
                    task: task, prompt: record.prompt, responses: texts, grading: p.labelerGrading)
                truthPairs.append(
                    .init(
                        prompt: prompts[i], chosen: completions[ideal.first!],
                        rejected: completions[ideal.last!]))
            }
        }
        let heldOut = max(1, comparisons.count / 5)
        return LabelledData(
            comparisons: Array(comparisons.dropLast(heldOut)),
            heldOutComparisons: Array(comparisons.suffix(heldOut)),
            pairs: Array(pairs.dropLast(heldOut)), heldOutPairs: Array(pairs.suffix(heldOut)),
            heldOutDetails: Array(details.suffix(heldOut)),
            heldOutTruthPairs: Array(truthPairs.suffix(heldOut)),
            labelerAgreement: labeler.agreementRate)
    }

    /// A reward model initialised from the SFT model, trained on the labelled comparisons.
    public static func trainRewardModel(
        _ c: AlignmentContext, data: LabelledData, progress: ProgressHandler? = nil
    ) throws
        -> (model: ScalarModel, summary: RewardModelTraining.Summary)
    {
        let p = c.parameters
        let rewardModel = ScalarModel(trunk: try c.sft.copy(), seed: p.seed)
        var rm = p.reward
        rm.seed = p.seed
        let summary = try RewardModelTraining.train(
            model: rewardModel, comparisons: data.comparisons,
            heldOut: data.heldOutComparisons, padToken: c.padToken,
            parameters: rm, progress: progress)
        return (rewardModel, summary)
    }

    /// Training prompts for PPO and GRPO (never held out).
    static func reinforcementPrompts(_ c: AlignmentContext) -> (records: [PromptRecord], tokens: [[Int32]]) {
        let records = DemoTasks.rlPrompts(seed: c.parameters.seed ^ 0xCD, count: c.parameters.rlPromptCount)
        return (records, records.map { c.render($0.prompt) })
    }

    /// PPO from the SFT model against `rewardModel`; rollouts also log the verifier's accuracy.
    public static func trainPPO(
        _ c: AlignmentContext, rewardModel: ScalarModel, progress: ProgressHandler? = nil
    ) throws
        -> (policy: Transformer, history: [[String: Double]])
    {
        let p = c.parameters
        let (records, tokens) = reinforcementPrompts(c)
        let models = PPO.Models(
            policy: try c.sft.copy(), reference: c.sft, reward: rewardModel, value: try rewardModel.copy())
        var ppo = p.ppo
        ppo.seed = p.seed
        let history = try PPO.train(
            models, prompts: tokens, endOfTurn: c.endOfTurn, padToken: c.padToken, parameters: ppo,
            inspect: { rollout in
                let correct = zip(rollout.promptIndices, rollout.completions).filter { i, g in
                    DemoVerifier.score(prompt: records[i].prompt, response: c.evaluator.text(g))?.correct
                        ?? false
                }.count
                return ["accuracy": Double(correct) / Double(rollout.completions.count)]
            }, progress: progress)
        return (models.policy, history)
    }

    /// DPO from the SFT model on the labelers' best/worst pairs (with `lora`, adapters on it,
    /// returned attached); also the implicit reward's accuracy on the held-out pairs ordered by
    /// the verifier.
    public static func trainDPO(_ c: AlignmentContext, data: LabelledData, progress: ProgressHandler? = nil)
        throws
        -> (policy: Transformer, history: [[String: Double]], heldOutAccuracy: Double)
    {
        let p = c.parameters
        let policy = try c.sft.copy()
        if let lora = p.lora { try policy.attachLoRA(lora, seed: p.seed ^ 0xD0) }
        var dpo = p.dpo
        dpo.seed = p.seed
        // With adapters the reference is the policy with them bypassed (`baseScoreTargets`), as
        // `rlhf dpo --lora-rank` does: one copy of the SFT weights.
        let history = try PreferenceTraining.train(
            policy: policy, reference: policy.hasLoRA ? policy : c.sft, pairs: data.pairs,
            padToken: c.padToken, parameters: dpo, progress: progress)
        let accuracy = PreferenceTraining.implicitRewardAccuracy(
            policy: policy, reference: c.sft, pairs: data.heldOutTruthPairs,
            padToken: c.padToken)
        return (policy, history, accuracy)
    }

    /// GRPO from the SFT model with the verifier as reward: 1 per correct answer plus
    /// `grpoPartialCredit` × its partial credit.
    public static func trainGRPO(_ c: AlignmentContext, progress: ProgressHandler? = nil) throws
        -> (policy: Transformer, history: [[String: Double]])
    {
        let p = c.parameters
        let (records, tokens) = reinforcementPrompts(c)
        let policy = try c.sft.copy()
        var grpo = p.grpo
        grpo.seed = p.seed
        let history = try GRPO.train(
            policy: policy, reference: c.sft, prompts: tokens, endOfTurn: c.endOfTurn, padToken: c.padToken,
            parameters: grpo,
            reward: { i, g in
                let s = DemoVerifier.score(prompt: records[i].prompt, response: c.evaluator.text(g))
                return (s?.correct ?? false ? 1 : 0) + p.grpoPartialCredit * (s?.quality ?? 0)
            }, progress: progress)
        return (policy, history)
    }
}
