import Foundation
import Testing
@testable import Tokenizers

@Suite struct EncodingTests {
    /// Any bytes round-trip, valid UTF-8 or not, with and without special tokens allowed.
    @Test func randomBytesRoundTrip() throws {
        var rng = SeededGenerator(seed: 42)
        let tokenizer = Fixtures.tiny
        let fragments: [[UInt8]] = [
            Array("the ".utf8), Array("<|endoftext|>".utf8), Array("<|im_end|>".utf8), [0xE2, 0x82], [0xFF],
            Array("é 🤖".utf8), [0x0D, 0x0A],
        ]
        for trial in 0..<500 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0..<60, using: &rng) {
                if trial % 2 == 0 {
                    bytes.append(UInt8.random(in: 0...255, using: &rng))
                } else {
                    bytes += fragments.randomElement(using: &rng)!
                }
            }
            for policy in [SpecialTokenPolicy.none, .all] {
                let ids = tokenizer.encode(bytes, allowedSpecial: policy)
                #expect(try tokenizer.decode(ids) == bytes)
            }
        }
    }

    @Test func specialTokensOnlyWhenAllowed() throws {
        let tokenizer = Fixtures.tiny
        let eot = try #require(tokenizer.specialTokenID(SpecialTokens.endOfText))
        let imEnd = try #require(tokenizer.specialTokenID(SpecialTokens.imEnd))
        let text = "fox<|endoftext|>dog<|im_end|>"
        let all = tokenizer.encode(text, allowedSpecial: .all)
        #expect(all.contains(eot) && all.contains(imEnd))
        #expect(all == tokenizer.encode("fox") + [eot] + tokenizer.encode("dog") + [imEnd])
        let none = tokenizer.encode(text)
        #expect(!none.contains(where: { tokenizer.isSpecialToken($0) }))
        let some = tokenizer.encode(text, allowedSpecial: .only([SpecialTokens.imEnd]))
        #expect(!some.contains(eot) && some.last == imEnd)
        #expect(try tokenizer.decodeText(all) == text)
        #expect(try tokenizer.decodeText(all, skipSpecialTokens: true) == "foxdog")
    }

    /// Splitting a large input across threads gives exactly the single-thread ids.
    @Test func parallelEqualsSingleThread() throws {
        let tokenizer = Fixtures.tiny
        var text = ""
        while text.utf8.count < 300_000 { text += Fixtures.corpus + "<|endoftext|>  \n" }
        let bytes = Array(text.utf8)
        for policy in [SpecialTokenPolicy.none, .all] {
            let single = tokenizer.encode(bytes, allowedSpecial: policy, threads: 1)
            let parallel = tokenizer.encode(bytes, allowedSpecial: policy, threads: 3)
            #expect(single == parallel)
            #expect(try tokenizer.decode(parallel) == bytes)
        }
    }

    /// Long pieces (a run of 5000 spaces is one piece) are merged correctly and fast.
    @Test func longPieces() throws {
        let tokenizer = Fixtures.tiny
        let text = String(repeating: " ", count: 5000) + "x" + String(repeating: "ab", count: 3000)
        #expect(try tokenizer.decodeText(tokenizer.encode(text)) == text)
    }

    @Test func emptyInput() throws {
        #expect(Fixtures.tiny.encode("") == [])
        #expect(try Fixtures.tiny.decode([]) == [])
    }
}
