import Foundation
import Testing
@testable import Tokenizers

/// One behaviour per test for the pipeline's parts; expected values follow `tokenizers`' source
/// (the fixtures check the same parts end to end against the library itself).
@Suite struct ComponentTests {
    func text(_ s: String) -> NormalizedText {
        Array(s.utf8).withUnsafeBufferPointer { NormalizedText($0.baseAddress!, $0.count, offset: 0) }
    }

    @Test func unicodeNormalizationKeepsOrigins() {
        var t = text("cafe\u{301}!")
        Normalizer.unicode(.nfc).apply(&t)
        #expect(t.string == "café!")
        // "é" (2 bytes) comes from "e" + U+0301 (3 bytes, input 3..<6).
        #expect(t.originalRange(3..<5) == 3..<6)
        #expect(t.originalRange(5..<6) == 6..<7)
        var k = text("\u{FB01}x")
        Normalizer.unicode(.nfkc).apply(&k)
        #expect(k.string == "fix")
        #expect(k.originalRange(0..<1) == 0..<3)
    }

    @Test func lowercaseStripPrependReplace() {
        var t = text("  İstanbul ΣΑΣ  ")
        Normalizer.sequence([.lowercase, .strip(left: true, right: true)]).apply(&t)
        // Full per-character mapping: İ → i + U+0307; no final-sigma rule (Rust `to_lowercase`
        // per char).
        #expect(t.string == "i\u{307}stanbul σασ")
        var p = text("a b")
        Normalizer.sequence([.prepend("▁"), .replace(.literal(Array(" ".utf8)), "▁")]).apply(&p)
        #expect(p.string == "▁a▁b")
        var empty = text("")
        Normalizer.prepend("▁").apply(&empty)
        #expect(empty.string == "")
        var r = text("a  \t b")
        Normalizer.replace(try! TextPattern.regex(#"\s+"#), " ").apply(&r)
        #expect(r.string == "a b")
        #expect(r.originalRange(1..<2) == 1..<5)
    }

    /// `NormalizedString::split` on "a-b--c" with matches at each "-".
    @Test func splitBehaviours() {
        let matches = [1..<2, 3..<4, 4..<5]
        func split(_ b: SplitBehavior, invert: Bool = false) -> [Range<Int>] {
            b.split(count: 6, matches: matches, invert: invert)
        }
        #expect(split(.isolated) == [0..<1, 1..<2, 2..<3, 3..<4, 4..<5, 5..<6])
        #expect(split(.removed) == [0..<1, 2..<3, 5..<6])
        #expect(split(.mergedWithPrevious) == [0..<2, 2..<4, 4..<5, 5..<6])
        #expect(split(.mergedWithNext) == [0..<1, 1..<3, 3..<4, 4..<6])
        #expect(split(.contiguous) == [0..<1, 1..<2, 2..<3, 3..<5, 5..<6])
        #expect(split(.removed, invert: true) == [1..<2, 3..<4, 4..<5])
    }

    @Test func preTokenizers() {
        func pieces(_ step: PreTokenization, _ s: String) -> [String] {
            step.apply([text(s)]).map(\.string)
        }
        #expect(pieces(.whitespace, "Hey, you!! 42") == ["Hey", ",", "you", "!!", "42"])
        #expect(pieces(.whitespaceSplit, " a\tb\u{3000}c ") == ["a", "b", "c"])
        #expect(pieces(.digits(individual: true), "a123b") == ["a", "1", "2", "3", "b"])
        #expect(pieces(.digits(individual: false), "a123b٣") == ["a", "123", "b", "٣"])
        #expect(pieces(.punctuation(.isolated), "a,b$!") == ["a", ",", "b", "$", "!"])
        #expect(
            pieces(.metaspace(replacement: "▁", prependScheme: .always, split: true), "a b  c") == [
                "▁a", "▁b", "▁", "▁c",
            ])
        #expect(pieces(.metaspace(replacement: "▁", prependScheme: .never, split: false), "a b") == ["a▁b"])
        #expect(pieces(.byteLevel(addPrefixSpace: true, useRegex: true), "a b") == [" a", " b"])
        // `first` prepends only to text that starts the input.
        var later = text("x")
        later.starts = [5]
        later.ends = [6]
        #expect(
            PreTokenization.metaspace(replacement: "▁", prependScheme: .first, split: false).apply([later])
                .map(\.string) == ["x"])
        #expect(pieces(.metaspace(replacement: "▁", prependScheme: .first, split: false), "x") == ["▁x"])
    }

