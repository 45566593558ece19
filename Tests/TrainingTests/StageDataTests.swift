import Datasets
import Foundation
import TensorCore
import Testing
import Tokenizers
@testable import Training

/// StageData: records → token rows, with errors that name file, line and field.
enum StageDataFixture {
    static let tokenizer: Tokenizer = {
        let text = String(
            repeating: "the quick brown fox jumps over the lazy dog. reverse these words please. ", count: 40)
        return try! BPETrainer.train(texts: [text], parameters: .init(vocabularySize: 300))
    }()

    static func data(context: Int = 256) -> StageData {
        try! StageData(tokenizer: tokenizer, contextLength: context)
    }

    /// Writes `lines` to a fresh temporary .jsonl file.
    static func file(_ lines: [String]) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stagedata-\(UUID().uuidString).jsonl")
        try! Data(lines.joined(separator: "\n").utf8).write(to: url)
        return url
    }

    /// The DatasetError thrown by `body`, or nil.
    static func error<T>(_ body: () throws -> T) -> DatasetError? {
        do { _ = try body(); return nil } catch let e as DatasetError { return e } catch { return nil }
    }
}

@Test func sftMaskCoversCompletionTokensOnlyAndEndsOnEndOfTurn() throws {
    let d = StageDataFixture.data()
    let url = StageDataFixture.file([
        #"{"prompt": "reverse these words", "completion": "words these reverse"}"#
    ])
    let rows = try d.sftExamples(from: url)
    let chat = try #require(rows.rows.first)
    #expect(rows.lines == [1])
    #expect(chat.tokens.count == chat.lossMask.count)
    // Prompt part is never trained; the trained tokens are exactly the completion + <|im_end|>.
    let prompt = try d.promptTokens("reverse these words")
    #expect(Array(chat.tokens.prefix(prompt.count)) == prompt)
    #expect(chat.lossMask.prefix(prompt.count).allSatisfy { !$0 })
    let trained = zip(chat.tokens, chat.lossMask).filter(\.1).map(\.0)
    #expect(try trained == d.completionTokens("words these reverse"))
    #expect(chat.tokens.last == d.endOfTurn && chat.lossMask.last == true)
}

@Test func sftConversationTrainsEveryAssistantTurn() throws {
    let d = StageDataFixture.data()
    let url = StageDataFixture.file([
        #"{"messages": [{"role": "user", "content": "the fox"}, {"role": "assistant", "content": "jumps"}, {"role": "user", "content": "the dog"}, {"role": "assistant", "content": "is lazy"}, {"role": "user", "content": "bye"}]}"#
    ])
    let chat = try #require(try d.sftExamples(from: url).rows.first)
    let trained = zip(chat.tokens, chat.lossMask).filter(\.1).map(\.0)
    #expect(try trained == d.completionTokens("jumps") + d.completionTokens("is lazy"))
    // The trailing user turn teaches nothing and is cut: the row ends on the last <|im_end|>.
    #expect(chat.tokens.last == d.endOfTurn)
}

@Test func sftErrorsNameFileLineAndField() throws {
    let d = StageDataFixture.data(context: 24)
    let long = String(repeating: "the quick brown fox ", count: 20)
    let url = StageDataFixture.file([
        #"{"prompt": "hi", "completion": "fox"}"#,
        "",
        #"{"prompt": "hi", "completion": "\#(long)"}"#,
        #"{"prompt": "hi" "completion": "x"}"#,
        #"{"prompt": "hi"}"#,
        #"{"prompt": "hi", "completion": "   "}"#,
        #"{"prompt": "\#(long)", "completion": "x"}"#,
    ])
    let e = try #require(StageDataFixture.error { try d.sftExamples(from: url) })
    #expect(e.file == url.path && e.line == 3 && e.field == "completion")
    #expect(e.reason.contains("longer than the model's context of 24"))
    // Lenient: every bad record is skipped and listed in file order with its line and field.
    let rows = try d.sftExamples(from: url, options: LoadOptions(lenient: true))
    #expect(rows.rows.count == 1 && rows.lines == [1])
    #expect(rows.skipped.map(\.line) == [3, 4, 5, 6, 7])
    #expect(rows.skipped.map(\.field) == ["completion", nil, "completion", "completion", "prompt"])
    #expect(rows.skipped[1].reason.hasPrefix("malformed JSON"))
    #expect(rows.skipped[2].reason == "missing field")
    #expect(rows.skipped[3].reason == "empty string")
    #expect("\(rows.skipped[0])".hasPrefix("\(url.path):3: field \"completion\""))
}

