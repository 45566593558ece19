import Foundation

/// Text on its way through the pipeline (normalizer, pre-tokenizer), as UTF-8 bytes with the
/// byte range of the input each byte came from, so tokens map back to input offsets.
///
/// Bytes a step inserts (a prepended `▁`) take the origin of the byte they were inserted
/// before; bytes a step rewrites (a lowercased letter, an NFC composition) take the origin of
/// what they replace.
struct NormalizedText: Sendable, Equatable {
    var bytes: [UInt8]
    /// Per byte: start and end of its origin in the input.
    var starts: [Int32]
    var ends: [Int32]
    /// False when nobody will ask for offsets: `starts` and `ends` stay empty (the
    /// SentencePiece layout normalises whole lines, where they would triple the work).
    var tracksOrigins = true

    init(bytes: [UInt8], starts: [Int32], ends: [Int32], tracksOrigins: Bool = true) {
        self.bytes = bytes
        self.starts = starts
        self.ends = ends
        self.tracksOrigins = tracksOrigins
    }

    /// Input bytes `p[0..<n]` that start at input offset `offset`, unchanged.
    init(_ p: UnsafePointer<UInt8>, _ n: Int, offset: Int, tracksOrigins: Bool = true) {
        bytes = Array(UnsafeBufferPointer(start: p, count: n))
        self.tracksOrigins = tracksOrigins
        starts = tracksOrigins ? (0..<n).map { Int32(offset + $0) } : []
        ends = tracksOrigins ? (0..<n).map { Int32(offset + $0 + 1) } : []
    }

    /// An empty text of the same kind.
    private var empty: NormalizedText {
        NormalizedText(bytes: [], starts: [], ends: [], tracksOrigins: tracksOrigins)
    }

    var isEmpty: Bool { bytes.isEmpty }
    var count: Int { bytes.count }

    /// The input offset this text starts at (`offsets_original().0` in `tokenizers`).
    var originalStart: Int { starts.first.map(Int.init) ?? 0 }

    func slice(_ range: Range<Int>) -> NormalizedText {
        guard tracksOrigins else {
            return NormalizedText(bytes: Array(bytes[range]), starts: [], ends: [], tracksOrigins: false)
        }
        return NormalizedText(
            bytes: Array(bytes[range]), starts: Array(starts[range]), ends: Array(ends[range]))
    }

    /// The input range of bytes `range` of this text.
    func originalRange(_ range: Range<Int>) -> Range<Int> {
        guard tracksOrigins else { return 0..<0 }
        guard !range.isEmpty else {
            let at = range.lowerBound < count ? Int(starts[range.lowerBound]) : Int(ends.last ?? 0)
            return at..<at
        }
        var low = Int.max
        var high = Int.min
        for k in range {
            low = min(low, Int(starts[k]))
            high = max(high, Int(ends[k]))
        }
        return low..<high
    }

    /// The text as a Swift string (the bytes are valid UTF-8: they come from a `String` or
    /// were repaired on entry).
    var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Scalars with their byte ranges.
    func scalars() -> [(scalar: Unicode.Scalar, range: Range<Int>)] {
        var result: [(Unicode.Scalar, Range<Int>)] = []
        var i = 0
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                let l = UTF8.width(s)
                result.append((s, i..<(i + l)))
                i += l
            case .emptyInput:
                return result
            case .error:
                result.append(("\u{FFFD}", i..<(i + 1)))
                i += 1
            }
        }
    }

    /// Rewrites each scalar; a nil result keeps it. New bytes take the origin of the scalar
    /// they replace; an empty replacement deletes it.
    mutating func mapScalars(_ transform: (Unicode.Scalar) -> [Unicode.Scalar]?) {
        var out = empty
        out.bytes.reserveCapacity(bytes.count)
        var changed = false
        for (scalar, range) in scalars() {
            guard let replacement = transform(scalar) else {
                out.bytes += bytes[range]
                if tracksOrigins {
                    out.starts += starts[range]
                    out.ends += ends[range]
                }
                continue
            }
            changed = true
            let origin = originalRange(range)
            for s in replacement { out.append(s, origin: origin) }
        }
        if changed { self = out }
    }

    mutating func append(_ scalar: Unicode.Scalar, origin: Range<Int>) {
        let before = bytes.count
        bytes += UTF8.encode(scalar)!
        guard tracksOrigins else { return }
        for _ in before..<bytes.count {
            starts.append(Int32(origin.lowerBound))
            ends.append(Int32(origin.upperBound))
        }
    }

    mutating func append(contentsOf other: NormalizedText) {
        bytes += other.bytes
        guard tracksOrigins else { return }
        starts += other.starts
        ends += other.ends
    }

    /// Puts `prefix` in front; its bytes take the origin of the first byte (empty there).
    mutating func prepend(_ prefix: String) {
        let at = Int(starts.first ?? 0)
        let n = prefix.utf8.count
        bytes.insert(contentsOf: prefix.utf8, at: 0)
        guard tracksOrigins else { return }
        starts.insert(contentsOf: [Int32](repeating: Int32(at), count: n), at: 0)
        ends.insert(contentsOf: [Int32](repeating: Int32(at), count: n), at: 0)
    }

    /// Replaces each range of `matches` (sorted, disjoint) with `content`.
    mutating func replace(_ matches: [Range<Int>], with content: String) {
        guard !matches.isEmpty else { return }
        var out = empty
        out.bytes.reserveCapacity(bytes.count + matches.count * content.utf8.count)
        var last = 0
        let replacement = Array(content.utf8)
        for range in matches {
            out.bytes += bytes[last..<range.lowerBound]
            if tracksOrigins {
                out.starts += starts[last..<range.lowerBound]
                out.ends += ends[last..<range.lowerBound]
                let origin = originalRange(range)
                out.starts += [Int32](repeating: Int32(origin.lowerBound), count: replacement.count)
                out.ends += [Int32](repeating: Int32(origin.upperBound), count: replacement.count)
            }
            out.bytes += replacement
            last = range.upperBound
        }
        out.bytes += bytes[last...]
        if tracksOrigins {
            out.starts += starts[last...]
            out.ends += ends[last...]
        }
        self = out
    }
}
