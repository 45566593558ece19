/// Deterministic sampler of training windows from a token stream.
///
/// Batch `step` is a function of (seed, step) only — no hidden state — so a run resumed at step
/// s sees exactly the batches the uninterrupted run would have seen. Each row is a window of
/// `length + 1` consecutive tokens (inputs plus the shifted targets) starting at a uniformly
/// drawn offset inside `range`.
public struct BatchSampler: Sendable, Equatable, Codable {
    public var seed: UInt64
    public var batchSize: Int
    /// T: tokens per row the model sees; rows hold T + 1 tokens.
    public var length: Int
    /// The part of the stream to sample from (e.g. the training split).
    public var range: Range<Int>

    public init(seed: UInt64, batchSize: Int, length: Int, range: Range<Int>) throws {
        guard batchSize >= 1, length >= 1 else {
            throw DatasetError(
                file: "<batch sampler>", reason: "batch size \(batchSize) and length \(length) must be ≥ 1")
        }
        guard range.count >= length + 1 else {
            throw DatasetError(
                file: "<batch sampler>",
                reason: "\(range.count) tokens, fewer than one window of \(length + 1)")
        }
        self.seed = seed
        self.batchSize = batchSize
        self.length = length
        self.range = range
    }

    /// Restores a saved sampler (e.g. from `trainer_state.json`), with the same checks as `init`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            seed: c.decode(UInt64.self, forKey: .seed), batchSize: c.decode(Int.self, forKey: .batchSize),
            length: c.decode(Int.self, forKey: .length), range: c.decode(Range<Int>.self, forKey: .range))
    }

    /// Start offsets of the B windows of batch `step`.
    public func windowStarts(step: Int) -> [Int] {
        let positions = UInt64(range.count - length)  // valid starts: 0..<positions (relative)
        var rng = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: step) &* 0xD1B5_4A32_D192_ED03))
        return (0..<batchSize).map { _ in range.lowerBound + Int(rng.next(below: positions)) }
    }

    /// Batch `step` as (B, T+1) tokens, row-major.
    public func batch(step: Int, from shard: TokenShard) -> [Int32] {
        precondition(
            range.upperBound <= shard.count, "sampler range \(range) beyond the shard's \(shard.count) tokens"
        )
        var tokens: [Int32] = []
        tokens.reserveCapacity(batchSize * (length + 1))
        for start in windowStarts(step: step) { shard.append(start..<(start + length + 1), to: &tokens) }
        return tokens
    }

    /// Batch `step` from an in-memory stream.
    public func batch(step: Int, from stream: [Int32]) -> [Int32] {
        precondition(
            range.upperBound <= stream.count,
            "sampler range \(range) beyond the stream's \(stream.count) tokens")
        var tokens: [Int32] = []
        tokens.reserveCapacity(batchSize * (length + 1))
        for start in windowStarts(step: step) { tokens += stream[start..<(start + length + 1)] }
        return tokens
    }
}

/// Splits a token stream of `count` tokens into a training part and a validation tail.
public struct TrainValidationSplit: Sendable, Equatable {
    public var train: Range<Int>
    public var validation: Range<Int>

    /// The last `validationFraction` of the stream (at least `minimumValidation` tokens when
    /// the stream allows) is validation; the rest is training. Contiguous, so no window crosses.
    public init(count: Int, validationFraction: Double, minimumValidation: Int = 0) {
        precondition(count >= 0 && validationFraction >= 0 && validationFraction < 1, "bad split")
        let wanted = max(Int((Double(count) * validationFraction).rounded()), minimumValidation)
        let validationCount = min(wanted, count)
        train = 0..<(count - validationCount)
        validation = (count - validationCount)..<count
    }
}

/// SplitMix64: a tiny, fast generator whose output depends only on its seed (used where a
/// stream of draws must be a pure function of a seed, e.g. batches and demo data).
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (multiply-shift; the bias is below 2⁻³² for our bounds).
    package mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        return next().multipliedFullWidth(by: bound).high
    }

    package mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next(below: UInt64(range.upperBound - range.lowerBound + 1)))
    }

    package mutating func uniform() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    package mutating func pick<T>(_ items: [T]) -> T { items[Int(next(below: UInt64(items.count)))] }

    /// Fisher–Yates with this generator (independent of the standard library's algorithm).
    package mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, Int(next(below: UInt64(i + 1))))
        }
    }
}