@Test func comparisonsKeepRankingsWholeAndExpandToPairs() throws {
    let d = StageDataFixture.data()
    let url = StageDataFixture.file([
        #"{"prompt": "p", "chosen": "good", "rejected": "bad"}"#,
        #"{"prompt": "q", "responses": ["a", "b", "c"], "ranking": [2, 0, 1]}"#,
    ])
    let rows = try d.comparisons(from: url)
    #expect(rows.rows.count == 2 && rows.lines == [1, 2])
    #expect(rows.rows[0].ranking == [0, 1])
    #expect(try rows.rows[0].responses == [d.completionTokens("good"), d.completionTokens("bad")])
    #expect(rows.rows[1].ranking == [2, 0, 1] && rows.rows[1].responses.count == 3)
    #expect(rows.rows.allSatisfy { $0.responses.allSatisfy { $0.last == d.endOfTurn } })
    let pairs = StageData.preferencePairs(rows.rows)
    // 1 pair + 3·2/2 pairs, best before worse: c>a, c>b, a>b.
    #expect(pairs.count == 4)
    #expect(try pairs[1].chosen == d.completionTokens("c") && pairs[1].rejected == d.completionTokens("a"))
    #expect(try pairs[3].chosen == d.completionTokens("a") && pairs[3].rejected == d.completionTokens("b"))
    #expect(try pairs[0].prompt == d.promptTokens("p") && pairs[1].prompt == d.promptTokens("q"))
}

