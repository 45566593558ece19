import Foundation
import Training

extension DemoReport {
    /// The diagnostics of the demo's RL runs (see `RunDiagnostics`), from their histories (the
    /// records the demo writes to `metrics.jsonl`).
    public var diagnostics: RunDiagnostics {
        RunDiagnostics(runs: [
            .init(stage: "ppo", history: ppoHistory), .init(stage: "grpo", history: grpoHistory),
            .init(stage: "dpo", history: dpoHistory),
        ])
    }
}
