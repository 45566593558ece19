import Foundation
import Models
import Training

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
