import Foundation

/// A pattern of a `Split` pre-tokenizer or a `Replace` normalizer/decoder: a literal string or a
/// regex. The regexes real tokenizers ship (GPT-2, Llama 3, Qwen2) run as hand-written scanners;
/// any other runs on ICU (`NSRegularExpression`), which has the syntax of Oniguruma for what
/// tokenizer files use (`\p{L}`, `(?i:…)`, lookahead).
enum TextPattern: Sendable {
    case literal([UInt8])
    case scanner(PieceScanner)
    case regex(CompiledRegex)

    /// Compiles a regex; throws the ICU error text when it does not compile.
    static func regex(_ pattern: String) throws -> TextPattern {
        if let scanner = PieceScanner(pattern: pattern) { return .scanner(scanner) }
        return .regex(try CompiledRegex(pattern))
    }

    /// The byte ranges of the non-overlapping matches, left to right (empty matches dropped).
    func matches(in bytes: [UInt8]) -> [Range<Int>] {
        switch self {
        case .literal(let needle):
            guard !needle.isEmpty, bytes.count >= needle.count else { return [] }
            var result: [Range<Int>] = []
            var i = 0
            while i + needle.count <= bytes.count {
                if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) {
                    result.append(i..<(i + needle.count))
                    i += needle.count
                } else {
                    i += 1
                }
            }
            return result
        case .scanner(let scanner):
            return bytes.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return [] }
                return scanner.pieces(base, count: b.count)
            }
        case .regex(let regex):
            return regex.matches(in: bytes)
        }
    }
}

/// An ICU regex. `NSRegularExpression` is immutable after creation and documented as safe to use
/// from several threads at once, hence `@unchecked Sendable`.
final class CompiledRegex: @unchecked Sendable {
    let pattern: String
    let regex: NSRegularExpression

    init(_ pattern: String) throws {
        self.pattern = pattern
        regex = try NSRegularExpression(pattern: pattern)
    }

    /// Match byte ranges in UTF-8 `bytes` (converted from ICU's UTF-16 offsets).
    func matches(in bytes: [UInt8]) -> [Range<Int>] {
        let string = String(decoding: bytes, as: UTF8.self)
        // utf16 offset → utf8 offset, for every scalar boundary.
        var map = [Int](repeating: 0, count: string.utf16.count + 1)
        var u16 = 0
        var u8 = 0
        for scalar in string.unicodeScalars {
            let w16 = UTF16.width(scalar)
            let w8 = UTF8.width(scalar)
            for k in 0..<w16 { map[u16 + k] = u8 }
            u16 += w16
            u8 += w8
        }
        map[u16] = u8
        let found = regex.matches(in: string, range: NSRange(location: 0, length: u16))
        return found.compactMap { m in
            let r = m.range
            guard r.location != NSNotFound, r.length > 0 else { return nil }
            return map[r.location]..<map[r.location + r.length]
        }
    }
}

/// How a split treats the pieces a pattern matches (`SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// `NormalizedString::split`: the kept byte ranges, given the text length and the match
    /// ranges (sorted, disjoint). Empty ranges are dropped.
    func split(count n: Int, matches: [Range<Int>], invert: Bool = false) -> [Range<Int>] {
        var parts: [(Range<Int>, Bool)] = []
        var last = 0
        for m in matches {
            if last < m.lowerBound { parts.append((last..<m.lowerBound, invert)) }
            parts.append((m, !invert))
            last = m.upperBound
        }
        if last < n { parts.append((last..<n, invert)) }
        var kept: [Range<Int>] = []
        switch self {
        case .isolated:
            kept = parts.map(\.0)
        case .removed:
            kept = parts.filter { !$0.1 }.map(\.0)
        case .contiguous:
            var previous = false
            for (range, isMatch) in parts {
                if isMatch == previous, let tail = kept.last {
                    kept[kept.count - 1] = tail.lowerBound..<range.upperBound
                } else {
                    kept.append(range)
                }
                previous = isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for (range, isMatch) in parts {
                if isMatch && !previous, let tail = kept.last {
                    kept[kept.count - 1] = tail.lowerBound..<range.upperBound
                } else {
                    kept.append(range)
                }
                previous = isMatch
            }
        case .mergedWithNext:
            var previous = false
            for (range, isMatch) in parts.reversed() {
                if isMatch && !previous, let head = kept.last {
                    kept[kept.count - 1] = range.lowerBound..<head.upperBound
                } else {
                    kept.append(range)
                }
                previous = isMatch
            }
            kept.reverse()
        }
        return kept.filter { !$0.isEmpty }
    }
}

/// Per-scalar predicates of the character-class pre-tokenizers.
enum CharacterClass {
    /// Rust `char::is_numeric`: general categories Nd, Nl, No.
    static func isNumeric(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    /// `tokenizers`' `is_punc`: ASCII punctuation (symbols included) or a Unicode P* category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII {
            let v = s.value
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Rust regex `\w` (Unicode): alphabetic, marks, decimal digits, connector punctuation,
    /// join controls.
    static func isWord(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// The byte ranges of the scalars of `text` for which `predicate` holds.
    static func matches(in text: NormalizedText, _ predicate: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        text.scalars().filter { predicate($0.scalar) }.map(\.range)
    }
}
