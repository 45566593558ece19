import Datasets
import Foundation
import Tokenizers

/// Turns loaded JSONL records into the token rows the stages train on, the same way for every
/// stage and the same way the demo does: a prompt is `renderPrompt([user message])` (ending
/// where the assistant's answer starts), a completion is `encode(text) + [<|im_end|>]`, and
/// padding is `<|pad|>`.
///
/// Every record that cannot become a row — malformed JSON, a missing field, an empty response, a
/// ranking that is not a permutation, a prompt longer than the model's context — is a
/// `DatasetError` naming the file, the line and the field. Strict loading throws the first;
/// lenient loading skips it and lists it in `StageRows.skipped`, so nothing is dropped without
/// a count.
public struct StageData: Sendable {
    public let template: ChatTemplate
    public let padToken: Int32
    /// The model's context length: no row may be longer.
    public let contextLength: Int

    public var tokenizer: Tokenizer { template.tokenizer }
    /// `<|im_end|>`: ends every completion; the reward model scores it; generation stops on it.
    public var endOfTurn: Int32 { template.endOfTurnID }

    /// Throws when the tokenizer lacks the chat or padding special tokens.
    public init(tokenizer: Tokenizer, contextLength: Int) throws {
        template = try ChatTemplate(tokenizer: tokenizer)
        padToken = try tokenizer.requireSpecialTokenID(SpecialTokens.pad)
        precondition(contextLength >= 2, "StageData: context length \(contextLength)")
        self.contextLength = contextLength
    }

    /// A user message rendered as a prompt: `<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n`.
    public func promptTokens(_ text: String) -> [Int32] {
        template.renderPrompt([ChatMessage(role: .user, content: text)])
    }

    /// An assistant answer as generated: its tokens, then `<|im_end|>`.
    public func completionTokens(_ text: String) -> [Int32] {
        tokenizer.encode(text) + [endOfTurn]
    }

    /// The answer text of generated tokens (the end-of-turn token and other specials removed).
    public func text(of tokens: [Int32]) -> String {
        (try? tokenizer.decodeText(tokens.filter { $0 != endOfTurn }, skipSpecialTokens: true)) ?? ""
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
        precondition(lines.count == loaded.records.count, "StageData: \(lines.count) lines for \(loaded.records.count) records of \(file.path)")
        var result = StageRows<Row>(skipped: loaded.skipped)
        for (record, line) in zip(loaded.records, lines) {
            do {
                result.rows.append(try transform(record))
                result.lines.append(line)
            } catch {
                result.skipped.append(DatasetError(file: file.path, line: line, field: error.field, reason: error.reason))
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
            throw RecordProblem(field: field, reason: "\(what) is \(count) tokens, longer than the model's context of \(contextLength) tokens")
        }
    }
}
