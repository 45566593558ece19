import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Models
import Testing
import Training
@testable import Demo

/// The RL diagnostics report: plots from the stages' metrics, the first → last table and the
/// replayed warnings.
@Suite struct RunDiagnosticsTests {
    /// A PPO run that games its reward model: score up, verifier accuracy and diversity down.
    static let ppo: [[String: Double]] = (0..<20).map { i in
        let t = Double(i)
        let greedy: [String: Double] =
            i % 5 == 0 ? ["greedy_distinct_answers": 0.6, "greedy_repeated_answer_share": 0.1] : [:]
        return greedy.merging([
            "reward": 0.1 * t, "accuracy": 0.5 - 0.012 * t, "kl": 0.1 * t, "answer_length": 8 - 0.2 * t,
            "distinct_answers": 0.9 - 0.04 * t, "repeated_answer_share": 0.05, "distinct_1": 0.5,
            "distinct_2": 0.8, "entropy": 2 - 0.05 * t, "clip_fraction": 0.1, "value_clip_fraction": 0.2,
            "explained_variance": -0.5 + 0.05 * t,
        ]) { $1 }
    }
    static let grpo: [[String: Double]] = (0..<10).map { i in
        [
            "reward": 0.3 + 0.02 * Double(i), "kl_per_answer": 0.05 * Double(i), "entropy": 1.5,
            "distinct_answers": 0.6,
        ]
    }

    @Test func plotsCoverWhatTheRunsLoggedAndSkipTheRest() throws {
        let d = RunDiagnostics(runs: [
            .init(stage: "ppo", history: Self.ppo), .init(stage: "grpo", history: Self.grpo),
            .init(stage: "dpo", history: []),
        ])
        #expect(d.runs.map(\.stage) == ["ppo", "grpo"])
        let plots = Dictionary(uniqueKeysWithValues: d.plots.map { ($0.file, $0.plot) })
        #expect(
            Set(plots.keys) == [
                "overoptimization.svg", "kl_reward.svg", "answer_length.svg", "diversity.svg",
                "distinct_n.svg",
                "entropy.svg", "clip_fraction.svg", "explained_variance.svg",
            ])
        #expect(
            plots["overoptimization.svg"]!.series.map(\.name) == ["reward-model score", "verifier accuracy"])
        #expect(plots["overoptimization.svg"]!.series[1].points.count == 20)
        #expect(plots["entropy.svg"]!.series.map(\.name) == ["PPO", "GRPO"])
        #expect(plots["explained_variance.svg"]!.series.map(\.name) == ["PPO"])
        #expect(
            plots["diversity.svg"]!.series.map(\.name) == [
                "PPO distinct", "GRPO distinct", "PPO distinct greedy", "PPO most repeated",
                "PPO most repeated greedy",
            ])
        #expect(plots["diversity.svg"]!.series[2].points.map(\.x) == [1, 6, 11, 16])
        let frontier = plots["kl_reward.svg"]!.series
        #expect(frontier.map(\.name) == ["PPO reward-model score", "PPO verifier accuracy", "GRPO reward"])
        // Five-step trailing means: at step 5 KL (0+.1+.2+.3+.4)/5 = 0.2 and reward the same.
        #expect(abs(frontier[0].points[4].x - 0.2) < 1e-12 && abs(frontier[0].points[4].y - 0.2) < 1e-12)
        for plot in plots.values { #expect(try XMLDocument(xmlString: plot.svg()).rootElement() != nil) }
    }

    @Test func markdownTabulatesFirstAndLastFifthAndReplaysTheWarnings() {
        let d = RunDiagnostics(runs: [.init(stage: "ppo", history: Self.ppo)])
        let md = d.markdown
        // Reward: first four steps mean 0.15, last four 1.75; distinct answers 84% → 20%.
        #expect(md.contains("| PPO | 0.150 → 1.750 | 48% → 29% |"))
        #expect(md.contains("84% → 20%"))
        // KL 0.1 per step grows tenfold, diversity falls below half its start as the score rises.
        #expect(Set(d.warnings.map(\.warning.kind)) == [.klRunaway, .diversityCollapse])
        #expect(md.contains("PPO, warning (step"))
        #expect(md.contains("![PPO: reward-model score against the verifier](overoptimization.svg)"))
    }

    @Test func loadsTheStagesMetricsFilesNumbersOnly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("diag-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("metrics.jsonl")
        let log = try MetricsLog(url: url)
        try log.append(step: 1, ["reward": 0.5, "most_repeated_answer": "I am sure, sir", "kl": 0.25])
        try log.append(step: 2, ["reward": 0.75, "warning": "stock phrase", "kl": 0.5])
        let d = try RunDiagnostics.load([(stage: "ppo", url: url)])
        #expect(d.runs.count == 1)
        #expect(d.runs[0].history == [["reward": 0.5, "kl": 0.25], ["reward": 0.75, "kl": 0.5]])
    }
}
