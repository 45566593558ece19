import Foundation
import Testing
@testable import Tokenizers

/// The tokenizer.json fixtures built by `scripts/make-tokenizer-fixtures.py` with Hugging Face
/// `tokenizers` (GPT-2, Llama 3, Qwen2, SentencePiece-style, Metaspace, and two files that
/// exercise the other components); expected ids and text are what `tokenizers` gave.
@Suite struct HuggingFaceFixtureTests {
    struct Case: Decodable {
        var text: String
        var ids: [TokenID]
        var ids_specials_as_text: [TokenID]
        var ids_with_template: [TokenID]
        var offsets: [[Int]]
        var decoded: String
        var decoded_skip_special: String
    }
    struct Pair: Decodable {
        var text: String
        var pair: String
        var ids: [TokenID]
    }
    struct Family: Decodable {
        var cases: [Case]
        var pair: Pair
    }
    struct Expected: Decodable {
        var tokenizers_version: String
        var families: [String: Family]
    }

    static let directory = Fixtures.packageRoot.appendingPathComponent("Tests/TokenizersTests/Fixtures")
    static let expected: Expected = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()
    static let families = ["gpt2", "llama3", "qwen2", "sentencepiece", "metaspace", "misc", "splits"]

    static func load(_ family: String) throws -> Tokenizer {
        try Tokenizer.load(from: directory.appendingPathComponent("\(family).json"))
    }

