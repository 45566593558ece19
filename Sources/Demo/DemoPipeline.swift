import Datasets
import Foundation
import Training
import Models
import NN
import TensorCore
import Tokenizers

/// `rlhf demo`: the whole InstructGPT-style pipeline on built-in, verifiable tasks —
/// tokenizer → n-gram baseline → pretraining → SFT → reward model from simulated labelers'
/// rankings → PPO, and DPO and GRPO from the same SFT model → a report. Every stage is a
/// library call; this file only wires them and measures each one on held-out data.
public enum DemoPipeline {
    /// The demo's data and model sizes, and each stage's own `Parameters` (their seeds are set
    /// from `seed` when the pipeline runs).
    public struct Parameters: Sendable {
        public var seed: UInt64 = 1

        // Data.
        public var corpusBytes = 1_000_000
        public var vocabularySize = 600
        public var sftExamples = 4000
        /// Prompts whose SFT samples the labelers rank (3400 rankings; more pairs for DPO, while the
        /// reward model is no better with 3× the data: docs/demo-learning.md).
        public var rewardPrompts = 4800
        public var responsesPerPrompt = 4
        public var labelerNoise = 0.1
        public var labelerGrading = SimulatedLabeler.Grading.partialCredit
        /// Labelers rank one answer per grade (answers they cannot tell apart are shown once).
        public var labelersRankDistinctGrades = false
        /// Distinct training-part prompts PPO and GRPO draw their rollouts from.
        public var rlPromptCount = 2000
        /// Held-out prompts per task (fewer where a task's held-out space is smaller).
        public var evaluationPerTask = 300
        /// Longest answer sampled for labelling and evaluation.
        public var maxNewTokens = 14

        // Model.
        public var hiddenSize = 128
        public var layers = 4
        public var heads = 4
        public var contextLength = 96

        // Stages.
        public var pretraining = Parameters.optimization(learningRate: 3e-3, steps: 400, weightDecay: 0.05)
        public var pretrainBatch = 16
        public var sft: SupervisedFineTuning.Parameters = {
            var sft = SupervisedFineTuning.Parameters()
            sft.optimization = Parameters.optimization(learningRate: 2e-3, steps: 600)
            sft.batchSize = 32
            sft.packing = true
            return sft
        }()
        public var reward: RewardModelTraining.Parameters = {
            var reward = RewardModelTraining.Parameters()
            reward.optimization = Parameters.optimization(learningRate: 5e-4, steps: 600)
            return reward
        }()
        public var ppo: PPO.Parameters = {
            var ppo = PPO.Parameters()
            ppo.steps = 60
            ppo.maxNewTokens = 14
            // Rollouts of PPO and GRPO sample at 0.7 (their log-probs use the same temperature).
            ppo.temperature = 0.7
            ppo.klCoefficient = 0.1
            ppo.policyOptimization.learningRate = 5e-5
            ppo.valueOptimization.learningRate = 5e-4
            return ppo
        }()
        public var dpo: PreferenceTraining.Parameters = {
            var dpo = PreferenceTraining.Parameters()
            dpo.loss = .dpo(beta: PreferenceObjective.Loss.defaultBeta)
            // 300 steps: −0.3 points held out; 150: −1.2; β 0.3 at 1e-4: −2.1 (docs/demo-learning.md).
            dpo.optimization = OptimizationSettings(learningRate: 5e-5, steps: 300, warmupSteps: 3)
            return dpo
        }()
        public var grpo: GRPO.Parameters = {
            var grpo = GRPO.Parameters()
            // 500 steps at 2e-4: +4.8 points held out where 200 at 1e-4 gave +1.3 and 200 at
            // 3e-4 +0.3 (docs/demo-learning.md).
            grpo.steps = 500
            grpo.promptsPerStep = 8
            grpo.maxNewTokens = 14
            grpo.temperature = 0.7
            grpo.klCoefficient = 0.04
            grpo.optimization.learningRate = 2e-4
            // Dr. GRPO: with the std division, groups whose answers differ only by a little
            // partial credit get full-size advantages and the policy chases that noise.
            grpo.scaleByStandardDeviation = false
            return grpo
        }()
        /// Weight of the verifier's partial credit in GRPO's reward (1 per correct answer); 0:
        /// the reward is exactly what the held-out evaluation counts.
        public var grpoPartialCredit = 0.0
        /// RL stages not to run ("ppo", "dpo", "grpo"): for iterating on the others.
        public var skippedStages: Set<String> = []
        /// LoRA adapters instead of every weight for SFT and DPO (nil: full fine-tuning). SFT's
        /// adapters are folded into its model afterwards (as `rlhf merge`), so the reward model, PPO
        /// and GRPO start from a plain SFT model; DPO trains fresh adapters on it, its reference
        /// being the same model with them bypassed. A developer comparison (docs/lora.md).
        public var lora: LoRAConfig?
        /// Resets the process's peak resident size at the start of every stage, so each stage's
        /// `peak_rss_mb` is its own rather than the largest so far (Linux only).
        public var stagePeaks = false

