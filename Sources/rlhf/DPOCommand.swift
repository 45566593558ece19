import ArgumentParser
import Foundation
import Models
import Training

/// `rlhf dpo`: direct preference optimisation (DPO, IPO, ORPO, SimPO) on pairs, no reward model.
struct DPOCommand: ParsableCommand {
    typealias Loss = PreferenceObjective.Loss

    static let configuration = CommandConfiguration(
        commandName: "dpo",
        abstract:
            "Direct preference optimisation on {\"prompt\",\"chosen\",\"rejected\"} (rankings expand to all pairs): --loss dpo|ipo|orpo|simpo.",
        discussion: """
            Started by `mpirun -np N`, the ranks split each step's pairs (--batch-size is the global \
            number of pairs per step) and rank 0 writes the output.
            """)

    enum LossName: String, ExpressibleByArgument, CaseIterable {
        case dpo, ipo, orpo, simpo
    }

    @Option(help: "SFT run directory: the policy starts from it and (DPO, IPO) it is the frozen reference.")
    var model: String

    @Option(help: "Preference pairs or rankings, JSONL.")
    var data: String

    @Option(help: "Output run directory.")
    var out: String

    @Option(
        help:
            "dpo (sigmoid on the log-ratio margin), ipo (squared, per-token averages), orpo (SFT + odds ratio, no reference), simpo (length-normalised, margin γ, no reference)."
    )
    var loss: LossName = .dpo

    @Option(
        help: """
            β (default \(Loss.defaultBeta) for dpo and ipo, \(Loss.defaultSimPOBeta) for simpo).
            """)
    var beta: Double?

    @Option(help: "SimPO target margin γ (default \(Loss.defaultSimPOGamma)).")
    var gamma: Double?

    @Option(help: "ORPO weight λ of the odds-ratio term (default \(Loss.defaultORPOLambda)).")
    var lambda: Double?

    @Option(
        name: .customLong("label-smoothing"),
        help: "Conservative DPO/SimPO: assumed probability that a label is flipped.")
    var labelSmoothing = 0.0

    @OptionGroup var variant: DPOVariantOptions

    @Option(
        name: .customLong("sample-every"),
        help:
            "Every N steps answer a fixed set of the pairs' prompts greedily and log those answers' length and diversity (greedy_…; default: never)."
    )
    var sampleEvery: Int?

    @OptionGroup(title: "Over-optimisation warnings") var monitorOptions: MonitorOptions

    @OptionGroup var stage: StageOptions

    @OptionGroup var lora: LoRAOptions

    func validate() throws {
        if let beta, !(beta > 0) { throw ValidationError("--beta must be positive") }
        if let sampleEvery, sampleEvery < 1 { throw ValidationError("--sample-every must be positive") }
        guard (gamma ?? 0) >= 0, (lambda ?? 0) >= 0 else {
            throw ValidationError("--gamma and --lambda must not be negative")
        }
        guard (0..<0.5).contains(labelSmoothing) else {
            throw ValidationError("--label-smoothing must be in [0, 0.5)")
        }
        if labelSmoothing > 0, loss == .ipo || loss == .orpo {
            throw ValidationError("--label-smoothing applies to dpo and simpo only")
        }
    }

    var objective: PreferenceObjective.Loss {
        switch loss {
        case .dpo: .dpo(beta: beta ?? Loss.defaultBeta, labelSmoothing: labelSmoothing)
        case .ipo: .ipo(beta: beta ?? Loss.defaultBeta)
        case .orpo: .orpo(lambda: lambda ?? Loss.defaultORPOLambda)
        case .simpo:
            .simpo(
                beta: beta ?? Loss.defaultSimPOBeta, gamma: gamma ?? Loss.defaultSimPOGamma,
                labelSmoothing: labelSmoothing)
        }
    }

    func run() throws { try DataParallelLaunch.run(train(communicator:)) }

    func train(communicator: any Communicator) throws {
        var sft = try StageRun.load(model, role: "SFT", keepingAdapters: true)
        try lora.prepare(&sft, path: model, seed: stage.seed)
        stage.configure(sft.model)
        let data = try StageRun.data(sft)
        let rows = try data.comparisons(from: StageRun.url(self.data), options: stage.loadOptions)
        try StageRun.report(rows, file: self.data, what: "preference pairs")
        let pairs = StageData.preferencePairs(rows.rows)

        var parameters = PreferenceTraining.Parameters()
        parameters.loss = try variant.apply(to: objective)
        parameters.optimization = stage.apply(to: parameters.optimization)
        parameters.pairsPerStep = stage.batchSize ?? parameters.pairsPerStep
        parameters.seed = stage.seed
        parameters.sampling = sampleEvery.map {
            RolloutDiagnostics.GreedySample(
                every: $0, stopTokens: data.stopTokens.union([data.endOfTurn]))
        }

        // With adapters the reference is the same model with them bypassed: one copy of the base.
        let reference =
            objective.needsReference
            ? (sft.lora != nil ? sft.model : stage.frozen(try sft.model.copy())) : nil
        guard communicator.isRoot else {
            try PreferenceTraining.train(
                policy: sft.model, reference: reference, pairs: pairs, padToken: data.padToken,
                parameters: parameters, communicator: communicator)
            return
        }
        let (directory, log) = try StageRun.prepareOutput(out, stage)
        let renderer = ProgressRenderer()
        let history = try PreferenceTraining.train(
            policy: sft.model, reference: reference, pairs: pairs, padToken: data.padToken,
            parameters: parameters, communicator: communicator,
            progress: StageRun.progress(
                renderer, log, watching: monitorOptions.monitor(stage: parameters.loss.stageName),
                text: data.text(of:)))
        renderer.finish()
        try sft.derived(directory: directory, model: sft.model).save(dtype: stage.saveDType.storageDType)
        let tail = history.suffix(max(1, history.count / 5))
        func mean(_ key: String) -> Double? {
            let values = tail.compactMap { $0[key] }
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
        print(
            "\(loss.rawValue): \(pairs.count) pairs from \(rows.rows.count) records (\(rows.skippedCount) skipped), \(history.count) steps, loss \(StageRun.format(history.first?["loss"])) → \(StageRun.format(history.last?["loss"])), last-fifth reward accuracy \(StageRun.format(mean("reward_accuracy"), 3)), margin \(StageRun.format(mean("reward_margin"))); wrote \(directory.url.path)"
        )
    }
}
