import Foundation
import Testing
import Training
@testable import Demo

/// The whole pipeline at small scale: every stage must move its metric the right way.
@Test func demoPipelineImprovesEveryStage() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-demo-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    // RLHF_DEMO_FULL=1 runs the full-size demo (minutes) instead of the quick one.
    let full = ProcessInfo.processInfo.environment["RLHF_DEMO_FULL"] != nil
    let report = try DemoPipeline.run(
        output: dir, parameters: full ? .init() : .quick, log: { print($0) },
        progress: { p in if p.step % 20 == 0 || p.step == p.totalSteps { print(p.stage, p.step, p.metrics) } }
    )
    print(report.summary)
    print(report.markdown)
    for c in report.checks { #expect(c.passed, "\(c.claim)") }
    // The goals (reward model ≥ 80%, each RL method ≥ SFT + 3 points on held-out prompts) are
    // asserted at full size only (see `heldOutChecks`).
    if full { for c in report.heldOutChecks { #expect(c.passed, "\(c.claim)") } }
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("report.md").path))
    let results = try JSONSerialization.jsonObject(
        with: Data(contentsOf: dir.appendingPathComponent("results.json")))
    let models = (results as? [String: Any])?["models"] as? [String: Any]
    #expect(Set(models?.keys.map { $0 } ?? []) == ["base", "sft", "ppo", "dpo", "grpo"])
    for stage in ["base", "sft", "reward", "ppo", "dpo", "grpo"] {
        #expect(
            FileManager.default.fileExists(
                atPath: dir.appendingPathComponent("\(stage)/model.safetensors").path))
    }
}
