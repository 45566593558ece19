import Models

/// Token rows on a right-padded (B,T) grid with next-token targets and their loss mask.
///
/// Position t predicts token t+1: `targets[b,t] = tokens[b,t+1]` and `mask[b,t]` says whether that
/// target counts. The last column has no target (mask 0). Rows are right-padded, so positions
/// start at 0 in every row and causal attention keeps the padding invisible to real tokens; the
/// same grid and mask are used for policy, reference, value and reward computations.
public struct SequenceBatch: Sendable {
    public private(set) var tokens: [Int32]  // (B,T)
    public private(set) var targets: [Int32]  // (B,T)
    public private(set) var mask: [Float]  // (B,T)
    /// Real (unpadded) length of each row.
    public private(set) var lengths: [Int]
    /// Per-token document ids for packed rows (nil when each row is one document).
    public private(set) var segmentIDs: [Int32]?
    public var batchSize: Int { lengths.count }
    public let length: Int

    /// - Parameters:
    ///   - rows: token ids of each sequence.
    ///   - targetMasks: per row, `true` at index i when token i is a training target (index 0 is
    ///     never a target). Nil: every token after the first is a target.
    ///   - segments: per row, document id of each token (packing), or nil.
    ///   - padToken: id written after a row's end (never a target).
    public init(
        rows: [[Int32]], targetMasks: [[Bool]]? = nil, segments: [[Int32]]? = nil,
        padToken: Int32, length: Int? = nil
    ) {
        precondition(!rows.isEmpty, "SequenceBatch: no rows")
        let t = length ?? rows.map(\.count).max()!
        precondition(
            rows.allSatisfy { $0.count <= t && !$0.isEmpty },
            "SequenceBatch: a row is empty or longer than \(t)")
        self.length = t
        tokens = [Int32](repeating: padToken, count: rows.count * t)
        targets = [Int32](repeating: padToken, count: rows.count * t)
        mask = [Float](repeating: 0, count: rows.count * t)
        lengths = rows.map(\.count)
        if segments != nil { segmentIDs = [Int32](repeating: -1, count: rows.count * t) }
        for (b, row) in rows.enumerated() {
            let m = targetMasks?[b]
            precondition(
                m == nil || m!.count == row.count, "SequenceBatch: mask of row \(b) has the wrong length")
            for i in 0..<row.count {
                tokens[b * t + i] = row[i]
                if i > 0 {
                    targets[b * t + i - 1] = row[i]
                    let counts = m?[i] ?? true
                    mask[b * t + i - 1] = counts ? 1 : 0
                }
                if let seg = segments?[b] { segmentIDs![b * t + i] = seg[i] }
            }
            // Padding gets its own segment id so it never joins a real document.
            if segments != nil { for i in row.count..<t { segmentIDs![b * t + i] = Int32.max } }
        }
    }

    /// Number of target tokens that count.
    public var targetCount: Int { mask.reduce(0) { $0 + Int($1) } }

    /// Index in the (B,T) grid of row b's last real token (where scalar heads read).
    public func lastIndex(_ b: Int) -> Int { b * length + lengths[b] - 1 }
}

extension SequenceBatch {
    /// The rows `indices` of this batch as a batch of their own (same length T).
    public func rows(_ indices: [Int]) -> SequenceBatch {
        var out = self
        out.tokens = gather(tokens, rows: indices)
        out.targets = gather(targets, rows: indices)
        out.mask = gather(mask, rows: indices)
        out.lengths = indices.map { lengths[$0] }
        out.segmentIDs = segmentIDs.map { gather($0, rows: indices) }
        return out
    }

    /// This batch with no targets in rows `indices` (they stay in the batch but get no loss and
    /// count no tokens), e.g. GRPO's truncated completions.
    public func maskingRows(_ indices: [Int]) -> SequenceBatch {
        var out = self
        for b in indices { for t in 0..<length { out.mask[b * length + t] = 0 } }
        return out
    }

    /// The rows `indices` of any (B,T) grid laid out like this batch.
    public func gather<T>(_ grid: [T], rows indices: [Int]) -> [T] {
        precondition(
            grid.count == batchSize * length,
            "SequenceBatch.gather: grid of \(grid.count) for (\(batchSize), \(length))")
        var out: [T] = []
        out.reserveCapacity(indices.count * length)
        for b in indices { out += grid[(b * length)..<((b + 1) * length)] }
        return out
    }
}

extension SequenceBatch {
    /// Prompt + completion rows in which only the completion tokens are targets (the layout of
    /// every preference and RL objective: policy, reference, value and reward read the same grid).
    public init(prompts: [[Int32]], completions: [[Int32]], padToken: Int32) {
        precondition(
            prompts.count == completions.count,
            "SequenceBatch: \(prompts.count) prompts, \(completions.count) completions")
        self.init(
            rows: zip(prompts, completions).map { $0 + $1 },
            targetMasks: zip(prompts, completions).map {
                [Bool](repeating: false, count: $0.count) + [Bool](repeating: true, count: $1.count)
            },
            padToken: padToken)
    }
}

extension Generation {
    /// The generated tokens as a completion to train on: never empty (a generation cut off by
    /// the context before its first token stands as the bare end-of-turn token).
    public func completion(endOfTurn: Int32) -> [Int32] { tokens.isEmpty ? [endOfTurn] : tokens }
}