        public init() {}

        /// Warmup over the first twentieth of the steps.
        static func optimization(learningRate: Float, steps: Int, weightDecay: Float? = nil)
            -> OptimizationSettings
        {
            var settings = OptimizationSettings(
                learningRate: learningRate, steps: steps,
                warmupSteps: steps / 20)
            if let weightDecay { settings.weightDecay = weightDecay }
            return settings
        }

        /// A scaled-down run for tests: minutes become seconds, directions must still show.
        public static var quick: Parameters {
            var p = Parameters()
            p.corpusBytes = 250_000
            p.vocabularySize = 400
            p.hiddenSize = 96
            p.layers = 3
            p.heads = 3
            p.contextLength = 64
            p.pretraining = optimization(learningRate: 3e-3, steps: 300, weightDecay: 0.05)
            p.sftExamples = 1500
            p.sft.optimization = Parameters.optimization(learningRate: 2e-3, steps: 300)
            p.rewardPrompts = 600
            p.reward.optimization = Parameters.optimization(learningRate: 5e-4, steps: 120)
            p.ppo.steps = 30
            // 40 steps: a larger step so the held-out pair ordering shows.
            p.dpo.optimization = OptimizationSettings(learningRate: 2e-4, steps: 40, warmupSteps: 3)
            p.grpo.steps = 40
            p.grpo.optimization.learningRate = 1e-4
            p.rlPromptCount = 400
            p.grpo.promptsPerStep = 16
            // The small SFT model answers few prompts exactly: partial credit gives GRPO a denser
            // signal, and the std scaling keeps its size when most of a group is wrong.
            p.grpoPartialCredit = 0.2
            p.grpo.scaleByStandardDeviation = true
            p.evaluationPerTask = 40
            return p
        }
    }

