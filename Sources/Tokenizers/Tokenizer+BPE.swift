import Foundation

/// The BPE model's parts beyond byte-level merging: initial symbols as `tokenizers`'
/// `BPE::merge_word` makes them, and merging long pieces with a heap.
extension Tokenizer {
    /// Initial symbols of a piece, with their lengths in piece bytes.
    ///
    /// Byte-level: one per byte. Otherwise one per character, looked up with the
    /// continuing-subword prefix (not on the first) and end-of-word suffix (on the last); a
    /// character not in the vocabulary becomes its `<0xXX>` tokens (byte fallback, when all
    /// exist) or the unknown token (consecutive ones fused when `fuse_unk`), or is dropped when
    /// there is no unknown token. Bytes that are not UTF-8 count as one character each.
    func initialSymbols(_ p: UnsafePointer<UInt8>, _ n: Int, parts: inout [TokenID], lengths: inout [Int32]) {
        let options = pipeline
        // The pending unknown token (id -1: none); plain locals, not captured by closures,
        // which would box them on the heap for every piece.
        var pendingID: TokenID = -1
        var pendingLength: Int32 = 0
        if options.byteLevel {
            for k in 0..<n {
                let id = byteToID[Int(p[k])]
                if id >= 0 {
                    if pendingID >= 0 {
                        parts.append(pendingID)
                        lengths.append(pendingLength)
                        pendingID = -1
                    }
                    parts.append(id)
                    lengths.append(1)
                } else if options.unknownID >= 0 {
                    if pendingID >= 0 && options.fuseUnknown {
                        pendingLength += 1
                    } else {
                        if pendingID >= 0 {
                            parts.append(pendingID)
                            lengths.append(pendingLength)
                        }
                        pendingID = options.unknownID
                        pendingLength = 1
                    }
                }
            }
        } else {
            let plain = options.continuingSubwordPrefix.isEmpty && options.endOfWordSuffix.isEmpty
            var key: [UInt8] = []
            var k = 0
            while k < n {
                let l = Self.scalarLength(p, k, n)
                var id: TokenID = -1
                if plain && l == 1 {
                    id = p[k] < 0x80 ? options.bmpToID[Int(p[k])] : -1
                } else if plain && l == 2 {
                    id = options.bmpToID[Int(UInt32(p[k] & 0x1F) << 6 | UInt32(p[k + 1] & 0x3F))]
                } else if plain && l == 3 {
                    id =
                        options.bmpToID[
                            Int(
                                UInt32(p[k] & 0x0F) << 12 | UInt32(p[k + 1] & 0x3F) << 6
                                    | UInt32(p[k + 2] & 0x3F))]
                } else {
                    key.removeAll(keepingCapacity: true)
                    if k > 0 { key += options.continuingSubwordPrefix }
                    key.append(contentsOf: UnsafeBufferPointer(start: p + k, count: l))
                    if k + l == n { key += options.endOfWordSuffix }
                    id = key.withUnsafeBufferPointer { b in
                        let e = vocabulary.find(
                            b.baseAddress!, b.count, hash: ByteStringTable.hash(b.baseAddress!, b.count))
                        return e < 0 ? -1 : TokenID(truncatingIfNeeded: vocabulary.values[e])
                    }
                }
                if id >= 0 {
                    if pendingID >= 0 {
                        parts.append(pendingID)
                        lengths.append(pendingLength)
                        pendingID = -1
                    }
                    parts.append(id)
                    lengths.append(Int32(l))
                } else if options.byteFallback, !options.fallbackIDs.isEmpty,
                    fallbackCovers(p, k, l, k + l == n)
                {
                    // Byte tokens do not flush a pending unknown token (as in `tokenizers`).
                    var bytes: [UInt8] = k > 0 ? options.continuingSubwordPrefix : []
                    bytes.append(contentsOf: UnsafeBufferPointer(start: p + k, count: l))
                    if k + l == n { bytes += options.endOfWordSuffix }
                    var remaining = Int32(l)
                    for b in bytes {
                        parts.append(options.fallbackIDs[Int(b)])
                        lengths.append(remaining > 0 ? 1 : 0)
                        remaining -= 1
                    }
                } else if options.unknownID >= 0 {
                    if pendingID >= 0 && options.fuseUnknown {
                        pendingLength += Int32(l)
                    } else {
                        if pendingID >= 0 {
                            parts.append(pendingID)
                            lengths.append(pendingLength)
                        }
                        pendingID = options.unknownID
                        pendingLength = Int32(l)
                    }
                }
                k += l
            }
        }
        if pendingID >= 0 {
            parts.append(pendingID)
            lengths.append(pendingLength)
        }
    }

    private func fallbackCovers(_ p: UnsafePointer<UInt8>, _ k: Int, _ l: Int, _ last: Bool) -> Bool {
        let ids = pipeline.fallbackIDs
        if k > 0 && pipeline.continuingSubwordPrefix.contains(where: { ids[Int($0)] < 0 }) { return false }
        if last && pipeline.endOfWordSuffix.contains(where: { ids[Int($0)] < 0 }) { return false }
        for j in k..<(k + l) where ids[Int(p[j])] < 0 { return false }
        return true
    }

