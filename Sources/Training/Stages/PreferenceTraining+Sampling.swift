import Models
import TensorCore

extension PreferenceTraining {
    /// Direct methods sample nothing while they train, so nothing shows a policy collapsing onto a
    /// stock answer. With this set, every `every` steps (and after the first) the policy answers
    /// the first `promptCount` distinct prompts of the pairs greedily, and the step logs those
    /// answers' length and diversity (see `RolloutDiagnostics`). Greedy decoding is deterministic
    /// and the ranks hold the same weights, so every rank computes the same values.
    public struct SampleDiagnostics: Sendable, Equatable {
        public var every: Int
        public var promptCount = 16
        public var maxNewTokens = 16
        /// Tokens that end an answer (the end-of-turn token and any other stop token).
        public var stopTokens: Set<Int32>

        public init(every: Int, stopTokens: Set<Int32>) {
            precondition(every >= 1, "SampleDiagnostics: every must be positive")
            self.every = every
            self.stopTokens = stopTokens
        }

        func isDue(step: Int) -> Bool { step == 0 || (step + 1) % every == 0 }
    }

    /// The greedy answers' metrics and the most repeated answer's tokens.
    static func sampleDiagnostics(
        policy: Transformer, pairs: [Pair], settings s: SampleDiagnostics
    ) -> (metrics: [String: Double], mostRepeated: [Int32]) {
        var seen = Set<[Int32]>(), prompts: [[Int32]] = []
        for pair in pairs where prompts.count < s.promptCount && seen.insert(pair.prompt).inserted {
            prompts.append(pair.prompt)
        }
        var rng = RandomGenerator(seed: 0)  // unused: greedy
        policy.setLoRATraining(false)  // no adapter dropout while answering
        defer { policy.setLoRATraining(true) }
        let generations = policy.generate(
            prompts: prompts,
            options: SamplingOptions(temperature: 0, maxNewTokens: s.maxNewTokens, stopTokens: s.stopTokens),
            rng: &rng)
        let statistics = RolloutDiagnostics.AnswerStatistics(answers: RolloutDiagnostics.answers(generations))
        var metrics = StepMetrics()
        statistics.record(into: &metrics)
        return (metrics.local, statistics.mostRepeated)
    }
}
