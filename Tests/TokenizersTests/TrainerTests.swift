import Foundation
import Testing
@testable import Tokenizers

@Suite struct TrainerTests {
    /// "ab ab ab abc" → words ab ×1, " ab" ×2, " abc" ×1. Pair counts: (a,b) 4, (' ',a) 3,
    /// (b,c) 1. First merge a+b → 256; then (' ', ab) has 3 → 257 " ab"; then (" ab", c) has 1,
    /// below the minimum frequency 2, so training stops with two merges.
    @Test func handCheckedMerges() throws {
        let tokenizer = try BPETrainer.train(texts: ["ab ab ab abc"], parameters: .init(vocabularySize: 300))
        #expect(
            tokenizer.merges.map { [$0.left, $0.right, $0.result] } == [[97, 98, 256], [32, 256, 257]])
        #expect(tokenizer.vocabularySize == 258 + 4)
        #expect(tokenizer.specialTokens.map(\.content) == SpecialTokens.default)
        #expect(tokenizer.specialTokens.map(\.id) == [258, 259, 260, 261])
        #expect(tokenizer.encode("ab abc") == [256, 257, 99])
        #expect(tokenizer.bytes(of: 257) == Array(" ab".utf8))
    }

    /// Equal counts go to the smaller (left, right) pair: " z" (32,122) before "xy" (120,121),
    /// then " zw" = (256, 119).
    @Test func deterministicTieBreaking() throws {
        let tokenizer = try BPETrainer.train(
            texts: ["xy zw"], parameters: .init(vocabularySize: 256 + 3 + 4, minPairFrequency: 1))
        #expect(tokenizer.merges.map { [$0.left, $0.right] } == [[32, 122], [120, 121], [256, 119]])
    }

    @Test func reachesTargetVocabularySize() throws {
        let tokenizer = try BPETrainer.train(
            texts: [Fixtures.corpus], parameters: .init(vocabularySize: 300, minPairFrequency: 1))
        #expect(tokenizer.vocabularySize == 300)
        // Merged tokens are the concatenation of their parts.
        for merge in tokenizer.merges {
            #expect(
                tokenizer.bytes(of: merge.result) == tokenizer.bytes(of: merge.left)! + tokenizer.bytes(
                    of: merge.right)!)
        }
    }

    @Test func specialTokensAreNeverLearned() throws {
        let text = String(repeating: "<|endoftext|>hello ", count: 50)
        let tokenizer = try BPETrainer.train(texts: [text], parameters: .init(vocabularySize: 300))
        let learned = tokenizer.merges.map {
            String(decoding: tokenizer.bytes(of: $0.result)!, as: UTF8.self)
        }
        #expect(!learned.contains { $0.contains("<|") || $0.contains("|>") })
        #expect(learned.contains("hello"))
    }

    /// Reading a file in tiny chunks gives the same tokenizer as training on the whole text.
    @Test func streamingChunksEqualWholeText() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = String(repeating: Fixtures.corpus + "\n\n  indented line\r\n", count: 20)
        let file = directory.appendingPathComponent("corpus.txt")
        try Data(text.utf8).write(to: file)
        var parameters = BPETrainer.Parameters(vocabularySize: 420)
        parameters.chunkSize = 97
        let streamed = try BPETrainer.train(files: [file], parameters: parameters)
        let whole = try BPETrainer.train(texts: [text], parameters: .init(vocabularySize: 420))
        #expect(streamed == whole)
    }

    @Test func jsonlTextField() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let documents = [
            "first document, with words words words", "second: more words and numbers 123 123", "third\nline",
        ]
        let lines = try documents.map {
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self)
        }
        let file = directory.appendingPathComponent("corpus.jsonl")
        try Data((lines.joined(separator: "\n") + "\n\n").utf8).write(to: file)
        var parameters = BPETrainer.Parameters(vocabularySize: 290)
        parameters.chunkSize = 16
        let fromFile = try BPETrainer.train(files: [file], parameters: parameters)
        let fromTexts = try BPETrainer.train(texts: documents, parameters: .init(vocabularySize: 290))
        #expect(fromFile == fromTexts)
        #expect(fromFile.merges.count > 0)
    }
}
