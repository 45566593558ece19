import Foundation

/// Trains a byte-level BPE tokenizer: GPT-2 pre-tokenization, 256 byte tokens, then merges of
/// the most frequent adjacent pair until the vocabulary reaches its target size, then the
/// special tokens.
///
/// Layout of the result: ids 0…255 are the bytes in byte order, merged tokens follow in the
/// order they were learned, the special tokens come last (`SpecialTokens.default` by default:
/// `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`, `<|pad|>`).
public enum BPETrainer {
    public struct Parameters: Sendable {
        /// Target vocabulary size, special tokens included. Must be at least 256 + specials.
        public var vocabularySize: Int
        /// Special tokens, never split and removed from the training text before counting.
        public var specialTokens: [String] = SpecialTokens.default
        /// A pair seen fewer times than this is never merged; training then stops early and the
        /// vocabulary is smaller than asked (small corpora).
        public var minPairFrequency: Int = 2
        /// Bytes read from a file at a time; memory is bounded by this plus the word table.
        public var chunkSize: Int = 4 << 20
        /// Counting threads; 0 = all cores.
        public var threads: Int = 0

        public init(
            vocabularySize: Int, specialTokens: [String] = SpecialTokens.default, minPairFrequency: Int = 2
        ) {
            self.vocabularySize = vocabularySize
            self.specialTokens = specialTokens
            self.minPairFrequency = minPairFrequency
        }
    }

    public struct Progress: Sendable {
        public enum Phase: Sendable { case counting, merging }
        public var phase: Phase
        /// Bytes of corpus read so far (counting).
        public var bytesRead: Int
        /// Distinct pre-tokenized words so far.
        public var distinctWords: Int
        /// Merges learned so far, and the number wanted.
        public var merges: Int
        public var mergesWanted: Int
    }

    /// Trains on text files (`.jsonl` files: one JSON object per line with a `"text"` string;
    /// any other file: plain UTF-8 text, one document per file), read in chunks.
    public static func train(
        files: [URL], parameters: Parameters, progress: ((Progress) -> Void)? = nil
    ) throws -> Tokenizer {
        try validate(parameters)
        let counter = WordCounter(parameters: parameters)
        for file in files { try counter.countFile(file, progress: progress) }
        return try finish(counter, parameters: parameters, corpus: files.map(\.path), progress: progress)
    }

    /// Trains on in-memory documents (each string is one document).
    public static func train(texts: [String], parameters: Parameters) throws -> Tokenizer {
        try validate(parameters)
        let counter = WordCounter(parameters: parameters)
        counter.countDocuments(texts.map { Array($0.utf8) })
        return try finish(counter, parameters: parameters, corpus: ["<\(texts.count) texts>"], progress: nil)
    }

    static func validate(_ parameters: Parameters) throws {
        var seen = Set<String>()
        for token in parameters.specialTokens {
            guard !token.isEmpty else { throw TokenizerError.invalidSpecialToken(token, reason: "empty") }
            guard seen.insert(token).inserted else {
                throw TokenizerError.invalidSpecialToken(token, reason: "listed twice")
            }
        }
        let minimum = 256 + parameters.specialTokens.count
        guard parameters.vocabularySize >= minimum else {
            throw TokenizerError.vocabularySizeTooSmall(
                requested: parameters.vocabularySize, minimum: minimum)
        }
    }

    static func finish(
        _ counter: WordCounter, parameters: Parameters, corpus: [String], progress: ((Progress) -> Void)?
    ) throws -> Tokenizer {
        let words = counter.merged()
        guard words.count > 0 else { throw TokenizerError.emptyCorpus(files: corpus) }
        let wanted = parameters.vocabularySize - 256 - parameters.specialTokens.count
        var tokenBytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var learner = MergeLearner(words: words)
        let pairs = learner.learn(
            newTokens: wanted, minFrequency: max(1, parameters.minPairFrequency), tokenBytes: &tokenBytes
        ) { done in
            progress?(
                Progress(
                    phase: .merging, bytesRead: counter.bytesRead, distinctWords: words.count, merges: done,
                    mergesWanted: wanted))
        }
        var specials: [Tokenizer.SpecialToken] = []
        for content in parameters.specialTokens {
            specials.append(.init(content: content, id: TokenID(tokenBytes.count)))
            tokenBytes.append(Array(content.utf8))
        }
        return try Tokenizer(
            tokenBytes: tokenBytes, merges: pairs, specialTokens: specials, source: "<trainer>")
    }
}
