import Datasets
import Foundation

extension StageData {
    /// The reward `verifier` gives `response`, nil when it cannot judge the record.
    public static func verifierReward(
        _ record: PromptRecord, response: String,
        verifier: any Verifier = ExactAnswerVerifier()
    ) -> Double? {
        verifier.reward(record, response: response)
    }

    /// Throws, naming file and line, for the first prompt that `verifier` cannot judge.
    public static func requireVerifier(
        _ rows: StageRows<PromptRow>, file: String,
        verifier: any Verifier = ExactAnswerVerifier()
    ) throws {
        for (row, line) in zip(rows.rows, rows.lines) where verifier.reward(row.record, response: "") == nil {
            throw DatasetError(
                file: file, line: line, field: "answer",
                reason:
                    "missing field: the \(verifier.name) verifier cannot judge this prompt (add \"answer\", "
                    + "or choose another verifier, e.g. --verifier demo for the built-in demo tasks)")
        }
    }
}
