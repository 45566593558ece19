extension NGramModel {
    /// P(token | context), using the last `order − 1` tokens of `context` (fewer at the start of a text).
    public func probability(of token: Int32, context: some Collection<Int32>) -> Double {
        precondition(
            token >= 0 && Int(token) < vocabSize, "token \(token) outside vocabulary 0..<\(vocabSize)")
        let history = Array(context.suffix(order - 1))
        switch smoothing {
        case .addK(let k):
            let (row, _) = longestSeenContext(history)
            guard let row else { return 1 / Double(vocabSize) }
            return (Double(row.counts[token] ?? 0) + k) / (Double(row.total) + k * Double(vocabSize))
        case .kneserNey:
            return kneserNey(token, history[...], level: history.count + 1, useRaw: true)
        }
    }

    /// The distribution over the whole vocabulary after `context`; sums to 1.
    public func probabilities(context: some Collection<Int32>) -> [Double] {
        let history = Array(context.suffix(order - 1))
        switch smoothing {
        case .addK(let k):
            let (row, _) = longestSeenContext(history)
            guard let row else { return Array(repeating: 1 / Double(vocabSize), count: vocabSize) }
            let denominator = Double(row.total) + k * Double(vocabSize)
            var p = Array(repeating: k / denominator, count: vocabSize)
            for (token, c) in row.counts { p[Int(token)] = (Double(c) + k) / denominator }
            return p
        case .kneserNey:
            return kneserNeyVector(history[...], level: history.count + 1, useRaw: true)
        }
    }

    /// The raw-count row of the longest suffix of `history` seen in training (add-k back-off).
    private func longestSeenContext(_ history: [Int32]) -> (Row?, Int) {
        for start in 0...history.count {
            let context = Array(history[start...])
            if let row = raw[context.count][context], row.total > 0 { return (row, context.count) }
        }
        return (nil, 0)
    }

    /// Level m predicts from a context of m − 1 tokens; level 0 is the uniform distribution.
    private func kneserNey(_ token: Int32, _ context: ArraySlice<Int32>, level m: Int, useRaw: Bool) -> Double
    {
        if m == 0 { return 1 / Double(vocabSize) }
        let lower = kneserNey(token, context.dropFirst(), level: m - 1, useRaw: false)
        let table = useRaw ? raw[m - 1] : continuation[m - 1]
        guard let row = table[Array(context)], row.total > 0 else { return lower }
        let d = useRaw ? rawDiscounts[m - 1] : continuationDiscounts[m - 1]
        let total = Double(row.total)
        let c = row.counts[token] ?? 0
        let gamma = (d.d1 * Double(row.n1) + d.d2 * Double(row.n2) + d.d3 * Double(row.n3)) / total
        return max(Double(c) - d(c), 0) / total + gamma * lower
    }

    private func kneserNeyVector(_ context: ArraySlice<Int32>, level m: Int, useRaw: Bool) -> [Double] {
        if m == 0 { return Array(repeating: 1 / Double(vocabSize), count: vocabSize) }
        var p = kneserNeyVector(context.dropFirst(), level: m - 1, useRaw: false)
        let table = useRaw ? raw[m - 1] : continuation[m - 1]
        guard let row = table[Array(context)], row.total > 0 else { return p }
        let d = useRaw ? rawDiscounts[m - 1] : continuationDiscounts[m - 1]
        let total = Double(row.total)
        let gamma = (d.d1 * Double(row.n1) + d.d2 * Double(row.n2) + d.d3 * Double(row.n3)) / total
        for i in p.indices { p[i] *= gamma }
        for (token, c) in row.counts { p[Int(token)] += max(Double(c) - d(c), 0) / total }
        return p
    }
}
