import Foundation
@testable import Models
import TensorCore
import Testing

/// Tokenizer metadata and the folder-level export (`rlhf export gguf`), using the tokenizer.json
/// fixtures that `tokenizers` wrote for the Tokenizers tests.
@Suite struct GGUFTokenizerTests {
    static let tokenizerFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("TokenizersTests/Fixtures")

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: tokenizerFixtures.appendingPathComponent("\(name).json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func metadata(_ name: String, config: [String: Any] = [:]) throws -> GGUFExporter.TokenizerMetadata
    {
        try GGUFExporter.TokenizerMetadata.fromJSON(try json(name), config: config, source: "\(name).json")
    }

    @Test(arguments: [("gpt2", "gpt-2"), ("llama3", "llama-bpe"), ("qwen2", "qwen2")])
    func byteLevelTokenizersNameTheirPreTokenizer(fixture: String, pre: String) throws {
        let m = try Self.metadata(fixture)
        #expect(m.model == "gpt2")
        #expect(try m.resolvedPre(override: nil) == pre)
        let json = try Self.json(fixture)
        let model = json["model"] as! [String: Any]
        let vocab = model["vocab"] as! [String: Int]
        for (text, id) in vocab { #expect(m.tokens[id] == text) }
        #expect(m.merges.count == (model["merges"] as! [Any]).count)
        #expect(m.merges.allSatisfy { $0.split(separator: " ").count == 2 })
        #expect(m.scores == nil)
        for item in json["added_tokens"] as! [[String: Any]] {
            let id = item["id"] as! Int
            #expect(m.tokens[id] == item["content"] as! String)
            // Special (or <|…|>) added tokens are CONTROL, others USER_DEFINED.
            #expect(m.types[id] == ((item["special"] as! Bool) ? 3 : 4))
        }
    }

    @Test func llama3TemplateAddsBOS() throws {
        let m = try Self.metadata(
            "llama3", config: ["bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"])
        #expect(m.addBOS == true && m.addEOS == false)
        #expect(m.bosID == 0 && m.eosID == 1)
        let gpt2 = try Self.metadata("gpt2")
        #expect(gpt2.addBOS == false && gpt2.addEOS == false)  // ByteLevel post-processor
    }

    @Test(arguments: ["sentencepiece", "metaspace"])
    func sentencePieceStyleTokenizersAreLlamaModels(fixture: String) throws {
        let m = try Self.metadata(
            fixture, config: ["unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"])
        #expect(m.model == "llama" && m.pre == "default" && m.merges.isEmpty)
        #expect(m.unknownID == 0 && m.bosID == 1 && m.eosID == 2 && m.addBOS == true)
        #expect(m.types[0] == 3 && m.types[1] == 3)
        let byteIDs = m.tokens.indices.filter { m.types[$0] == 6 }
        #expect(byteIDs.count == 256)
        #expect(m.tokens[byteIDs[0]] == "<0x00>")
        // Each merge result scores above the results of later merges: llama.cpp's SentencePiece
        // tokenizer then merges in the same order as the BPE merge list.
        let model = try Self.json(fixture)["model"] as! [String: Any]
        let vocab = model["vocab"] as! [String: Int]
        let merges = try GGUFExporter.TokenizerMetadata.mergeStrings(model["merges"]) {
            GGUFExportError("\($0) \($1)")
        }
        var last = Float.infinity, seen = Set<Int>()
        for merge in merges {
            let parts = merge.split(separator: " ").map(String.init)
            let id = vocab[parts[0] + parts[1]]!
            guard seen.insert(id).inserted else { continue }
            #expect(m.scores![id] < last)
            last = m.scores![id]
        }
        if fixture == "metaspace" { #expect(m.addSpacePrefix == true) }
    }

    @Test func unsupportedTokenizersAndPatternsAreRefusedByName() throws {
        var json = try Self.json("llama3")
        var model = json["model"] as! [String: Any]
        model["type"] = "WordPiece"
        json["model"] = model
        #expect {
            try GGUFExporter.TokenizerMetadata.fromJSON(json, config: [:], source: "t.json")
        } throws: { "\($0)".contains("WordPiece") && "\($0)".contains("t.json") }

        var custom = try Self.json("llama3")
        custom["pre_tokenizer"] =
            ["type": "Split", "pattern": ["Regex": "\\d+|\\s+"], "behavior": "Isolated"] as [String: Any]
        let m = try GGUFExporter.TokenizerMetadata.fromJSON(custom, config: [:], source: "t.json")
        #expect { try m.resolvedPre(override: nil) } throws: { "\($0)".contains("--tokenizer-pre") }
        #expect(try m.resolvedPre(override: "llama-bpe") == "llama-bpe")
    }

    /// A run folder: tiny random llama with the llama3 tokenizer fixture and a chat template.
    static func makeRun(vocabSize: Int = 900, family: ModelConfig.Family = .llama) throws -> RunDirectory {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString)")
        let run = RunDirectory(dir)
        try run.create()
        let config = ModelConfig(
            family: family, vocabSize: vocabSize, hiddenSize: 32, layerCount: 1, headCount: 4,
            kvHeadCount: 2, intermediateSize: 64, contextLength: 16, tieEmbeddings: false,
            bosTokenID: 0, eosTokenID: 1)
        try config.save(to: run.config)
        let model = try Transformer(config: config, seed: 5)
        try model.encodedWeights().write(to: run.model)
        try FileManager.default.copyItem(
            at: tokenizerFixtures.appendingPathComponent("llama3.json"), to: run.tokenizer)
        let tokenizerConfig = [
            "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
            "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
        ]
        try JSONSerialization.data(withJSONObject: tokenizerConfig).write(
            to: run.file("tokenizer_config.json"))
        return run
    }

    @Test func exportWritesAtomicallyAndRefusesToOverwrite() throws {
        let run = try Self.makeRun(vocabSize: 904)
        defer { try? FileManager.default.removeItem(at: run.url) }
        let out = run.file("model.gguf")
        let options = GGUFExporter.Options(type: .q8_0, name: "tiny")
        let summary = try GGUFExporter.export(run: run, to: out, options: options, overwrite: false)
        #expect(summary.architecture == "llama" && summary.typeCounts[.q8_0] != nil)
        let r = try GGUFTestReader(Array(try Data(contentsOf: out)))
        #expect(r.strings("tokenizer.ggml.tokens")?.count == 904)  // padded up to vocab_size
        #expect(r.strings("tokenizer.ggml.tokens")?[903] == "[PAD903]")
        #expect(r.string("tokenizer.ggml.pre") == "llama-bpe" && r.string("tokenizer.ggml.model") == "gpt2")
        #expect(r.string("tokenizer.chat_template") == "{% for m in messages %}{{ m.content }}{% endfor %}")
        #expect(r.uint("tokenizer.ggml.eos_token_id") == 4 && r.uint("tokenizer.ggml.bos_token_id") == 0)
        #expect(r.kv["tokenizer.ggml.add_bos_token"] == .bool(true))
        #expect(r.valueTypes["tokenizer.ggml.token_type"] == 9)
        // No temporary file is left beside the output.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.url.path).filter {
            $0.hasPrefix(".tmp-")
        }
        #expect(leftovers.isEmpty)

        let before = try Data(contentsOf: out)
        #expect { try GGUFExporter.export(run: run, to: out, options: options, overwrite: false) } throws: {
            "\($0)".contains("--overwrite")
        }
        #expect(try Data(contentsOf: out) == before)
        try GGUFExporter.export(run: run, to: out, options: .init(type: .f32, name: "tiny"), overwrite: true)
        #expect(try Data(contentsOf: out).count > before.count)
    }

    @Test func tokenizerLargerThanTheModelIsRefused() throws {
        let run = try Self.makeRun(vocabSize: 600)
        defer { try? FileManager.default.removeItem(at: run.url) }
        #expect {
            try GGUFExporter.export(
                run: run, to: run.file("m.gguf"), options: .init(name: "x"), overwrite: false)
        } throws: { "\($0)".contains("900") && "\($0)".contains("600") }
        #expect(!FileManager.default.fileExists(atPath: run.file("m.gguf").path))
    }

    @Test func unsupportedFamilyIsRefusedByName() throws {
        let run = try Self.makeRun()
        defer { try? FileManager.default.removeItem(at: run.url) }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: run.config)) as! [String: Any]
        config["model_type"] = "phi3"
        try JSONSerialization.data(withJSONObject: config).write(to: run.config)
        #expect {
            try GGUFExporter.export(
                run: run, to: run.file("m.gguf"), options: .init(name: "x"), overwrite: false)
        } throws: { "\($0)".contains("phi3") }
    }
}
