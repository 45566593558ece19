import Foundation
import Testing
@testable import Training

/// The whole pipeline at small scale: every stage must move its metric the right way.
@Test func demoPipelineImprovesEveryStage() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-demo-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    var lines: [String] = []
    let report = try DemoPipeline.run(output: dir, parameters: .quick, log: { lines.append($0) })
    print(report.summary)
    for c in report.checks { #expect(c.passed, "\(c.claim)") }
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("report.md").path))
    for stage in ["base", "sft", "reward", "ppo", "dpo", "grpo"] {
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(stage)/model.safetensors").path))
    }
}
