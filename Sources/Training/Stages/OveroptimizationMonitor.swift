import Foundation

/// Watches an RL run's logged metrics, step by step, for the signs that the policy is gaming its
/// reward rather than getting better: the reward rises while the answers' diversity collapses,
/// one stock answer or ending takes over, or the KL to the reference runs away. A pure value fed one
/// step's metrics at a time, so the CLI can warn while training and a report can replay a
/// finished run's history.
///
/// Each sign is judged on the mean of the last `window` logged values against the mean of the
/// first `window` (the start of the run, close to the reference policy), and warned about once
/// when it appears; it warns again only after it has been absent for `rearmSteps` steps.
public struct OveroptimizationMonitor: Sendable {
    public struct Parameters: Sendable, Equatable {
        /// Logged steps averaged for the start of the run and for the current value.
        public var window = 3
        /// Diversity collapse: the share of distinct answers falls below this fraction of its
        /// start while the reward is above its start.
        public var diversityCollapseRatio = 0.5
        /// Stock phrase: the most repeated answer's (or answer ending's) share of prompts exceeds
        /// this and `stockPhraseGrowth` × its start while the reward is above its start (the
        /// start matters: tasks with few possible answers repeat them legitimately).
        public var stockPhraseShare = 0.25
        public var stockPhraseGrowth = 2.0
        /// KL runaway: the KL per answer (nats) exceeds this, …
        public var klLimit = 10.0
        /// … or has grown more than `klGrowthFactor`-fold over the last `klGrowthSteps` logged
        /// steps and exceeds `klGrowthFloor` (small KLs double easily and harmlessly).
        public var klGrowthFactor = 2.0
        public var klGrowthSteps = 10
        public var klGrowthFloor = 1.0
        /// A sign warned about warns again only after it has been absent this many logged steps
        /// (noisy batch metrics flicker around a threshold).
        public var rearmSteps = 10
        public init() {}
    }

    public enum Kind: String, Sendable, CaseIterable {
        case diversityCollapse = "diversity_collapse"
        case stockPhrase = "stock_phrase"
        case klRunaway = "kl_runaway"
    }

    public struct Warning: Sendable, Equatable, CustomStringConvertible {
        public var kind: Kind
        /// 1-based logged step at which the sign appeared.
        public var step: Int
        public var message: String
        public var description: String { "warning (step \(step)): \(message)" }
    }

    public let parameters: Parameters
    /// Metric names: the reward that should rise, the KL per answer, the diversity measures.
    public let rewardKey: String
    public let klKey: String
    /// Prefixes of the answer statistics watched: "" for the sampled answers, "greedy_" for
    /// greedy answers (`RolloutDiagnostics.GreedySample`); the first that shows a sign names it.
    public var answerPrefixes = ["", "greedy_"]

    private var history: [String: [Double]] = [:]
    /// The last step at which each sign was present.
    private var lastSeen: [Kind: Int] = [:]
    private var steps = 0

    public init(parameters: Parameters = Parameters(), rewardKey: String = "reward", klKey: String = "kl") {
        precondition(
            parameters.window >= 1 && parameters.klGrowthSteps >= 1, "monitor windows must be positive")
        self.parameters = parameters
        self.rewardKey = rewardKey
        self.klKey = klKey
    }

    /// The monitor of a stage's metrics: PPO's "reward" and "kl", GRPO's "reward" and
    /// "kl_per_answer", a direct method's "reward_margin" and "kl_per_answer" (present only when
    /// it samples answers).
    public static func forStage(_ stage: String, parameters: Parameters = Parameters()) -> Self {
        switch stage {
        case "ppo": Self(parameters: parameters, rewardKey: "reward", klKey: "kl")
        case "grpo": Self(parameters: parameters, rewardKey: "reward", klKey: "kl_per_answer")
        default: Self(parameters: parameters, rewardKey: "reward_margin", klKey: "kl_per_answer")
        }
    }

    /// Takes one logged step's metrics; returns the signs that appeared at this step.
    public mutating func observe(_ metrics: [String: Double]) -> [Warning] {
        steps += 1
        let answerKeys = answerPrefixes.flatMap {
            [$0 + "distinct_answers", $0 + "repeated_answer_share", $0 + "repeated_ending_share"]
        }
        for key in [rewardKey, klKey] + answerKeys {
            if let value = metrics[key], value.isFinite { history[key, default: []].append(value) }
        }
        var now: [Kind: String] = [:]
        let p = parameters
        let rewardRose: (start: Double, current: Double)? = {
            guard let (start, current) = startAndCurrent(rewardKey), current > start else { return nil }
            return (start, current)
        }()
        for prefix in answerPrefixes.reversed() {
            let answers = prefix.isEmpty ? "answers" : "\(prefix.dropLast()) answers"
            if let reward = rewardRose, let (start, current) = startAndCurrent(prefix + "distinct_answers"),
                current < p.diversityCollapseRatio * start
            {
                now[.diversityCollapse] =
                    "reward rose \(fmt(reward.start)) → \(fmt(reward.current)) while the share of distinct "
                    + "\(answers) fell \(percent(start)) → \(percent(current)) (below "
                    + "\(percent(p.diversityCollapseRatio)) of its start): the policy may be collapsing onto "
                    + "what the reward model likes"
            }
            // Whole answers first: a repeated answer also repeats its ending.
            for (key, what) in [
                ("repeated_ending_share", "one ending (last 3 tokens) of the \(answers) now ends"),
                ("repeated_answer_share", "one of the \(answers) now answers"),
            ] {
                if let reward = rewardRose, let (start, current) = startAndCurrent(prefix + key),
                    current > p.stockPhraseShare, current > p.stockPhraseGrowth * start
                {
                    now[.stockPhrase] =
                        "reward rose \(fmt(reward.start)) → \(fmt(reward.current)) while \(what) "
                        + "\(percent(current)) of prompts (\(percent(start)) at the start): a stock phrase"
                }
            }
        }
        if let values = history[klKey], let (_, current) = startAndCurrent(klKey) {
            if current > p.klLimit {
                now[.klRunaway] =
                    "KL to the reference \(fmt(current)) nats per answer, above \(fmt(p.klLimit))"
            } else if values.count >= p.klGrowthSteps + p.window {
                let earlier = mean(values.dropLast(p.klGrowthSteps).suffix(p.window))
                if current > p.klGrowthFloor, current > p.klGrowthFactor * max(earlier, 0) {
                    now[.klRunaway] =
                        "KL to the reference grew \(fmt(earlier)) → \(fmt(current)) nats per answer in "
                        + "\(p.klGrowthSteps) steps"
                }
            }
        }
        let appeared = Kind.allCases.filter { kind in
            guard now[kind] != nil else { return false }
            defer { lastSeen[kind] = steps }
            return lastSeen[kind].map { steps - $0 - 1 >= p.rearmSteps } ?? true
        }
        return appeared.map { Warning(kind: $0, step: steps, message: now[$0]!) }
    }

    /// Means of the first and of the last `window` values of `key`, once there are two windows'
    /// worth (the two never share a step).
    private func startAndCurrent(_ key: String) -> (Double, Double)? {
        guard let values = history[key], values.count >= 2 * parameters.window else { return nil }
        return (mean(values.prefix(parameters.window)), mean(values.suffix(parameters.window)))
    }

    private func mean<C: Collection<Double>>(_ values: C) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }
    private func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
    private func percent(_ x: Double) -> String { String(format: "%.0f%%", 100 * x) }
}
