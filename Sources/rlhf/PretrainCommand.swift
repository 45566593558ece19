import ArgumentParser
import Datasets
import Foundation
import Models
import Tokenizers
import Training

extension ModelConfig.Family: ExpressibleByArgument {}

/// `rlhf pretrain`: next-token prediction on plain text into a run directory.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain a decoder-only transformer on text (.txt files or JSONL with \"text\").",
        discussion: """
            Size presets (--config): tiny (d64 L2), small (d128 L4), S (d256 L4 H4, GPT-2's peer config), \
            M (d384 L6 H6). Every shape option overrides the preset. With --resume the run continues \
            exactly from its last checkpoint (same data order, optimizer state and schedule); it refuses \
            other data, tokenizer, seed, batch size or accumulation, and reports other optimisation \
            settings (--steps, --lr, …), which apply from the checkpoint on. Without --resume an existing \
            run in --out is never replaced unless --overwrite is given. \
            Started by `mpirun -np N`, the ranks train one model by data parallelism: --batch-size is \
            the global batch, split over the ranks, and rank 0 writes the run directory.
            """)

    @Option(parsing: .upToNextOption, help: "Training text: .txt files or JSONL with a \"text\" field.")
    var data: [String]

    @Option(help: "Tokenizer: a directory with tokenizer.json, a tokenizer.json, or a .tiktoken file.")
    var tokenizer: String

    @Option(help: "Output run directory.")
    var out: String

    @Option(help: "Size preset: tiny, small, S, M.")
    var config = "small"

    @Option(help: "Model family: llama (RMSNorm, RoPE, SwiGLU) or gpt2 (LayerNorm, learned positions, GELU).")
    var family: ModelConfig.Family = .llama
    @Option(help: "Transformer layers.") var layers: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(name: .customLong("kv-heads"), help: "Key/value heads (grouped-query attention; llama only).")
    var kvHeads: Int?
    @Option(help: "Hidden width.") var width: Int?
    @Option(help: "Context length (tokens).") var context: Int?
    // Defaults live in `Pretraining.Parameters`; an option left out keeps them.
    @Option(help: "Micro-batches accumulated per optimizer step (default 1).") var accumulation: Int?
    @Option(name: .customLong("eval-interval"), help: "Held-out evaluation every N steps (default 100).")
    var evalInterval: Int?
    @Option(name: .customLong("checkpoint-interval"), help: "Checkpoint every N steps (default 100).")
    var checkpointInterval: Int?
    @Option(
        name: .customLong("stop-after"),
        help: "Stop after this step (the schedule still spans --steps); resume later.")
    var stopAfter: Int?
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false
    @OptionGroup var stage: StageOptions

    static let presets: [String: (width: Int, layers: Int, heads: Int, context: Int)] = [
        "tiny": (64, 2, 2, 64), "small": (128, 4, 4, 128), "S": (256, 4, 4, 256), "M": (384, 6, 6, 256),
    ]

    func validate() throws {
        guard Self.presets[config] != nil else {
            throw ValidationError(
                "unknown --config \(config); choose one of \(Self.presets.keys.sorted().joined(separator: ", "))"
            )
        }
        if let accumulation, accumulation < 1 { throw ValidationError("--accumulation must be at least 1") }
        if let evalInterval, evalInterval < 1 { throw ValidationError("--eval-interval must be at least 1") }
        if let checkpointInterval, checkpointInterval < 1 {
            throw ValidationError("--checkpoint-interval must be at least 1")
        }
        // Pretraining checkpoints hold the float32 weights it resumes from exactly.
        if stage.saveDType != .auto && stage.saveDType != .f32 {
            throw ValidationError(
                "--save-dtype: pretraining writes float32 checkpoints (convert with a later stage's --save-dtype)"
            )
        }
    }

    func run() throws { try DataParallelLaunch.run(train(communicator:)) }

    func train(communicator: any Communicator) throws {
        let root = communicator.isRoot
        let tok = try Tokenizer.load(from: URL(fileURLWithPath: tokenizer))
        let preset = Self.presets[config]!
        let run = RunDirectory(path: out)
        var p = Pretraining.Parameters()
        p.optimization = stage.apply(to: p.optimization)
        p.optimization.accumulationSteps = accumulation ?? p.optimization.accumulationSteps
        p.batchSize = stage.batchSize ?? p.batchSize
        p.seed = stage.seed
        p.evaluationInterval = evalInterval ?? p.evaluationInterval
        p.checkpointInterval = checkpointInterval ?? p.checkpointInterval
        p.stopAfterStep = stopAfter
        // Before anything is written: a new run never replaces an old one by accident, and a
        // resume that cannot continue its run stops here with what differs.
        var plan: Pretraining.ResumePlan?
        if resume {
            plan = try Pretraining.resumePlan(run: run, parameters: p)
            // No checkpoint yet: a pretraining run killed before its first one starts over, but a
            // directory holding some other model is not silently trained over.
            let model = RunOutput.existingRun(in: run).filter {
                $0 == "config.json" || $0 == "model.safetensors"
            }
            if plan == nil, root, !model.isEmpty, !stage.overwrite {
                throw CommandError(
                    "\(run.url.path): --resume found no checkpoint (trainer_state.json) to continue, but the "
                        + "directory holds a model (\(model.joined(separator: ", "))); pass --overwrite to replace it"
                )
            }
        } else if root {
            try RunOutput.claim(run, overwrite: stage.overwrite)
        }
        var modelConfig = ModelConfig(
            family: family, vocabSize: tok.vocabularySize, hiddenSize: width ?? preset.width,
            layerCount: layers ?? preset.layers,
            headCount: heads ?? preset.heads, kvHeadCount: kvHeads, contextLength: context ?? preset.context,
            bosTokenID: tok.specialTokenID(SpecialTokens.endOfText).map(Int.init),
            eosTokenID: tok.specialTokenID(SpecialTokens.endOfText).map(Int.init))
        if plan != nil, FileManager.default.fileExists(atPath: run.config.path) {
            modelConfig = try run.loadConfig()  // the run's own shapes win on resume…
            // …and a shape option that disagrees with them is an error, not silently ignored.
            let given: [(String, Int?, Int)] = [
                ("--width", width, modelConfig.hiddenSize), ("--layers", layers, modelConfig.layerCount),
                ("--heads", heads, modelConfig.headCount), ("--kv-heads", kvHeads, modelConfig.kvHeadCount),
                ("--context", context, modelConfig.contextLength),
            ]
            let conflicts = given.compactMap { name, value, actual in
                value.map { $0 == actual ? nil : "\(name) \($0) (the run has \(actual))" } ?? nil
            }
            if !conflicts.isEmpty {
                throw CommandError(
                    "\(run.config.path): cannot resume with another model shape: "
                        + conflicts.joined(separator: ", "))
            }
        }
        try modelConfig.validate()

        var documents: [String] = []
        for path in data {
            let loaded = try PretrainDocument.load(
                from: URL(fileURLWithPath: path), options: stage.loadOptions)
            for problem in loaded.skipped { StageRun.note("skipped: \(problem)") }
            documents += loaded.records.map(\.text)
        }
        guard !documents.isEmpty else {
            throw CommandError(
                "no training text in \(data.joined(separator: ", ")) (every file was empty or skipped)")
        }
        let prepared = try Pretraining.prepare(
            documents: documents, tokenizer: tok, run: run, validationFraction: p.validationFraction,
            resume: plan != nil, communicator: communicator)
        if root { try StageRun.writing(run.tokenizer) { try tok.write(to: run.url) } }
        let model = try Transformer(config: modelConfig, seed: p.seed)
        stage.configure(model)
        guard root else {
            _ = try Pretraining.train(
                model: model, tokenizer: tok, data: prepared, run: run, parameters: p, resume: resume,
                communicator: communicator)
            return
        }
        if communicator.size > 1 {
            StageRun.note("data parallel: \(communicator.size) ranks, \(p.batchSize) rows per step in all")
        }
        StageRun.note(
            "pretrain: \(model.parameterCount) parameters, \(prepared.train.count) training tokens, "
                + "\(prepared.validation.count) validation tokens → \(run.url.path)")
        if let plan {
            StageRun.note(
                "resuming from step \(plan.step)"
                    + (plan.changes.isEmpty ? "" : "; changed: \(plan.changes.joined(separator: ", "))"))
        }
        let renderer = ProgressRenderer()
        let summary = try Pretraining.train(
            model: model, tokenizer: tok, data: prepared, run: run, parameters: p,
            resume: resume, communicator: communicator, progress: { renderer.update($0) })
        renderer.finish()
        if let from = summary.resumedFrom { StageRun.note("resumed from step \(from)") }
        let trained =
            summary.finalLoss.map { String(format: "final loss %.4f", $0) }
            ?? "no steps trained (the run is at step \(summary.resumedFrom ?? 0) of \(p.optimization.steps))"
        print(
            trained
                + String(
                    format: ", validation loss %.4f, validation bits/byte %.4f",
                    summary.validationLoss, summary.validationBitsPerByte))
    }
}