    /// Runs the pipeline, writing each stage's run directory under `output` and the report.
    /// With `reuseTrainedModels`, the base and SFT runs already in `output` (from an earlier run
    /// with the same parameters) are read instead of trained again: for iterating on the
    /// alignment stages.
    public static func run(
        output: URL, parameters p: Parameters, reuseTrainedModels: Bool = false,
        log: @escaping (String) -> Void = { _ in }, progress: ProgressHandler? = nil
    ) throws -> DemoReport {
        if reuseTrainedModels {
            return try runAlignment(output: output, parameters: p, log: log, progress: progress)
        }
        var report = DemoReport(parameters: p)
        let clock = Date()
        func lap(_ name: String, _ start: Date) {
            report.seconds[name] = Date().timeIntervalSince(start)
            log(String(format: "%@ done in %.1f s", name, Date().timeIntervalSince(start)))
        }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

        // 1. Tokenizer on the built-in corpus (held-out tail for evaluation).
        var t0 = Date()
        let documents = DemoTasks.pretrainingDocuments(seed: p.seed, byteCount: p.corpusBytes)
        let split = max(1, documents.count / 20)
        let trainText = documents.dropLast(split).joined(separator: "\n\n")
        let heldOutText = documents.suffix(split).joined(separator: "\n\n")
        let tokenizer = try BPETrainer.train(
            texts: [trainText], parameters: .init(vocabularySize: p.vocabularySize))
        let template = try ChatTemplate(tokenizer: tokenizer)
        let pad = try tokenizer.requireSpecialTokenID(SpecialTokens.pad)
        let eot = template.endOfTurnID
        let endOfText = try tokenizer.requireSpecialTokenID(SpecialTokens.endOfText)
        var stream: [Int32] = []
        for d in documents.dropLast(split) { stream += tokenizer.encode(d); stream.append(endOfText) }
        let heldOutTokens = tokenizer.encode(heldOutText)
        let heldOutBytes = heldOutText.utf8.count
        report.tokenizer = .init(
            vocabularySize: tokenizer.vocabularySize, trainTokens: stream.count,
            bytesPerToken: Double(trainText.utf8.count) / Double(stream.count))
        lap("tokenizer", t0)

        // 2. Counting baselines on the same tokens.
        t0 = Date()
        for order in [1, 2, 3] {
            let ngram = try NGramModel(
                order: order, vocabSize: tokenizer.vocabularySize, smoothing: .kneserNey(modified: true),
                sequences: [stream])
            let e = try ngram.evaluate(sequences: [heldOutTokens], byteCount: heldOutBytes)
            report.ngramBitsPerByte[order] = e.bitsPerByte ?? .nan
        }
        lap("ngram", t0)

        // 3. Pretraining.
        t0 = Date()
        let config = ModelConfig(
            family: .llama, vocabSize: tokenizer.vocabularySize, hiddenSize: p.hiddenSize,
            layerCount: p.layers, headCount: p.heads, contextLength: p.contextLength,
            bosTokenID: Int(endOfText), eosTokenID: Int(eot))
        let base = try Transformer(config: config, seed: p.seed)
        var stepper = OptimizerStepper(settings: p.pretraining)
        let sampler = try BatchSampler(
            seed: p.seed, batchSize: p.pretrainBatch, length: p.contextLength - 1,
            range: 0..<stream.count)
        let heldOutBatches = windows(heldOutTokens, length: p.contextLength, pad: pad)
        func bitsPerByte(_ model: Transformer) -> Double {
            let e = LanguageModelTraining.evaluate(model: model, batches: heldOutBatches)
            // Every held-out token but the first is scored once: nats over the bytes of the text.
            return e.nats * Double(heldOutTokens.count) / Double(max(e.tokens, 1)) / Double(heldOutBytes)
                / M_LN2
        }
        report.pretraining.initialBitsPerByte = bitsPerByte(base)
        report.pretraining.history = try LanguageModelTraining.train(
            model: base, settings: p.pretraining, stepper: &stepper, stage: "pretrain",
            nextBatch: { step, _ in
                streamBatch(sampler.batch(step: step, from: stream), rows: p.pretrainBatch, pad: pad)
            },
            progress: progress)
        report.pretraining.bitsPerByte = bitsPerByte(base)
        try save(base, tokenizer, to: output.appendingPathComponent("base"))
        lap("pretrain", t0)

        // 4. SFT on demonstrations.
        t0 = Date()
        let evaluator = DemoEvaluator(
            template: template,
            examples: DemoTasks.evaluationExamples(seed: p.seed, countPerTask: p.evaluationPerTask),
            maxNewTokens: p.maxNewTokens)
        report.base = evaluator.evaluate(base, padToken: pad)
        let demonstrations = DemoTasks.sftExamples(seed: p.seed, count: p.sftExamples).map {
            template.render($0.messages)
        }
        if p.stagePeaks { ResourceUsage.resetPeak() }
        let sft: Transformer
        (sft, report.sftHistory) = try trainSFT(
            base: base, demonstrations: demonstrations, padToken: pad, parameters: p, progress: progress)
        report.sft = evaluator.evaluate(sft, padToken: pad)
        // The later stages start from a plain model: adapters folded in (W += α/r·BA).
        if sft.hasLoRA { sft.mergeLoRA() }
        try save(sft, tokenizer, to: output.appendingPathComponent("sft"))
        lap("sft", t0)

        try alignmentStages(
            report: &report, output: output, sft: sft, tokenizer: tokenizer, evaluator: evaluator,
            log: log, progress: progress)
        report.seconds["total"] = Date().timeIntervalSince(clock)
        try report.write(to: output)
        return report
    }

