import Dispatch
import Foundation

/// A wrapper that lets worker closures share pointers whose regions they access disjointly.
struct UncheckedSendable<Value>: @unchecked Sendable {
    var value: Value
}

extension Tokenizer {
    /// Encodes text. Special tokens are recognised only when `allowedSpecial` allows them.
    public func encode(_ text: String, allowedSpecial: SpecialTokenPolicy = .none) -> [TokenID] {
        var text = text
        return text.withUTF8 { encode(buffer: $0, allowedSpecial: allowedSpecial, threads: 0) }
    }

    /// Encodes any byte sequence, valid UTF-8 or not; `decode(encode(x)) == x` always.
    ///
    /// - Parameter threads: worker threads; 0 picks all cores for inputs of 1 MiB or more and
    ///   one thread otherwise. The result does not depend on the thread count.
    public func encode(_ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none, threads: Int = 0) -> [TokenID] {
        bytes.withUnsafeBufferPointer { encode(buffer: $0, allowedSpecial: allowedSpecial, threads: threads) }
    }

    /// Encodes `text`, returning also the byte offset in `text` where each token ends. The
    /// token stream decodes to exactly the input bytes, so offsets are a running sum of token
    /// lengths; they let callers (the chat template) find which tokens cover which bytes.
    func tokenEndOffsets(_ ids: [TokenID]) -> [Int] {
        var offset = 0
        return ids.map { id in
            offset += tokenBytes[Int(id)].count
            return offset
        }
    }

