import Foundation
import Models
import Training

/// The diagnostics of RL runs, from their logged metrics (`metrics.jsonl`, one record per step):
/// the over-optimisation curve (reward-model score against the verifier), the KL–reward
/// frontier, answer length and diversity, entropy, clip fraction and the value model's
/// explained variance, as SVG plots and a markdown section with the warnings
/// `OveroptimizationMonitor` raises when the histories are replayed.
public struct RunDiagnostics: Sendable {
    public struct Run: Sendable {
        /// The stage as the CLI names it: "ppo", "grpo", "dpo" (or another direct method).
        public var stage: String
        public var history: [[String: Double]]
        public init(stage: String, history: [[String: Double]]) {
            self.stage = stage
            self.history = history
        }
    }

    public var runs: [Run]
    public var monitor = OveroptimizationMonitor.Parameters()

    public init(runs: [Run]) { self.runs = runs.filter { !$0.history.isEmpty } }

    /// Reads each stage's `metrics.jsonl` (numbers only; text fields are left out).
    public static func load(_ files: [(stage: String, url: URL)]) throws -> RunDiagnostics {
        RunDiagnostics(
            runs: try files.map { stage, url in
                Run(
                    stage: stage,
                    history: try MetricsLog.read(url).map { record in
                        record.compactMapValues(\.doubleValue).filter { $0.key != "step" }
                    })
            })
    }

    // MARK: what each stage's numbers mean

    /// The reward the stage optimises: PPO's reward-model score, GRPO's verifier reward, a direct
    /// method's implicit reward margin.
    static func rewardKey(_ stage: String) -> String {
        stage == "ppo" || stage == "grpo" ? "reward" : "reward_margin"
    }

    static func klKey(_ stage: String) -> String { stage == "ppo" ? "kl" : "kl_per_answer" }

    /// The verifier's accuracy of the sampled answers ("accuracy" in the demo's PPO).
    static func accuracy(_ metrics: [String: Double]) -> Double? {
        metrics["verifier_accuracy"] ?? metrics["accuracy"]
    }

    static func label(_ stage: String) -> String { stage.uppercased() }

    // MARK: plots

    /// (step, value) of `value` over a history, skipping steps without it.
    static func series(
        _ name: String, _ history: [[String: Double]], _ value: ([String: Double]) -> Double?
    ) -> LinePlot.Series {
        LinePlot.Series(
            name: name,
            points: history.enumerated().compactMap { i, m in
                value(m).flatMap { $0.isFinite ? (x: Double(i + 1), y: $0) : nil }
            })
    }

    /// Mean over a trailing window of `width` steps (fewer at the start), so a noisy curve
    /// drawn against another noisy quantity still reads as a path.
    static func smoothed(_ values: [Double], width: Int) -> [Double] {
        values.indices.map { i in
            let part = values[max(0, i - width + 1)...i]
            return part.reduce(0, +) / Double(part.count)
        }
    }

    /// `y` against `x` over the steps that have both, each smoothed over `width` steps.
    static func frontier(
        _ name: String, _ history: [[String: Double]], x: String, y: ([String: Double]) -> Double?,
        width: Int = 5
    ) -> LinePlot.Series {
        let pairs = history.compactMap { m -> (Double, Double)? in
            guard let a = m[x], let b = y(m), a.isFinite, b.isFinite else { return nil }
            return (a, b)
        }
        let xs = smoothed(pairs.map(\.0), width: width), ys = smoothed(pairs.map(\.1), width: width)
        return LinePlot.Series(name: name, points: zip(xs, ys).map { (x: $0, y: $1) })
    }

    /// The plots, by file name; a plot without any point is left out.
    public var plots: [(file: String, plot: LinePlot)] {
        func each(_ key: String, _ suffix: String = "") -> [LinePlot.Series] {
            runs.map { Self.series(Self.label($0.stage) + suffix, $0.history) { $0[key] } }
        }
        var out: [(String, LinePlot)] = []
        for run in runs where run.stage == "ppo" {
            out.append(
                (
                    "overoptimization.svg",
                    LinePlot(
                        title: "PPO: reward-model score against the verifier", xLabel: "rollout batch",
                        yLabel: "score / accuracy",
                        series: [
                            Self.series("reward-model score", run.history) { $0["reward"] },
                            Self.series("verifier accuracy", run.history, Self.accuracy),
                        ])
                ))
        }
        var frontier: [LinePlot.Series] = []
        for run in runs {
            let kl = Self.klKey(run.stage), name = Self.label(run.stage)
            if run.stage == "ppo" {
                frontier.append(
                    Self.frontier("\(name) reward-model score", run.history, x: kl) { $0["reward"] })
                frontier.append(
                    Self.frontier("\(name) verifier accuracy", run.history, x: kl, y: Self.accuracy))
            } else {
                frontier.append(
                    Self.frontier("\(name) reward", run.history, x: kl) { $0[Self.rewardKey(run.stage)] })
            }
        }
        out.append(
            (
                "kl_reward.svg",
                LinePlot(
                    title: "KL–reward frontier (5-step means)", xLabel: "KL to reference (nats per answer)",
                    yLabel: "reward / accuracy", series: frontier)
            ))
        out.append(
            (
                "answer_length.svg",
                LinePlot(
                    title: "Answer length", xLabel: "step", yLabel: "tokens per answer",
                    series: each("answer_length", " sampled") + each("greedy_answer_length", " greedy"))
            ))
        out.append(
            (
                "diversity.svg",
                LinePlot(
                    title: "Distinct answers and the most repeated one", xLabel: "step", yLabel: "share",
                    series: each("distinct_answers", " distinct")
                        + each("greedy_distinct_answers", " distinct greedy")
                        + each("repeated_answer_share", " most repeated")
                        + each("greedy_repeated_answer_share", " most repeated greedy")
                        + each("repeated_ending_share", " most repeated ending")
                        + each("greedy_repeated_ending_share", " most repeated greedy ending"))
            ))
        out.append(
            (
                "distinct_n.svg",
                LinePlot(
                    title: "Distinct n-grams over each batch's answers", xLabel: "step", yLabel: "share",
                    series: each("distinct_1", " distinct-1") + each("distinct_2", " distinct-2"))
            ))
        out.append(
            (
                "entropy.svg",
                LinePlot(
                    title: "Policy entropy on sampled answers", xLabel: "step", yLabel: "nats per token",
                    series: each("entropy"))
            ))
        out.append(
            (
                "clip_fraction.svg",
                LinePlot(
                    title: "Clip fraction", xLabel: "step", yLabel: "share of tokens",
                    series: each("clip_fraction", " policy") + each("value_clip_fraction", " value"))
            ))
        out.append(
            (
                "explained_variance.svg",
                LinePlot(
                    title: "Value model: explained variance of the returns", xLabel: "rollout batch",
                    yLabel: "1 − Var(returns − values) / Var(returns)", series: each("explained_variance"))
            ))
        return out.compactMap { file, plot in
            let kept = plot.series.filter { !$0.points.isEmpty }
            guard !kept.isEmpty else { return nil }
            var plot = plot
            plot.series = kept
            return (file, plot)
        }
    }

