import Dispatch
import Foundation

/// A wrapper that lets worker closures share pointers whose regions they access disjointly.
struct UncheckedSendable<Value>: @unchecked Sendable {
    var value: Value
}

extension Tokenizer {
    /// Encodes text (no post-processor: no `<s>`; see `encode(_:allowedSpecial:addSpecialTokens:)`).
    /// Special tokens are recognised only when `allowedSpecial` allows them.
    public func encode(_ text: String, allowedSpecial: SpecialTokenPolicy = .none) -> [TokenID] {
        var text = text
        return text.withUTF8 { encode(buffer: $0, allowedSpecial: allowedSpecial, threads: 0) }
    }

    /// Encodes any byte sequence, valid UTF-8 or not; `decode(encode(x)) == x` always.
    ///
    /// - Parameter threads: worker threads; 0 picks all cores for inputs of 1 MiB or more and
    ///   one thread otherwise. The result does not depend on the thread count.
    public func encode(_ bytes: [UInt8], allowedSpecial: SpecialTokenPolicy = .none, threads: Int = 0)
        -> [TokenID]
    {
        bytes.withUnsafeBufferPointer { encode(buffer: $0, allowedSpecial: allowedSpecial, threads: threads) }
    }

    /// The byte offset, in the encoded input, where each token of `ids` ends. A token stream
    /// decodes to exactly the input bytes, so offsets are a running sum of token lengths; they
    /// let callers (the chat template) find which tokens cover which bytes.
    func tokenEndOffsets(_ ids: [TokenID]) -> [Int] {
        var offset = 0
        return ids.map { id in
            offset += tokenBytes[Int(id)].count
            return offset
        }
    }

    func encode(buffer: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy, threads: Int)
        -> [TokenID]
    {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return [] }
        let n = buffer.count
        let workers =
            threads > 0 ? threads : (n >= 1 << 20 ? ProcessInfo.processInfo.activeProcessorCount : 1)
        let gpt2 = pipeline.isGPT2Layout
        let specials = gpt2 ? specialsByLength.filter { allowedSpecial.allows($0.content) } : []
        @Sendable func encodeSlice(_ p: UnsafePointer<UInt8>, _ count: Int) -> [TokenID] {
            if !gpt2 {
                return encodePipeline(
                    buffer: UnsafeBufferPointer(start: p, count: count), allowedSpecial: allowedSpecial,
                    offsets: false
                ).ids
            }
            var out: [TokenID] = []
            out.reserveCapacity(count / 3)
            var state = EncodingState(inputLength: count)
            encodeSegment(p, count, specials: specials, state: &state, into: &out)
            return out
        }
        guard workers > 1, n >= 1 << 16, gpt2 || pipeline.splitsInParallel else {
            return encodeSlice(base, n)
        }
        // Cut the input where the pre-tokenizer certainly has a piece boundary and no added
        // token that may match straddles the cut, so each slice encodes exactly as within the
        // whole.
        let tokenBytes: [[UInt8]] =
            gpt2
            ? specials.map { Array($0.content.utf8) }
            : pipeline.matchers(allowedSpecial).raw.entries.map(\.bytes)
        func safe(_ i: Int) -> Bool {
            gpt2 ? PreTokenizer.isSafeBoundary(base, i, n) : PieceScanner.isSafeBoundary(base, i, n)
        }
        var cuts = [0]
        for k in 1..<workers {
            var from = max(k * n / workers, cuts.last! + 1)
            var found: Int? = nil
            while from < n {
                guard let b = (from..<n).first(where: safe) else { break }
                if !tokenBytes.contains(where: { Self.occurrence(of: $0, straddles: b, base, n) }) {
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
                out.value[s] = encodeSlice(base + cuts[s], cuts[s + 1] - cuts[s])
            }
        }
        return results.flatMap { $0 }
    }

