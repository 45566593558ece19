import NN
import TensorCore

/// One prompt to continue in a `DecodeSession`: how its tokens are drawn and the seed of its own
/// random stream.
public struct DecodeRequest: Sendable, Equatable {
    public var prompt: [Int32]
    public var distribution: TokenDistribution
    public var seed: UInt64
    /// Most new tokens the caller expects (sizes the cache; a row may still go further, up to the
    /// context length).
    public var maxNewTokens: Int

    public init(prompt: [Int32], distribution: TokenDistribution, seed: UInt64, maxNewTokens: Int) {
        self.prompt = prompt
        self.distribution = distribution
        self.seed = seed
        self.maxNewTokens = maxNewTokens
    }
}

/// A token a `DecodeSession` produced for the row in `slot`.
public struct DecodedToken: Sendable, Equatable {
    public var slot: Int
    public var token: Int32

    public init(slot: Int, token: Int32) {
        self.slot = slot
        self.token = token
    }
}

/// Step-wise batched decoding, for a server whose requests come and go: a fixed number of slots
/// (KV-cache rows); prompts join free slots between steps (`admit`), every occupied slot gets one
/// token per `step`, and a slot is free again after `release`.
///
/// Each row draws with its own distribution and its own random stream seeded by its request, so
/// a row's tokens do not depend on which rows share its steps, as far as the matrix products give
/// the same rounding for a row whatever the batch size (they do here; a BLAS that changes its
/// summation order with the row count could flip a near tie).
///
/// The decoding is `Transformer.generate`'s: a padded prefill forward whose keys and values go
/// into the row's cache, then one decode per step at the row's own position; one row with the
/// seed `generate` was given draws the same tokens. Not thread-safe (it drives the model).
public final class DecodeSession {
    public let slotCount: Int
    private let model: Transformer
    private var cache: KVCache
    private var rows: [Row?]
    private var x = Tensor(shape: [0])
    private var normed = Tensor(shape: [0])
    private var logits = Tensor(shape: [0])
    private var scratch: [Float] = []

    private struct Row {
        var options: SamplingOptions
        var rng: RandomGenerator
        /// The last token drawn, not yet in the cache.
        var pending: Int32
    }

    public init(model: Transformer, slots: Int) {
        precondition(slots >= 1, "DecodeSession: slots must be positive")
        self.model = model
        self.slotCount = slots
        self.rows = Array(repeating: nil, count: slots)
        // Grown on demand (see `reserve`): a server's slots rarely all need the whole context.
        self.cache = KVCache(
            layers: model.blocks.count, rows: slots, capacity: 0,
            width: model.config.kvHeadCount * model.config.headDimension)
    }

    /// Slots that hold no row.
    public var freeSlots: [Int] { rows.indices.filter { rows[$0] == nil } }

    /// Slots that hold a row.
    public var occupiedSlots: [Int] { rows.indices.filter { rows[$0] != nil } }

    /// Whether the row in `slot` can take another token within the context length.
    public func hasRoom(slot: Int) -> Bool {
        rows[slot] != nil && cache.lengths[slot] + 1 < model.config.contextLength
    }

    /// Prefills each request into a free slot (in one padded forward over the distinct prompts)
    /// and draws its first token. Prompts are treated as `generate` treats them: an empty one
    /// starts from the BOS token, a longer-than-context one keeps its last `contextLength − 1`.
    /// Precondition: no more requests than free slots.
    /// Like `generate`, prefill and decoding multiply by the model's bf16/int8 decoding copies when
    /// it has a format (`quantizeForDecoding`).
    public func admit(_ requests: [DecodeRequest]) -> [DecodedToken] {
        model.withDecodeWeights { admitRows(requests) }
    }

