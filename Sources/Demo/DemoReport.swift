import Datasets
import Foundation
import Training

/// Everything `rlhf demo` measured, per stage, with the comparison each stage must win.
public struct DemoReport: Sendable {
    public struct TokenizerSummary: Sendable, Codable {
        public var vocabularySize = 0
        public var trainTokens = 0
        public var bytesPerToken = 0.0
    }

    public struct PretrainingSummary: Sendable {
        public var initialBitsPerByte = Double.nan
        public var bitsPerByte = Double.nan
        public var history: [[String: Double]] = []
    }

    public struct RewardSummary: Sendable {
        public var comparisons = 0
        public var heldOutAccuracy = Double.nan
        /// How often the noisy simulated labelers agree with the noiseless ranking: the ceiling.
        public var labelerAgreement = Double.nan
        public var history: [[String: Double]] = []
    }

    public var parameters: DemoPipeline.Parameters
    public var tokenizer = TokenizerSummary()
    public var ngramBitsPerByte: [Int: Double] = [:]
    public var pretraining = PretrainingSummary()
    public var base: DemoEvaluator.Result?
    public var sft = DemoEvaluator.Result(
        accuracy: .nan, quality: .nan, accuracyByTask: [:], reward: nil, samples: [])
    public var sftHistory: [[String: Double]] = []
    public var reward = RewardSummary()
    public var ppo: DemoEvaluator.Result?
    public var ppoKL = Double.nan
    public var ppoHistory: [[String: Double]] = []
    public var dpo: DemoEvaluator.Result?
    public var dpoKL = Double.nan
    /// DPO's implicit reward ordering held-out labeler pairs (50% at the start).
    public var dpoHeldOutAccuracy = Double.nan
    public var dpoHistory: [[String: Double]] = []
    public var grpo: DemoEvaluator.Result?
    public var grpoKL = Double.nan
    public var grpoHistory: [[String: Double]] = []
    public var seconds: [String: Double] = [:]

    init(parameters: DemoPipeline.Parameters) { self.parameters = parameters }

    /// Best n-gram bits per byte (the baseline the transformer must beat).
    public var bestNGramBitsPerByte: Double { ngramBitsPerByte.values.min() ?? .nan }

    /// One line per claim: what improved over what (true when it did).
    public var checks: [(claim: String, passed: Bool)] {
        var out: [(String, Bool)] = []
        out.append(
            (
                String(
                    format: "pretraining: %.3f bits/byte < best n-gram %.3f", pretraining.bitsPerByte,
                    bestNGramBitsPerByte),
                pretraining.bitsPerByte < bestNGramBitsPerByte
            ))
        if let base {
            out.append(
                (
                    String(
                        format: "SFT: held-out accuracy %.1f%% > base %.1f%%", 100 * sft.accuracy,
                        100 * base.accuracy),
                    sft.accuracy > base.accuracy
                ))
        }
        out.append(
            (
                String(
                    format:
                        "reward model: held-out pair accuracy %.1f%% > chance 50%% (labelers agree %.1f%%)",
                    100 * reward.heldOutAccuracy, 100 * reward.labelerAgreement), reward.heldOutAccuracy > 0.5
            ))
        for (name, result) in [("PPO", ppo), ("DPO", dpo), ("GRPO", grpo)] {
            guard let result else { continue }
            if name == "DPO" {
                out.append(
                    (
                        String(
                            format:
                                "DPO: implicit reward orders %.1f%% of held-out labeler pairs > 50%% at the start",
                            100 * dpoHeldOutAccuracy), dpoHeldOutAccuracy > 0.5
                    ))
            } else if name == "GRPO" {
                // GRPO's objective is the verifier reward of its samples: it must rise over training.
                let k = max(1, grpoHistory.count / 4)
                let first = grpoHistory.prefix(k).compactMap { $0["reward"] },
                    last = grpoHistory.suffix(k).compactMap { $0["reward"] }
                let (a, b) = (
                    first.reduce(0, +) / Double(max(first.count, 1)),
                    last.reduce(0, +) / Double(max(last.count, 1))
                )
                out.append(
                    (String(format: "GRPO: verifier reward of its samples rose %.3f → %.3f", a, b), b > a))
            } else {
                out.append(
                    (
                        String(
                            format: "%@: reward-model score %.3f > SFT %.3f", name, result.reward ?? .nan,
                            sft.reward ?? .nan),
                        (result.reward ?? -.infinity) > (sft.reward ?? .infinity)
                    ))
            }
        }
        return out
    }

    /// Held-out greedy accuracy of the verifier-trained method against SFT. At full size GRPO
    /// beats SFT; at quick scale the difference is within the noise of a few dozen prompts per
    /// task, so the test asserts these only for the full-size run.
    public var heldOutChecks: [(claim: String, passed: Bool)] {
        guard let grpo else { return [] }
        return [
            (
                String(
                    format: "GRPO: held-out accuracy %.1f%% > SFT %.1f%% (%d prompts)", 100 * grpo.accuracy,
                    100 * sft.accuracy,
                    grpo.promptCount), grpo.accuracy > sft.accuracy
            )
        ]
    }

