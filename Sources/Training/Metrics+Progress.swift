import Foundation

/// The one-line progress display the CLI redraws each step, as a pure function (the library
/// never prints):
/// `step  120/1000 [██▌        ]  12% │ loss 3.4521 │ 12.3k tok/s │ lr 3.00e-04 │ ETA 4m12s`
public enum ProgressLine {
    /// - Parameters:
    ///   - step: steps completed so far (including those before a resume).
    ///   - startStep: the step this session started at (ETA uses only this session's speed).
    ///   - elapsedSeconds: wall time of this session.
    public static func format(
        step: Int, totalSteps: Int, startStep: Int = 0, loss: Double? = nil,
        tokensPerSecond: Double? = nil, learningRate: Float? = nil,
        elapsedSeconds: Double, barWidth: Int = 20,
        extra: [(name: String, value: String)] = []
    ) -> String {
        let digits = String(max(totalSteps, 1)).count
        let fraction = totalSteps > 0 ? min(1, max(0, Double(step) / Double(totalSteps))) : 0
        var parts = [
            "step \(pad(String(step), digits))/\(totalSteps) \(bar(fraction, width: barWidth)) \(pad(String(Int(fraction * 100)), 3))%"
        ]
        if let loss { parts.append("loss " + (loss.isFinite ? String(format: "%.4f", loss) : "\(loss)")) }
        if let tokensPerSecond { parts.append("\(compact(tokensPerSecond)) tok/s") }
        if let learningRate { parts.append("lr " + String(format: "%.2e", Double(learningRate))) }
        for (name, value) in extra { parts.append("\(name) \(value)") }
        let done = step - startStep
        if step >= totalSteps {
            parts.append("done in \(duration(elapsedSeconds))")
        } else if done > 0 && elapsedSeconds > 0 {
            parts.append("ETA \(duration(elapsedSeconds / Double(done) * Double(totalSteps - step)))")
        } else {
            parts.append("ETA --")
        }
        return parts.joined(separator: " │ ")
    }

    /// `37s`, `4m12s`, `2h05m`, `3d04h`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        if s < 86_400 { return "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" }
        return "\(s / 86_400)d\(String(format: "%02d", s % 86_400 / 3600))h"
    }

    /// `950`, `12.3k`, `4.56M`.
    public static func compact(_ value: Double) -> String {
        switch abs(value) {
        case ..<1_000: String(format: "%.0f", value)
        case ..<1_000_000: String(format: "%.1fk", value / 1_000)
        default: String(format: "%.2fM", value / 1_000_000)
        }
    }

    /// A bar with eighth-block resolution: `[███▍      ]`.
    static func bar(_ fraction: Double, width: Int) -> String {
        guard width > 0 else { return "" }
        let eighths = Int((fraction * Double(width * 8)).rounded(.down))
        let partials = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var s = String(repeating: "█", count: eighths / 8)
        if eighths / 8 < width { s += partials[eighths % 8] }
        s += String(repeating: " ", count: width - s.count)
        return "[" + s + "]"
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }
}
