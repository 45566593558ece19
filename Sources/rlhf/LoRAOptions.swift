import ArgumentParser
import Foundation
import Models
import Training

/// `--lora-rank` and its companions: train low-rank adapters (PEFT's LoRA) on a frozen base
/// instead of every weight; the output run is PEFT's adapter (`adapter_config.json`,
/// `adapter_model.safetensors`) whose `base_model_name_or_path` is the input run.
struct LoRAOptions: ParsableArguments {
    @Option(
        name: .customLong("lora-rank"), help: "Train LoRA adapters of this rank instead of the full model.")
    var rank: Int?

    @Option(
        name: .customLong("lora-alpha"),
        help: "LoRA scale numerator: adapters add (alpha/rank)·BAx (default: 2×rank).")
    var alpha: Float?

    @Option(name: .customLong("lora-dropout"), help: "Dropout on the adapters' input while training.")
    var dropout: Float = 0

    @Option(
        name: .customLong("lora-targets"),
        help:
            "Comma-separated module names (default: every attention and MLP projection: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj; GPT-2: c_attn,c_proj,c_fc)."
    )
    var targets: String?

    func validate() throws {
        if rank == nil, alpha != nil || dropout != 0 || targets != nil {
            throw ValidationError("--lora-alpha, --lora-dropout and --lora-targets need --lora-rank")
        }
        if let rank, rank < 1 { throw ValidationError("--lora-rank must be positive") }
        if let alpha, !(alpha > 0 && alpha.isFinite) {
            throw ValidationError("--lora-alpha must be positive")
        }
        if !(0..<1).contains(dropout) { throw ValidationError("--lora-dropout must be in [0, 1)") }
    }

    /// Prepares `run` (loaded from `path`) for its stage: with --lora-rank, attaches fresh adapters
    /// (the base frozen, `run.lora` set so saving writes the adapter); without, an adapter run
    /// given as input is merged into its base in memory so the stage trains and writes a full model.
    func prepare(_ run: inout ModelRun, path: String, seed: UInt64) throws {
        guard let rank else {
            if run.lora != nil {
                run.model.mergeLoRA()
                run.lora = nil
            }
            return
        }
        if run.lora != nil {
            throw CommandError(
                "\(path) is a LoRA adapter run; training new adapters on it needs a base with its weights: "
                    + "`rlhf merge --model \(path) --out DIR` first, then --model DIR")
        }
        let names = targets.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let config = LoRAConfig(
            rank: rank, alpha: alpha ?? Float(2 * rank), dropout: dropout,
            targets: names ?? LoRAConfig.defaultTargets(for: run.model.config.family),
            baseModel: run.directory.url.path)
        do { try run.model.attachLoRA(config, seed: seed) } catch { throw CommandError("\(error)") }
        run.lora = config
    }
}