    /// SFT of a copy of `base` on the rendered demonstrations: every weight, or with `p.lora` only
    /// fresh adapters (returned attached, `base` untouched either way).
    static func trainSFT(
        base: Transformer, demonstrations: [RenderedChat], padToken: Int32, parameters p: Parameters,
        progress: ProgressHandler?
    ) throws -> (model: Transformer, history: [[String: Double]]) {
        let sft = try base.copy()
        if let lora = p.lora { try sft.attachLoRA(lora, seed: p.seed) }
        var sftParameters = p.sft
        sftParameters.seed = p.seed
        let history = try SupervisedFineTuning.train(
            model: sft, examples: demonstrations, padToken: padToken,
            parameters: sftParameters, progress: progress)
        return (sft, history)
    }

    /// Stages 5–8 from the base and SFT runs an earlier `run` wrote to `output`.
    static func runAlignment(
        output: URL, parameters p: Parameters, log: @escaping (String) -> Void, progress: ProgressHandler?
    ) throws -> DemoReport {
        var report = DemoReport(parameters: p)
        let clock = Date()
        let base = try ModelRun.read(RunDirectory(output.appendingPathComponent("base")))
        let sftRun = try ModelRun.read(RunDirectory(output.appendingPathComponent("sft")))
        let template = try ChatTemplate(tokenizer: sftRun.tokenizer)
        let pad = try sftRun.tokenizer.requireSpecialTokenID(SpecialTokens.pad)
        let evaluator = DemoEvaluator(
            template: template,
            examples: DemoTasks.evaluationExamples(seed: p.seed, countPerTask: p.evaluationPerTask),
            maxNewTokens: p.maxNewTokens)
        report.base = evaluator.evaluate(base.model, padToken: pad)
        report.sft = evaluator.evaluate(sftRun.model, padToken: pad)
        try alignmentStages(
            report: &report, output: output, sft: sftRun.model, tokenizer: sftRun.tokenizer,
            evaluator: evaluator, log: log, progress: progress)
        report.seconds["total"] = Date().timeIntervalSince(clock)
        try report.write(to: output)
        return report
    }

