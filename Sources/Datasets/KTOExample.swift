import Foundation

/// An unpaired judgement for KTO: `completion` is desirable (`label` true) or not.
public struct KTOExample: Sendable, Equatable {
    public var prompt: String
    public var completion: String
    public var label: Bool

    public init(prompt: String, completion: String, label: Bool) {
        self.prompt = prompt
        self.completion = completion
        self.label = label
    }

    private struct Raw: Decodable { var prompt: String; var completion: String; var label: Bool }

    /// Reads `{"prompt","completion","label": true/false}` records.
    public static func load(from url: URL, options: LoadOptions = .strict) throws -> LoadedRecords<KTOExample>
    {
        try JSONLReader.load(url, as: Raw.self, options: options) { (raw: Raw) throws(RecordProblem) in
            try RecordProblem.requireText(raw.prompt, "prompt")
            try RecordProblem.requireText(raw.completion, "completion")
            return KTOExample(prompt: raw.prompt, completion: raw.completion, label: raw.label)
        }
    }
}
