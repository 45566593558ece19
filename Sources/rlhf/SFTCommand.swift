import ArgumentParser
import Foundation
import Models
import Training

/// `rlhf sft`: supervised fine-tuning on demonstrations, loss on the assistant's tokens only.
struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract:
            "Supervised fine-tuning on {\"prompt\",\"completion\"} or {\"messages\":[…]} JSONL (loss on assistant tokens only).",
        discussion: """
            Started by `mpirun -np N`, the ranks fine-tune by data parallelism: --batch-size is the \
            global batch, split over the ranks, and rank 0 writes the output.
            """)

    @Option(help: "Base run directory (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "Demonstrations, JSONL.")
    var data: String

    @Option(help: "Output run directory.")
    var out: String

    @Flag(
        help: "Pack several conversations per row (documents cannot attend to each other; positions restart)."
    )
    var packing = false

    @Option(
        name: .customLong("checkpoint-interval"),
        help:
            "Checkpoint into --out every N steps and at the end (weights or adapters, optimizer and trainer state), so --resume can continue the run."
    )
    var checkpointInterval: Int?

    @Option(
        name: .customLong("stop-after"),
        help: "Stop after this step, its checkpoint written (the schedule still spans --steps); resume later."
    )
    var stopAfter: Int?

    @Flag(
        help:
            "Continue the run in --out from its last checkpoint (same seed, batch size, data and LoRA settings)."
    )
    var resume = false

    @OptionGroup var stage: StageOptions

    @OptionGroup var lora: LoRAOptions

    func validate() throws {
        if let checkpointInterval, checkpointInterval < 1 {
            throw ValidationError("--checkpoint-interval must be positive")
        }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be positive") }
    }

    func run() throws { try DataParallelLaunch.run(train(communicator:)) }

    func train(communicator: any Communicator) throws {
        var base = try StageRun.load(model, role: "base", keepingAdapters: true)
        try lora.prepare(&base, path: model, seed: stage.seed)
        stage.configure(base.model)
        let data = try StageRun.data(base)
        let rows = try data.sftExamples(from: StageRun.url(self.data), options: stage.loadOptions)
        try StageRun.report(rows, file: self.data, what: "demonstrations")

        var parameters = SupervisedFineTuning.Parameters()
        parameters.optimization = stage.apply(to: parameters.optimization)
        parameters.batchSize = stage.batchSize ?? parameters.batchSize
        parameters.packing = packing
        parameters.seed = stage.seed

        guard parameters.batchSize >= communicator.size else {
            throw DataParallelError(
                "--batch-size \(parameters.batchSize) is smaller than the \(communicator.size) ranks; each rank needs a row"
            )
        }
        let output = RunDirectory(path: out)
        var checkpointing: SupervisedFineTuning.Checkpointing?
        if checkpointInterval != nil || stopAfter != nil || resume {
            checkpointing = .init(
                run: output, interval: checkpointInterval ?? parameters.optimization.steps,
                stopAfterStep: stopAfter, resume: resume, lora: base.lora)
        }
        guard communicator.isRoot else {
            try SupervisedFineTuning.train(
                model: base.model, examples: rows.rows, padToken: data.padToken,
                parameters: parameters, checkpointing: checkpointing, communicator: communicator)
            return
        }
        let directory: RunDirectory, log: MetricsLog
        if resume {
            guard FileManager.default.fileExists(atPath: output.trainerState.path) else {
                throw CommandError(
                    "\(out): --resume found no checkpoint (trainer_state.json) to continue; "
                        + "start the run with --checkpoint-interval N (or --stop-after N)")
            }
            let step = try Checkpoint.loadTrainerState(from: output).step
            (directory, log) = (output, try MetricsLog(url: output.metrics, keepingStepsThrough: step))
        } else {
            (directory, log) = try StageRun.prepareOutput(out, stage)
        }
        let renderer = ProgressRenderer()
        let history = try SupervisedFineTuning.train(
            model: base.model, examples: rows.rows, padToken: data.padToken,
            parameters: parameters, checkpointing: checkpointing, communicator: communicator,
            progress: StageRun.progress(renderer, log))
        renderer.finish()
        if let stopAfter, stopAfter < parameters.optimization.steps {
            print(
                "sft: stopped after step \(stopAfter) (checkpoint in \(directory.url.path)); continue with --resume"
            )
            return
        }
        try base.derived(directory: directory, model: base.model).save(dtype: stage.saveDType.storageDType)
        let targets = rows.rows.reduce(0) { $0 + $1.lossMask.filter { $0 }.count }
        print(
            "sft: \(rows.rows.count) examples (\(targets) target tokens, \(rows.skippedCount) skipped), \(history.count) steps, loss \(StageRun.format(history.first?["loss"])) → \(StageRun.format(history.last?["loss"])); wrote \(directory.url.path)"
        )
    }
}
