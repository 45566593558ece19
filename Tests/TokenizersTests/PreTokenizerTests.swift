import Testing
@testable import Tokenizers

/// Expected pieces come from GPT-2's regex as run by the Python `regex` module.
@Suite struct PreTokenizerTests {
    func pieces(_ text: String) -> [String] {
        PreTokenizer.pieces(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func wordsAndPunctuation() {
        #expect(pieces("Hello world!") == ["Hello", " world", "!"])
        #expect(pieces("a--b ?!") == ["a", "--", "b", " ?!"])
    }

    @Test func contractions() {
        #expect(pieces("don't") == ["don", "'t"])
        #expect(pieces("DON'T") == ["DON", "'", "T"])  // contractions are lowercase only
        #expect(pieces("it's'") == ["it", "'s", "'"])
        #expect(pieces("'ll've") == ["'ll", "'ve"])
        #expect(
            pieces("I'm  here\r\n  x 's 'S") == [
                "I", "'m", " ", " here", "\r\n ", " x", " '", "s", " '", "S",
            ])
    }

    @Test func digits() {
        #expect(pieces("abc123 4567 x1") == ["abc", "123", " 4567", " x", "1"])
        #expect(pieces("3.14 ½ Ⅻ") == ["3", ".", "14", " ½", " Ⅻ"])  // No and Nl are numbers
    }

    @Test func unicodeLettersAndMarks() {
        #expect(pieces("Привет мир") == ["Привет", " мир"])
        #expect(pieces("你好世界") == ["你好世界"])
        #expect(pieces("naïve") == ["naïve"])
        // A combining acute accent (Mn) is not a letter: it is its own "other" piece.
        #expect(pieces("cafe\u{301} ok") == ["cafe", "\u{301}", " ok"])
    }

    @Test func whitespaceRuns() {
        #expect(pieces("a   b") == ["a", "  ", " b"])
        #expect(pieces("a \n\nb") == ["a", " \n", "\n", "b"])
        #expect(pieces("a  ") == ["a", "  "])
        #expect(pieces("\t\tx") == ["\t", "\t", "x"])
        #expect(pieces("a\u{a0}b") == ["a", "\u{a0}", "b"])  // no-break space is \s, not a word's space
        #expect(pieces("x\u{a0} y") == ["x", "\u{a0}", " y"])
        #expect(pieces("  \u{3000}x") == ["  ", "\u{3000}", "x"])
    }

    @Test func crlf() {
        #expect(pieces("a\r\nb") == ["a", "\r", "\n", "b"])
        #expect(pieces("line one\r\n\r\nline two") == ["line", " one", "\r\n\r", "\n", "line", " two"])
    }

    @Test func emoji() {
        #expect(pieces("hi 🤖🎉!") == ["hi", " 🤖🎉!"])
    }

    @Test func invalidUTF8IsOther() {
        let bytes: [UInt8] = [0x61, 0xFF, 0xFE, 0x20, 0x62, 0xE2, 0x82]
        #expect(PreTokenizer.pieces(bytes) == [[0x61], [0xFF, 0xFE], [0x20, 0x62], [0xE2, 0x82]])
    }

    /// Cutting text at a safe boundary never changes its pieces.
    @Test func safeBoundariesKeepPieces() {
        var rng = SeededGenerator(seed: 7)
        let alphabet: [String] = [
            "a", "b", " ", "  ", "\n", "\r\n", "\t", "'s", "1", "é", "!", "🤖", "\u{a0}",
        ]
        for _ in 0..<300 {
            let text = Array((0..<40).map { _ in alphabet.randomElement(using: &rng)! }.joined().utf8)
            let whole = PreTokenizer.pieces(text)
            text.withUnsafeBufferPointer { b in
                for cut in 1..<b.count where PreTokenizer.isSafeBoundary(b.baseAddress!, cut, b.count) {
                    let split =
                        PreTokenizer.pieces(Array(text[..<cut])) + PreTokenizer.pieces(Array(text[cut...]))
                    #expect(split == whole)
                }
            }
        }
    }
}
