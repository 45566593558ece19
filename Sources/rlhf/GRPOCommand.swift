import ArgumentParser
import Datasets
import Demo
import Foundation
import Models
import Training

/// `rlhf grpo`: group-relative policy optimisation with a built-in verifier.
struct GRPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo",
        abstract:
            "GRPO with a verifier: reward 1 when the answer equals the record's \"answer\" (trimmed), else 0; --verifier demo checks built-in demo tasks instead.",
        discussion: """
            Started by `mpirun -np N`, the ranks split each step's prompts (--batch-size is the global \
            number per step): each rank samples and scores its groups, gradients are summed, and \
            rank 0 writes the output.
            """)

    @Option(
        help:
            "SFT run or Hugging Face model directory: the policy starts from it and it is the frozen reference."
    )
    var model: String

    @Option(help: "Prompts, JSONL {\"prompt\"[, \"answer\"]}.")
    var data: String?

    @Option(help: .hidden) var prompts: String?  // the old name of --data

    @Option(help: "Output run directory.")
    var out: String

    @Option(
        name: .customLong("group-size"),
        help: "Completions sampled per prompt (advantages are relative to the group).")
    var groupSizeOption: Int?
    var groupSize: Int { groupSizeOption ?? GRPO.Parameters().groupSize }

    @Option(name: .customLong("max-new-tokens"), help: "Longest completion.")
    var maxNewTokensOption: Int?
    var maxNewTokens: Int { maxNewTokensOption ?? GRPO.Parameters().maxNewTokens }

    @Option(name: .customLong("temperature"), help: "Sampling temperature.")
    var temperatureOption: Float?
    var temperature: Float { temperatureOption ?? GRPO.Parameters().temperature }

    @Option(name: .customLong("kl-coef"), help: "β of the k3 KL penalty to the reference (0: none).")
    var klCoefOption: Double?
    var klCoef: Double { klCoefOption ?? GRPO.Parameters().klCoefficient }

    @Option(name: .customLong("epochs"), help: "Updates per generation batch (with 1 the clip is inactive).")
    var epochsOption: Int?
    var epochs: Int { epochsOption ?? GRPO.Parameters().epochs }

    enum VerifierChoice: String, ExpressibleByArgument, CaseIterable {
        /// The record's "answer", exact after trimming.
        case answer
        /// The built-in demo tasks' verifier (`rlhf demo` data).
        case demo

        var verifier: any Verifier {
            switch self {
            case .answer: ExactAnswerVerifier()
            case .demo: DemoTaskVerifier()
            }
        }
    }

    @Option(
        help: """
            Reward: 'answer' (1 when the response equals the record's "answer", trimmed) or 'demo' \
            (the built-in demo tasks' verifier, only for their prompts).
            """)
    var verifier: VerifierChoice = .answer

    @Option(
        name: .customLong("rollout-weights"),
        help:
            "Weights rollouts generate with: f32, or bf16 / int8 (per-output-channel) copies remade after each optimizer step; losses score in training precision."
    )
    var rolloutWeights: DecodeWeights = .f32

    @OptionGroup(title: "GRPO algorithm") var algorithm: GRPOAlgorithmOptions

    @OptionGroup(title: "Over-optimisation warnings") var monitorOptions: MonitorOptions

    @OptionGroup var stage: StageOptions

    @OptionGroup var lora: LoRAOptions

    var modelPath: String { model }
    /// `--data`, or its old name `--prompts`.
    var dataPath: String { data ?? prompts ?? "" }

    func validate() throws {
        guard data != nil || prompts != nil else {
            throw ValidationError("Missing expected argument '--data <data>'")
        }
        guard groupSize >= 2 else { throw ValidationError("--group-size must be at least 2") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be positive") }
        guard temperature > 0, temperature.isFinite else {
            throw ValidationError("--temperature must be positive")
        }
        guard klCoef >= 0 else { throw ValidationError("--kl-coef must not be negative") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be positive") }
    }

    func run() throws { try DataParallelLaunch.run(train(communicator:)) }

    func train(communicator: any Communicator) throws {
        var sft = try StageRun.load(modelPath, role: "SFT", keepingAdapters: true)
        try lora.prepare(&sft, path: modelPath, seed: stage.seed)
        stage.configure(sft.model)
        let data = try StageRun.data(sft)
        let rows = try data.prompts(
            from: StageRun.url(dataPath), maxNewTokens: maxNewTokens, options: stage.loadOptions)
        try StageRun.report(rows, file: dataPath, what: "prompts")
        // Every prompt needs a verifier before anything is trained.
        try StageData.requireVerifier(rows, file: dataPath, verifier: verifier.verifier)
        let records = rows.rows.map(\.record)

        var parameters = GRPO.Parameters()
        parameters.steps = stage.steps ?? parameters.steps
        parameters.optimization = stage.apply(to: parameters.optimization)
        parameters.promptsPerStep = stage.batchSize ?? parameters.promptsPerStep
        parameters.groupSize = groupSize
        parameters.maxNewTokens = maxNewTokens
        parameters.extraStopTokens = data.stopTokens
        parameters.temperature = temperature
        parameters.klCoefficient = klCoef
        parameters.epochs = epochs
        parameters.seed = stage.seed
        parameters.optimization.warmupSteps = stage.warmup ?? 0
        algorithm.apply(to: &parameters)

        // With adapters the reference is the same model with them bypassed: one copy of the base.
        let reference = sft.lora != nil ? sft.model : stage.frozen(try sft.model.copy())
        rolloutWeights.apply(to: sft.model)  // scoring (policy and reference) stays fp32
        let judge = verifier.verifier
        let reward: (Int, Generation) -> Double = { i, generation in
            judge.reward(records[i], response: data.text(of: generation.tokens)) ?? 0
        }
        guard communicator.isRoot else {
            try GRPO.train(
                policy: sft.model, reference: reference, prompts: rows.rows.map(\.tokens),
                endOfTurn: data.endOfTurn,
                padToken: data.padToken, parameters: parameters, reward: reward, communicator: communicator)
            return
        }
        let (directory, log) = try StageRun.prepareOutput(out, stage)
        let renderer = ProgressRenderer()
        let history = try GRPO.train(
            policy: sft.model, reference: reference, prompts: rows.rows.map(\.tokens),
            endOfTurn: data.endOfTurn,
            padToken: data.padToken, parameters: parameters, reward: reward, communicator: communicator,
            progress: StageRun.progress(
                renderer, log, watching: monitorOptions.monitor(stage: "grpo"), text: data.text(of:)))
        renderer.finish()
        try sft.derived(directory: directory, model: sft.model).save(dtype: stage.saveDType.storageDType)
        let n = max(1, history.count / 5)
        func mean(_ part: ArraySlice<[String: Double]>) -> Double? {
            let values = part.compactMap { $0["reward"] }
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
        print(
            "grpo: \(records.count) prompts (\(rows.skippedCount) skipped), \(history.count) steps × \(parameters.promptsPerStep) prompts × \(groupSize) samples; verifier reward \(StageRun.format(mean(history.prefix(n)), 3)) → \(StageRun.format(mean(history.suffix(n)), 3)) (first/last fifth); wrote \(directory.url.path)"
        )
    }
}