@Test func comparisonErrorsNameFileLineAndField() throws {
    let d = StageDataFixture.data(context: 30)
    let long = String(repeating: "lazy dog ", count: 30)
    let cases: [(String, String?, String)] = [
        (
            #"{"prompt": "q", "responses": ["a", "b", "c"], "ranking": [0, 0, 1]}"#, "ranking[1]",
            "not a permutation"
        ),
        (#"{"prompt": "q", "responses": ["a", "b"], "ranking": [0, 2]}"#, "ranking[1]", "outside"),
        (#"{"prompt": "q", "responses": ["a", "b"], "ranking": [0]}"#, "ranking", "1 entries for 2"),
        (#"{"prompt": "q", "responses": ["a", "b"], "ranking": [0.5, 1]}"#, "ranking[0]", "not an integer"),
        (#"{"prompt": "q", "responses": ["a", ""], "ranking": [0, 1]}"#, "responses[1]", "empty"),
        (#"{"prompt": "q", "chosen": "a"}"#, "rejected", "missing field"),
        (#"{"prompt": "q", "chosen": "", "rejected": "b"}"#, "chosen", "empty"),
        (#"{"prompt": "q", "chosen": "a", "rejected": "a"}"#, "rejected", "identical"),
        (#"{"chosen": "a", "rejected": "b"}"#, "prompt", "missing field"),
        (
            #"{"prompt": "q", "chosen": "a", "rejected": "\#(long)"}"#, "rejected",
            "longer than the model's context of 30"
        ),
        (
            #"{"prompt": "\#(long)", "chosen": "a", "rejected": "b"}"#, "prompt",
            "longer than the model's context"
        ),
        (#"["not", "an", "object"]"#, nil, "expected a JSON object"),
    ]
    for (record, field, reason) in cases {
        let url = StageDataFixture.file([#"{"prompt": "ok", "chosen": "a", "rejected": "b"}"#, record])
        let e = try #require(StageDataFixture.error { try d.comparisons(from: url) }, "\(record)")
        #expect(e.file == url.path && e.line == 2 && e.field == field, "\(record): \(e)")
        #expect(e.reason.contains(reason), "\(record): \(e)")
    }
    let url = StageDataFixture.file(cases.map(\.0))
    let lenient = try d.comparisons(from: url, options: LoadOptions(lenient: true))
    #expect(lenient.rows.isEmpty && lenient.skippedCount == cases.count)
    #expect(lenient.skipped.map(\.line) == Array(1...cases.count))
}

@Test func ktoExamplesAndErrors() throws {
    let d = StageDataFixture.data(context: 40)
    let url = StageDataFixture.file([
        #"{"prompt": "p", "completion": "yes", "label": true}"#,
        #"{"prompt": "p", "completion": "no", "label": "maybe"}"#,
        #"{"prompt": "p", "completion": "no", "label": false}"#,
    ])
    let e = try #require(StageDataFixture.error { try d.ktoExamples(from: url) })
    #expect(e.line == 2 && e.field == "label" && e.reason.contains("true or false"))
    let rows = try d.ktoExamples(from: url, options: LoadOptions(lenient: true))
    #expect(rows.rows.map(\.desirable) == [true, false] && rows.lines == [1, 3] && rows.skippedCount == 1)
    #expect(
        try rows.rows[0].completion == d.completionTokens("yes") && rows.rows[0].prompt == d.promptTokens("p")
    )
}

@Test func promptsMustLeaveRoomForGeneration() throws {
    let d = StageDataFixture.data(context: 32)
    let short = "the fox"
    let url = StageDataFixture.file([
        #"{"prompt": "\#(short)", "answer": "dog"}"#, #"{"prompt": "\#(short) jumps over the lazy dog"}"#,
    ])
    let prompt = try d.promptTokens(short)
    // Room for exactly 32 − prompt tokens; one more fails on the first line.
    let fits = try d.prompts(
        from: url, maxNewTokens: 32 - d.promptTokens("\(short) jumps over the lazy dog").count)
    #expect(fits.rows.map(\.record.answer) == ["dog", nil] && fits.rows[0].tokens == prompt)
    let e = try #require(
        StageDataFixture.error { try d.prompts(from: url, maxNewTokens: 32 - prompt.count + 1) })
    #expect(e.line == 1 && e.field == "prompt" && e.reason.contains("does not fit the model's context of 32"))
    let missing = StageDataFixture.file([#"{"question": "x"}"#])
    let m = try #require(StageDataFixture.error { try d.prompts(from: missing, maxNewTokens: 4) })
    #expect(m.line == 1 && m.field == "prompt" && m.reason == "missing field")
}

@Test func textWindowsCoverEveryTokenOnce() throws {
    let windows = TextWindows(tokens: (0..<23).map(Int32.init), padToken: -1)
    let batches = windows.coveringBatches(length: 8, rowsPerBatch: 2)
    // Targets are tokens 1…22, each exactly once.
    var targets: [Int32] = []
    for b in batches { for i in b.mask.indices where b.mask[i] == 1 { targets.append(b.targets[i]) } }
    #expect(targets == (1..<23).map(Int32.init))
    var rng = RandomGenerator(seed: 3)
    let random = windows.randomBatch(rows: 4, length: 6, rng: &rng)
    #expect(random.batchSize == 4 && random.length == 6 && random.targetCount == 20)
}

@Test func grpoVerifierUsesTheAnswerAndNothingElse() throws {
    // With an answer: exact match after trimming.
    #expect(
        StageData.verifierReward(PromptRecord(prompt: "Tell me x", answer: " 42 "), response: "42\n") == 1)
    #expect(StageData.verifierReward(PromptRecord(prompt: "Tell me x", answer: "42"), response: "42.") == 0)
    // Without one: no verifier, not even for a built-in demo task (the demo verifier is chosen
    // by name; see DemoTests).
    #expect(StageData.verifierReward(PromptRecord(prompt: "What is 3 plus 4?"), response: "7") == nil)
    #expect(StageData.verifierReward(PromptRecord(prompt: "Tell me a story"), response: "once") == nil)
    let d = StageDataFixture.data()
    let url = StageDataFixture.file([
        #"{"prompt": "Say 2", "answer": "2"}"#, "", #"{"prompt": "Tell me a story"}"#,
    ])
    let rows = try d.prompts(from: url, maxNewTokens: 8)
    let e = try #require(StageDataFixture.error { try StageData.requireVerifier(rows, file: url.path) })
    #expect(e.line == 3 && e.field == "answer" && e.reason.contains("exact answer verifier cannot judge"))
}

/// A line that is not UTF-8 spoils only itself: strict loading names it, lenient loading skips
/// it and keeps the line numbers of the others right.
@Test func sftNonUTF8LineIsReportedAndSkippedAlone() throws {
    let d = StageDataFixture.data()
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "stagedata-\(UUID().uuidString).jsonl")
    defer { try? FileManager.default.removeItem(at: url) }
    var bytes =
        Array(#"{"prompt": "reverse these words", "completion": "words these reverse"}"#.utf8) + [0x0A]
    bytes += Array(#"{"prompt": "bad "#.utf8) + [0xC3, 0x28] + Array(#"", "completion": "x"}"#.utf8) + [0x0A]
    bytes += Array(#"{"prompt": "the lazy dog", "completion": "dog lazy the"}"#.utf8) + [0x0A]
    try Data(bytes).write(to: url)
    let strict = StageDataFixture.error { try d.sftExamples(from: url) }
    #expect(strict?.line == 2 && strict?.reason.contains("UTF-8") == true)
    let lenient = try d.sftExamples(from: url, options: LoadOptions(lenient: true))
    #expect(lenient.lines == [1, 3])
    #expect(lenient.skipped.map(\.line) == [2])
}

@Test func rankingsWithIdenticalResponsesAreRefused() throws {
    let d = StageDataFixture.data()
    let url = StageDataFixture.file([#"{"prompt": "p", "responses": ["a", "b", "a"], "ranking": [0, 1, 2]}"#])
    let error = StageDataFixture.error { try d.comparisons(from: url) }
    #expect(error?.line == 1 && error?.field == "responses[2]")
}
