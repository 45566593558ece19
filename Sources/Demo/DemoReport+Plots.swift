import Datasets
import Foundation
import Training

extension DemoReport {
    /// (step, value) of one metric of a stage's history, skipping steps without it.
    func series(_ name: String, _ history: [[String: Double]], _ key: String) -> LinePlot.Series {
        LinePlot.Series(
            name: name,
            points: history.enumerated().compactMap { i, m in
                m[key].flatMap { $0.isFinite ? (x: Double(i + 1), y: $0) : nil }
            })
    }

    func writePlots(to directory: URL) throws {
        let plots: [(String, LinePlot)] = [
            (
                "pretrain_loss.svg",
                LinePlot(
                    title: "Pretraining", xLabel: "step", yLabel: "loss (nats/token)",
                    series: [series("loss", pretraining.history, "loss")])
            ),
            (
                "sft_loss.svg",
                LinePlot(
                    title: "SFT (assistant tokens only)", xLabel: "step", yLabel: "loss (nats/token)",
                    series: [series("loss", sftHistory, "loss")])
            ),
            (
                "reward_accuracy.svg",
                LinePlot(
                    title: "Reward model", xLabel: "step", yLabel: "pair accuracy / loss",
                    series: [
                        series("batch accuracy", reward.history, "accuracy"),
                        series("loss", reward.history, "loss"),
                    ])
            ),
            (
                "ppo.svg",
                LinePlot(
                    title: "PPO", xLabel: "rollout batch", yLabel: "value",
                    series: [
                        series("reward-model score", ppoHistory, "reward"),
                        series("KL to SFT", ppoHistory, "kl"),
                        series("rollout accuracy", ppoHistory, "accuracy"),
                    ])
            ),
            (
                "dpo.svg",
                LinePlot(
                    title: "DPO", xLabel: "step", yLabel: "value",
                    series: [
                        series("implicit reward margin", dpoHistory, "reward_margin"),
                        series("pair accuracy", dpoHistory, "reward_accuracy"),
                    ])
            ),
            (
                "grpo.svg",
                LinePlot(
                    title: "GRPO", xLabel: "step", yLabel: "value",
                    series: [
                        series("verifier reward", grpoHistory, "reward"),
                        series("KL to SFT", grpoHistory, "kl"),
                    ])
            ),
        ]
        for (file, plot) in plots { try plot.write(to: directory.appendingPathComponent(file)) }
        try diagnostics.writePlots(to: directory)
    }
}
