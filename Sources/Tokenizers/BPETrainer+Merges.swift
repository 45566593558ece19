/// The merge loop of BPE training, with incremental pair counts.
///
/// Words are the distinct pre-tokenized pieces, each weighted by its count. Pair counts are
/// kept per pair; a max-heap holds (count, pair) entries with lazy invalidation: after a merge
/// of (A, B) into N, only pairs that contain N gain count (they are new), every other pair can
/// only lose count. So a popped entry whose count is stale (higher than the current count) is
/// pushed back with its current count, and an entry whose count is current is the true maximum.
/// Only the words that contain (A, B) are touched, found through a per-pair word list.
///
/// Ties between equal counts go to the smaller pair (left id, then right id), so training is
/// deterministic whatever the hashing or thread count.
struct MergeLearner {
    /// Symbols of all words back to back; a word shrinks in place as its pairs merge.
    var symbols: [TokenID] = []
    var wordStart: [Int] = []
    var wordLength: [Int] = []
    var wordCount: [Int64] = []

    init(words: ByteStringTable) {
        words.forEach { key, count in
            guard key.count > 1 else { return }  // a one-byte word has no pair
            wordStart.append(symbols.count)
            wordLength.append(key.count)
            wordCount.append(count)
            for b in key { symbols.append(TokenID(b)) }
        }
    }

    @inline(__always)
    static func key(_ a: TokenID, _ b: TokenID) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    /// Learns merges until `newTokens` new tokens exist or no pair reaches `minFrequency`.
    /// Appends the new tokens' bytes to `tokenBytes` and returns the merges in rank order.
    /// A merge whose bytes equal an existing token reuses that token's id (two ways of
    /// spelling the same bytes), so it adds a merge without adding a token.
    mutating func learn(
        newTokens: Int, minFrequency: Int, tokenBytes: inout [[UInt8]], progress: (Int) -> Void
    ) -> [(TokenID, TokenID)] {
        var pairCount: [UInt64: Int64] = [:]
        var pairWords: [UInt64: [Int32]] = [:]
        for w in wordStart.indices {
            let s = wordStart[w]
            let c = wordCount[w]
            for k in s..<(s + wordLength[w] - 1) {
                let key = Self.key(symbols[k], symbols[k + 1])
                pairCount[key, default: 0] += c
                pairWords[key, default: []].append(Int32(w))
            }
        }
        var heap = PairHeap(pairCount.map { PairHeap.Entry(count: $0.value, key: $0.key) })
        var existing: [[UInt8]: TokenID] = [:]
        for (id, bytes) in tokenBytes.enumerated() { existing[bytes] = TokenID(id) }
        var merges: [(TokenID, TokenID)] = []
        var stamp = [Int32](repeating: -1, count: wordStart.count)
        var created = 0
        var touched: [UInt64] = []

        while created < newTokens, let top = heap.pop() {
            let current = pairCount[top.key] ?? 0
            if current != top.count {
                if current >= minFrequency { heap.push(.init(count: current, key: top.key)) }
                continue
            }
            if current < minFrequency { break }
            let a = TokenID(truncatingIfNeeded: top.key >> 32)
            let b = TokenID(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
            let bytes = tokenBytes[Int(a)] + tokenBytes[Int(b)]
            let n: TokenID
            if let id = existing[bytes] {
                n = id
            } else {
                n = TokenID(tokenBytes.count)
                tokenBytes.append(bytes)
                existing[bytes] = n
                created += 1
            }
            let mergeIndex = Int32(merges.count)
            merges.append((a, b))
            touched.removeAll(keepingCapacity: true)

            @inline(__always) func add(_ key: UInt64, _ amount: Int64, word: Int32) {
                pairCount[key, default: 0] += amount
                pairWords[key, default: []].append(word)
                touched.append(key)
            }
            let words = pairWords.removeValue(forKey: top.key) ?? []
            for w32 in words where stamp[Int(w32)] != mergeIndex {
                let w = Int(w32)
                stamp[w] = mergeIndex
                let s = wordStart[w]
                let length = wordLength[w]
                let c = wordCount[w]
                var read = 0
                var write = 0
                while read < length {
                    if read + 1 < length && symbols[s + read] == a && symbols[s + read + 1] == b {
                        if write > 0 {  // left neighbour, already in merged form
                            let left = symbols[s + write - 1]
                            pairCount[Self.key(left, a)]! -= c
                            add(Self.key(left, n), c, word: w32)
                        }
                        if read + 2 < length {  // right neighbour, still in original form
                            let right = symbols[s + read + 2]
                            pairCount[Self.key(b, right)]! -= c
                            add(Self.key(n, right), c, word: w32)
                        }
                        pairCount[top.key]! -= c
                        symbols[s + write] = n
                        write += 1
                        read += 2
                    } else {
                        symbols[s + write] = symbols[s + read]
                        write += 1
                        read += 1
                    }
                }
                wordLength[w] = write
            }
            pairCount[top.key] = nil
            touched.sort()
            var previous = UInt64.max
            for key in touched where key != previous {
                previous = key
                if let count = pairCount[key], count >= minFrequency {
                    heap.push(.init(count: count, key: key))
                }
            }
            if merges.count & 255 == 0 { progress(created) }
        }
        progress(created)
        return merges
    }
}

/// A binary max-heap of (count, pair), ties to the smaller pair key.
struct PairHeap {
    struct Entry {
        var count: Int64
        var key: UInt64
        @inline(__always)
        func before(_ other: Entry) -> Bool {
            count != other.count ? count > other.count : key < other.key
        }
    }

    private var items: [Entry]

    init(_ entries: [Entry]) {
        items = entries
        if items.count > 1 {
            for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        }
    }

    mutating func push(_ entry: Entry) {
        items.append(entry)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].before(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = items.count
        while true {
            let l = 2 * i + 1
            if l >= n { return }
            var best = l
            if l + 1 < n && items[l + 1].before(items[l]) { best = l + 1 }
            guard items[best].before(items[i]) else { return }
            items.swapAt(i, best)
            i = best
        }
    }
}
