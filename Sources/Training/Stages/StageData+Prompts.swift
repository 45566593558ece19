import Datasets
import Foundation
import TensorCore
import Tokenizers

extension StageData {
    /// A prompt for on-policy stages (PPO, GRPO): the record (with its optional answer) and its tokens.
    public struct PromptRow: Sendable {
        public var record: PromptRecord
        public var tokens: [Int32]
    }

    /// Reads `{"prompt"[, "answer"]}` records. Every rendered prompt must leave room for
    /// `maxNewTokens` generated tokens in the context (else the completion would be cut).
    public func prompts(from url: URL, maxNewTokens: Int, options: LoadOptions = .strict) throws -> StageRows<
        PromptRow
    > {
        let loaded = try PromptRecord.load(from: url, options: LoadOptions(lenient: true))
        return try Self.convert(loaded, file: url, options: options) {
            (r: PromptRecord) throws(RecordProblem) in
            let tokens = try promptTokens(r.prompt)
            guard tokens.count + maxNewTokens <= contextLength else {
                throw RecordProblem(
                    field: "prompt",
                    reason:
                        "the rendered prompt is \(tokens.count) tokens; with \(maxNewTokens) new tokens it does not fit the model's context of \(contextLength) tokens (shorten it or lower --max-new-tokens)"
                )
            }
            return PromptRow(record: r, tokens: tokens)
        }
    }
}

/// Plain text as one token stream (documents joined by `<|endoftext|>`), cut into rows where
/// every next token is a target: PPO-ptx batches and evaluation windows.
public struct TextWindows: Sendable {
    public let tokens: [Int32]
    public let padToken: Int32

    public init(tokens: [Int32], padToken: Int32) {
        self.tokens = tokens
        self.padToken = padToken
    }

    /// Encodes documents, separated by the end-of-text token when the tokenizer has one.
    public init(documents: [String], tokenizer: Tokenizer, padToken: Int32) {
        var stream: [Int32] = []
        let separator = tokenizer.specialTokenID(SpecialTokens.endOfText)
        for (i, d) in documents.enumerated() {
            if i > 0, let separator { stream.append(separator) }
            stream += tokenizer.encode(d)
        }
        self.init(tokens: stream, padToken: padToken)
    }

    /// `rows` windows of `length` tokens at random offsets (PPO-ptx). Needs ≥ 2 tokens.
    public func randomBatch(rows: Int, length: Int, rng: inout RandomGenerator) -> SequenceBatch {
        precondition(tokens.count >= 2, "TextWindows: fewer than 2 tokens")
        let width = min(length, tokens.count)
        let starts = (0..<rows).map { _ in Int(rng.next() % UInt64(tokens.count - width + 1)) }
        return SequenceBatch(rows: starts.map { Array(tokens[$0..<($0 + width)]) }, padToken: padToken)
    }

    /// Windows of `length` tokens overlapping by one, so every token after the first is a
    /// target exactly once (evaluation), grouped `rowsPerBatch` to a batch.
    public func coveringBatches(length: Int, rowsPerBatch: Int = 8) -> [SequenceBatch] {
        precondition(length >= 2, "TextWindows: window length \(length)")
        guard tokens.count >= 2 else { return [] }
        var rows: [[Int32]] = []
        var start = 0
        while start < tokens.count - 1 {
            rows.append(Array(tokens[start..<min(start + length, tokens.count)]))
            start += length - 1
        }
        return stride(from: 0, to: rows.count, by: rowsPerBatch).map {
            SequenceBatch(rows: Array(rows[$0..<min($0 + rowsPerBatch, rows.count)]), padToken: padToken)
        }
    }
}
