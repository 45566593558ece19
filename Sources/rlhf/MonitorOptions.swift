import ArgumentParser
import Datasets
import Foundation
import Models
import Training

/// The thresholds of the live over-optimisation warnings of `rlhf ppo|grpo|dpo` (see
/// `OveroptimizationMonitor`); each one left out keeps the library's default.
struct MonitorOptions: ParsableArguments {
    @Option(
        name: .customLong("warn-kl"),
        help: "Warn when the KL to the reference exceeds this many nats per answer.")
    var klLimit: Double?

    @Option(
        name: .customLong("warn-diversity"),
        help:
            "Warn when the reward rises while the share of distinct answers falls below this fraction of its start."
    )
    var diversityRatio: Double?

    @Option(
        name: .customLong("warn-repeated"),
        help: "Warn when the reward rises while one answer answers more than this share of prompts.")
    var repeatedShare: Double?

    func validate() throws {
        if let klLimit, !(klLimit > 0) { throw ValidationError("--warn-kl must be positive") }
        if let diversityRatio, !(diversityRatio > 0 && diversityRatio < 1) {
            throw ValidationError("--warn-diversity must be in (0, 1)")
        }
        if let repeatedShare, !(repeatedShare > 0 && repeatedShare < 1) {
            throw ValidationError("--warn-repeated must be in (0, 1)")
        }
    }

    func monitor(stage: String) -> OveroptimizationMonitor {
        var p = OveroptimizationMonitor.Parameters()
        p.klLimit = klLimit ?? p.klLimit
        p.diversityCollapseRatio = diversityRatio ?? p.diversityCollapseRatio
        p.stockPhraseShare = repeatedShare ?? p.stockPhraseShare
        return .forStage(stage, parameters: p)
    }
}

extension StageRun {
    /// A progress handler for an RL stage: draws the progress line, logs every step's metrics
    /// with the step's named token sequences decoded by `text` (e.g. "most_repeated_answer"),
    /// and prints and logs (under "warning") each over-optimisation sign `monitor` sees appear.
    static func progress(
        _ renderer: ProgressRenderer, _ log: MetricsLog, watching monitor: OveroptimizationMonitor,
        text: @escaping ([Int32]) -> String
    ) -> ProgressHandler {
        var monitor = monitor
        return { p in
            renderer.update(p)
            var record = p.metrics.mapValues { JSONValue.number($0) }
            for (name, tokens) in p.sequences { record[name] = .string(text(tokens)) }
            let warnings = monitor.observe(p.metrics)
            for warning in warnings { renderer.line("\(p.stage): \(warning)") }
            if !warnings.isEmpty {
                record["warning"] = .string(warnings.map(\.message).joined(separator: "; "))
            }
            do { try log.append(step: p.step, record) } catch {
                renderer.line("warning: metrics not logged: \(error)")
            }
        }
    }
}