    static func occurrence(of special: [UInt8], straddles cut: Int, _ p: UnsafePointer<UInt8>, _ n: Int)
        -> Bool
    {
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
        _ p: UnsafePointer<UInt8>, _ n: Int, specials: [SpecialToken], state: inout EncodingState,
        into out: inout [TokenID]
    ) {
        if specials.isEmpty {
            encodeOrdinary(p, n, scanner: .gpt2, state: &state, into: &out)
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
                    encodeOrdinary(p + start, i - start, scanner: .gpt2, state: &state, into: &out)
                    out.append(id)
                    i += length
                    start = i
                    continue
                }
            }
            i += 1
        }
        encodeOrdinary(p + start, n - start, scanner: .gpt2, state: &state, into: &out)
    }

    /// Encodes text with no special tokens: pre-tokenize, then each piece through the front
    /// cache, the vocabulary (a whole piece that is a token, as in tiktoken), the word cache,
    /// or BPE.
    func encodeOrdinary(
        _ p: UnsafePointer<UInt8>, _ n: Int, scanner: PieceScanner, state: inout EncodingState,
        into out: inout [TokenID]
    ) {
        var i = 0
        while i < n {
            let end = scanner.pieceEnd(p, start: i, count: n)
            let length = end - i
            if length == 1 && byteToID[Int(p[i])] >= 0 {
                out.append(byteToID[Int(p[i])])
            } else if length <= 16 {
                // Pack the piece into two words (one unaligned load each when the buffer
                // allows) and try the front cache before hashing the bytes.
                var k0: UInt64 = 0
                var k1: UInt64 = 0
                if n - i >= 16 {
                    let raw = UnsafeRawPointer(p + i)
                    k0 = raw.loadUnaligned(as: UInt64.self)
                    k1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    if length < 8 {
                        k0 &= (1 << UInt64(8 * length)) &- 1
                        k1 = 0
                    } else if length < 16 {
                        k1 &= (1 << UInt64(8 * (length - 8))) &- 1
                    }
                } else {
                    for k in 0..<min(length, 8) { k0 |= UInt64(p[i + k]) << UInt64(8 * k) }
                    if length > 8 { for k in 8..<length { k1 |= UInt64(p[i + k]) << UInt64(8 * (k - 8)) } }
                }
                let slot = state.frontSlot(k0, k1, length)
                if let token = state.frontLookup(slot, k0, k1, length) {
                    out.append(token)
                } else {
                    let before = out.count
                    encodePiece(p + i, length, state: &state, into: &out)
                    if out.count == before + 1 { state.frontStore(slot, k0, k1, length, out[before]) }
                }
            } else {
                encodePiece(p + i, length, state: &state, into: &out)
            }
            i = end
        }
    }

    @inline(__always)
    func encodePiece(
        _ p: UnsafePointer<UInt8>, _ n: Int, state: inout EncodingState, into out: inout [TokenID]
    ) {
        if n == 1 && pipeline.byteLevel && byteToID[Int(p[0])] >= 0 {
            out.append(byteToID[Int(p[0])])
            return
        }
        let h = ByteStringTable.hash(p, n)
        if pipeline.wholePieceShortcut {
            let v = vocabulary.find(p, n, hash: h)
            if v >= 0 {
                out.append(TokenID(truncatingIfNeeded: vocabulary.values[v]))
                return
            }
        }
        // Long pieces (a SentencePiece line) rarely repeat: merge them without caching.
        if n > 256 {
            bytePairMerge(p, n, state: &state)
            out.append(contentsOf: state.parts)
            return
        }
        let c = state.cache.find(p, n, hash: h)
        if c >= 0 {
            let span = state.cache.values[c]
            let start = Int(span >> 32)
            let count = Int(span & 0xFFFF_FFFF)
            out.append(contentsOf: state.cachedTokens[start..<(start + count)])
            return
        }
        bytePairMerge(p, n, state: &state)
        out.append(contentsOf: state.parts)
        if state.cache.count >= EncodingState.cacheLimit {
            state.cache.removeAll()
            state.cachedTokens.removeAll(keepingCapacity: true)
        }
        let span = Int64(state.cachedTokens.count) << 32 | Int64(state.parts.count)
        state.cachedTokens.append(contentsOf: state.parts)
        state.cache.insert(p, n, hash: h, value: span)
    }

    /// Applies the merges to one piece, lowest rank first (leftmost on ties), as GPT-2 does.
    /// `ranks[k]` caches the rank of the pair at `k`, so each step rescans integers and
    /// looks up only the two pairs next to the merge.
    func bytePairMerge(_ p: UnsafePointer<UInt8>, _ n: Int, parts: inout [TokenID]) {
        var lengths: [Int32] = []
        var scratch = MergeScratch()
        bytePairMerge(p, n, parts: &parts, lengths: &lengths, trackLengths: false, scratch: &scratch)
    }

    /// `bytePairMerge` into `state.parts`, with the state's buffers.
    @inline(__always)
    func bytePairMerge(_ p: UnsafePointer<UInt8>, _ n: Int, state: inout EncodingState) {
        bytePairMerge(
            p, n, parts: &state.parts, lengths: &state.lengths, trackLengths: false, scratch: &state.scratch)
    }

    /// The model on one piece: initial symbols (bytes, or characters with byte fallback and
    /// unknown tokens), then the merges. `lengths` gets each token's length in piece bytes
    /// when `trackLengths`.
    func bytePairMerge(
        _ p: UnsafePointer<UInt8>, _ n: Int, parts: inout [TokenID], lengths: inout [Int32],
        trackLengths: Bool,
        scratch: inout MergeScratch
    ) {
        parts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        if pipeline.byteLevel && pipeline.unknownID < 0 && !trackLengths {
            for k in 0..<n {
                let id = byteToID[Int(p[k])]
                if id >= 0 { parts.append(id) }
            }
        } else {
            initialSymbols(p, n, parts: &parts, lengths: &lengths)
        }
        if parts.count > 32 {
            if lengths.count != parts.count { lengths = [Int32](repeating: 1, count: parts.count) }
            Self.heapMerge(&parts, &lengths, mergeTable: mergeTable, scratch: &scratch)
        } else if trackLengths {
            Self.bytePairMerge(&parts, lengths: &lengths, mergeTable: mergeTable)
        } else {
            Self.bytePairMerge(&parts, mergeTable: mergeTable)
        }
    }

    static func bytePairMerge(_ parts: inout [TokenID], mergeTable: PairTable) {
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
///
/// In front of everything sits a small direct-mapped cache of pieces of up to 16 bytes that
/// encode to one token (most pieces of natural text; word frequencies are Zipfian). It stays
/// in L1/L2 cache, where the 50k-entry vocabulary table does not, and turns the common case
/// into one multiply, one load and two compares.
struct EncodingState {
    /// Bounds the word cache's memory on inputs with endless distinct pieces.
    static let cacheLimit = 1 << 18
    var cache: ByteStringTable
    var cachedTokens: [TokenID] = []
    var parts: [TokenID] = []
    var lengths: [Int32] = []
    var scratch = MergeScratch()
    /// Per slot: first 8 key bytes, next 8 key bytes, length << 32 | token (length 0 = empty).
    var front: [UInt64]
    let frontMask: Int

    /// Sized to the input, so that encoding many short strings does not pay for zeroing a
    /// large cache each call: up to 16384 front slots (384 KiB) for inputs of 1 MiB and more.
    init(inputLength: Int) {
        var slots = 64
        while slots < 16384 && slots * 64 < inputLength { slots <<= 1 }
        front = [UInt64](repeating: 0, count: 3 * slots)
        frontMask = slots - 1
        cache = ByteStringTable(capacity: min(4096, max(16, inputLength / 32)))
    }

    @inline(__always)
    func frontSlot(_ k0: UInt64, _ k1: UInt64, _ length: Int) -> Int {
        var h = (k0 &* 0x9E37_79B9_7F4A_7C15) ^ (k1 &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(length)
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h >> 32) & frontMask
    }

    @inline(__always)
    func frontLookup(_ slot: Int, _ k0: UInt64, _ k1: UInt64, _ length: Int) -> TokenID? {
        let meta = front[3 * slot + 2]
        guard meta >> 32 == UInt64(length), front[3 * slot] == k0, front[3 * slot + 1] == k1 else {
            return nil
        }
        return TokenID(truncatingIfNeeded: meta & 0xFFFF_FFFF)
    }

    @inline(__always)
    mutating func frontStore(_ slot: Int, _ k0: UInt64, _ k1: UInt64, _ length: Int, _ token: TokenID) {
        front[3 * slot] = k0
        front[3 * slot + 1] = k1
        front[3 * slot + 2] = UInt64(length) << 32 | UInt64(UInt32(bitPattern: token))
    }
}
