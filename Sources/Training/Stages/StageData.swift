import Datasets
import Foundation
import Models
import Templates
import Tokenizers

/// Turns loaded JSONL records into the token rows the stages train on, the same way for every
/// stage and the same way the demo does, in the model's conversation format: a prompt is the
/// rendered user message ending where the assistant's answer starts, a completion is the reply's
/// tokens through the end-of-turn token. For our own models (ChatML) that is
/// `renderPrompt([user message])`, `encode(text) + [<|im_end|>]` and `<|pad|>` padding; for a
/// published model it is its own Jinja template (`JinjaChatFormat`).
///
/// Every record that cannot become a row — malformed JSON, a missing field, an empty response, a
/// ranking that is not a permutation, a prompt longer than the model's context, a template that
/// refuses the conversation — is a `DatasetError` naming the file, the line and the field. Strict
/// loading throws the first; lenient loading skips it and lists it in `StageRows.skipped`, so
/// nothing is dropped without a count.
public struct StageData: Sendable {
    public let format: ConversationFormat
    public let padToken: Int32
    /// The model's context length: no row may be longer.
    public let contextLength: Int

    public var tokenizer: Tokenizer { format.tokenizer }
    /// The ChatML template, for our own models.
    public var template: ChatTemplate? {
        if case .chatML(let t) = format { return t }
        return nil
    }
    /// Ends every completion; the reward model scores it; PPO and GRPO end rollouts on it
    /// (`<|im_end|>` for ChatML, `<|eot_id|>`, ... for a published model).
    public var endOfTurn: Int32 { format.endOfTurnID }
    /// Generation stops on any of these (the end-of-turn token and the model's eos ids).
    public var stopTokens: Set<Int32> { format.stopTokens }

    /// ChatML data. Throws when the tokenizer lacks the chat or padding special tokens.
    public init(tokenizer: Tokenizer, contextLength: Int) throws {
        try self.init(format: .chatML(try ChatTemplate(tokenizer: tokenizer)), contextLength: contextLength)
    }

    public init(format: ConversationFormat, contextLength: Int) throws {
        self.format = format
        padToken = try format.padToken()
        precondition(contextLength >= 2, "StageData: context length \(contextLength)")
        self.contextLength = contextLength
    }

    /// Data in a run's own conversation format; throws when the run has none.
    public init(run: ModelRun) throws {
        guard let format = run.format else {
            throw RunDirectoryError(
                path: run.directory.url.path,
                reason: "no chat format: the model has no chat template and its tokenizer no ChatML tokens")
        }
        try self.init(format: format, contextLength: run.model.config.contextLength)
    }

    /// A user message rendered as a prompt (ChatML: `<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n`).
    public func promptTokens(_ text: String) throws(RecordProblem) -> [Int32] {
        try rendering("prompt") { () throws(TemplateError) in
            try format.prompt([ChatMessage(role: .user, content: text)])
        }
    }

    /// An assistant answer to the user message `prompt` as generated: its tokens through the
    /// end-of-turn token (ChatML ignores the prompt: `encode(text) + [<|im_end|>]`).
    public func completionTokens(_ text: String, prompt: String = "", field: String = "completion")
        throws(RecordProblem)
        -> [Int32]
    {
        try rendering(field) { () throws(TemplateError) in
            try format.completion(after: [ChatMessage(role: .user, content: prompt)], text)
        }
    }

    /// The answer text of generated tokens (end tokens and other specials removed).
    public func text(of tokens: [Int32]) -> String { format.replyText(tokens) }

    /// Runs a template rendering, turning its error into a problem with the record's field.
    func rendering<T>(_ field: String, _ body: () throws(TemplateError) -> T) throws(RecordProblem) -> T {
        do { return try body() } catch {
            throw RecordProblem(
                field: field,
                reason:
                    "the chat template refused it: \(error.kind == .raised ? error.message : error.description)"
            )
        }
    }
}

/// Token rows made from a file's records, the source line of each, and what was skipped.
public struct StageRows<Row: Sendable>: Sendable {
    public var rows: [Row]
    /// 1-based source line of each row (same order as `rows`).
    public var lines: [Int]
    /// Records skipped in lenient loading (bad JSON, bad fields, too long), each with file/line/field.
    public var skipped: [DatasetError]

    public init(rows: [Row] = [], lines: [Int] = [], skipped: [DatasetError] = []) {
        self.rows = rows
        self.lines = lines
        self.skipped = skipped
    }

    public var skippedCount: Int { skipped.count }

    /// Appends another file's rows.
    public mutating func append(_ other: StageRows<Row>) {
        rows += other.rows
        lines += other.lines
        skipped += other.skipped
    }
}

extension StageData {
    /// Converts each loaded record with `transform`, attaching the record's source line to any
    /// problem. `loaded` must come from lenient loading; `options` then decides whether the
    /// first problem (in file order, loader's or conversion's) is thrown or all are listed. A record's line is recovered as the n-th non-blank line that was not skipped
    /// (the JSONL loaders read non-blank lines in order and skip only lines they report).
    static func convert<Record: Sendable, Row: Sendable>(
        _ loaded: LoadedRecords<Record>, file: URL, options: LoadOptions,
        _ transform: (Record) throws(RecordProblem) -> Row
    ) throws -> StageRows<Row> {
        let skippedLines = Set(loaded.skipped.compactMap(\.line))
        let lines = try JSONLReader.lines(of: file).map(\.number).filter { !skippedLines.contains($0) }
        precondition(
            lines.count == loaded.records.count,
            "StageData: \(lines.count) lines for \(loaded.records.count) records of \(file.path)")
        var result = StageRows<Row>(skipped: loaded.skipped)
        for (record, line) in zip(loaded.records, lines) {
            do {
                result.rows.append(try transform(record))
                result.lines.append(line)
            } catch {
                result.skipped.append(
                    DatasetError(file: file.path, line: line, field: error.field, reason: error.reason))
            }
        }
        // File order, so strict loading reports the first bad line whichever check found it.
        result.skipped.sort { ($0.line ?? 0) < ($1.line ?? 0) }
        if !options.lenient, let first = result.skipped.first { throw first }
        return result
    }

    /// Throws unless `count` tokens fit the context.
    func requireFits(_ count: Int, field: String, what: String) throws(RecordProblem) {
        guard count <= contextLength else {
            throw RecordProblem(
                field: field,
                reason:
                    "\(what) is \(count) tokens, longer than the model's context of \(contextLength) tokens")
        }
    }
}
