import Foundation
import Testing
@testable import Tokenizers

/// SplitMix64: a seeded generator so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let gpt2Ranks = packageRoot.appendingPathComponent("data/gpt2.tiktoken")
    static var gpt2Available: Bool { FileManager.default.fileExists(atPath: gpt2Ranks.path) }
    /// Under CI the ranks file must be there (`.ci/run` fetches it), so the GPT-2 tests run.
    static var mustRunGPT2: Bool { gpt2Available || ProcessInfo.processInfo.environment["CI"] != nil }

    static let corpus = """
        The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away!
        It's a truth universally acknowledged, that a single man in possession of a good fortune,
        must be in want of a wife. I'm sure you'll agree: 1234 apples, 56 pears and 7 plums.
        Les élèves naïfs mangent des crêpes. Привет, мир! 你好，世界。 Emoji: 🤖🎉 done.
        """

    static let tiny: Tokenizer = {
        try! BPETrainer.train(texts: [corpus, corpus.uppercased()], parameters: .init(vocabularySize: 400))
    }()

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tok-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