    func encode(buffer: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy, threads: Int) -> [TokenID] {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return [] }
        let n = buffer.count
        let specials = specialsByLength.filter { allowedSpecial.allows($0.content) }
        let workers = threads > 0 ? threads : (n >= 1 << 20 ? ProcessInfo.processInfo.activeProcessorCount : 1)
        if workers <= 1 || n < 1 << 16 {
            var out: [TokenID] = []
            out.reserveCapacity(n / 3)
            let state = EncodingState()
            encodeSegment(base, n, specials: specials, state: state, into: &out)
            return out
        }
        // Cut the input where the pre-tokenizer certainly has a piece boundary and no allowed
        // special token straddles the cut, so each slice encodes exactly as within the whole.
        let specialBytes = specials.map { Array($0.content.utf8) }
        var cuts = [0]
        for k in 1..<workers {
            var from = max(k * n / workers, cuts.last! + 1)
            var found: Int? = nil
            while let b = PreTokenizer.safeBoundary(after: from, base, n) {
                if !specialBytes.contains(where: { Self.occurrence(of: $0, straddles: b, base, n) }) {
                    found = b
                    break
                }
                from = b + 1
            }
            guard let cut = found else { break }
            cuts.append(cut)
        }
        cuts.append(n)
        let slices = cuts.count - 1
        var results = [[TokenID]](repeating: [], count: slices)
        let shared = UncheckedSendable(value: (base, cuts))
        results.withUnsafeMutableBufferPointer { output in
            let out = UncheckedSendable(value: output)
            DispatchQueue.concurrentPerform(iterations: slices) { s in
                let (base, cuts) = shared.value
                var tokens: [TokenID] = []
                tokens.reserveCapacity((cuts[s + 1] - cuts[s]) / 3)
                encodeSegment(base + cuts[s], cuts[s + 1] - cuts[s], specials: specials, state: EncodingState(), into: &tokens)
                out.value[s] = tokens
            }
        }
        return results.flatMap { $0 }
    }

    static func occurrence(of special: [UInt8], straddles cut: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let length = special.count
        guard length > 1 else { return false }
        for start in max(0, cut - length + 1)..<cut where start + length <= n {
            var match = true
            for k in 0..<length where p[start + k] != special[k] {
                match = false
                break
            }
            if match { return true }
        }
        return false
    }

    /// Splits at allowed special tokens, then encodes the ordinary text between them.
    func encodeSegment(
        _ p: UnsafePointer<UInt8>, _ n: Int, specials: [SpecialToken], state: EncodingState, into out: inout [TokenID]
    ) {
        if specials.isEmpty {
            encodeOrdinary(p, n, state: state, into: &out)
            return
        }
        let patterns = specials.map { (Array($0.content.utf8), $0.id) }
        var first = [Bool](repeating: false, count: 256)
        for (bytes, _) in patterns { first[Int(bytes[0])] = true }
        var start = 0
        var i = 0
        while i < n {
            if first[Int(p[i])] {
                var matched: (Int, TokenID)? = nil
                for (bytes, id) in patterns where i + bytes.count <= n {
                    if memcmp(p + i, bytes, bytes.count) == 0 {
                        matched = (bytes.count, id)
                        break
                    }
                }
                if let (length, id) = matched {
                    encodeOrdinary(p + start, i - start, state: state, into: &out)
                    out.append(id)
                    i += length
                    start = i
                    continue
                }
            }
            i += 1
        }
        encodeOrdinary(p + start, n - start, state: state, into: &out)
    }

    /// Encodes text with no special tokens: pre-tokenize, then each piece through the
    /// vocabulary (a whole piece that is a token, as in tiktoken), the cache, or BPE.
    func encodeOrdinary(_ p: UnsafePointer<UInt8>, _ n: Int, state: EncodingState, into out: inout [TokenID]) {
        var i = 0
        while i < n {
            let end = PreTokenizer.pieceEnd(p, start: i, count: n)
            encodePiece(p + i, end - i, state: state, into: &out)
            i = end
        }
    }

    @inline(__always)
    func encodePiece(_ p: UnsafePointer<UInt8>, _ n: Int, state: EncodingState, into out: inout [TokenID]) {
        if n == 1 {
            out.append(byteToID[Int(p[0])])
            return
        }
        let h = ByteStringTable.hash(p, n)
        let v = vocabulary.find(p, n, hash: h)
        if v >= 0 {
            out.append(TokenID(truncatingIfNeeded: vocabulary.values[v]))
            return
        }
        let cache = state.cache
        let c = cache.find(p, n, hash: h)
        if c >= 0 {
            let span = cache.values[c]
            let start = Int(span >> 32)
            let count = Int(span & 0xFFFF_FFFF)
            out.append(contentsOf: state.cachedTokens[start..<(start + count)])
            return
        }
        bytePairMerge(p, n, parts: &state.parts)
        out.append(contentsOf: state.parts)
        if cache.count >= EncodingState.cacheLimit {
            cache.removeAll()
            state.cachedTokens.removeAll(keepingCapacity: true)
        }
        let span = Int64(state.cachedTokens.count) << 32 | Int64(state.parts.count)
        state.cachedTokens.append(contentsOf: state.parts)
        cache.insert(p, n, hash: h, value: span)
    }

    /// Applies the merges to one piece, lowest rank first (leftmost on ties), as GPT-2 does.
    /// `ranks[k]` caches the rank of the pair at `k`, so each step rescans integers and
    /// looks up only the two pairs next to the merge.
    func bytePairMerge(_ p: UnsafePointer<UInt8>, _ n: Int, parts: inout [TokenID]) {
        parts.removeAll(keepingCapacity: true)
        for k in 0..<n { parts.append(byteToID[Int(p[k])]) }
        Self.bytePairMerge(&parts, mergeTable: mergeTable)
    }

    static func bytePairMerge(_ parts: inout [TokenID], mergeTable: [UInt64: UInt64]) {
        guard parts.count > 1 else { return }
        @inline(__always) func lookup(_ a: TokenID, _ b: TokenID) -> UInt64 {
            mergeTable[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] ?? UInt64.max
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
            ranks.remove(at: at)
            if at > 0 { ranks[at - 1] = lookup(parts[at - 1], parts[at]) }
            if at < ranks.count { ranks[at] = lookup(parts[at], parts[at + 1]) }
        }
    }
}

/// Per-call encoding scratch: the word cache (piece → tokens) and a parts buffer. Owned by one
/// thread for the duration of one `encode` call.
final class EncodingState {
    /// Bounds the cache's memory on inputs with endless distinct pieces.
    static let cacheLimit = 1 << 18
    let cache = ByteStringTable(capacity: 4096)
    var cachedTokens: [TokenID] = []
    var parts: [TokenID] = []
}
