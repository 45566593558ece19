import Datasets
import Foundation

extension StageData {
    /// The built-in verifier of `rlhf grpo`: with an `answer`, 1 when the response equals it
    /// (both trimmed of surrounding whitespace) else 0; without one, the demo verifier's
    /// correctness when the prompt is a built-in demo task; otherwise nil (no verifier).
    public static func verifierReward(_ record: PromptRecord, response: String) -> Double? {
        if let answer = record.answer {
            let trimmed = response.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed == answer.trimmingCharacters(in: .whitespacesAndNewlines) ? 1 : 0
        }
        guard let score = DemoVerifier.score(prompt: record.prompt, response: response) else { return nil }
        return score.correct ? 1 : 0
    }

    /// Throws, naming file and line, for the first prompt that has no verifier.
    public static func requireVerifier(_ rows: StageRows<PromptRow>, file: String) throws {
        for (row, line) in zip(rows.rows, rows.lines) where verifierReward(row.record, response: "") == nil {
            throw DatasetError(file: file, line: line, field: "answer",
                               reason: "missing field: GRPO needs a verifier, and this prompt is not a built-in demo task (add \"answer\")")
        }
    }
}
