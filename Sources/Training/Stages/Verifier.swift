import Datasets
import Foundation

/// Judges a response to a prompt: the reward of GRPO with verifiable rewards. A verifier is
/// always chosen by the caller; nothing falls back to another one.
public protocol Verifier: Sendable {
    /// Named in errors and logs.
    var name: String { get }
    /// The reward of `response` to `record`, or nil when this verifier cannot judge the record
    /// (say so before training, see `StageData.requireVerifier`).
    func reward(_ record: PromptRecord, response: String) -> Double?
}

/// 1 when the response equals the record's `answer` (both trimmed of surrounding whitespace),
/// else 0; nil for a record without an answer.
public struct ExactAnswerVerifier: Verifier {
    public init() {}
    public var name: String { "exact answer" }
    public func reward(_ record: PromptRecord, response: String) -> Double? {
        guard let answer = record.answer else { return nil }
        let trimmed = response.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed == answer.trimmingCharacters(in: .whitespacesAndNewlines) ? 1 : 0
    }
}
