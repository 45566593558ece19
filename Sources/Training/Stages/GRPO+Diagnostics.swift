import Models

extension GRPO {
    /// Records the step's answer diagnostics (see `RolloutDiagnostics`) and returns the most
    /// repeated answer's tokens (this rank's) for the progress report. The prompt of each answer
    /// is its prompt index, so a group answering one prompt alike is no stock phrase.
    static func recordDiagnostics(
        promptIndices: [Int], generations: [Generation], into metrics: inout StepMetrics
    ) -> [Int32] {
        let statistics = RolloutDiagnostics.AnswerStatistics(
            answers: RolloutDiagnostics.answers(generations), prompts: promptIndices)
        statistics.record(into: &metrics)
        return statistics.mostRepeated
    }

    /// KL to the reference per answer, comparable with PPO's "kl": the token mean of the k3
    /// estimate times the mean completion length (nil without a reference). The token mean is
    /// over the tokens the loss saw (truncated answers excluded when they are masked).
    static func klPerAnswer(_ metrics: [String: Double], parameters p: Parameters) -> Double? {
        guard p.klCoefficient > 0, let kl = metrics["kl"], let tokens = metrics["completion_tokens"] else {
            return nil
        }
        return kl * tokens
    }
}

extension RolloutDiagnostics {
    /// Mean of `values` over the positions where `mask` is non-zero, weighted by it (0 for none).
    public static func maskedMean(_ values: [Float], mask: [Float]) -> Double {
        precondition(
            values.count == mask.count, "RolloutDiagnostics.maskedMean: \(values.count) ≠ \(mask.count)")
        var sum = 0.0, weight = 0.0
        for i in values.indices where mask[i] != 0 {
            sum += Double(mask[i]) * Double(values[i])
            weight += Double(mask[i])
        }
        return weight > 0 ? sum / weight : 0
    }
}