    /// Stages 5–8: reward model, PPO, DPO and GRPO from `sft`, measured into `report`.
    static func alignmentStages(
        report: inout DemoReport, output: URL, sft: Transformer, tokenizer: Tokenizer,
        evaluator: DemoEvaluator, log: (String) -> Void, progress: ProgressHandler?
    ) throws {
        let p = report.parameters
        func lap(_ name: String, _ start: Date) {
            report.seconds[name] = Date().timeIntervalSince(start)
            log(String(format: "%@ done in %.1f s", name, Date().timeIntervalSince(start)))
        }
        let pad = try tokenizer.requireSpecialTokenID(SpecialTokens.pad)
        // 5. Reward model from simulated labelers ranking K sampled answers per prompt.
        var t0 = Date()
        if p.stagePeaks { ResourceUsage.resetPeak() }
        let context = AlignmentContext(
            sft: sft, template: evaluator.template, evaluator: evaluator, padToken: pad, parameters: p)
        let data = labelledData(context)
        let (rewardModel, rm) = try trainRewardModel(context, data: data, progress: progress)
        report.reward = .init(
            comparisons: data.count, heldOutAccuracy: rm.heldOutAccuracy,
            labelerAgreement: data.labelerAgreement, history: rm.history)
        try save(
            rewardModel.trunk, tokenizer, head: rewardModel.head, to: output.appendingPathComponent("reward"))
        report.rewardDiagnostics = rewardDiagnostics(
            model: rewardModel, data: data, padToken: pad, grading: p.labelerGrading)
        report.sft.reward = evaluator.evaluate(sft, rewardModel: rewardModel, padToken: pad).reward
        lap("reward", t0)

        // 6. PPO from SFT against the reward model.
        t0 = Date()
        if !p.skippedStages.contains("ppo") {
            if p.stagePeaks { ResourceUsage.resetPeak() }
            let ppo = try trainPPO(context, rewardModel: rewardModel, progress: progress)
            report.ppoHistory = ppo.history
            report.ppo = evaluator.evaluate(ppo.policy, rewardModel: rewardModel, padToken: pad)
            report.ppoKL = evaluator.klDivergence(policy: ppo.policy, reference: sft, padToken: pad)
            try save(ppo.policy, tokenizer, to: output.appendingPathComponent("ppo"))
            lap("ppo", t0)
        }

        // 7. DPO on the labelers' best/worst pairs, from SFT.
        t0 = Date()
        if !p.skippedStages.contains("dpo") {
            if p.stagePeaks { ResourceUsage.resetPeak() }
            let dpo = try trainDPO(context, data: data, progress: progress)
            report.dpoHistory = dpo.history
            report.dpoHeldOutAccuracy = dpo.heldOutAccuracy
            report.dpo = evaluator.evaluate(dpo.policy, rewardModel: rewardModel, padToken: pad)
            report.dpoKL = evaluator.klDivergence(policy: dpo.policy, reference: sft, padToken: pad)
            if dpo.policy.hasLoRA { dpo.policy.mergeLoRA() }
            try save(dpo.policy, tokenizer, to: output.appendingPathComponent("dpo"))
            lap("dpo", t0)
        }

        // 8. GRPO with the verifier as reward, from SFT.
        t0 = Date()
        if !p.skippedStages.contains("grpo") {
            if p.stagePeaks { ResourceUsage.resetPeak() }
            let grpo = try trainGRPO(context, progress: progress)
            report.grpoHistory = grpo.history
            report.grpo = evaluator.evaluate(grpo.policy, rewardModel: rewardModel, padToken: pad)
            report.grpoKL = evaluator.klDivergence(policy: grpo.policy, reference: sft, padToken: pad)
            try save(grpo.policy, tokenizer, to: output.appendingPathComponent("grpo"))
            lap("grpo", t0)
        }
    }

    /// (B, T+1) sampled windows as a batch whose every next token is a target.
    static func streamBatch(_ flat: [Int32], rows: Int, pad: Int32) -> SequenceBatch {
        let width = flat.count / rows
        return SequenceBatch(
            rows: (0..<rows).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }, padToken: pad)
    }

    /// Windows of `length` tokens every `length / 2` tokens covering `tokens`; each token is
    /// scored once, in the window where it has at least `length / 2` tokens of context (except
    /// at the very start), so the transformer is not judged on context-starved positions.
    static func windows(_ tokens: [Int32], length: Int, pad: Int32, rowsPerBatch: Int = 16) -> [SequenceBatch]
    {
        let stride = max(1, length / 2)
        var rows: [[Int32]] = [], masks: [[Bool]] = []
        var start = 0
        while start + 1 < tokens.count {
            let row = Array(tokens[start..<min(start + length, tokens.count)])
            // Token i of the row is scored when it was not scored by the previous window.
            let firstNew = start == 0 ? 1 : length - stride
            rows.append(row)
            masks.append(row.indices.map { $0 >= firstNew })
            if start + length >= tokens.count { break }
            start += stride
        }
        return Swift.stride(from: 0, to: rows.count, by: rowsPerBatch).map {
            let end = min($0 + rowsPerBatch, rows.count)
            return SequenceBatch(
                rows: Array(rows[$0..<end]), targetMasks: Array(masks[$0..<end]), padToken: pad)
        }
    }

    static func save(_ model: Transformer, _ tokenizer: Tokenizer, head: ScalarHead? = nil, to url: URL)
        throws
    {
        try ModelRun(directory: RunDirectory(url), model: model, tokenizer: tokenizer, scoreHead: head).save()
    }
}