    @Test func decoders() {
        func run(_ d: TokenDecoder, _ tokens: [String]) -> String {
            String(decoding: d.decodeChain(tokens.map { Array($0.utf8) }).joined(), as: UTF8.self)
        }
        // A valid run of byte tokens becomes its text; an invalid one, one U+FFFD per byte.
        #expect(run(.byteFallback, ["a", "<0xE2>", "<0x82>", "<0xAC>", "b"]) == "a€b")
        #expect(run(.byteFallback, ["<0xE2>", "<0x82>", "x"]) == "\u{FFFD}\u{FFFD}x")
        #expect(
            run(
                .sequence([
                    .replace(.literal(Array("▁".utf8)), " "), .byteFallback, .fuse,
                    .strip(content: " ", start: 1, stop: 0),
                ]),
                ["▁Hello", "▁", "<0x41>"]) == "Hello A")
        // Metaspace drops every ▁ of the first token (not only the leading one) unless `never`.
        #expect(run(.metaspace(replacement: "▁", prependScheme: .always), ["▁a▁b", "▁c"]) == "ab c")
        #expect(run(.metaspace(replacement: "▁", prependScheme: .never), ["▁a", "▁c"]) == " a c")
        #expect(run(.byteLevel, ["Ġhi", "Ċ", "<|x y|>"]) == " hi\n<|x y|>")
    }

    /// The heap merge (long pieces) gives exactly the scan's result.
    @Test func heapMergeEqualsScan() {
        let tokenizer = Fixtures.tiny
        var rng = SeededGenerator(seed: 5)
        let words = Fixtures.corpus.split(separator: " ").map { Array($0.utf8) }
        for _ in 0..<200 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1..<40, using: &rng) {
                bytes += words.randomElement(using: &rng)! + [0x20]
            }
            var scan = bytes.map { tokenizer.byteToID[Int($0)] }
            var heap = scan
            var scanLengths = [Int32](repeating: 1, count: scan.count)
            var heapLengths = scanLengths
            Tokenizer.bytePairMerge(&scan, lengths: &scanLengths, mergeTable: tokenizer.mergeTable)
            Tokenizer.heapMerge(&heap, &heapLengths, mergeTable: tokenizer.mergeTable)
            #expect(heap == scan)
            #expect(heapLengths == scanLengths)
            #expect(scanLengths.reduce(0, +) == Int32(bytes.count))
        }
    }

    @Test func pairTable() {
        var table: PairTable = [:]
        for k in 0..<1000 { table[UInt64(k) << 32 | UInt64(k * 7)] = UInt64(k) }
        #expect(table.count == 1000)
        #expect(table[UInt64(500) << 32 | 3500] == 500)
        #expect(table[UInt64(500) << 32 | 3501] == nil)
        table[UInt64(500) << 32 | 3500] = 9
        #expect(table[UInt64(500) << 32 | 3500] == 9 && table.count == 1000)
    }

    /// Added tokens: leftmost-longest, `lstrip`/`rstrip` swallow the spaces around, and a
    /// `single_word` token inside a word is not one.
    @Test func addedTokenFlags() {
        let matcher = AddedTokenMatcher([
            .init(
                bytes: Array("<a>".utf8), token: AddedToken(id: 1, content: "<a>", lstrip: true, rstrip: true)
            ),
            .init(bytes: Array("<a>x".utf8), token: AddedToken(id: 2, content: "<a>x")),
            .init(
                bytes: Array("cat".utf8),
                token: AddedToken(id: 3, content: "cat", special: false, singleWord: true)),
        ])
        func split(_ s: String) -> [String] {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBufferPointer { b in
                matcher.split(b.baseAddress!, b.count).map {
                    "\($0.id.map(String.init) ?? "")[\(String(decoding: bytes[$0.range], as: UTF8.self))]"
                }
            }
        }
        #expect(split("q  <a>  r") == ["[q]", "1[  <a>  ]", "[r]"])
        #expect(split("q <a>x r") == ["[q ]", "2[<a>x]", "[ r]"])
        #expect(split("cat concat cats cat") == ["3[cat]", "[ concat cats ]", "3[cat]"])
    }

    /// Offsets through a normalizer that inserts text: SentencePiece's prepended ▁ belongs to
    /// the first word, and each token's range covers the input it came from.
    @Test func offsetsThroughNormalizer() throws {
        let tokenizer = try HuggingFaceFixtureTests.load("sentencepiece")
        let text = "Hello wñrld 🤖"
        let encoding = tokenizer.encodeWithOffsets(text)
        #expect(encoding.ids == tokenizer.encode(text))
        let bytes = Array(text.utf8)
        let pieces = zip(encoding.ids, encoding.offsets).map { id, range in
            (
                String(decoding: tokenizer.pipeline.tokenStrings[Int(id)], as: UTF8.self),
                String(decoding: bytes[range], as: UTF8.self)
            )
        }
        for (token, source) in pieces where !token.hasPrefix("<0x") {
            #expect(
                token.replacingOccurrences(of: "▁", with: " ").trimmingCharacters(in: .whitespaces)
                    == source.trimmingCharacters(in: .whitespaces), "\(token) ← \(source)")
        }
        // "ñ" and the emoji are not in this small vocabulary: byte fallback, one token per byte,
        // each with the range of its own byte.
        let fallback = zip(pieces, encoding.offsets).filter { $0.0.0.hasPrefix("<0x") }.map(\.1)
        #expect(fallback == [7..<8, 8..<9, 13..<14, 14..<15, 15..<16, 16..<17], "\(pieces)")
        // The prepended ▁ alone is a token made of no input: an empty range at the start.
        #expect(pieces.first?.0 == "▁" && encoding.offsets.first == 0..<0)
        let withBOS = tokenizer.encodeWithOffsets(text, addSpecialTokens: true)
        #expect(withBOS.ids.first == tokenizer.specialTokenID("<s>"))
        #expect(withBOS.offsets.first == 0..<0)
    }

    /// Tokenizers trained here keep the GPT-2 fast path (and its parallel split) after a
    /// round trip through tokenizer.json.
    @Test func trainedTokenizersKeepFastPath() throws {
        #expect(Fixtures.tiny.pipeline.isGPT2Layout)
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Fixtures.tiny.write(to: directory)
        #expect(try Tokenizer.load(from: directory).pipeline.isGPT2Layout)
        #expect(try !HuggingFaceFixtureTests.load("llama3").pipeline.isGPT2Layout)
        #expect(try HuggingFaceFixtureTests.load("llama3").pipeline.scanner == .llama3)
        #expect(try HuggingFaceFixtureTests.load("qwen2").pipeline.scanner == .qwen2)
    }
}
