import NN
import TensorCore

/// The tokens one prompt produced.
public struct Generation: Sendable, Equatable {
    /// New tokens only (the stop token included when one was hit).
    public var tokens: [Int32]
    /// True when the row ended on a stop token.
    public var finished: Bool

    public init(tokens: [Int32], finished: Bool) {
        self.tokens = tokens
        self.finished = finished
    }
}

extension Transformer {
    /// Continues every prompt, batched, with a KV cache: the prompts are prefilled in one
    /// forward (right-padded; causal attention makes the padding invisible), then all unfinished
    /// rows decode in lockstep, each at its own position. A row ends on a stop token, after
    /// `maxNewTokens`, when prompt + new tokens fill the context length, or when `onToken(row, token)` returns false.
    /// Prompts longer than the context keep their last `contextLength − 1` tokens; an empty
    /// prompt starts from the BOS token (or token 0 when the config has none).
    /// With `quantizeForDecoding`, prefill and decode multiply by the bf16 / int8 copies.
    public func generate(
        prompts: [[Int32]], options: SamplingOptions, rng: inout RandomGenerator,
        onToken: ((_ row: Int, _ token: Int32) -> Bool)? = nil
    ) -> [Generation] {
        withDecodeWeights { generateTokens(prompts: prompts, options: options, rng: &rng, onToken: onToken) }
    }

    private func generateTokens(
        prompts: [[Int32]], options: SamplingOptions, rng: inout RandomGenerator,
        onToken: ((_ row: Int, _ token: Int32) -> Bool)?
    ) -> [Generation] {
        let rows = prompts.count
        guard rows > 0 else { return [] }
        let ctx = config.contextLength, vocab = config.vocabSize
        let prompts = prompts.map { p -> [Int32] in
            if p.isEmpty { return [Int32(config.bosTokenID ?? 0)] }
            return p.count >= ctx ? Array(p.suffix(max(1, ctx - 1))) : p
        }
        var results = Array(repeating: Generation(tokens: [], finished: false), count: rows)
        guard options.maxNewTokens > 0 else { return results }

        // Prefill: one padded forward; keys/values of the real tokens go into the cache.
        let promptLength = prompts.map(\.count).max()!
        let capacity = min(ctx, promptLength + options.maxNewTokens)
        var cache = KVCache(
            layers: blocks.count, rows: rows, capacity: capacity,
            width: config.kvHeadCount * config.headDimension)
        var padded = [Int32](repeating: 0, count: rows * promptLength)
        for (r, p) in prompts.enumerated() {
            for (t, id) in p.enumerated() { padded[r * promptLength + t] = id }
            cache.lengths[r] = p.count
        }
        forward(
            tokens: padded, batchSize: rows, length: promptLength, segmentIDs: nil, computeLogits: false,
            recompute: false)
        for (l, block) in blocks.enumerated() {
            for r in 0..<rows {
                block.attention.storeKeysValues(
                    batchRow: r, count: prompts[r].count, keys: &cache.keys[l],
                    values: &cache.values[l], cacheRow: r)
            }
        }
        var x = Tensor(shape: [rows, config.hiddenSize])
        hiddenBuffer.withUnsafeBufferPointer { h in
            x.withUnsafeMutableBufferPointer { xb in
                let c = config.hiddenSize
                for r in 0..<rows {
                    (xb.baseAddress! + r * c).update(
                        from: h.baseAddress! + (r * promptLength + prompts[r].count - 1) * c,
                        count: c)
                }
            }
        }
        var logits = Tensor(shape: [0])
        head.forward(x, into: &logits)

        var active = Array(0..<rows)  // rows still generating; logits row i belongs to active[i]
        var scratch: [Float] = []
        var normed = Tensor(shape: [0])
        while !active.isEmpty {
            var next: [Int] = []
            var nextTokens: [Int32] = []
            logits.withUnsafeBufferPointer { lb in
                for (i, r) in active.enumerated() {
                    let token = Sampler.sample(
                        lb.baseAddress! + i * vocab, vocab: vocab, options: options, rng: &rng,
                        scratch: &scratch)
                    results[r].tokens.append(token)
                    let keepGoing = onToken?(r, token) ?? true
                    if options.stopTokens.contains(token) {
                        results[r].finished = true
                    } else if keepGoing && results[r].tokens.count < options.maxNewTokens
                        && cache.lengths[r] + 1 < min(ctx, capacity)
                    {
                        next.append(r)
                        nextTokens.append(token)
                    }
                }
            }
            active = next
            guard !active.isEmpty else { break }

            // Decode one token per active row at position lengths[r].
            let positions = active.map { Int32(cache.lengths[$0]) }
            tokenEmbedding.forward(nextTokens, into: &x)
            positionEmbedding?.forward(positions, into: &x, accumulate: true)
            for (l, block) in blocks.enumerated() {
                block.decode(
                    &x, positions: positions, cacheRows: active, keys: &cache.keys[l],
                    values: &cache.values[l])
            }
            for r in active { cache.lengths[r] += 1 }
            finalNorm.forward(x, into: &normed)
            head.forward(normed, into: &logits)
        }
        return results
    }
}
