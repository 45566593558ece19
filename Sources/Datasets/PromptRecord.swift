import Foundation

/// A prompt for on-policy training (PPO, GRPO), with an optional reference answer for a verifier.
public struct PromptRecord: Sendable, Equatable, Hashable {
    public var prompt: String
    public var answer: String?

    public init(prompt: String, answer: String? = nil) {
        self.prompt = prompt
        self.answer = answer
    }

    private struct Raw: Decodable { var prompt: String; var answer: String? }

    /// Reads `{"prompt"[, "answer"]}` records; an `answer`, when present, must be non-empty.
    public static func load(from url: URL, options: LoadOptions = .strict) throws -> LoadedRecords<
        PromptRecord
    > {
        try JSONLReader.load(url, as: Raw.self, options: options) { (raw: Raw) throws(RecordProblem) in
            try RecordProblem.requireText(raw.prompt, "prompt")
            if let answer = raw.answer { try RecordProblem.requireText(answer, "answer") }
            return PromptRecord(prompt: raw.prompt, answer: raw.answer)
        }
    }
}
