import Testing
@testable import Serving

@Suite struct CompletionTextTests {
    @Test func streamsPlainTextAsItGrows() {
        var text = CompletionText(stops: [])
        #expect(text.advance(decoded: "He") == .more(delta: "He"))
        #expect(text.advance(decoded: "Hello") == .more(delta: "llo"))
        #expect(text.finish(decoded: "Hello!") == "!")
        #expect(text.text == "Hello!")
    }

    @Test func holdsBackAPossibleStopSequenceAndCutsAtIt() {
        var text = CompletionText(stops: ["END"])
        #expect(text.advance(decoded: "abc E") == .more(delta: "abc "))  // "E" could start "END"
        #expect(text.advance(decoded: "abc EN") == .more(delta: ""))
        #expect(text.advance(decoded: "abc ENX") == .more(delta: "ENX"))  // not a stop after all
        #expect(text.advance(decoded: "abc ENX yEND tail") == .stopped(delta: " y"))
        #expect(text.text == "abc ENX y")
    }

    @Test func earliestOfSeveralStopsWins() {
        var text = CompletionText(stops: ["\n\n", "User:"])
        #expect(text.advance(decoded: "one User: two\n\n") == .stopped(delta: "one "))
    }

    @Test func finishDropsAHeldBackPrefixOnlyWhenItIsAStop() {
        var text = CompletionText(stops: ["###"])
        #expect(text.advance(decoded: "x ##") == .more(delta: "x "))
        #expect(text.finish(decoded: "x ##") == "##")
    }

    @Test func holdsBackATrailingReplacementCharacterUntilTheCharacterCompletes() {
        // "é" is two UTF-8 bytes; after the first one the decoder shows U+FFFD.
        let bytes = Array("café".utf8)
        var text = CompletionText(stops: [])
        let partial = String(decoding: bytes.dropLast(), as: UTF8.self)
        #expect(partial.hasSuffix("\u{FFFD}"))
        #expect(text.advance(decoded: partial) == .more(delta: "caf"))
        #expect(text.advance(decoded: "café") == .more(delta: "é"))
    }
}
