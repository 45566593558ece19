import TensorCore

extension NGramModel {
    /// Draws the next token after `context`. `temperature` 0 is greedy (argmax); otherwise the
    /// distribution is p^(1/T), renormalised, after keeping only the `topK` most likely tokens.
    public func sample(
        context: some Collection<Int32>, temperature: Double = 1, topK: Int? = nil,
        using rng: inout RandomGenerator
    ) -> Int32 {
        precondition(temperature >= 0, "temperature must be ≥ 0")
        let p = probabilities(context: context)
        if temperature == 0 {
            return Int32(p.indices.max { p[$0] < p[$1] }!)
        }
        // Order: by probability, ties by id, so the draw is reproducible.
        var candidates = Array(p.indices)
        if let topK, topK > 0, topK < vocabSize {
            candidates.sort { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
            candidates.removeLast(candidates.count - topK)
        }
        // p^(1/T) computed in log space relative to the largest, so small T does not underflow to 0/0.
        let logMax = log(candidates.map { p[$0] }.max()!)
        let weights = candidates.map { p[$0] > 0 ? exp((log(p[$0]) - logMax) / temperature) : 0 }
        let sum = weights.reduce(0, +)
        let u = Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * sum
        var acc = 0.0
        for i in weights.indices {
            acc += weights[i]
            if u < acc { return Int32(candidates[i]) }
        }
        return Int32(candidates.last!)
    }

    /// Continues `prompt` with `count` sampled tokens (returns the new tokens only).
    public func generate(
        prompt: [Int32], count: Int, temperature: Double = 1, topK: Int? = nil,
        using rng: inout RandomGenerator
    ) -> [Int32] {
        var history = prompt
        var generated: [Int32] = []
        generated.reserveCapacity(count)
        for _ in 0..<count {
            let token = sample(
                context: history.suffix(order - 1), temperature: temperature, topK: topK, using: &rng)
            history.append(token)
            generated.append(token)
        }
        return generated
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
