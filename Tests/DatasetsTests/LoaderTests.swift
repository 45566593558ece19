import Foundation
import Testing
import Tokenizers
@testable import Datasets

/// Writes files into a fresh temporary directory.
final class Scratch {
    let directory: URL
    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: directory) }

    func file(_ name: String, _ lines: [String]) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        return url
    }
}

/// The error a load throws, or nil.
func loadError<T>(_ body: () throws -> T) -> DatasetError? {
    do { _ = try body(); return nil } catch let error as DatasetError { return error } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

@Suite struct LoaderTests {
    @Test func sftBothFormsAndBlankLines() throws {
        let scratch = try Scratch()
        let url = try scratch.file(
            "sft.jsonl",
            [
                #"{"prompt": "Hi", "completion": "Hello!"}"#,
                "",
                #"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}"#,
                "   ",
            ])
        let loaded = try SFTExample.load(from: url)
        #expect(loaded.records.count == 2 && loaded.skippedCount == 0)
        #expect(loaded.records[0] == .promptCompletion(prompt: "Hi", completion: "Hello!"))
        #expect(
            loaded.records[0].messages == [
                ChatMessage(role: .user, content: "Hi"), ChatMessage(role: .assistant, content: "Hello!"),
            ])
        #expect(loaded.records[1].messages.map(\.role) == [.system, .user, .assistant])
    }

    /// (line of JSON, expected field, expected words in the reason) for each SFT error path.
    static let sftErrors: [(String, String?, String)] = [
        (#"{"prompt": "Hi", "completion": "x""#, nil, "malformed JSON"),
        (#"["prompt"]"#, nil, "expected a JSON object"),
        (#"{"prompt": "Hi"}"#, "completion", "missing field"),
        (#"{"completion": "x"}"#, "prompt", "missing field"),
        (#"{"prompt": 3, "completion": "x"}"#, "prompt", "expected a string"),
        (#"{"prompt": "Hi", "completion": "  "}"#, "completion", "empty string"),
        (#"{"messages": []}"#, "messages", "empty conversation"),
        (
            #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "x"}]}"#,
            "messages[1].role", "unknown role \"bot\""
        ),
        (
            #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant"}]}"#,
            "messages[1].content", "missing field"
        ),
        (
            #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]}"#,
            "messages[1].content", "empty string"
        ),
        (#"{"messages": [{"role": "user", "content": "Hi"}]}"#, "messages", "no assistant message"),
        (#"{"messages": "Hi"}"#, "messages", "expected an array"),
    ]

    @Test func sftErrorsNameFileLineAndField() throws {
        let scratch = try Scratch()
        for (bad, field, reason) in Self.sftErrors {
            let url = try scratch.file("bad.jsonl", [#"{"prompt": "ok", "completion": "fine"}"#, "", bad])
            let error = try #require(loadError { try SFTExample.load(from: url) }, "no error for \(bad)")
            #expect(error.file == url.path)
            #expect(error.line == 3, "line for \(bad)")
            #expect(error.field == field, "field for \(bad): \(error)")
            #expect(error.reason.contains(reason), "reason for \(bad): \(error)")
            #expect(error.description.hasPrefix("\(url.path):3"))
            if let field { #expect(error.description.contains(field)) }
        }
    }

    @Test func lenientLoadingSkipsAndCounts() throws {
        let scratch = try Scratch()
        let url = try scratch.file(
            "mixed.jsonl",
            [
                #"{"prompt": "a", "completion": "b"}"#,
                #"{"prompt": "a"}"#,
                "not json",
                #"{"prompt": "c", "completion": "d"}"#,
            ])
        let loaded = try SFTExample.load(from: url, options: LoadOptions(lenient: true))
        #expect(loaded.records.count == 2)
        #expect(loaded.skippedCount == 2)
        #expect(loaded.skipped.map(\.line) == [2, 3])
        #expect(loaded.skipped[0].field == "completion")
        // Strict stops at the first bad record.
        #expect(loadError { try SFTExample.load(from: url) }?.line == 2)
    }

    @Test func preferencePairs() throws {
        let scratch = try Scratch()
        let good = try scratch.file("p.jsonl", [#"{"prompt": "p", "chosen": "good", "rejected": "bad"}"#])
        #expect(
            try PreferencePair.load(from: good).records == [
                PreferencePair(prompt: "p", chosen: "good", rejected: "bad")
            ])
        let cases: [(String, String, String)] = [
            (#"{"prompt": "p", "chosen": "good"}"#, "rejected", "missing field"),
            (#"{"prompt": "p", "chosen": "", "rejected": "bad"}"#, "chosen", "empty string"),
            (#"{"prompt": "p", "chosen": "same", "rejected": "same"}"#, "rejected", "identical"),
            (#"{"prompt": null, "chosen": "a", "rejected": "b"}"#, "prompt", "found null"),
        ]
        for (bad, field, reason) in cases {
            let url = try scratch.file("bad.jsonl", [bad])
            let error = try #require(loadError { try PreferencePair.load(from: url) })
            #expect(error.line == 1 && error.field == field && error.reason.contains(reason), "\(error)")
        }
    }

    @Test func rankingsExpandToGroupedPairs() throws {
        let scratch = try Scratch()
        let url = try scratch.file(
            "r.jsonl",
            [
                #"{"prompt": "p", "responses": ["a", "b", "c", "d"], "ranking": [2, 0, 3, 1]}"#,
                #"{"prompt": "q", "chosen": "x", "rejected": "y"}"#,
            ])
        let groups = try PreferenceGroup.load(from: url).records
        #expect(groups.count == 2)
        #expect(groups[0].prompt == "p" && groups[0].pairs.count == 6)  // K(K−1)/2 with K = 4
        // Best → worst is c, a, d, b: every better-ranked response is chosen over every worse one.
        let expected = [("c", "a"), ("c", "d"), ("c", "b"), ("a", "d"), ("a", "b"), ("d", "b")]
        #expect(groups[0].pairs.map { [$0.chosen, $0.rejected] } == expected.map { [$0.0, $0.1] })
        #expect(groups[1].pairs == [PreferencePair(prompt: "q", chosen: "x", rejected: "y")])
    }

    @Test func rankingErrors() throws {
        let scratch = try Scratch()
        let cases: [(String, String, String)] = [
            (
                #"{"prompt": "p", "responses": ["a", "b", "c"], "ranking": [0, 0, 1]}"#, "ranking[1]",
                "not a permutation"
            ),
            (
                #"{"prompt": "p", "responses": ["a", "b", "c"], "ranking": [0, 1, 3]}"#, "ranking[2]",
                "outside 0..<3"
            ),
            (
                #"{"prompt": "p", "responses": ["a", "b", "c"], "ranking": [0, 1]}"#, "ranking",
                "2 entries for 3 responses"
            ),
            (#"{"prompt": "p", "responses": ["a"], "ranking": [0]}"#, "responses", "at least 2"),
            (#"{"prompt": "p", "responses": ["a", ""], "ranking": [0, 1]}"#, "responses[1]", "empty string"),
            (#"{"prompt": "p", "responses": ["a", "b"]}"#, "ranking", "missing field"),
            (
                #"{"prompt": "p", "responses": ["a", "b"], "ranking": [0.5, 1]}"#, "ranking[0]",
                "not an integer"
            ),
            (
                #"{"prompt": "p", "responses": ["a", 2], "ranking": [0, 1]}"#, "responses[1]",
                "expected a string"
            ),
            // The rules of `PreferenceRecord`, shared with the reward model's loader and the server.
            (
                #"{"prompt": "p", "responses": ["a", "b", "a"], "ranking": [0, 1, 2]}"#, "responses[2]",
                "identical"
            ),
            (
                #"{"prompt": "p", "chosen": "a", "rejected": "b", "responses": ["a", "b"], "ranking": [0, 1]}"#,
                "responses", "not both"
            ),
        ]
        for (bad, field, reason) in cases {
            let url = try scratch.file("bad.jsonl", ["", bad])
            let error = try #require(loadError { try PreferenceGroup.load(from: url) }, "\(bad)")
            #expect(error.file == url.path && error.line == 2, "\(error)")
            #expect(error.field == field, "\(bad): \(error)")
            #expect(error.reason.contains(reason), "\(bad): \(error)")
        }
        // The same rule for records built in code.
        #expect(throws: RecordProblem.self) {
            try RankingRecord(prompt: "p", responses: ["a", "b"], ranking: [1, 1])
        }
        // "reversed" is a permutation.
        let three = try RankingRecord(prompt: "p", responses: ["a", "b", "c"], ranking: [2, 1, 0])
        #expect(Set(three.pairs.map(\.chosen)) == ["c", "b"] && three.pairs.count == 3)
    }

    @Test func ktoAndPrompts() throws {
        let scratch = try Scratch()
        let kto = try scratch.file("k.jsonl", [#"{"prompt": "p", "completion": "c", "label": false}"#])
        #expect(
            try KTOExample.load(from: kto).records == [KTOExample(prompt: "p", completion: "c", label: false)]
        )
        let badLabel = try scratch.file("k2.jsonl", [#"{"prompt": "p", "completion": "c", "label": "yes"}"#])
        let error = try #require(loadError { try KTOExample.load(from: badLabel) })
        #expect(error.field == "label" && error.reason.contains("true or false"), "\(error)")
        let missingLabel = try scratch.file("k3.jsonl", [#"{"prompt": "p", "completion": "c"}"#])
        #expect(loadError { try KTOExample.load(from: missingLabel) }?.field == "label")

        let prompts = try scratch.file(
            "q.jsonl", [#"{"prompt": "What is 1 plus 2?", "answer": "3"}"#, #"{"prompt": "Hi"}"#])
        #expect(
            try PromptRecord.load(from: prompts).records == [
                PromptRecord(prompt: "What is 1 plus 2?", answer: "3"), PromptRecord(prompt: "Hi"),
            ])
        let emptyAnswer = try scratch.file("q2.jsonl", [#"{"prompt": "Hi", "answer": ""}"#])
        #expect(loadError { try PromptRecord.load(from: emptyAnswer) }?.field == "answer")
        let emptyPrompt = try scratch.file("q3.jsonl", [#"{"prompt": ""}"#])
        #expect(loadError { try PromptRecord.load(from: emptyPrompt) }?.field == "prompt")
    }

    @Test func pretrainText() throws {
        let scratch = try Scratch()
        let txt = try scratch.file("a.txt", ["Once upon a time.", "The end."])
        #expect(try PretrainDocument.load(from: txt).records.map(\.text) == ["Once upon a time.\nThe end."])
        let jsonl = try scratch.file("b.jsonl", [#"{"text": "one"}"#, #"{"text": "two"}"#])
        #expect(try PretrainDocument.load(from: jsonl).records.map(\.text) == ["one", "two"])
        let empty = try scratch.file("c.txt", ["  ", ""])
        #expect(loadError { try PretrainDocument.load(from: empty) }?.reason == "empty text file")
        #expect(try PretrainDocument.load(from: empty, options: LoadOptions(lenient: true)).skippedCount == 1)
        let noText = try scratch.file("d.jsonl", [#"{"content": "one"}"#])
        let error = try #require(loadError { try PretrainDocument.load(from: noText) })
        #expect(error.line == 1 && error.field == "text" && error.reason == "missing field")
    }

    @Test func byteOrderMarkAndCRLF() throws {
        let scratch = try Scratch()
        let url = scratch.directory.appendingPathComponent("w.jsonl")
        try Data("\u{FEFF}{\"prompt\": \"a\"}\r\n{\"prompt\": \"b\", \"answer\": \"c\"}\r\n".utf8).write(
            to: url)
        #expect(
            try PromptRecord.load(from: url).records == [
                PromptRecord(prompt: "a"), PromptRecord(prompt: "b", answer: "c"),
            ])
    }

    @Test func missingAndNonUTF8Files() throws {
        let scratch = try Scratch()
        let missing = scratch.directory.appendingPathComponent("nope.jsonl")
        let error = try #require(loadError { try SFTExample.load(from: missing) })
        #expect(error.file == missing.path && error.line == nil && error.reason.contains("cannot read"))
        let binary = scratch.directory.appendingPathComponent("bin.jsonl")
        try Data([0xFF, 0xFE, 0x00, 0x80]).write(to: binary)
        #expect(loadError { try SFTExample.load(from: binary) }?.reason.contains("UTF-8") == true)
    }
}
