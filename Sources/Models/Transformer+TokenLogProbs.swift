import NN
import TensorCore

extension Transformer {
    /// (B, T−1): log p(tokens[t+1] | tokens[...t]) under softmax(logits / temperature), for
    /// scoring (reference and old-policy log-probs). Runs a forward; nothing is kept for backward
    /// that a later forward would not overwrite.
    public func tokenLogProbs(tokens: [Int32], batchSize: Int, length: Int, temperature: Float = 1) -> Tensor {
        precondition(length >= 2, "Transformer.tokenLogProbs: need at least 2 tokens per row, got \(length)")
        let logits = forward(tokens: tokens, batchSize: batchSize, length: length)
        var targets = [Int32](repeating: 0, count: tokens.count)
        for b in 0..<batchSize {
            for t in 0..<(length - 1) { targets[b * length + t] = tokens[b * length + t + 1] }
        }
        let (lp, _) = TokenLogProbs.forward(logits: logits.reshaped([tokens.count, config.vocabSize]), targets: targets,
                                            temperature: temperature)
        var out = [Float](repeating: 0, count: batchSize * (length - 1))
        for b in 0..<batchSize {
            for t in 0..<(length - 1) { out[b * (length - 1) + t] = lp[b * length + t] }
        }
        return Tensor(shape: [batchSize, length - 1], scalars: out)
    }
}
