import Foundation
import Testing
@testable import Tokenizers

/// GPT-2's ranks (`data/gpt2.tiktoken`, fetched by `scripts/setup`). Expected ids are tiktoken's
/// for the same file. Skipped with a message when the file is absent, except under CI.
@Suite(.enabled(if: Fixtures.mustRunGPT2, "data/gpt2.tiktoken is missing: run scripts/setup to fetch it"))
struct GPT2Tests {
    static let gpt2: Tokenizer? = try? Tokenizer.loadTiktoken(from: Fixtures.gpt2Ranks)

    func load() throws -> Tokenizer {
        #expect(
            Fixtures.gpt2Available, "data/gpt2.tiktoken is missing (CI is set, so this must not be skipped)")
        return try #require(Self.gpt2)
    }

    @Test func knownStrings() throws {
        let gpt2 = try load()
        #expect(gpt2.vocabularySize == 50257)
        #expect(gpt2.merges.count == 50000)
        let cases: [(String, [TokenID])] = [
            ("Hello world!", [15496, 995, 0]),
            (
                "The quick brown fox jumps over the lazy dog.",
                [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]
            ),
            (
                "I'm here, you're there; we'll see 12345 apples.",
                [40, 1101, 994, 11, 345, 821, 612, 26, 356, 1183, 766, 17031, 2231, 22514, 13]
            ),
            ("  multiple   spaces\n\n\tand tabs", [220, 3294, 220, 220, 9029, 628, 197, 392, 22524]),
            (
                "Привет, мир! 你好世界 🤖🎉",
                [
                    140, 253, 21169, 18849, 38857, 16843, 20375, 11, 12466, 120, 18849, 21169, 0, 220, 19526,
                    254, 25001, 121, 10310, 244, 45911, 234, 12520, 97, 244, 8582, 236, 231,
                ]
            ),
            ("café naïve résumé", [66, 1878, 2634, 41492, 40560, 16345, 2634]),
            ("a\r\nb", [64, 201, 198, 65]),
        ]
        for (text, ids) in cases {
            #expect(gpt2.encode(text) == ids, "\(text)")
            #expect(try gpt2.decodeText(ids) == text)
        }
        #expect(gpt2.encode("<|endoftext|>", allowedSpecial: .all) == [50256])
        #expect(gpt2.encode("<|endoftext|>") == [27, 91, 437, 1659, 5239, 91, 29])
    }

    /// tokenizer.json written from the tiktoken ranks reads back as the same tokenizer.
    @Test func huggingFaceRoundTrip() throws {
        let gpt2 = try load()
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try gpt2.write(to: directory)
        let loaded = try Tokenizer.load(from: directory)
        #expect(loaded == gpt2)
        #expect(loaded.encode("Hello world!") == [15496, 995, 0])
        // GPT-2's space token is "Ġ" in tokenizer.json, as in Hugging Face's gpt2.
        let json = try String(contentsOf: directory.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        #expect(json.contains("\"Ġworld\": 995"))
    }
}
