import ArgumentParser
import Datasets
import Foundation
import Models
import TensorCore
import Training

extension KLEstimator: ExpressibleByArgument {}

/// `rlhf ppo`: RLHF against a reward model, with a KL penalty to the frozen SFT model.
struct PPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract:
            "PPO against a reward model: policy from SFT, value model from the reward model, frozen SFT reference, optional pretraining mix (ptx).",
        discussion: """
            Started by `mpirun -np N`, the ranks split each step's prompts and every minibatch \
            (--rollout-batch stays the global number of prompts per step), each rank samples its own \
            rollouts, and rank 0 writes the output.
            """)

    @Option(
        help:
            "SFT run or Hugging Face model directory: the policy starts from it and it is the frozen reference."
    )
    var model: String?

    @Option(help: .hidden) var policy: String?  // the old name of --model

    @Option(
        help: "Reward-model run directory (with score.weight): frozen scorer and the value model's start.")
    var reward: String

    @Option(help: "Prompts, JSONL {\"prompt\"}.")
    var data: String?

    @Option(help: .hidden) var prompts: String?  // the old name of --data

    @Option(help: "Output run directory (the trained policy).")
    var out: String

    @Option(name: .customLong("kl-coef"), help: "β of the per-token KL penalty to the reference.")
    var klCoef: Double?

    @Option(
        name: .customLong("target-kl"),
        help: "Adapt β toward this KL per sequence (adaptive controller); default fixed β.")
    var targetKL: Double?

    @Option(
        name: .customLong("kl-estimator"),
        help: "Per-token KL estimator: k1 (log-ratio) or k3 (never negative).")
    var klEstimatorOption: KLEstimator?
    var klEstimator: KLEstimator { klEstimatorOption ?? PPO.Parameters().klEstimator }

    @Option(help: "Minibatch passes over each rollout batch.")
    var epochs: Int?

    @Option(
        name: .customLong("rollout-batch"),
        help: "Prompts sampled per rollout batch (default: --batch-size or 16).")
    var rolloutBatch: Int?

    @Option(help: "Rollouts per optimizer step.")
    var minibatch: Int?

    @Option(
        name: .customLong("max-new-tokens"),
        help: "Longest completion; completions that never end are penalised.")
    var maxNewTokensOption: Int?
    var maxNewTokens: Int { maxNewTokensOption ?? PPO.Parameters().maxNewTokens }

    @Option(
        name: .customLong("temperature"),
        help: "Sampling temperature (every log-prob is taken at the same temperature).")
    var temperatureOption: Float?
    var temperature: Float { temperatureOption ?? PPO.Parameters().temperature }

    @Option(
        name: .customLong("ptx-coef"), help: "PPO-ptx: weight of the pretraining loss on --ptx-data (0: off)."
    )
    var ptxCoefOption: Double?
    var ptxCoef: Double { ptxCoefOption ?? PPO.Parameters().ptxCoefficient }

    @Option(name: .customLong("ptx-data"), help: "Plain text (.txt, or .jsonl {\"text\"}) for PPO-ptx.")
    var ptxData: String?

    @Option(name: .customLong("value-lr"), help: "Value-model learning rate (default: the policy's --lr).")
    var valueLR: Float?

    @Option(
        name: .customLong("rollout-weights"),
        help:
            "Weights rollouts generate with: f32, or bf16 / int8 (per-output-channel) copies remade after each optimizer step; losses score in training precision."
    )
    var rolloutWeights: DecodeWeights = .f32

    @Option(
        help: """
            Also log each rollout batch's verifier accuracy beside the reward-model score (not trained \
            on): 'answer' (the record's "answer", exact after trimming) or 'demo' (the built-in demo \
            tasks); default 'answer' when every prompt has an "answer", else none.
            """)
    var verifier: GRPOCommand.VerifierChoice?

    @Option(
        name: .customLong("greedy-every"),
        help:
            "Every N rollout batches answer a fixed set of the prompts greedily and log those answers' length and diversity (greedy_…; default: never)."
    )
    var greedyEvery: Int?

    @OptionGroup(title: "PPO algorithm") var algorithm: PPOAlgorithmOptions

    @OptionGroup(title: "Over-optimisation warnings") var monitorOptions: MonitorOptions

    @OptionGroup var stage: StageOptions

    @OptionGroup var lora: LoRAOptions

    @Flag(
        name: .customLong("value-lora"),
        help:
            "Train the value model as LoRA adapters too (the --lora-* settings; its score head trains in full); the frozen reward model is its trunk with the adapters bypassed."
    )
    var valueLoRA = false

    /// `--model`, or its old name `--policy`.
    var modelPath: String { model ?? policy ?? "" }
    /// `--data`, or its old name `--prompts`.
    var dataPath: String { data ?? prompts ?? "" }

    func validate() throws {
        guard model != nil || policy != nil else {
            throw ValidationError("Missing expected argument '--model <model>'")
        }
        guard data != nil || prompts != nil else {
            throw ValidationError("Missing expected argument '--data <data>'")
        }
        if let klCoef, !(klCoef >= 0) { throw ValidationError("--kl-coef must not be negative") }
        if let targetKL, !(targetKL > 0) { throw ValidationError("--target-kl must be positive") }
        if let greedyEvery, greedyEvery < 1 { throw ValidationError("--greedy-every must be positive") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be positive") }
        if let rolloutBatch, rolloutBatch < 1 { throw ValidationError("--rollout-batch must be positive") }
        if let minibatch, minibatch < 1 { throw ValidationError("--minibatch must be positive") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be positive") }
        guard temperature > 0, temperature.isFinite else {
            throw ValidationError("--temperature must be positive (PPO samples)")
        }
        guard ptxCoef >= 0 else { throw ValidationError("--ptx-coef must not be negative") }
        if ptxCoef > 0, ptxData == nil { throw ValidationError("--ptx-coef needs --ptx-data FILE") }
        if valueLoRA, lora.rank == nil { throw ValidationError("--value-lora needs --lora-rank") }
    }

    func run() throws { try DataParallelLaunch.run(train(communicator:)) }

    func train(communicator: any Communicator) throws {
        var sft = try StageRun.load(modelPath, role: "policy (SFT)", keepingAdapters: true)
        try lora.prepare(&sft, path: modelPath, seed: stage.seed)
        stage.configure(sft.model)
        var rm = try StageRun.load(reward, scoreHead: true, role: "reward-model")
        if valueLoRA { try lora.prepare(&rm, path: reward, seed: stage.seed &+ 1) }
        guard rm.tokenizer == sft.tokenizer else {
            throw CommandError(
                "the reward model \(reward) and the policy \(modelPath) use different tokenizers: the reward model cannot score the policy's tokens"
            )
        }
        let data = try StageRun.data(sft)
        let rows = try data.prompts(
            from: StageRun.url(dataPath), maxNewTokens: maxNewTokens, options: stage.loadOptions)
        try StageRun.report(rows, file: dataPath, what: "prompts")
        guard rows.rows.allSatisfy({ $0.tokens.count + maxNewTokens <= rm.model.config.contextLength }) else {
            throw CommandError(
                "the reward model's context (\(rm.model.config.contextLength)) is shorter than prompt + --max-new-tokens"
            )
        }

        let inspect = try rolloutInspector(rows, data: data, policy: sft.model)

        var p = PPO.Parameters()
        let given = stage.apply(to: p.policyOptimization)
        p.steps = stage.steps ?? p.steps
        p.policyOptimization = given
        p.valueOptimization = stage.apply(to: p.valueOptimization)
        if let valueLR { p.valueOptimization.learningRate = valueLR }
        p.promptsPerStep = rolloutBatch ?? stage.batchSize ?? p.promptsPerStep
        p.miniBatchSize = min(minibatch ?? p.miniBatchSize, p.promptsPerStep)
        p.epochs = epochs ?? p.epochs
        p.maxNewTokens = maxNewTokens
        p.extraStopTokens = data.stopTokens
        p.temperature = temperature
        p.klCoefficient = klCoef ?? p.klCoefficient
        p.targetKL = targetKL
        p.klEstimator = klEstimator
        p.ptxCoefficient = ptxCoef
        p.seed = stage.seed
        // Schedules run over optimizer steps (PPO sets their count); warmup counts in those.
        p.policyOptimization.warmupSteps = stage.warmup ?? 0
        p.valueOptimization.warmupSteps = stage.warmup ?? 0
        algorithm.apply(to: &p)

        var ptxSource: (() -> SequenceBatch)?
        var ptxTokens = 0
        if ptxCoef > 0, let ptxData {
            let documents = try PretrainDocument.load(from: StageRun.url(ptxData), options: stage.loadOptions)
            for problem in documents.skipped { StageRun.note("skipped: \(problem)") }
            let windows = TextWindows(
                documents: documents.records.map(\.text), tokenizer: sft.tokenizer, padToken: data.padToken)
            guard windows.tokens.count >= 2 else { throw CommandError("\(ptxData): no text for PPO-ptx") }
            ptxTokens = windows.tokens.count
            var rng = RandomGenerator(seed: stage.seed ^ 0x97F)
            let rowsPerBatch = p.miniBatchSize, length = sft.model.config.contextLength
            ptxSource = { windows.randomBatch(rows: rowsPerBatch, length: length, rng: &rng) }
        }

        // With adapters the reference is the policy with them bypassed: one copy of the base.
        let reference = sft.lora != nil ? sft.model : stage.frozen(try sft.model.copy())
        rolloutWeights.apply(to: sft.model)  // after the copy: the reference only scores
        guard let rewardModel = rm.scalarModel else { throw CommandError("\(reward) has no score head") }
        let value: ScalarModel
        if valueLoRA {
            // The value model is the reward trunk with adapters and its own copy of the score head
            // (trained in full); the frozen reward model reads the same trunk with them bypassed.
            value = rewardModel.sharingTrunk()
        } else {
            value = try rewardModel.copy()
            // After the copy: the value model trains, as --recompute-activations says.
            _ = stage.frozen(rewardModel.trunk)
        }
        let models = PPO.Models(policy: sft.model, reference: reference, reward: rewardModel, value: value)
        stage.configure(models.value.trunk)
        guard communicator.isRoot else {
            try PPO.train(
                models, prompts: rows.rows.map(\.tokens), endOfTurn: data.endOfTurn, padToken: data.padToken,
                parameters: p, pretrainingBatch: ptxSource, inspect: inspect, communicator: communicator)
            return
        }
        let (directory, log) = try StageRun.prepareOutput(out, stage)
        let renderer = ProgressRenderer()
        let history = try PPO.train(
            models, prompts: rows.rows.map(\.tokens), endOfTurn: data.endOfTurn, padToken: data.padToken,
            parameters: p, pretrainingBatch: ptxSource, inspect: inspect, communicator: communicator,
            progress: StageRun.progress(
                renderer, log, watching: monitorOptions.monitor(stage: "ppo"), text: data.text(of:)))
        renderer.finish()
        try sft.derived(directory: directory, model: models.policy).save(dtype: stage.saveDType.storageDType)
        let first = history.prefix(max(1, history.count / 5)),
            last = history.suffix(max(1, history.count / 5))
        func mean(_ part: ArraySlice<[String: Double]>, _ key: String) -> Double? {
            let values = part.compactMap { $0[key] }
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
        let ptx = ptxCoef > 0 ? ", ptx on \(ptxTokens) tokens (coef \(ptxCoef))" : ""
        print(
            "ppo: \(rows.rows.count) prompts (\(rows.skippedCount) skipped), \(history.count) rollout batches of \(p.promptsPerStep); reward \(StageRun.format(mean(first, "reward"))) → \(StageRun.format(mean(last, "reward"))) (first/last fifth), KL \(StageRun.format(mean(last, "kl"))) (\(klEstimator.rawValue), β \(StageRun.format(history.last?["kl_coefficient"]))), unfinished \(StageRun.format(mean(last, "unfinished_fraction"), 2))\(ptx); wrote \(directory.url.path)"
        )
    }

    /// The rollout hook: the verifier's accuracy (see `verifierAccuracy`) and, every
    /// `--greedy-every` steps, the greedy answers' statistics of `policy` (after the step's update).
    func rolloutInspector(_ rows: StageRows<StageData.PromptRow>, data: StageData, policy: Transformer) throws
        -> ((PPO.Rollout) -> [String: Double])?
    {
        let accuracy = try verifierAccuracy(rows, data: data)
        let greedy = greedyEvery.map {
            RolloutDiagnostics.GreedySample(every: $0, stopTokens: data.stopTokens.union([data.endOfTurn]))
        }
        guard accuracy != nil || greedy != nil else { return nil }
        let prompts = greedy?.prompts(from: rows.rows.map(\.tokens)) ?? []
        var step = 0
        return { rollout in
            var metrics = accuracy?(rollout) ?? [:]
            if let greedy, greedy.isDue(step: step) {
                metrics.merge(greedy.statistics(of: policy, prompts: prompts).values(prefix: "greedy_")) {
                    $1
                }
            }
            step += 1
            return metrics
        }
    }

    /// The rollout hook that logs "verifier_accuracy" (the mean verifier reward of the batch's
    /// answers), or nil when no verifier applies; a chosen verifier must judge every prompt.
    func verifierAccuracy(_ rows: StageRows<StageData.PromptRow>, data: StageData) throws
        -> ((PPO.Rollout) -> [String: Double])?
    {
        let everyAnswer = rows.rows.allSatisfy { $0.record.answer != nil }
        guard let judge = verifier?.verifier ?? (everyAnswer ? ExactAnswerVerifier() : nil) else {
            return nil
        }
        try StageData.requireVerifier(rows, file: dataPath, verifier: judge)
        let records = rows.rows.map(\.record)
        return { rollout in
            let rewards = zip(rollout.promptIndices, rollout.completions).map { i, generation in
                judge.reward(records[i], response: data.text(of: generation.tokens)) ?? 0
            }
            return ["verifier_accuracy": rewards.reduce(0, +) / Double(max(rewards.count, 1))]
        }
    }
}
