/// GPT-2's pre-tokenizer, written out by hand.
///
/// It splits text into the pieces that the published GPT-2 pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// finds with leftmost-first alternation, as in tiktoken (Rust `fancy-regex`). BPE never merges
/// across pieces. The scanner works on UTF-8 bytes and classifies Unicode scalars with
/// `Unicode.Scalar.Properties`: letters are general categories L*, numbers N*, whitespace is the
/// `White_Space` property, everything else (punctuation, symbols, emoji, combining marks) is
/// "other". Bytes that are not valid UTF-8 are "other", one byte at a time: text decoded with
/// replacement characters (U+FFFD, a symbol) would split the same way, and the pieces keep the
/// original bytes so that decoding is exact.
///
/// Semantics worth spelling out:
/// - contractions are lowercase and ASCII only (`'S` is not one);
/// - the optional leading space is U+0020 only, not any whitespace;
/// - `\s+(?!\S)`: a whitespace run followed by a non-space gives up its last scalar, so that
///   the last space can start the next word (`"a   b"` → `a`, `"  "`, `" b"`); a single
///   whitespace scalar before a non-space is its own piece (the `\s+` alternative);
/// - a whitespace run at the end of the text stays whole.
enum PreTokenizer {
    static let letter: UInt8 = 0
    static let number: UInt8 = 1
    static let whitespace: UInt8 = 2
    static let other: UInt8 = 3

    /// Classes of the 128 ASCII scalars.
    static let asciiClass: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    /// Classes of the Basic Multilingual Plane, computed once (64 KiB) so non-ASCII text is
    /// classified by a table lookup. Surrogate code points are never looked up.
    static let bmpClass: [UInt8] = (0..<0x10000).map { v in
        Unicode.Scalar(UInt32(v)).map(classify) ?? other
    }

    static func classify(_ scalar: Unicode.Scalar) -> UInt8 {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return properties.isWhitespace ? whitespace : other
        }
    }

    /// The class and UTF-8 length of the scalar starting at `p[i]`; an invalid or truncated
    /// sequence is one byte of class `other`.
    @inline(__always)
    static func scalarClass(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> (UInt8, Int) {
        let b0 = p[i]
        if b0 < 0x80 { return (asciiClass[Int(b0)], 1) }
        return nonASCIIClass(p, i, n)
    }

    static func nonASCIIClass(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> (UInt8, Int) {
        let b0 = p[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> UInt32? {
            guard i + k < n else { return nil }
            let b = p[i + k]
            return (b >= lo && b <= hi) ? UInt32(b & 0x3F) : nil
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return (other, 1) }
            return (bmpClass[Int(UInt32(b0 & 0x1F) << 6 | c1)], 2)
        case 0xE0...0xEF:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard let c1 = cont(1, lo, hi), let c2 = cont(2) else { return (other, 1) }
            return (bmpClass[Int(UInt32(b0 & 0x0F) << 12 | c1 << 6 | c2)], 3)
        case 0xF0...0xF4:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard let c1 = cont(1, lo, hi), let c2 = cont(2), let c3 = cont(3) else { return (other, 1) }
            let value = UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3
            return (classify(Unicode.Scalar(value)!), 4)
        default:
            return (other, 1)
        }
    }

    /// The end (exclusive byte offset) of the piece that starts at `start`; `start < n`.
    static func pieceEnd(_ p: UnsafePointer<UInt8>, start i: Int, count n: Int) -> Int {
        let b = p[i]
        // 's 't 're 've 'm 'll 'd
        if b == 0x27, i + 1 < n {
            let c = p[i + 1]
            if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { return i + 2 }  // s t m d
            if i + 2 < n {
                let d = p[i + 2]
                // re ve ll
                if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) {
                    return i + 3
                }
            }
        }
        var (cls, len) = scalarClass(p, i, n)
        var j = i
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: a space joins a following non-space run.
        if b == 0x20, i + 1 < n {
            let (nextClass, nextLength) = scalarClass(p, i + 1, n)
            if nextClass != whitespace {
                cls = nextClass
                len = nextLength
                j = i + 1
            }
        }
        if cls != whitespace {
            j += len
            while j < n {
                let (c, l) = scalarClass(p, j, n)
                if c != cls { break }
                j += l
            }
            return j
        }
        // `\s+(?!\S)` then `\s+`.
        var last = i
        var runLength = 0
        while j < n {
            let (c, l) = scalarClass(p, j, n)
            if c != whitespace { break }
            last = j
            runLength += 1
            j += l
        }
        if j == n || runLength == 1 { return j }
        return last
    }

    /// Calls `body` with the byte range of every piece of `p[0..<n]`, in order.
    @inline(__always)
    static func forEachPiece(_ p: UnsafePointer<UInt8>, count n: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i < n {
            let end = pieceEnd(p, start: i, count: n)
            body(i, end)
            i = end
        }
    }

    /// The pieces of `bytes` as byte arrays (for tests and tools; the hot paths use `forEachPiece`).
    static func pieces(_ bytes: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            forEachPiece(base, count: buffer.count) { start, end in
                result.append(Array(buffer[start..<end]))
            }
        }
        return result
    }

    /// Whether a piece boundary of the full-text scan certainly falls at `p`, whatever came
    /// before: text split there pre-tokenizes exactly as the whole. Two cheap sufficient
    /// conditions, both ASCII:
    /// - letter, space, letter at `p-1, p, p+1`: the letter run (or contraction) ends at the
    ///   space, and the space starts the next word;
    /// - a lone whitespace byte other than space at `p-1` (non-whitespace ASCII before it) and
    ///   a non-whitespace byte at `p`: a single whitespace scalar before a non-space is a piece
    ///   of its own (`\s+`) in the whole text and at the end of the first part alike, and it
    ///   cannot be a word's leading space.
    @inline(__always)
    static func isSafeBoundary(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Bool {
        guard i > 0, i < n else { return false }
        let before = p[i - 1]
        let at = p[i]
        if at == 0x20 {
            guard i + 1 < n else { return false }
            return isASCIILetter(before) && isASCIILetter(p[i + 1])
        }
        if before == 0x0A || before == 0x0D || before == 0x09 || before == 0x0B || before == 0x0C {
            // The run must be that one byte: a longer run at the end of the first part would
            // stay whole there, but gives up its last scalar in the full text.
            let first = i < 2 || (p[i - 2] < 0x80 && asciiClass[Int(p[i - 2])] != whitespace)
            return first && at < 0x80 && asciiClass[Int(at)] != whitespace
        }
        return false
    }

    @inline(__always)
    static func isASCIILetter(_ b: UInt8) -> Bool {
        (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A
    }

    /// The first safe boundary at or after `from` and before `n - 1`, or nil.
    static func safeBoundary(after from: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        var i = max(from, 1)
        while i < n {
            if isSafeBoundary(p, i, n) { return i }
            i += 1
        }
        return nil
    }

    /// The last safe boundary at or before `from` (and after 0), or nil.
    static func safeBoundary(before from: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        var i = min(from, n - 1)
        while i > 0 {
            if isSafeBoundary(p, i, n) { return i }
            i -= 1
        }
        return nil
    }
}
