import Datasets
import Foundation
import Models
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
    public var rewardDiagnostics = RewardDiagnostics()
    public var ppo: DemoEvaluator.Result?
    public var ppoKL = Double.nan
    public var ppoHistory: [[String: Double]] = []
    public var dpo: DemoEvaluator.Result?
    public var dpoKL = Double.nan
    /// DPO's implicit reward ordering held-out pairs (best and worst answer by the verifier) as
    /// the verifier does (50% at the start).
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
        // Not measured when the alignment stages ran on an earlier run's base and SFT models.
        if !pretraining.bitsPerByte.isNaN {
            out.append(
                (
                    String(
                        format: "pretraining: %.3f bits/byte < best n-gram %.3f", pretraining.bitsPerByte,
                        bestNGramBitsPerByte),
                    pretraining.bitsPerByte < bestNGramBitsPerByte
                ))
        }
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
        // Every RL check asks the verifier (the truth), never the reward model PPO optimised;
        // PPO's is among the goals (`heldOutChecks`): with this reward model it does not hold.
        if dpo != nil {
            out.append(
                (
                    String(
                        format:
                            "DPO: implicit reward orders %.1f%% of held-out pairs as the verifier does > 50%% at the start",
                        100 * dpoHeldOutAccuracy), dpoHeldOutAccuracy > 0.5
                ))
        }
        if grpo != nil {
            // GRPO's objective is the verifier reward of its samples: it must rise over training.
            let (a, b) = firstAndLastQuarter(grpoHistory, "reward")
            out.append((String(format: "GRPO: verifier reward of its samples rose %.3f → %.3f", a, b), b > a))
        }
        return out
    }

    /// Means of `key` over the first and the last quarter of `history`.
    func firstAndLastQuarter(_ history: [[String: Double]], _ key: String) -> (Double, Double) {
        let k = max(1, history.count / 4)
        let first = history.prefix(k).compactMap { $0[key] }, last = history.suffix(k).compactMap { $0[key] }
        return (
            first.reduce(0, +) / Double(max(first.count, 1)), last.reduce(0, +) / Double(max(last.count, 1))
        )
    }

    /// Gain in held-out accuracy every RL method must show over SFT (at full size).
    public static let requiredGain = 0.03
    /// Held-out pair accuracy the reward model must reach (at full size).
    public static let requiredRewardAccuracy = 0.8

    /// Each RL model's held-out accuracy minus SFT's, prompt by prompt, with its 95% interval.
    public var differences: [(name: String, difference: PairedDifference)] {
        [("PPO", ppo), ("DPO", dpo), ("GRPO", grpo)].compactMap { name, result in
            guard let result, result.correct.count == sft.correct.count else { return nil }
            return (name, PairedDifference(from: sft.correct, to: result.correct))
        }
    }

    /// Issue 13's goals: the reward model's held-out pair accuracy, PPO's rollouts getting more
    /// right by the verifier, and each RL model's held-out greedy accuracy at least `requiredGain`
    /// above SFT's. At quick scale a few dozen prompts per task cannot show a 3-point gain, so the
    /// test asserts these for the full-size run only; docs/demo-learning.md has the ones missed.
    public var heldOutChecks: [(claim: String, passed: Bool)] {
        let results = ["PPO": ppo, "DPO": dpo, "GRPO": grpo]
        var out: [(claim: String, passed: Bool)] = []

        let rewardModel = (
            claim: String(
                format: "reward model: held-out pair accuracy %.1f%% ≥ %.0f%%", 100 * reward.heldOutAccuracy,
                100 * Self.requiredRewardAccuracy),
            passed: reward.heldOutAccuracy >= Self.requiredRewardAccuracy
        )
        out.append(rewardModel)
        if ppo != nil {
            let (a, b) = firstAndLastQuarter(ppoHistory, "accuracy")
            out.append(
                (
                    String(
                        format: "PPO: verifier accuracy of its rollouts rose %.1f%% → %.1f%%", 100 * a,
                        100 * b),
                    b > a
                ))
        }
        return out
            + differences.map { name, d in
                let accuracy = results[name]!!.accuracy
                return (
                    String(
                        format:
                            "%@: held-out accuracy %.1f%% ≥ SFT %.1f%% + %.0f points (%+.1f points, 95%% interval %+.1f to %+.1f; %d prompts)",
                        name, 100 * accuracy, 100 * sft.accuracy, 100 * Self.requiredGain, 100 * d.difference,
                        100 * d.lower, 100 * d.upper, d.prompts),
                    d.difference >= Self.requiredGain - 1e-9
                )
            }
    }

    public var markdown: String {
        var s = "# swift-rlhf demo report\n\n"
        s +=
            "Built-in verifiable tasks (reverse, sort, count, add, capitals, sentiment); every number is on held-out data.\n\n"
        s += "## Checks\n\n"
        for c in checks { s += "- \(c.passed ? "✅" : "❌") \(c.claim)\n" }
        s += "\nGoals (full size; every RL goal judged by the verifier, never by the reward model):\n\n"
        for c in heldOutChecks { s += "- \(c.passed ? "✅" : "❌") \(c.claim)\n" }
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
        if !differences.isEmpty {
            s +=
                "\nHeld-out accuracy minus SFT's on the same \(sft.promptCount) prompts (paired; 95% interval "
            s += "d̄ ± 1.96·sd(d)/√n of the per-prompt differences d ∈ {−1, 0, 1}):\n\n"
            s +=
                "| model | difference | 95% interval | prompts gained | prompts lost |\n|---|---|---|---|---|\n"
            for (name, d) in differences {
                s += String(
                    format: "| %@ | %+.1f points | %+.1f to %+.1f | %d | %d |\n", name, 100 * d.difference,
                    100 * d.lower, 100 * d.upper, d.gained, d.lost)
            }
        }
        s += "\nAccuracy by task:\n\n| task | base | SFT | PPO | DPO | GRPO |\n|---|---|---|---|---|---|\n"
        for task in sft.accuracyByTask.keys.sorted() {
            let cells = [base, sft, ppo, dpo, grpo].map { $0?.accuracyByTask[task].map(pct) ?? "–" }
            s += "| \(task) | " + cells.joined(separator: " | ") + " |\n"
        }
        s +=
            "\n## Reward model\n\n\(reward.comparisons) rankings of up to \(parameters.responsesPerPrompt) answers each "
        s +=
            "(simulated labelers grading by \(parameters.labelerGrading == .correctness ? "correctness" : "correctness, then partial credit")"
        s += parameters.labelersRankDistinctGrades ? ", answers of equal grade shown once" : ""
        s += ", adjacent-swap noise \(parameters.labelerNoise)).\n"
        s +=
            "Held-out pair accuracy \(pct(reward.heldOutAccuracy)); the labelers agree with the noiseless order on \(pct(reward.labelerAgreement)) of pairs.\n\n"
        s += "| held-out pairs | pairs | reward model agrees with labelers |\n|---|---|---|\n"
        for slice in rewardDiagnostics.slices {
            s += "| \(slice.name) | \(slice.pairs) | \(pct(slice.accuracy)) |\n"
        }
        s +=
            "\nAgainst the verifier's order (the truth) on the \(rewardDiagnostics.verifierPairs) pairs it orders strictly: \(pct(rewardDiagnostics.verifierAccuracy)).\n\n"
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

    /// The headline numbers as JSON (`results.json`): seconds, held-out prompts, labeler
    /// agreement, the reward model's held-out pair accuracy, and per model its held-out accuracy,
    /// reward-model score, KL to SFT and which prompts it answered correctly; each RL model's
    /// paired difference to SFT.
    public func resultsJSON() throws -> Data {
        func number(_ x: Double?) -> Any { x.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        var models: [String: Any] = [:]
        let rows: [(String, DemoEvaluator.Result?, Double?)] = [
            ("base", base, nil), ("sft", sft, 0), ("ppo", ppo, ppoKL), ("dpo", dpo, dpoKL),
            ("grpo", grpo, grpoKL),
        ]
        for (name, result, kl) in rows {
            guard let result else { continue }
            models[name] = [
                "accuracy": number(result.accuracy), "reward_model_score": number(result.reward),
                "kl_to_sft": number(kl),
                // Per held-out prompt (the evaluator's order), so runs can be compared paired.
                "correct": result.correct.map { $0 ? 1 : 0 },
            ]
        }
        var differenceObject: [String: Any] = [:]
        for (name, d) in differences {
            differenceObject[name.lowercased()] = [
                "difference": number(d.difference), "lower": number(d.lower), "upper": number(d.upper),
                "gained": d.gained, "lost": d.lost,
            ]
        }
        let object: [String: Any] = [
            "seconds": number(seconds["total"]), "heldout_prompts": sft.promptCount,
            "labeler_agreement": number(reward.labelerAgreement),
            "reward_model": [
                "heldout_pair_accuracy": number(reward.heldOutAccuracy),
                "heldout_pair_accuracy_by_verifier": number(rewardDiagnostics.verifierAccuracy),
                "comparisons": reward.comparisons,
            ],
            "models": models, "differences_to_sft": differenceObject,
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    func f(_ x: Double) -> String { x.isNaN ? "–" : String(format: "%.3f", x) }
    func pct(_ x: Double) -> String { x.isNaN ? "–" : String(format: "%.1f%%", 100 * x) }

    /// Writes `report.md`, `results.json`, the SVG plots and `metrics.jsonl` (one line per stage step).
    public func write(to directory: URL) throws {
        try Data(markdown.utf8).write(to: directory.appendingPathComponent("report.md"), options: .atomic)
        try AtomicFileWriter.write(resultsJSON(), to: directory.appendingPathComponent("results.json"))
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
