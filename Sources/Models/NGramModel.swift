/// A counting language model over token ids: unigram (`order` 1), bigram (2) or any n-gram.
///
/// Trained by counting. Two smoothings:
/// - **add-k**: P(w | h) = (c(h w) + k) / (c(h) + k·V) over the longest context `h` (up to
///   `order − 1` tokens) that occurred in training; a context never seen backs off to its
///   longest seen suffix, and with no history at all to the (add-k) unigram. Each such
///   distribution sums to one over the vocabulary.
/// - **interpolated Kneser–Ney** (Chen & Goodman 1998), plain or modified:
///   P(w | h) = max(c(h w) − D(c), 0) / c(h) + γ(h) · P_lower(w | h′), with
///   γ(h) = (D₁·N₁(h•) + D₂·N₂(h•) + D₃·N₃₊(h•)) / c(h), where N_i(h•) is the number of distinct
///   next tokens seen exactly i times (3 or more for N₃₊) after h, and h′ drops the oldest token.
///   The highest level uses raw counts; every lower level uses *continuation* counts
///   N₁₊(• h′ w), the number of distinct tokens seen before h′ w (the start of a training sequence
///   counts as one such token). The unigram level is interpolated with the uniform distribution
///   1/V, so every token keeps a non-zero probability. A context never seen (c(h) = 0) gives all
///   its mass to the lower level.
///   Discounts per level from the count-of-counts n₁…n₄ of that level's counts, Y = n₁/(n₁+2n₂):
///   *plain* uses one discount D = Y for every count; *modified* uses D₁ = 1 − 2Y·n₂/n₁,
///   D₂ = 2 − 3Y·n₃/n₂, D₃₊ = 3 − 4Y·n₄/n₃ (each clamped to [0, its count]).
///
/// Sequences shorter than `order − 1` at the start of a text condition on the history they have:
/// the first token of a text is predicted from the empty context (the unigram level, raw counts).
public struct NGramModel: Sendable, Equatable {
    public enum Smoothing: Sendable, Equatable, CustomStringConvertible {
        /// Add-k (Lidstone) smoothing; k > 0.
        case addK(Double)
        /// Interpolated Kneser–Ney; `modified` selects three discounts per level instead of one.
        case kneserNey(modified: Bool)

        public var description: String {
            switch self {
            case .addK(let k): "add-k (k = \(k))"
            case .kneserNey(let modified):
                modified ? "modified interpolated Kneser–Ney" : "interpolated Kneser–Ney"
            }
        }
    }

    /// n: the model predicts a token from the `order − 1` tokens before it.
    public let order: Int
    /// Token ids are in 0..<vocabSize (256 for raw bytes).
    public let vocabSize: Int
    public let smoothing: Smoothing
    /// Free-form facts saved with the model (e.g. `"tokenizer": "bytes"`).
    public var metadata: [String: String]

    /// raw[m−1]: counts of m-grams keyed by their (m−1)-token context, for m in 1...order.
    var raw: [[[Int32]: Row]]
    /// The first min(order − 1, length) tokens of every training sequence, with multiplicity;
    /// needed for the continuation counts of n-grams that start a sequence.
    var startPrefixes: [[Int32]: Int]

    // Derived from `raw` and `startPrefixes` by `rebuildDerived()` (not saved).
    /// continuation[m−1]: continuation counts of m-grams, for m in 1..<order.
    var continuation: [[[Int32]: Row]] = []
    var rawDiscounts: [Discounts] = []
    var continuationDiscounts: [Discounts] = []

    /// Counts of the tokens that followed one context.
    struct Row: Sendable, Equatable {
        var counts: [Int32: Int] = [:]
        var total = 0
        /// Distinct next tokens seen exactly once, exactly twice, three times or more.
        var n1 = 0, n2 = 0, n3 = 0

        mutating func add(_ token: Int32, _ amount: Int = 1) {
            let old = counts[token] ?? 0
            counts[token] = old + amount
            total += amount
        }

        mutating func recountTypes() {
            n1 = 0; n2 = 0; n3 = 0
            for c in counts.values {
                if c == 1 { n1 += 1 } else if c == 2 { n2 += 1 } else if c >= 3 { n3 += 1 }
            }
        }
    }

    /// Absolute discounts for counts 1, 2 and 3+.
    struct Discounts: Sendable, Equatable {
        var d1 = 0.75, d2 = 0.75, d3 = 0.75
        func callAsFunction(_ count: Int) -> Double {
            count <= 0 ? 0 : count == 1 ? d1 : count == 2 ? d2 : d3
        }
    }

    /// An untrained model (every probability is 1/V until it has seen data).
    public init(order: Int, vocabSize: Int, smoothing: Smoothing, metadata: [String: String] = [:]) throws {
        guard order >= 1 else { throw NGramError.invalidParameter("order must be at least 1, got \(order)") }
        guard vocabSize >= 1, vocabSize <= Int(Int32.max) else {
            throw NGramError.invalidParameter("vocabulary size must be in 1...\(Int32.max), got \(vocabSize)")
        }
        if case .addK(let k) = smoothing, !(k > 0 && k.isFinite) {
            throw NGramError.invalidParameter("add-k smoothing needs a finite k > 0, got \(k)")
        }
        self.order = order
        self.vocabSize = vocabSize
        self.smoothing = smoothing
        self.metadata = metadata
        raw = Array(repeating: [:], count: order)
        startPrefixes = [:]
        rebuildDerived()
    }

