import Foundation
import Testing
@testable import Tokenizers

@Suite struct ErrorTests {
    @Test func missingFiles() throws {
        #expect(throws: TokenizerError.fileNotFound(path: "/nonexistent/tokenizer.json")) {
            try Tokenizer.load(from: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))
        }
        #expect(throws: TokenizerError.fileNotFound(path: "/nonexistent/a.txt")) {
            try BPETrainer.train(
                files: [URL(fileURLWithPath: "/nonexistent/a.txt")], parameters: .init(vocabularySize: 300))
        }
    }

    @Test func emptyCorpus() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("empty.txt")
        try Data().write(to: file)
        #expect(throws: TokenizerError.emptyCorpus(files: [file.path])) {
            try BPETrainer.train(files: [file], parameters: .init(vocabularySize: 300))
        }
    }

    @Test func vocabularyTooSmall() {
        #expect(throws: TokenizerError.vocabularySizeTooSmall(requested: 259, minimum: 260)) {
            try BPETrainer.train(texts: ["hello"], parameters: .init(vocabularySize: 259))
        }
    }

    @Test func badJSONLRecord() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.jsonl")
        try Data("{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n".utf8).write(to: file)
        #expect(
            throws: TokenizerError.invalidRecord(
                path: file.path, line: 2, reason: "expected an object with a \"text\" string")
        ) {
            try BPETrainer.train(files: [file], parameters: .init(vocabularySize: 300))
        }
    }

    /// Each corruption is reported with the field it is in.
    @Test func corruptTokenizerJSON() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = try #require(
            JSONSerialization.jsonObject(with: Data(Fixtures.tiny.huggingFaceJSON().utf8)) as? [String: Any])
        func field(after edit: (inout [String: Any], inout [String: Any]) -> Void) throws -> String? {
            var root = good
            var model = root["model"] as! [String: Any]
            edit(&root, &model)
            root["model"] = model
            let file = directory.appendingPathComponent("tokenizer.json")
            try JSONSerialization.data(withJSONObject: root).write(to: file)
            do {
                _ = try Tokenizer.load(from: file)
                return nil
            } catch let TokenizerError.corruptFile(_, field, _) {
                return field
            }
        }
        #expect(try field { _, model in model["merges"] = nil } == "model.merges")
        #expect(try field { _, model in model["vocab"] = "nope" } == "model.vocab")
        #expect(try field { _, model in model["type"] = 7 } == "model.type")
        #expect(
            try field { _, model in
                var vocab = model["vocab"] as! [String: Any]
                vocab["Ġthe"] = "seven"
                model["vocab"] = vocab
            } == "model.vocab[\"Ġthe\"]")
        #expect(
            try field { _, model in model["merges"] = ["Ġ zzzz"] + (model["merges"] as! [String]) }
                == "model.merges[0]")
        #expect(
            try field { root, _ in
                root["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "(unclosed"]]
            }
                == "pre_tokenizer.pattern.Regex")
        #expect(try field { root, _ in root["normalizer"] = ["kind": "NFC"] } == "normalizer.type")
        #expect(
            try field { root, _ in root["decoder"] = ["type": "Strip", "content": "ab"] } == "decoder.content"
        )
        #expect(
            try field { root, _ in
                root["post_processor"] = [
                    "type": "TemplateProcessing", "single": [["SpecialToken": ["id": "<nope>"]]], "pair": [],
                ]
            } == "post_processor.single[0]")
        #expect(
            try field { root, _ in root["added_tokens"] = [["id": "x", "content": "<|x|>"]] }
                == "added_tokens[0].id")
        #expect(
            try field { _, model in
                var vocab = model["vocab"] as! [String: Any]
                vocab["a"] = nil
                model["vocab"] = vocab
            } == "model.vocab")

        let garbage = directory.appendingPathComponent("garbage.json")
        try Data("{not json".utf8).write(to: garbage)
        #expect(throws: (any Error).self) { try Tokenizer.load(from: garbage) }
    }

    /// A well-formed file with a component not implemented here is refused by name, distinctly
    /// from a corrupt file.
    @Test func unsupportedComponentsNamed() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = try #require(
            JSONSerialization.jsonObject(with: Data(Fixtures.tiny.huggingFaceJSON().utf8)) as? [String: Any])
        func refusal(_ edit: (inout [String: Any]) -> Void) throws -> (String, String)? {
            var root = good
            edit(&root)
            let file = directory.appendingPathComponent("tokenizer.json")
            try JSONSerialization.data(withJSONObject: root).write(to: file)
            do {
                _ = try Tokenizer.load(from: file)
                return nil
            } catch let TokenizerError.unsupportedComponent(_, _, component, type) {
                return (component, type)
            }
        }
        func model(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
            { root in
                var model = root["model"] as! [String: Any]
                edit(&model)
                root["model"] = model
            }
        }
        #expect(
            try refusal(model { $0["type"] = "WordPiece" }).map { [$0.0, $0.1] } == ["model", "WordPiece"])
        #expect(try refusal(model { $0["dropout"] = 0.1 })?.0 == "model option")
        #expect(
            try refusal { $0["normalizer"] = ["type": "BertNormalizer"] }.map { [$0.0, $0.1] } == [
                "normalizer", "BertNormalizer",
            ])
        #expect(
            try refusal { $0["pre_tokenizer"] = ["type": "BertPreTokenizer"] }.map { [$0.0, $0.1] }
                == ["pre-tokenizer", "BertPreTokenizer"])
        #expect(
            try refusal { $0["decoder"] = ["type": "WordPiece"] }.map { [$0.0, $0.1] } == [
                "decoder", "WordPiece",
            ])
        #expect(
            try refusal { $0["post_processor"] = ["type": "Fancy"] }.map { [$0.0, $0.1] } == [
                "post-processor", "Fancy",
            ])
        #expect(
            try refusal { root in
                root["normalizer"] = [
                    "type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Precompiled"]],
                ]
            }.map { [$0.0, $0.1] } == ["normalizer", "Precompiled"])
        let message = TokenizerError.unsupportedComponent(
            path: "t.json", field: "decoder", component: "decoder", type: "CTC")
        #expect(message.description.hasPrefix("unsupported decoder type CTC"))
    }

    @Test func unknownIDOnDecode() {
        #expect(throws: TokenizerError.unknownTokenID(99_999, vocabularySize: Fixtures.tiny.vocabularySize)) {
            try Fixtures.tiny.decode([1, 99_999])
        }
    }

    @Test func errorsReadClearly() {
        let error = TokenizerError.corruptFile(
            path: "t/tokenizer.json", field: "model.merges[3]", reason: "bad")
        #expect(error.description == "corrupt t/tokenizer.json: field \"model.merges[3]\": bad")
        #expect(
            TokenizerError.vocabularySizeTooSmall(requested: 100, minimum: 260).description.contains(
                "at least 260"))
    }
}
