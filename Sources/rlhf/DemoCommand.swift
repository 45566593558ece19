import ArgumentParser
import Demo
import Foundation
import TensorCore
import Training

/// `rlhf demo`: the whole pipeline on built-in data, then a report.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run the whole pipeline (tokenizer → n-gram → pretrain → SFT → reward → PPO, DPO, GRPO) on built-in tasks."
    )

    @Option(help: "Run directory for every stage and the report.")
    var out = "runs/demo"

    @Flag(help: "A scaled-down run (about a minute) instead of the full one (under ten minutes).")
    var quick = false

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(
        help:
            "Matrix products: fp32 (the default here: the same numbers on every CPU, and at the demo's size bf16 products leave SFT measurably weaker, docs/demo-learning.md), bf16 (fp32 accumulation) or auto (bf16 when the CPU has AVX512-BF16 or AMX-BF16)."
    )
    var precision: String = "fp32"

    @Flag(
        help: ArgumentHelp(
            "Read the base and SFT runs of an earlier demo in --out instead of training them again.",
            visibility: .hidden))
    var reuseSft = false

    @Option(
        help: ArgumentHelp("RL stages to leave out (ppo, dpo, grpo), comma-separated.", visibility: .hidden))
    var skip: String = ""

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Override a demo parameter, key=number (repeatable).", visibility: .hidden))
    var settings: [String] = []

    func validate() throws {
        guard TensorCore.Precision(rawValue: precision) != nil else {
            throw ValidationError("--precision must be auto, fp32 or bf16")
        }
        let stages = Set(skip.split(separator: ",").map(String.init))
        guard stages.isSubset(of: ["ppo", "dpo", "grpo"]) else {
            throw ValidationError("--skip takes ppo, dpo and grpo")
        }
    }

    func run() throws {
        // Validated above; settled here so `--help` and usage errors change nothing.
        print(MatmulPrecision.configure(TensorCore.Precision(rawValue: precision) ?? .auto).summary)
        var parameters: DemoPipeline.Parameters = quick ? .quick : .init()
        parameters.seed = seed
        parameters.skippedStages = Set(skip.split(separator: ",").map(String.init))
        for setting in settings { try parameters.apply(setting) }
        let url = URL(fileURLWithPath: out, isDirectory: true)
        let renderer = ProgressRenderer()
        let report = try DemoPipeline.run(
            output: url, parameters: parameters, reuseTrainedModels: reuseSft, log: { renderer.line($0) },
            progress: { renderer.update($0) })
        renderer.finish()
        print(report.summary)
        print("report: \(url.appendingPathComponent("report.md").path)")
    }
}