    /// Trains a model by counting every sequence (each one a separate text).
    public init(
        order: Int, vocabSize: Int, smoothing: Smoothing, sequences: [[Int32]],
        metadata: [String: String] = [:]
    ) throws {
        try self.init(order: order, vocabSize: vocabSize, smoothing: smoothing, metadata: metadata)
        try add(sequences: sequences)
    }

    /// Adds the counts of more training sequences.
    public mutating func add(sequences: [[Int32]]) throws {
        for (index, sequence) in sequences.enumerated() {
            if let bad = sequence.firstIndex(where: { $0 < 0 || Int($0) >= vocabSize }) {
                throw NGramError.tokenOutOfRange(
                    sequence: index, position: bad, token: sequence[bad], vocabSize: vocabSize)
            }
        }
        for sequence in sequences where !sequence.isEmpty {
            count(sequence)
        }
        rebuildDerived()
    }

    /// Number of training tokens counted (the unigram total).
    public var trainingTokenCount: Int { raw[0][[]]?.total ?? 0 }

    private mutating func count(_ s: [Int32]) {
        for i in s.indices {
            for m in 1...min(order, i + 1) {
                let context = Array(s[(i - m + 1)..<i])
                raw[m - 1][context, default: Row()].add(s[i])
            }
        }
        if order > 1 {
            startPrefixes[Array(s.prefix(order - 1)), default: 0] += 1
        }
    }

    /// Recomputes type counts, continuation counts and discounts from the raw counts.
    mutating func rebuildDerived() {
        for m in raw.indices {
            for key in Array(raw[m].keys) { raw[m][key]!.recountTypes() }
        }
        continuation = Array(repeating: [:], count: max(order - 1, 0))
        for m in stride(from: 1, to: order, by: 1) {
            var table: [[Int32]: Row] = [:]
            // Every distinct (m+1)-gram x·h′·w adds one distinct predecessor to h′·w.
            for (context, row) in raw[m] {
                let lowerContext = Array(context.dropFirst())
                for token in row.counts.keys { table[lowerContext, default: Row()].add(token) }
            }
            // An m-gram that starts a training sequence has the start as its predecessor.
            var starts = Set<[Int32]>()
            for prefix in startPrefixes.keys where prefix.count >= m {
                starts.insert(Array(prefix.prefix(m)))
            }
            for gram in starts { table[Array(gram.dropLast()), default: Row()].add(gram[m - 1]) }
            for key in Array(table.keys) { table[key]!.recountTypes() }
            continuation[m - 1] = table
        }
        let modified: Bool
        if case .kneserNey(let isModified) = smoothing { modified = isModified } else { modified = false }
        rawDiscounts = raw.map { Self.estimateDiscounts($0, modified: modified) }
        continuationDiscounts = continuation.map { Self.estimateDiscounts($0, modified: modified) }
    }

    static func estimateDiscounts(_ table: [[Int32]: Row], modified: Bool) -> Discounts {
        var n = [0, 0, 0, 0, 0]  // n[i]: number of n-grams seen exactly i times, i in 1...4
        for row in table.values {
            for c in row.counts.values where c <= 4 { n[c] += 1 }
        }
        let (n1, n2, n3, n4) = (Double(n[1]), Double(n[2]), Double(n[3]), Double(n[4]))
        // Too little data to estimate: the customary 0.75 (< 1, so no count is discounted away).
        guard n1 > 0, n2 > 0 else { return Discounts() }
        let y = n1 / (n1 + 2 * n2)
        guard modified else { return Discounts(d1: y, d2: y, d3: y) }
        let d1 = 1 - 2 * y * n2 / n1
        let d2 = n2 > 0 && n3 > 0 ? 2 - 3 * y * n3 / n2 : d1
        let d3 = n3 > 0 && n4 > 0 ? 3 - 4 * y * n4 / n3 : d2
        return Discounts(d1: min(max(d1, 0), 1), d2: min(max(d2, 0), 2), d3: min(max(d3, 0), 3))
    }

    public static func == (a: NGramModel, b: NGramModel) -> Bool {
        a.order == b.order && a.vocabSize == b.vocabSize && a.smoothing == b.smoothing
            && a.metadata == b.metadata && a.raw == b.raw && a.startPrefixes == b.startPrefixes
    }
}

/// Errors of the counting models: bad parameters, bad tokens, bad files.
public enum NGramError: Error, Equatable, CustomStringConvertible {
    case invalidParameter(String)
    case tokenOutOfRange(sequence: Int, position: Int, token: Int32, vocabSize: Int)
    case corruptFile(path: String, reason: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidParameter(let message): "invalid n-gram parameter: \(message)"
        case .tokenOutOfRange(let sequence, let position, let token, let vocabSize):
            "token \(token) at position \(position) of sequence \(sequence) is outside the vocabulary 0..<\(vocabSize)"
        case .corruptFile(let path, let reason): "\(path): not a valid n-gram model file: \(reason)"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}
