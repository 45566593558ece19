import ArgumentParser
import Foundation
import Models
import NN
import Training

/// `rlhf merge`: folds a LoRA adapter into its base (W += alpha/r · BA) and writes the full model,
/// as PEFT's `merge_and_unload()` followed by `save_pretrained`.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge a LoRA adapter run (ours or PEFT's) into its base model and write the full model.")

    @Option(
        help:
            "Base run directory; or the adapter run itself when --adapter is not given (its base is then its base_model_name_or_path)."
    )
    var model: String

    @Option(help: "Adapter run directory (adapter_config.json, adapter_model.safetensors).")
    var adapter: String?

    @Option(help: "Output run directory.")
    var out: String

    @Flag(help: "Replace the run already in the output directory.")
    var overwrite = false

    @Option(name: .customLong("save-dtype"), help: "Dtype of the weights written: auto keeps the base's.")
    var saveDType: SaveDType = .auto

    func run() throws {
        var run: ModelRun
        if let adapter {
            run = try StageRun.load(model, role: "base")
            let directory = RunDirectory(path: adapter)
            guard directory.hasLoRAAdapter else {
                throw CommandError("\(adapter): no \(LoRAConfig.fileName) (not a LoRA adapter run)")
            }
            do {
                // a reward model's head
                if let score = try directory.loadLoRAAdapter(into: run.model).score {
                    run.scoreHead = ScalarHead(
                        name: "score", hiddenSize: run.model.config.hiddenSize, seed: 0)
                    run.scoreHead!.weight.value = score
                }
            } catch {
                throw CommandError("cannot load the adapter \(adapter): \(error)")
            }
        } else {
            guard RunDirectory(path: model).hasLoRAAdapter else {
                throw CommandError("\(model): no \(LoRAConfig.fileName); give the adapter with --adapter")
            }
            let config: LoRAConfig
            do { config = try LoRAConfig.read(RunDirectory(path: model).loraConfig) } catch {
                throw CommandError("\(error)")
            }
            run = try StageRun.load(
                model, scoreHead: config.savesScoreHead, role: "adapter", keepingAdapters: true)
        }
        run.model.mergeLoRA()
        run.lora = nil
        let directory = RunDirectory(path: out)
        try RunOutput.claim(directory, overwrite: overwrite)
        try run.derived(directory: directory, model: run.model).save(dtype: saveDType.storageDType)
        print("merge: wrote \(directory.url.path)")
    }
}
