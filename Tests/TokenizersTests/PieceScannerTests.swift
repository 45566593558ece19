import Foundation
import Testing
@testable import Tokenizers

/// The hand-written scanners give exactly the regex's matches (ICU, as `NSRegularExpression`
/// runs the published pattern) on many random strings of tricky pieces.
@Suite struct PieceScannerTests {
    static let alphabet: [String] = [
        "a", "Z", "é", "ß", "Ж", "你", "ǅ", "ʰ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u{a0}", "\u{3000}",
        "\u{2028}",
        "'", "'s", "'S", "'ll", "'LL", "'Re", "'ve", "'d", "'M", "'x", "1", "23", "4567", "½", "Ⅻ", "٣", "!",
        "?!", ".",
        "(", "_", "-", "🤖", "👨‍👩‍👧", "\u{301}", "\u{200d}", "$", "\u{85}", "\u{b}", "\u{c}",
    ]

    func randomText(_ rng: inout SeededGenerator) -> String {
        (0..<Int.random(in: 1..<30, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! }
            .joined()
    }

    @Test(arguments: [PieceScanner.gpt2, .llama3, .qwen2])
    func scannerEqualsRegex(_ scanner: PieceScanner) throws {
        let regex = try CompiledRegex(scanner.pattern)
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<3000 {
            let bytes = Array(randomText(&rng).utf8)
            let ours = bytes.withUnsafeBufferPointer { scanner.pieces($0.baseAddress!, count: $0.count) }
            let theirs = regex.matches(in: bytes)
            #expect(ours == theirs, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if ours != theirs { break }
        }
    }

    @Test func recognisesPublishedPatterns() {
        #expect(PieceScanner(pattern: PieceScanner.llama3Pattern) == .llama3)
        #expect(PieceScanner(pattern: PieceScanner.qwen2Pattern) == .qwen2)
        #expect(PieceScanner(pattern: PieceScanner.gpt2Pattern) == .gpt2)
        #expect(PieceScanner(pattern: #"\s+"#) == nil)
    }

    func llama(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { b in
            PieceScanner.llama3.pieces(b.baseAddress!, count: b.count).map {
                String(decoding: bytes[$0], as: UTF8.self)
            }
        }
    }

    /// Hand-checked Llama 3 pieces: case-insensitive contractions, a non-letter prefix on
    /// words, digits in threes, punctuation that keeps its newlines, newline runs.
    @Test func llama3Pieces() {
        #expect(llama("I'M DON'T") == ["I", "'M", " DON", "'T"])
        #expect(llama("1234567") == ["123", "456", "7"])
        #expect(llama("(hello) \tworld") == ["(hello", ")", " ", "\tworld"])
        #expect(llama("x;\n\ny") == ["x", ";\n\n", "y"])
        #expect(llama("a  \n  \n b") == ["a", "  \n  \n", " b"])
        #expect(llama("a   b  ") == ["a", "  ", " b", "  "])
    }

    /// Cutting at a safe boundary never changes the pieces.
    @Test(arguments: [PieceScanner.llama3, .qwen2])
    func safeBoundaries(_ scanner: PieceScanner) {
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<300 {
            let bytes = Array(randomText(&rng).utf8)
            bytes.withUnsafeBufferPointer { b in
                let whole = scanner.pieces(b.baseAddress!, count: b.count)
                for cut in 1..<b.count where PieceScanner.isSafeBoundary(b.baseAddress!, cut, b.count) {
                    #expect(whole.contains { $0.lowerBound == cut })
                }
            }
        }
    }
}
