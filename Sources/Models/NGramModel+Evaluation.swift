/// How well a model predicts held-out text.
public struct NGramEvaluation: Sendable, Equatable {
    /// Tokens predicted (every token of every sequence, the first from the empty context).
    public var tokenCount: Int
    /// −Σ ln P(token | history), in nats.
    public var totalNats: Double
    /// Bytes of the original text, when the caller knows them (for bits per byte).
    public var byteCount: Int?

    /// Cross-entropy in nats per token.
    public var natsPerToken: Double { tokenCount > 0 ? totalNats / Double(tokenCount) : 0 }
    /// exp(nats per token).
    public var perplexity: Double { exp(natsPerToken) }
    /// Total nats over the raw bytes of the text, in bits: comparable across tokenizers.
    public var bitsPerByte: Double? {
        guard let byteCount, byteCount > 0 else { return nil }
        return totalNats / Double(byteCount) / log(2.0)
    }
}

extension NGramModel {
    /// Scores every token of every sequence given the tokens before it in the same sequence.
    /// `byteCount` is the number of raw bytes of the text the sequences were encoded from.
    public func evaluate(sequences: [[Int32]], byteCount: Int? = nil) throws -> NGramEvaluation {
        var nats = 0.0
        var tokens = 0
        for (index, sequence) in sequences.enumerated() {
            for i in sequence.indices {
                let token = sequence[i]
                guard token >= 0, Int(token) < vocabSize else {
                    throw NGramError.tokenOutOfRange(
                        sequence: index, position: i, token: token, vocabSize: vocabSize)
                }
                nats -= log(probability(of: token, context: sequence[max(0, i - order + 1)..<i]))
                tokens += 1
            }
        }
        return NGramEvaluation(tokenCount: tokens, totalNats: nats, byteCount: byteCount)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
