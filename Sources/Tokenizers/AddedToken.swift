import Foundation

/// An entry of `added_tokens` in `tokenizer.json`: text that is cut out of the input before
/// normalisation and pre-tokenisation and becomes one id, with `tokenizers`' flags.
public struct AddedToken: Sendable, Equatable, Hashable {
    public var id: TokenID
    public var content: String
    /// Special tokens are recognised only where `SpecialTokenPolicy` allows, and
    /// `decode(…, skipSpecialTokens: true)` drops them.
    public var special: Bool
    /// Also swallows the whitespace before it.
    public var lstrip: Bool
    /// Also swallows the whitespace after it.
    public var rstrip: Bool
    /// Matches only where no word character (`\w`) is next to it.
    public var singleWord: Bool
    /// Matched in the normalised text (against its normalised content) rather than the input.
    public var normalized: Bool

    public init(
        id: TokenID, content: String, special: Bool = true, lstrip: Bool = false, rstrip: Bool = false,
        singleWord: Bool = false, normalized: Bool? = nil
    ) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
        self.normalized = normalized ?? !special
    }
}

/// A set of added tokens to cut out of text, as `AddedVocabulary::find_matches` does:
/// leftmost-longest matches, then the `single_word`, `lstrip` and `rstrip` rules.
struct AddedTokenMatcher: Sendable {
    struct Entry: Sendable {
        var bytes: [UInt8]
        var token: AddedToken
    }
    /// Longest first, so the first hit at a position is the longest.
    let entries: [Entry]
    let firstByte: [Bool]
    /// First two bytes of some entry: a text with `<` everywhere (code, HTML) is not compared
    /// with all of Llama 3's 256 `<|…|>` tokens at each one.
    let firstPair: [Bool]
    let hasSingleByte: Bool
    let needsRules: Bool

    init(_ entries: [Entry]) {
        self.entries = entries.filter { !$0.bytes.isEmpty }.sorted {
            $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.token.id < $1.token.id
        }
        var first = [Bool](repeating: false, count: 256)
        var pairs = [Bool](repeating: false, count: 65536)
        for e in self.entries {
            first[Int(e.bytes[0])] = true
            if e.bytes.count > 1 { pairs[Int(e.bytes[0]) << 8 | Int(e.bytes[1])] = true }
        }
        firstByte = first
        firstPair = pairs
        hasSingleByte = self.entries.contains { $0.bytes.count == 1 }
        needsRules = self.entries.contains { $0.token.lstrip || $0.token.rstrip || $0.token.singleWord }
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Splits `p[0..<n]` into text ranges (id nil) and added-token ranges.
    func split(_ p: UnsafePointer<UInt8>, _ n: Int) -> [(id: TokenID?, range: Range<Int>)] {
        var out: [(TokenID?, Range<Int>)] = []
        guard !entries.isEmpty else { return n > 0 ? [(nil, 0..<n)] : [] }
        var startOffset = 0
        var i = 0
        while i < n {
            guard firstByte[Int(p[i])],
                hasSingleByte || (i + 1 < n && firstPair[Int(p[i]) << 8 | Int(p[i + 1])])
            else {
                i += 1
                continue
            }
            var found: Entry? = nil
            for e in entries where e.bytes[0] == p[i] && i + e.bytes.count <= n {
                if memcmp(p + i, e.bytes, e.bytes.count) == 0 {
                    found = e
                    break
                }
            }
            guard let match = found else {
                i += 1
                continue
            }
            var start = i
            var stop = i + match.bytes.count
            i = stop
            let token = match.token
            if token.singleWord {
                let startSpace = start == 0 || !Self.endsWithWord(p, start)
                let stopSpace = stop == n || !Self.startsWithWord(p + stop, n - stop)
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip { start = max(Self.whitespaceStart(p, before: start), startOffset) }
            if token.rstrip { stop += Self.whitespaceLength(p + stop, n - stop) }
            if startOffset < start { out.append((nil, startOffset..<start)) }
            out.append((token.id, start..<stop))
            startOffset = stop
        }
        if startOffset < n { out.append((nil, startOffset..<n)) }
        return out
    }

    static func decodeScalars(_ p: UnsafePointer<UInt8>, _ n: Int) -> [(Unicode.Scalar, Int)] {
        var result: [(Unicode.Scalar, Int)] = []
        var decoder = UTF8()
        var iterator = UnsafeBufferPointer(start: p, count: n).makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                result.append((s, offset))
                offset += UTF8.width(s)
            case .emptyInput: return result
            case .error:
                result.append(("\u{FFFD}", offset))
                offset += 1
            }
        }
    }

    /// The scalar that ends just before `end` (UTF-8 scanned backwards).
    static func scalar(endingAt end: Int, _ p: UnsafePointer<UInt8>) -> (Unicode.Scalar, Int)? {
        guard end > 0 else { return nil }
        var start = end - 1
        while start > 0, end - start < 4, p[start] & 0xC0 == 0x80 { start -= 1 }
        guard let (s, _) = decodeScalars(p + start, end - start).last else { return nil }
        return (s, start)
    }

    static func endsWithWord(_ p: UnsafePointer<UInt8>, _ end: Int) -> Bool {
        scalar(endingAt: end, p).map { CharacterClass.isWord($0.0) } ?? false
    }

    static func startsWithWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard n > 0 else { return false }
        return decodeScalars(p, min(n, 4)).first.map { CharacterClass.isWord($0.0) } ?? false
    }

    /// Start of the whitespace run that ends at `end`.
    static func whitespaceStart(_ p: UnsafePointer<UInt8>, before end: Int) -> Int {
        var at = end
        while let (s, start) = scalar(endingAt: at, p), s.properties.isWhitespace { at = start }
        return at
    }

    /// Length of the whitespace run at the start of `p[0..<n]`.
    static func whitespaceLength(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        var length = 0
        while length < n {
            guard let (s, _) = decodeScalars(p + length, min(4, n - length)).first, s.properties.isWhitespace
            else { break }
            length += UTF8.width(s)
        }
        return length
    }
}
