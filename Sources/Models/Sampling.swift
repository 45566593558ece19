import Foundation
import TensorCore

/// How `Transformer.generate` picks tokens.
/// How one token is drawn from a row of logits. Generations whose distributions are equal can
/// share a batch (the server batches requests on it).
public struct TokenDistribution: Sendable, Hashable {
    /// Logits are divided by this before the softmax; 0 means greedy (argmax).
    public var temperature: Float
    /// Keep only the k most likely tokens when sampling (log-probs are not affected).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens whose probability reaches p (nucleus).
    public var topP: Float?

    public init(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }
}

/// A generation: how each token is drawn, how many at most, and which tokens end a row.
public struct SamplingOptions: Sendable, Equatable {
    public var distribution: TokenDistribution
    public var maxNewTokens: Int
    /// Generation of a row ends after it produces one of these (the token is included).
    public var stopTokens: Set<Int32>

    public var temperature: Float {
        get { distribution.temperature }
        set { distribution.temperature = newValue }
    }
    public var topK: Int? {
        get { distribution.topK }
        set { distribution.topK = newValue }
    }
    public var topP: Float? {
        get { distribution.topP }
        set { distribution.topP = newValue }
    }

    public init(_ distribution: TokenDistribution, maxNewTokens: Int = 64, stopTokens: Set<Int32> = []) {
        self.distribution = distribution
        self.maxNewTokens = maxNewTokens
        self.stopTokens = stopTokens
    }

    public init(
        temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, maxNewTokens: Int = 64,
        stopTokens: Set<Int32> = []
    ) {
        self.init(
            TokenDistribution(temperature: temperature, topK: topK, topP: topP), maxNewTokens: maxNewTokens,
            stopTokens: stopTokens)
    }
}

/// Draws one token from a row of logits under `SamplingOptions`.
enum Sampler {
    /// `logits` (V) row; `scratch` is reused across calls (probabilities).
    static func sample(
        _ logits: UnsafePointer<Float>, vocab: Int, options: SamplingOptions,
        rng: inout RandomGenerator, scratch: inout [Float]
    ) -> Int32 {
        if options.temperature <= 0 || options.topK == 1 {
            var best = 0
            for j in 1..<vocab where logits[j] > logits[best] { best = j }
            return Int32(best)
        }
        if scratch.count != vocab { scratch = [Float](repeating: 0, count: vocab) }
        return scratch.withUnsafeMutableBufferPointer { pb -> Int32 in
            let p = pb.baseAddress!
            p.update(from: logits, count: vocab)
            Kernels.softmax(p, rows: 1, n: vocab, stride: vocab, scale: 1 / options.temperature)
            let needsFilter =
                (options.topK.map { $0 < vocab } ?? false) || (options.topP.map { $0 < 1 } ?? false)
            guard needsFilter else {
                return Int32(draw(p, count: vocab, total: 1, rng: &rng) { $0 })
            }
            // Candidates in decreasing probability; only the kept prefix is sampled from. As in
            // Hugging Face, top-k comes first and top-p then works on the renormalised top-k mass.
            // Without top-k the nucleus never needs a token below (1 − p)/V: all such tokens hold
            // less than 1 − p together, so the tokens above it already reach p. Filtering first
            // keeps the sort short for peaked distributions.
            let floor = options.topK == nil ? options.topP.map { max(0, 1 - $0) / Float(vocab) } ?? 0 : 0
            var order = (0..<vocab).filter { p[$0] > 0 && p[$0] >= floor }
            order.sort { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
            if let k = options.topK, k < order.count {
                order.removeSubrange(max(1, k)...)
            }
            if let topP = options.topP, topP < 1 {
                // Mass the nucleus is a fraction of: all tokens, or the kept top-k.
                var mass: Float = 1
                if options.topK != nil {
                    mass = 0
                    for id in order { mass += p[id] }
                }
                var cum: Float = 0
                var keep = 0
                for id in order {
                    cum += p[id]
                    keep += 1
                    if cum >= topP * mass { break }
                }
                order.removeSubrange(keep...)
            }
            var total: Float = 0
            for id in order { total += p[id] }
            let i = draw(p, count: order.count, total: total, rng: &rng) { order[$0] }
            return Int32(order[i])
        }
    }

    /// Index i of 0..<count with probability p[id(i)] / total.
    private static func draw(
        _ p: UnsafePointer<Float>, count: Int, total: Float, rng: inout RandomGenerator,
        id: (Int) -> Int
    ) -> Int {
        let u = rng.nextUniform() * total
        var cum: Float = 0
        for i in 0..<count {
            cum += p[id(i)]
            if u < cum { return i }
        }
        // Rounding left u at or above the sum: take the last candidate with mass.
        var last = count - 1
        while last > 0 && p[id(last)] == 0 { last -= 1 }
        return last
    }
}
