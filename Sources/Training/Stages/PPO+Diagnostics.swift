import Models

extension PPO {
    /// Records the rollout's diagnostics beside its reward (see `RolloutDiagnostics`): answer
    /// length and diversity, the most repeated answer's share, and the value model's explained
    /// variance over every rank's completion tokens. Returns the most repeated answer's tokens
    /// (this rank's) for the progress report.
    static func recordDiagnostics(
        _ rollout: StepRollout, _ e: Experience, into metrics: inout StepMetrics,
        communicator: any Communicator
    ) -> [Int32] {
        let statistics = RolloutDiagnostics.AnswerStatistics(
            answers: RolloutDiagnostics.answers(rollout.generations), prompts: rollout.promptIndices)
        statistics.record(into: &metrics)
        // Every rank takes part in the sums, so the value is the same on all of them.
        metrics.shared(
            "explained_variance",
            RolloutDiagnostics.explainedVariance(
                values: e.oldValues, returns: e.returns, mask: e.batch.mask,
                reducing: communicator.allReduceSum))
        return statistics.mostRepeated
    }
}
