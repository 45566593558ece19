/// Hand-written scanners for the three pre-tokenizer regexes that real byte-level tokenizers
/// ship, so the common case never runs a regex engine:
///
/// - GPT-2 (the `ByteLevel` pre-tokenizer's own regex): see `PreTokenizer`;
/// - Llama 3:
///   `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// - Qwen2: the same with `\p{N}` (one digit per piece) instead of `\p{N}{1,3}`.
///
/// Each returns the end of the leftmost-first match at `start`; these patterns match every
/// character, so consecutive matches tile the text. Tests check them against the regex (via
/// `NSRegularExpression`) on many random strings, and the fixtures against `tokenizers`.
enum PieceScanner: Sendable, Equatable {
    case gpt2
    case llama3
    case qwen2

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for a regex, when it is one of the known patterns (byte for byte).
    init?(pattern: String) {
        switch pattern {
        case Self.gpt2Pattern: self = .gpt2
        case Self.llama3Pattern: self = .llama3
        case Self.qwen2Pattern: self = .qwen2
        default: return nil
        }
    }

    var pattern: String {
        switch self {
        case .gpt2: Self.gpt2Pattern
        case .llama3: Self.llama3Pattern
        case .qwen2: Self.qwen2Pattern
        }
    }

    @inline(__always)
    func pieceEnd(_ p: UnsafePointer<UInt8>, start i: Int, count n: Int) -> Int {
        switch self {
        case .gpt2: PreTokenizer.pieceEnd(p, start: i, count: n)
        case .llama3: Self.llamaPieceEnd(p, start: i, count: n, maxDigits: 3)
        case .qwen2: Self.llamaPieceEnd(p, start: i, count: n, maxDigits: 1)
        }
    }

    /// The pieces' byte ranges of `p[0..<n]`.
    func pieces(_ p: UnsafePointer<UInt8>, count n: Int) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var i = 0
        while i < n {
            let end = pieceEnd(p, start: i, count: n)
            result.append(i..<end)
            i = end
        }
        return result
    }

    /// Whether a piece boundary of the whole-text scan certainly falls at `i`: an ASCII letter,
    /// a space and an ASCII letter at `i-1, i, i+1`. The letter run (or contraction) before
    /// ends at the space and the space starts the next word, in all three patterns.
    @inline(__always)
    static func isSafeBoundary(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Bool {
        guard i > 0, i + 1 < n, p[i] == 0x20 else { return false }
        return PreTokenizer.isASCIILetter(p[i - 1]) && PreTokenizer.isASCIILetter(p[i + 1])
    }

    @inline(__always)
    static func isNewline(_ b: UInt8) -> Bool { b == 0x0A || b == 0x0D }

    static func llamaPieceEnd(_ p: UnsafePointer<UInt8>, start i: Int, count n: Int, maxDigits: Int) -> Int {
        let letter = PreTokenizer.letter
        let number = PreTokenizer.number
        let whitespace = PreTokenizer.whitespace
        let other = PreTokenizer.other
        let b = p[i]
        // (?i:'s|'t|'re|'ve|'m|'ll|'d): ASCII letters either case.
        if b == 0x27, i + 1 < n {
            let c = p[i + 1] | 0x20
            if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { return i + 2 }  // s t m d
            if i + 2 < n {
                let d = p[i + 2] | 0x20
                if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) {
                    return i + 3
                }
            }
        }
        @inline(__always) func run(from start: Int, of cls: UInt8) -> Int {
            var j = start
            while j < n {
                let (c, l) = PreTokenizer.scalarClass(p, j, n)
                if c != cls { break }
                j += l
            }
            return j
        }
        let (c0, l0) = PreTokenizer.scalarClass(p, i, n)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c0 == letter { return run(from: i + l0, of: letter) }
        if c0 != number, !isNewline(b), i + l0 < n {
            let (c1, l1) = PreTokenizer.scalarClass(p, i + l0, n)
            if c1 == letter { return run(from: i + l0 + l1, of: letter) }
        }
        // \p{N}{1,maxDigits}
        if c0 == number {
            var j = i + l0
            var count = 1
            while count < maxDigits, j < n {
                let (c, l) = PreTokenizer.scalarClass(p, j, n)
                if c != number { break }
                j += l
                count += 1
            }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var j = i
        var cls = c0
        var length = l0
        if b == 0x20, i + 1 < n {
            let (c1, l1) = PreTokenizer.scalarClass(p, i + 1, n)
            if c1 == other {
                j = i + 1
                cls = c1
                length = l1
            }
        }
        if cls == other {
            j = run(from: j + length, of: other)
            while j < n, isNewline(p[j]) { j += 1 }
            return j
        }
        // c0 is whitespace: `\s*[\r\n]+`, then `\s+(?!\S)`, then `\s+`.
        var end = i
        var lastNewline = -1
        var lastStart = i
        var scalars = 0
        while end < n {
            let (c, l) = PreTokenizer.scalarClass(p, end, n)
            if c != whitespace { break }
            if isNewline(p[end]) { lastNewline = end }
            lastStart = end
            scalars += 1
            end += l
        }
        if lastNewline >= 0 { return lastNewline + 1 }
        if end == n || scalars == 1 { return end }
        return lastStart
    }
}