    public func writePlots(to directory: URL) throws {
        for (file, plot) in plots { try plot.write(to: directory.appendingPathComponent(file)) }
    }

    // MARK: report

    /// Each run's warnings, replayed through the monitor.
    public var warnings: [(stage: String, warning: OveroptimizationMonitor.Warning)] {
        runs.flatMap { run in
            var monitor = OveroptimizationMonitor.forStage(run.stage, parameters: self.monitor)
            return run.history.flatMap { monitor.observe($0) }.map { (run.stage, $0) }
        }
    }

    /// Mean of `value` over the first or last fifth of a history's steps that have it.
    static func fifth(
        _ history: [[String: Double]], last: Bool, _ value: ([String: Double]) -> Double?
    ) -> Double? {
        let values = history.compactMap(value).filter(\.isFinite)
        guard !values.isEmpty else { return nil }
        let k = max(1, values.count / 5)
        let part = last ? values.suffix(k) : values.prefix(k)
        return part.reduce(0, +) / Double(part.count)
    }

    /// "a → b" over the first and last fifth, or "–".
    static func change(
        _ history: [[String: Double]], percent: Bool = false, _ value: ([String: Double]) -> Double?
    )
        -> String
    {
        func f(_ x: Double?) -> String {
            guard let x else { return "–" }
            return percent ? String(format: "%.0f%%", 100 * x) : String(format: "%.3f", x)
        }
        let a = fifth(history, last: false, value), b = fifth(history, last: true, value)
        return a == nil && b == nil ? "–" : "\(f(a)) → \(f(b))"
    }

    /// A markdown section: the table of first → last fifth, the warnings and the plots.
    public var markdown: String {
        var s = "## Diagnostics of the RL runs\n\n"
        s += "First → last fifth of each run's logged steps (training prompts).\n\n"
        s += "| run | reward | verifier accuracy | KL (nats/answer) | answer length | distinct answers "
        s += "| most repeated answer | most repeated ending | distinct-2 | distinct greedy answers "
        s += "| most repeated greedy answer | most repeated greedy ending | entropy | clip fraction "
        s += "| explained variance |\n"
        s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for run in runs {
            let h = run.history
            let cells = [
                Self.change(h) { $0[Self.rewardKey(run.stage)] },
                Self.change(h, percent: true, Self.accuracy),
                Self.change(h) { $0[Self.klKey(run.stage)] },
                Self.change(h) { $0["answer_length"] },
                Self.change(h, percent: true) { $0["distinct_answers"] },
                Self.change(h, percent: true) { $0["repeated_answer_share"] },
                Self.change(h, percent: true) { $0["repeated_ending_share"] },
                Self.change(h) { $0["distinct_2"] },
                Self.change(h, percent: true) { $0["greedy_distinct_answers"] },
                Self.change(h, percent: true) { $0["greedy_repeated_answer_share"] },
                Self.change(h, percent: true) { $0["greedy_repeated_ending_share"] },
                Self.change(h) { $0["entropy"] },
                Self.change(h) { $0["clip_fraction"] },
                Self.change(h) { $0["explained_variance"] },
            ]
            s += "| \(Self.label(run.stage)) | " + cells.joined(separator: " | ") + " |\n"
        }
        s +=
            "\nReward: PPO the reward-model score, GRPO the verifier reward, DPO the implicit reward margin "
            + "on its pairs. Sampled answers are the run's rollouts; greedy answers (`--greedy-every`, "
            + "`--sample-every`) answer a fixed set of prompts.\n\n"
        let found = warnings
        if found.isEmpty {
            s += "No over-optimisation warning.\n\n"
        } else {
            s += "Over-optimisation warnings:\n\n"
            for (stage, w) in found { s += "- \(Self.label(stage)), \(w)\n" }
            s += "\n"
        }
        for (file, plot) in plots { s += "![\(plot.title)](\(file))\n" }
        return s + "\n"
    }
}