    public var markdown: String {
        var s = "# swift-rlhf demo report\n\n"
        s +=
            "Built-in verifiable tasks (reverse, sort, count, add, capitals, sentiment); every number is on held-out data.\n\n"
        s += "## Checks\n\n"
        for c in checks + heldOutChecks { s += "- \(c.passed ? "✅" : "❌") \(c.claim)\n" }
        s += "\n## Language modelling (bits per byte of held-out text)\n\n| model | bits/byte |\n|---|---|\n"
        for (order, bpb) in ngramBitsPerByte.sorted(by: { $0.key < $1.key }) {
            s += "| \(order)-gram, Kneser–Ney | \(f(bpb)) |\n"
        }
        s += "| transformer before training | \(f(pretraining.initialBitsPerByte)) |\n"
        s += "| transformer after pretraining | \(f(pretraining.bitsPerByte)) |\n\n"
        s +=
            "Tokenizer: \(tokenizer.vocabularySize) tokens, \(tokenizer.trainTokens) training tokens, \(f(tokenizer.bytesPerToken)) bytes/token.\n\n"
        s += "## Assistant quality (greedy answers to held-out prompts)\n\n"
        s +=
            "| model | accuracy | quality | reward-model score | KL to SFT (nats/answer) |\n|---|---|---|---|---|\n"
        func row(_ name: String, _ r: DemoEvaluator.Result?, _ kl: Double?) {
            guard let r else { return }
            s +=
                "| \(name) | \(pct(r.accuracy)) | \(f(r.quality)) | \(r.reward.map(f) ?? "–") | \(kl.map(f) ?? "–") |\n"
        }
        row("base (pretrained only)", base, nil)
        row("SFT", sft, 0)
        row("PPO", ppo, ppoKL)
        row("DPO", dpo, dpoKL)
        row("GRPO", grpo, grpoKL)
        s += "\nAccuracy by task:\n\n| task | base | SFT | PPO | DPO | GRPO |\n|---|---|---|---|---|---|\n"
        for task in sft.accuracyByTask.keys.sorted() {
            let cells = [base, sft, ppo, dpo, grpo].map { $0?.accuracyByTask[task].map(pct) ?? "–" }
            s += "| \(task) | " + cells.joined(separator: " | ") + " |\n"
        }
        s +=
            "\n## Reward model\n\n\(reward.comparisons) rankings of \(parameters.responsesPerPrompt) answers each "
        s += "(simulated labelers, adjacent-swap noise \(parameters.labelerNoise)).\n"
        s +=
            "Held-out pair accuracy \(pct(reward.heldOutAccuracy)); the labelers agree with the noiseless order on \(pct(reward.labelerAgreement)) of pairs.\n\n"
        s +=
            "## Plots\n\n![pretraining loss](pretrain_loss.svg)\n![SFT loss](sft_loss.svg)\n![reward model](reward_accuracy.svg)\n"
        s += "![PPO reward and KL](ppo.svg)\n![DPO](dpo.svg)\n![GRPO](grpo.svg)\n\n"
        s += diagnostics.markdown  // DemoReport+Diagnostics.swift
        s += "## Samples (SFT → held-out prompts)\n\n"
        for line in sft.samples { s += "- \(line)\n" }
        if let ppo { s += "\nPPO:\n\n"; for line in ppo.samples { s += "- \(line)\n" } }
        s += "\n## Time\n\n| stage | seconds |\n|---|---|\n"
        for (k, v) in seconds.sorted(by: { $0.value < $1.value }) {
            s += "| \(k) | \(String(format: "%.1f", v)) |\n"
        }
        return s
    }

    /// Short terminal summary.
    public var summary: String {
        var s = "swift-rlhf demo — held-out results\n"
        for c in checks + heldOutChecks { s += "  \(c.passed ? "✔" : "✘") \(c.claim)\n" }
        s += String(format: "  total time %.0f s", seconds["total"] ?? 0)
        return s
    }

    func f(_ x: Double) -> String { x.isNaN ? "–" : String(format: "%.3f", x) }
    func pct(_ x: Double) -> String { x.isNaN ? "–" : String(format: "%.1f%%", 100 * x) }

    /// Writes `report.md`, the SVG plots and `metrics.jsonl` (one line per stage step).
    public func write(to directory: URL) throws {
        try Data(markdown.utf8).write(to: directory.appendingPathComponent("report.md"), options: .atomic)
        var lines = ""
        for (stage, history) in [
            ("pretrain", pretraining.history), ("sft", sftHistory), ("reward", reward.history),
            ("ppo", ppoHistory), ("dpo", dpoHistory), ("grpo", grpoHistory),
        ] {
            for (i, m) in history.enumerated() {
                var object: [String: Any] = ["stage": stage, "step": i + 1]
                for (k, v) in m where v.isFinite { object[k] = v }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                lines += String(decoding: data, as: UTF8.self) + "\n"
            }
        }
        try Data(lines.utf8).write(to: directory.appendingPathComponent("metrics.jsonl"), options: .atomic)
        try writePlots(to: directory)
    }
}
