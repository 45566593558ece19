import ArgumentParser
import Foundation
import Models
import Training

/// `rlhf kto`: KTO on unpaired judgements (desirable or not), with its reference-point KL estimate.
struct KTOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kto",
        abstract:
            "KTO on {\"prompt\",\"completion\",\"label\": true/false} JSONL, the SFT model as frozen reference.",
        discussion: """
            Started by `mpirun -np N`, the ranks split each step's examples (--batch-size is the global \
            number per step) and rank 0 writes the output.
            """)

    @Option(help: "SFT run directory: the policy starts from it and it is the frozen reference.")
    var model: String

    @Option(help: "Labelled completions, JSONL.")
    var data: String

    @Option(help: "Output run directory.")
    var out: String

    @Option(name: .customLong("beta"), help: "β: scale of the implied reward.")
    var betaOption: Double?
    var beta: Double { betaOption ?? KTOTraining.Parameters().beta }

    @Option(
        name: .customLong("desirable-weight"),
        help: "Weight of desirable examples (raise it when they are rarer).")
    var desirableWeightOption: Double?
    var desirableWeight: Double { desirableWeightOption ?? KTOTraining.Parameters().desirableWeight }

    @Option(name: .customLong("undesirable-weight"), help: "Weight of undesirable examples.")
    var undesirableWeightOption: Double?
    var undesirableWeight: Double { undesirableWeightOption ?? KTOTraining.Parameters().undesirableWeight }

    @OptionGroup var stage: StageOptions

    @OptionGroup var lora: LoRAOptions

    func validate() throws {
        guard beta > 0 else { throw ValidationError("--beta must be positive") }
        guard desirableWeight > 0, undesirableWeight > 0 else {
            throw ValidationError("the weights must be positive")
        }
        if let b = stage.batchSize, b < 2 {
            throw ValidationError(
                "--batch-size must be at least 2 (the reference point uses mismatched pairs)")
        }
    }

    func run() throws { try DataParallelLaunch.run(train(communicator:)) }

    func train(communicator: any Communicator) throws {
        var sft = try StageRun.load(model, role: "SFT", keepingAdapters: true)
        try lora.prepare(&sft, path: model, seed: stage.seed)
        stage.configure(sft.model)
        let data = try StageRun.data(sft)
        let rows = try data.ktoExamples(from: StageRun.url(self.data), options: stage.loadOptions)
        try StageRun.report(rows, file: self.data, what: "examples")
        guard rows.rows.count >= 2 else { throw CommandError("\(self.data): KTO needs at least 2 examples") }

        var parameters = KTOTraining.Parameters()
        parameters.beta = beta
        parameters.desirableWeight = desirableWeight
        parameters.undesirableWeight = undesirableWeight
        parameters.optimization = stage.apply(to: parameters.optimization)
        parameters.examplesPerStep = stage.batchSize ?? parameters.examplesPerStep
        parameters.seed = stage.seed

        // With adapters the reference is the same model with them bypassed: one copy of the base.
        let reference = sft.lora != nil ? sft.model : stage.frozen(try sft.model.copy())
        guard communicator.isRoot else {
            try KTOTraining.train(
                policy: sft.model, reference: reference, examples: rows.rows, padToken: data.padToken,
                parameters: parameters, communicator: communicator)
            return
        }
        let (directory, log) = try StageRun.prepareOutput(out, stage)
        let renderer = ProgressRenderer()
        let history = try KTOTraining.train(
            policy: sft.model, reference: reference, examples: rows.rows, padToken: data.padToken,
            parameters: parameters, communicator: communicator,
            progress: StageRun.progress(renderer, log))
        renderer.finish()
        try sft.derived(directory: directory, model: sft.model).save(dtype: stage.saveDType.storageDType)
        let desirable = rows.rows.filter(\.desirable).count
        print(
            "kto: \(rows.rows.count) examples (\(desirable) desirable, \(rows.rows.count - desirable) undesirable, \(rows.skippedCount) skipped), \(history.count) steps, loss \(StageRun.format(history.first?["loss"])) → \(StageRun.format(history.last?["loss"])), last KL estimate \(StageRun.format(history.last?["kl"])); wrote \(directory.url.path)"
        )
    }
}