    /// The UTF-8 length of the scalar at `p[i]`; 1 for a byte that does not start a valid one.
    @inline(__always)
    static func scalarLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        let b = p[i]
        if b < 0x80 { return 1 }
        let (_, length) = PreTokenizer.nonASCIIClass(p, i, n)
        return length
    }

    /// `bytePairMerge(_:mergeTable:)` that also sums the merged symbols' lengths.
    static func bytePairMerge(_ parts: inout [TokenID], lengths: inout [Int32], mergeTable: PairTable) {
        guard parts.count > 1 else { return }
        @inline(__always) func lookup(_ a: TokenID, _ b: TokenID) -> UInt64 {
            mergeTable[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))] ?? UInt64.max
        }
        var ranks = [UInt64](repeating: .max, count: parts.count - 1)
        for k in 0..<(parts.count - 1) { ranks[k] = lookup(parts[k], parts[k + 1]) }
        while true {
            var best = UInt64.max
            var at = -1
            for k in 0..<ranks.count where ranks[k] < best {
                best = ranks[k]
                at = k
            }
            if at < 0 { break }
            parts[at] = TokenID(truncatingIfNeeded: best & 0xFFFF_FFFF)
            parts.remove(at: at + 1)
            lengths[at] += lengths[at + 1]
            lengths.remove(at: at + 1)
            ranks.remove(at: at)
            if at > 0 { ranks[at - 1] = lookup(parts[at - 1], parts[at]) }
            if at < ranks.count { ranks[at] = lookup(parts[at], parts[at + 1]) }
        }
    }

    /// The same merges for long pieces (a SentencePiece-style tokenizer's whole line is one
    /// piece) in O(n log n): a min-heap of (rank, position) over a linked list of symbols, as
    /// `tokenizers`' `Word::merge_all`. Lowest rank first, leftmost on ties, like the scan.
    static func heapMerge(_ parts: inout [TokenID], _ lengths: inout [Int32], mergeTable: PairTable) {
        var scratch = MergeScratch()
        heapMerge(&parts, &lengths, mergeTable: mergeTable, scratch: &scratch)
    }

    static func heapMerge(
        _ parts: inout [TokenID], _ lengths: inout [Int32], mergeTable: PairTable, scratch: inout MergeScratch
    ) {
        let n = parts.count
        guard n > 1 else { return }
        @inline(__always) func lookup(_ a: TokenID, _ b: TokenID) -> UInt64 {
            mergeTable[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))] ?? UInt64.max
        }
        // Buffers reused across pieces (one allocation per encode call, not per piece).
        scratch.next.removeAll(keepingCapacity: true)
        scratch.previous.removeAll(keepingCapacity: true)
        scratch.alive.removeAll(keepingCapacity: true)
        scratch.heap.removeAll()
        for k in 0..<n {
            scratch.next.append(k + 1 < n ? Int32(k + 1) : -1)
            scratch.previous.append(Int32(k - 1))
            scratch.alive.append(true)
        }
        var next = scratch.next
        var previous = scratch.previous
        var alive = scratch.alive
        var heap = scratch.heap
        scratch = MergeScratch()  // the locals above now own the storage uniquely
        defer { scratch = MergeScratch(next: next, previous: previous, alive: alive, heap: heap) }
        for k in 0..<(n - 1) {
            let v = lookup(parts[k], parts[k + 1])
            if v != .max { heap.push((v >> 32) << 32 | UInt64(k)) }
        }
        while let top = heap.pop() {
            let at = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            guard alive[at], next[at] >= 0 else { continue }
            let right = Int(next[at])
            let v = lookup(parts[at], parts[right])
            guard v != .max, v >> 32 == rank else { continue }
            parts[at] = TokenID(truncatingIfNeeded: v & 0xFFFF_FFFF)
            lengths[at] += lengths[right]
            alive[right] = false
            next[at] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(at) }
            if previous[at] >= 0 {
                let left = Int(previous[at])
                let w = lookup(parts[left], parts[at])
                if w != .max { heap.push((w >> 32) << 32 | UInt64(left)) }
            }
            if next[at] >= 0 {
                let w = lookup(parts[at], parts[Int(next[at])])
                if w != .max { heap.push((w >> 32) << 32 | UInt64(at)) }
            }
        }
        var write = 0
        for k in 0..<n where alive[k] {
            parts[write] = parts[k]
            lengths[write] = lengths[k]
            write += 1
        }
        parts.removeLast(n - write)
        lengths.removeLast(n - write)
    }
}

/// Reusable buffers of `heapMerge`.
struct MergeScratch {
    var next: [Int32] = []
    var previous: [Int32] = []
    var alive: [Bool] = []
    var heap = MinHeap()
}

/// A binary min-heap of `UInt64` keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ value: UInt64) {
        items.append(value)
        var k = items.count - 1
        while k > 0 {
            let parent = (k - 1) / 2
            if items[parent] <= items[k] { break }
            items.swapAt(parent, k)
            k = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var k = 0
            while true {
                let l = 2 * k + 1
                let r = l + 1
                var smallest = k
                if l < items.count && items[l] < items[smallest] { smallest = l }
                if r < items.count && items[r] < items[smallest] { smallest = r }
                if smallest == k { break }
                items.swapAt(k, smallest)
                k = smallest
            }
        }
        return top
    }
}
