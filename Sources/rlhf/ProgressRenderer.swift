import Foundation
import Training

/// Draws stage progress on the terminal: one live line (rewritten in place on a terminal, every
/// tenth step otherwise) with step, loss or reward, rate and ETA.
final class ProgressRenderer: @unchecked Sendable {
    // @unchecked: used from the single thread that runs the stage.
    private let interactive = isatty(STDERR_FILENO) != 0
    private var started: [String: Date] = [:]
    private var live = false

    func update(_ p: StageProgress) {
        let start =
            started[p.stage]
            ?? {
                started[p.stage] = Date(); return Date()
            }()
        let elapsed = Date().timeIntervalSince(start)
        let eta = p.step > 0 ? elapsed / Double(p.step) * Double(p.totalSteps - p.step) : 0
        var fields = ["\(p.stage) \(p.step)/\(p.totalSteps)"]
        let keys = [
            "loss", "reward", "kl", "accuracy", "reward_accuracy", "tokens_per_second", "lr", "peak_rss_mb",
        ]
        for key in keys {
            guard let v = p.metrics[key] else { continue }
            fields.append(
                key == "tokens_per_second"
                    ? String(format: "%.0f tok/s", v)
                    : key == "lr"
                        ? String(format: "lr %.2e", v)
                        : key == "peak_rss_mb"
                            ? String(format: "peak %.0f MB", v)
                            : String(format: "%@ %.4f", key, v))
        }
        fields.append(String(format: "eta %.0fs", eta))
        let text = fields.joined(separator: "  ")
        if let note = p.note { line(note) }
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text).utf8))
            live = true
            if p.step == p.totalSteps { finish() }
        } else if p.step == p.totalSteps || p.step % 10 == 0 || p.step == 1 {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    func line(_ text: String) {
        finish()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func finish() {
        if live { FileHandle.standardError.write(Data("\n".utf8)); live = false }
    }
}