    @Test(arguments: families)
    func idsMatchTokenizers(_ family: String) throws {
        let tokenizer = try Self.load(family)
        let expected = try #require(Self.expected.families[family])
        for c in expected.cases {
            #expect(
                tokenizer.encode(c.text, allowedSpecial: .all) == c.ids,
                "\(family): \(c.text.debugDescription)")
            #expect(
                tokenizer.encode(c.text) == c.ids_specials_as_text,
                "\(family) specials as text: \(c.text.debugDescription)")
            #expect(
                tokenizer.encode(c.text, allowedSpecial: .all, addSpecialTokens: true) == c.ids_with_template,
                "\(family) with template: \(c.text.debugDescription)")
        }
        let pair = expected.pair
        #expect(
            tokenizer.encode(pair.text, pair: pair.pair, allowedSpecial: .all, addSpecialTokens: true)
                == pair.ids)
    }

    @Test(arguments: families)
    func decodeMatchesTokenizers(_ family: String) throws {
        let tokenizer = try Self.load(family)
        let expected = try #require(Self.expected.families[family])
        for c in expected.cases {
            #expect(try tokenizer.decodeText(c.ids) == c.decoded, "\(family): \(c.text.debugDescription)")
            #expect(
                try tokenizer.decodeText(c.ids, skipSpecialTokens: true) == c.decoded_skip_special,
                "\(family) skipping specials: \(c.text.debugDescription)")
        }
    }

    /// Offsets: the same ids as `encode`, ranges inside the text, in order; for byte-level
    /// families each token's bytes are exactly its range of the input.
    @Test(arguments: families)
    func offsetsCoverTheText(_ family: String) throws {
        let tokenizer = try Self.load(family)
        let expected = try #require(Self.expected.families[family])
        for c in expected.cases {
            let encoding = tokenizer.encodeWithOffsets(c.text, allowedSpecial: .all)
            #expect(encoding.ids == c.ids)
            #expect(encoding.offsets.count == encoding.ids.count)
            let bytes = Array(c.text.utf8)
            var previous = 0
            for range in encoding.offsets {
                #expect(range.lowerBound >= 0 && range.upperBound <= bytes.count)
                #expect(
                    range.lowerBound >= previous || range.isEmpty, "\(family): \(c.text.debugDescription)")
                previous = max(previous, range.lowerBound)
            }
            if ["gpt2", "llama3"].contains(family) {
                for (id, range) in zip(encoding.ids, encoding.offsets) {
                    #expect(
                        tokenizer.bytes(of: id) == Array(bytes[range]),
                        "\(family): \(c.text.debugDescription)")
                }
                // They agree with `tokenizers`' offsets wherever a token is whole characters
                // (`tokenizers` widens a token holding part of a character to the character).
                let boundaries = Set(
                    c.text.unicodeScalars.indices.map {
                        c.text.utf8.distance(from: c.text.startIndex, to: $0)
                    } + [bytes.count])
                #expect(c.offsets.count == encoding.offsets.count)
                for (ours, theirs) in zip(encoding.offsets, c.offsets)
                where boundaries.contains(ours.lowerBound) && boundaries.contains(ours.upperBound) {
                    #expect(ours == theirs[0]..<theirs[1], "\(family): \(c.text.debugDescription)")
                }
            }
            let templated = tokenizer.encodeWithOffsets(c.text, allowedSpecial: .all, addSpecialTokens: true)
            #expect(templated.ids == c.ids_with_template)
        }
    }

    /// Large inputs split across threads give the single-thread ids (Llama 3 layout: cuts at
    /// letter-space-letter, never inside an added token).
    @Test func parallelEqualsSingleThread() throws {
        let tokenizer = try Self.load("llama3")
        #expect(tokenizer.pipeline.splitsInParallel)
        let cases = try #require(Self.expected.families["llama3"]).cases
        var text = ""
        while text.utf8.count < 300_000 { text += cases.map(\.text).joined(separator: " x ") }
        let bytes = Array(text.utf8)
        for policy in [SpecialTokenPolicy.none, .all] {
            let single = tokenizer.encode(bytes, allowedSpecial: policy, threads: 1)
            #expect(tokenizer.encode(bytes, allowedSpecial: policy, threads: 3) == single)
        }
    }

    /// A tokenizer read from another layout writes its file back unchanged, so a checkpoint's
    /// tokenizer.json reloads to the same ids.
    @Test(arguments: ["llama3", "sentencepiece"])
    func writesLoadedFileBack(_ family: String) throws {
        let tokenizer = try Self.load(family)
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try tokenizer.write(to: directory)
        let reloaded = try Tokenizer.load(from: directory)
        for c in try #require(Self.expected.families[family]).cases {
            #expect(reloaded.encode(c.text, allowedSpecial: .all) == c.ids)
        }
    }

    /// Real GPT-2 files mark `<|endoftext|>` `normalized: true`; with no normalizer that changes
    /// nothing, and the file still takes the GPT-2 fast path.
    @Test func normalizedFlagWithoutNormalizer() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = Self.directory.appendingPathComponent("gpt2.json")
        let text = try String(contentsOf: source, encoding: .utf8)
        let edited = text.replacingOccurrences(of: #""normalized":false"#, with: #""normalized":true"#)
        #expect(edited != text)
        let file = directory.appendingPathComponent("tokenizer.json")
        try Data(edited.utf8).write(to: file)
        let tokenizer = try Tokenizer.load(from: file)
        #expect(tokenizer.pipeline.isGPT2Layout)
        for c in try #require(Self.expected.families["gpt2"]).cases {
            #expect(tokenizer.encode(c.text, allowedSpecial: .all) == c.ids)
            #expect(tokenizer.encode(c.text) == c.ids_specials_as_text)
        }
    }

    @Test func specialTokensAndFlags() throws {
        let llama = try Self.load("llama3")
        #expect(llama.specialTokenID("<|begin_of_text|>") != nil)
        #expect(llama.specialTokens.count == 5)
        let qwen = try Self.load("qwen2")
        let note = try #require(qwen.addedTokens.first { $0.content == "[NOTE]" })
        #expect(!note.special && note.normalized)
        #expect(qwen.specialTokenID("[NOTE]") == nil)
        // A non-special added token is recognised whatever the policy.
        #expect(qwen.encode("a[NOTE]b").contains(note.id))
        let splits = try Self.load("splits")
        let tool = try #require(splits.addedTokens.first { $0.content == "<tool>" })
        #expect(tool.lstrip && tool.rstrip && tool.singleWord)
    }
}
