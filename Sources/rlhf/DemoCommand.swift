import ArgumentParser
import Demo
import Foundation
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

    func run() throws {
        var parameters: DemoPipeline.Parameters = quick ? .quick : .init()
        parameters.seed = seed
        let url = URL(fileURLWithPath: out, isDirectory: true)
        let renderer = ProgressRenderer()
        let report = try DemoPipeline.run(
            output: url, parameters: parameters, log: { renderer.line($0) },
            progress: { renderer.update($0) })
        renderer.finish()
        print(report.summary)
        print("report: \(url.appendingPathComponent("report.md").path)")
    }
}
