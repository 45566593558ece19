import Foundation
import Testing
@testable import Tokenizers

@Suite struct FormatTests {
    @Test func byteLevelMapping() {
        #expect(ByteLevel.encode(Array(" \n!".utf8)) == "ĠĊ!")
        #expect(Set(ByteLevel.byteToScalar).count == 256)
        let all = (0...255).map { UInt8($0) }
        #expect(ByteLevel.decode(ByteLevel.encode(all)) == all)
    }

    @Test func tokenizerJSONRoundTrip() throws {
        let tokenizer = Fixtures.tiny
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try tokenizer.write(to: directory)
        let loaded = try Tokenizer.load(from: directory)
        #expect(loaded == tokenizer)
        let loadedFile = try Tokenizer.load(from: directory.appendingPathComponent("tokenizer.json"))
        #expect(loadedFile == tokenizer)
        let sample = Fixtures.corpus + "<|im_start|>user\nhi<|im_end|>"
        #expect(loaded.encode(sample, allowedSpecial: .all) == tokenizer.encode(sample, allowedSpecial: .all))

        // The file is the Hugging Face schema.
        let root = try #require(
            JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("tokenizer.json"))) as? [String: Any])
        let model = try #require(root["model"] as? [String: Any])
        #expect(model["type"] as? String == "BPE")
        #expect((model["vocab"] as? [String: Any])?.count == tokenizer.vocabularySize)
        #expect((model["merges"] as? [String])?.count == tokenizer.merges.count)
        #expect((root["pre_tokenizer"] as? [String: Any])?["type"] as? String == "ByteLevel")
        #expect((root["decoder"] as? [String: Any])?["type"] as? String == "ByteLevel")
        let added = try #require(root["added_tokens"] as? [[String: Any]])
        #expect(added.map { $0["content"] as? String } == SpecialTokens.default)
        #expect(added.allSatisfy { $0["special"] as? Bool == true })

        let config = try #require(
            JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json")))
                as? [String: Any])
        #expect(config["chat_template"] as? String == ChatTemplate.jinja)
        #expect(config["eos_token"] as? String == SpecialTokens.imEnd)
        #expect(config["pad_token"] as? String == SpecialTokens.pad)
    }

    /// Newer `tokenizers` write merges as two-element arrays; both forms read.
    @Test func mergesAsArrays() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizer = Fixtures.tiny
        var root = try #require(
            JSONSerialization.jsonObject(with: Data(tokenizer.huggingFaceJSON().utf8)) as? [String: Any])
        var model = try #require(root["model"] as? [String: Any])
        model["merges"] = (model["merges"] as! [String]).map { $0.split(separator: " ").map(String.init) }
        root["model"] = model
        let file = directory.appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: root).write(to: file)
        #expect(try Tokenizer.load(from: file) == tokenizer)
    }

    @Test func tiktokenRanksFile() throws {
        // A tiny ranks file: the 256 bytes in byte order, then "ab" and "abc".
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var lines = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
        lines.append("\(Data("ab".utf8).base64EncodedString()) 256")
        lines.append("\(Data("abc".utf8).base64EncodedString()) 257")
        let file = directory.appendingPathComponent("tiny.tiktoken")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let tokenizer = try Tokenizer.load(from: file)
        #expect(
            tokenizer.merges.map { [$0.left, $0.right, $0.result] } == [[97, 98, 256], [256, 99, 257]])
        #expect(tokenizer.encode("abcab<|endoftext|>", allowedSpecial: .all) == [257, 256, 258])
    }
}
