import Foundation

/// A JSON reader for `tokenizer.json` that keeps strings as their exact UTF-8 bytes.
///
/// `JSONSerialization` cannot be used for vocabularies: its `[String: Any]` merges keys that are
/// canonically equivalent Swift strings (`"é"` and `"e\u{301}"` are two tokens of a
/// SentencePiece vocabulary) and it drops a U+FEFF from keys (a real token). Objects keep
/// their members in file order.
indirect enum TokenizerJSON {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt8])
    case array([TokenizerJSON])
    case object([(key: [UInt8], value: TokenizerJSON)])

    struct SyntaxError: Error {
        var offset: Int
        var reason: String
    }

    static func parse(_ data: Data) throws -> TokenizerJSON {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var parser = Parser(p: bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, n: bytes.count)
            parser.skipSpace()
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.i == parser.n else {
                throw SyntaxError(offset: parser.i, reason: "text after the JSON value")
            }
            return value
        }
    }

    /// The member of an object (last one wins, as in serde), or nil.
    subscript(key: String) -> TokenizerJSON? {
        guard case .object(let members) = self else { return nil }
        let k = Array(key.utf8)
        return members.last { $0.key == k }?.value
    }

    /// Foundation values (`[String: Any]`, `[Any]`, `String`, `NSNumber`, `Bool`, `NSNull`)
    /// for the small component objects.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let x): return NSNumber(value: x)
        case .string(let s): return String(decoding: s, as: UTF8.self)
        case .array(let items): return items.map(\.foundation)
        case .object(let members):
            var out: [String: Any] = [:]
            for (k, v) in members { out[String(decoding: k, as: UTF8.self)] = v.foundation }
            return out
        }
    }

    private struct Parser {
        let p: UnsafePointer<UInt8>
        let n: Int
        var i = 0

        mutating func skipSpace() {
            while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
        }

        func fail(_ reason: String) -> SyntaxError { SyntaxError(offset: i, reason: reason) }

        mutating func expect(_ literal: String) throws {
            for b in literal.utf8 {
                guard i < n, p[i] == b else { throw fail("expected \(literal)") }
                i += 1
            }
        }

        mutating func value(depth: Int) throws -> TokenizerJSON {
            guard depth < 512 else { throw fail("nested too deeply") }
            guard i < n else { throw fail("unexpected end of input") }
            switch p[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(key: [UInt8], value: TokenizerJSON)] = []
                skipSpace()
                if i < n, p[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard i < n, p[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard i < n else { throw fail("unterminated object") }
                    if p[i] == UInt8(ascii: ",") { i += 1; continue }
                    if p[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    throw fail("expected , or }")
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [TokenizerJSON] = []
                skipSpace()
                if i < n, p[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard i < n else { throw fail("unterminated array") }
                    if p[i] == UInt8(ascii: ",") { i += 1; continue }
                    if p[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    throw fail("expected , or ]")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                return .number(try number())
            }
        }

        mutating func number() throws -> Double {
            let start = i
            if i < n, p[i] == UInt8(ascii: "-") { i += 1 }
            var integer: Int = 0
            var simple = true
            var digits = 0
            while i < n, p[i] >= 0x30, p[i] <= 0x39 {
                if digits < 15 { integer = integer * 10 + Int(p[i] - 0x30) } else { simple = false }
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw fail("expected a value") }
            while i < n,
                p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")
                    || p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")
                    || (p[i] >= 0x30 && p[i] <= 0x39)
            {
                simple = false
                i += 1
            }
            if simple { return Double(p[start] == UInt8(ascii: "-") ? -integer : integer) }
            let text = String(
                decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
            guard let value = Double(text) else { throw fail("malformed number \(text)") }
            return value
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= n else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = p[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        /// A string at `p[i] == "`; returns its UTF-8 bytes.
        mutating func string() throws -> [UInt8] {
            i += 1
            let start = i
            // Fast path: no escapes.
            while i < n, p[i] != UInt8(ascii: "\""), p[i] != UInt8(ascii: "\\") { i += 1 }
            guard i < n else { throw fail("unterminated string") }
            var out = Array(UnsafeBufferPointer(start: p + start, count: i - start))
            while true {
                guard i < n else { throw fail("unterminated string") }
                let c = p[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return out
                }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    i += 1
                    continue
                }
                i += 1
                guard i < n else { throw fail("unterminated escape") }
                let e = p[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800 && v < 0xDC00, i + 6 <= n, p[i] == UInt8(ascii: "\\"),
                        p[i + 1] == UInt8(ascii: "u")
                    {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if low >= 0xDC00 && low < 0xE000 {
                            v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
                    out += String(scalar).utf8
                default:
                    throw fail("bad escape \\\(Character(Unicode.Scalar(e)))")
                }
            }
        }
    }
}