    private func admitRows(_ requests: [DecodeRequest]) -> [DecodedToken] {
        guard !requests.isEmpty else { return [] }
        let free = freeSlots
        precondition(
            requests.count <= free.count, "DecodeSession.admit: \(requests.count) rows, \(free.count) free")
        let ctx = model.config.contextLength, vocab = model.config.vocabSize
        let prompts = requests.map { r -> [Int32] in
            if r.prompt.isEmpty { return [Int32(model.config.bosTokenID ?? 0)] }
            return r.prompt.count >= ctx ? Array(r.prompt.suffix(max(1, ctx - 1))) : r.prompt
        }
        // n choices of one prompt are prefilled once.
        var distinct: [[Int32]] = []
        var index: [[Int32]: Int] = [:]
        let batchRow = prompts.map { p -> Int in
            if let i = index[p] { return i }
            index[p] = distinct.count
            distinct.append(p)
            return distinct.count - 1
        }
        let slots = Array(free.prefix(requests.count))
        reserve(zip(prompts, requests).map { min(ctx, $0.count + max(1, $1.maxNewTokens)) }.max()!)

        let length = distinct.map(\.count).max()!
        var padded = [Int32](repeating: 0, count: distinct.count * length)
        for (r, p) in distinct.enumerated() {
            for (t, id) in p.enumerated() { padded[r * length + t] = id }
        }
        model.forward(
            tokens: padded, batchSize: distinct.count, length: length, segmentIDs: nil, computeLogits: false,
            recompute: false)
        withCache { cache in
            for (l, block) in model.blocks.enumerated() {
                for (i, slot) in slots.enumerated() {
                    block.attention.storeKeysValues(
                        batchRow: batchRow[i], count: prompts[i].count, keys: &cache.keys[l],
                        values: &cache.values[l], cacheRow: slot)
                }
            }
        }
        let c = model.config.hiddenSize
        x.resize(to: [distinct.count, c])
        model.hiddenBuffer.withUnsafeBufferPointer { h in
            x.withUnsafeMutableBufferPointer { xb in
                for (r, p) in distinct.enumerated() {
                    (xb.baseAddress! + r * c).update(
                        from: h.baseAddress! + (r * length + p.count - 1) * c, count: c)
                }
            }
        }
        model.head.forward(x, into: &logits)
        var out: [DecodedToken] = []
        logits.withUnsafeBufferPointer { lb in
            for (i, slot) in slots.enumerated() {
                var row = Row(
                    options: SamplingOptions(requests[i].distribution),
                    rng: RandomGenerator(seed: requests[i].seed),
                    pending: 0)
                row.pending = Sampler.sample(
                    lb.baseAddress! + batchRow[i] * vocab, vocab: vocab, options: row.options, rng: &row.rng,
                    scratch: &scratch)
                cache.lengths[slot] = prompts[i].count
                rows[slot] = row
                out.append(DecodedToken(slot: slot, token: row.pending))
            }
        }
        return out
    }

    /// One token for every occupied slot that has room (`hasRoom`); a full row gets none and
    /// waits for its release.
    public func step() -> [DecodedToken] {
        model.withDecodeWeights { stepRows() }
    }

    private func stepRows() -> [DecodedToken] {
        let active = rows.indices.filter { hasRoom(slot: $0) }
        guard !active.isEmpty else { return [] }
        reserve(min(model.config.contextLength, active.map { cache.lengths[$0] + 1 }.max()!))
        let positions = active.map { Int32(cache.lengths[$0]) }
        model.tokenEmbedding.forward(active.map { rows[$0]!.pending }, into: &x)
        model.positionEmbedding?.forward(positions, into: &x, accumulate: true)
        withCache { cache in
            for (l, block) in model.blocks.enumerated() {
                block.decode(
                    &x, positions: positions, cacheRows: active, keys: &cache.keys[l],
                    values: &cache.values[l])
            }
        }
        for slot in active { cache.lengths[slot] += 1 }
        model.finalNorm.forward(x, into: &normed)
        model.head.forward(normed, into: &logits)
        let vocab = model.config.vocabSize
        var out: [DecodedToken] = []
        logits.withUnsafeBufferPointer { lb in
            for (i, slot) in active.enumerated() {
                var row = rows[slot]!
                row.pending = Sampler.sample(
                    lb.baseAddress! + i * vocab, vocab: vocab, options: row.options, rng: &row.rng,
                    scratch: &scratch)
                rows[slot] = row
                out.append(DecodedToken(slot: slot, token: row.pending))
            }
        }
        return out
    }

    /// Frees `slot` for the next `admit`.
    public func release(slot: Int) {
        rows[slot] = nil
        cache.lengths[slot] = 0
    }

    /// The cache as a local value for the closure: keys and values of one layer are passed to a
    /// layer together, which a class property would forbid (two modifications of `cache`).
    private func withCache(_ body: (inout KVCache) -> Void) {
        var local = KVCache(layers: 0, rows: 0, capacity: 0, width: 0)
        swap(&local, &cache)
        body(&local)
        swap(&local, &cache)
    }

    /// Grows every row of the cache to hold `positions` tokens, keeping what it holds (capacity
    /// doubles, so a long run regrows a few times only).
    private func reserve(_ positions: Int) {
        guard positions > cache.capacity else { return }
        let capacity = min(model.config.contextLength, max(positions, 2 * cache.capacity, 64))
        var grown = KVCache(
            layers: cache.keys.count, rows: slotCount, capacity: capacity,
            width: model.config.kvHeadCount * model.config.headDimension)
        grown.lengths = cache.lengths
        let width = grown.keys.first.map { $0.shape[2] } ?? 0
        for l in cache.keys.indices {
            for (old, new) in [(cache.keys[l], \KVCache.keys), (cache.values[l], \KVCache.values)] {
                old.withUnsafeBufferPointer { src in
                    grown[keyPath: new][l].withUnsafeMutableBufferPointer { dst in
                        for slot in 0..<slotCount where cache.lengths[slot] > 0 {
                            (dst.baseAddress! + slot * capacity * width).update(
                                from: src.baseAddress! + slot * cache.capacity * width,
                                count: cache.lengths[slot] * width)
                        }
                    }
                }
            }
        }
        cache = grown
    }
}
