/// A JSON document as written: objects keep their members in file order (duplicates included),
/// strings keep their exact UTF-8 bytes, and integer literals stay integers.
///
/// Both readers of Hugging Face files need this and Foundation's `JSONSerialization` gives neither:
/// a chat template's `tojson` must print keys in file order and `1` apart from `1.0` (Python's
/// `json`), and a `tokenizer.json` vocabulary has keys that Swift's `String` equality would merge
/// (`"é"` and `"e\u{301}"` are two SentencePiece tokens) or alter (a key that is U+FEFF).
public indirect enum JSONNode: Sendable {
    case null
    case bool(Bool)
    /// A literal without `.`, `e` or `E` that fits in `Int` (Python's `int`).
    case integer(Int)
    /// Any other number (Python's `float`); integers too large for `Int` land here.
    case number(Double)
    case string([UInt8])
    case array([JSONNode])
    case object([(key: [UInt8], value: JSONNode)])

    /// Parses UTF-8 JSON text. `nonFiniteConstants` accepts `NaN`, `Infinity` and `-Infinity`,
    /// which Python's `json` writes and reads but the JSON grammar does not.
    public static func parse(_ bytes: some Collection<UInt8>, nonFiniteConstants: Bool = false)
        throws(JSONSyntaxError) -> JSONNode
    {
        let result: Result<JSONNode, JSONSyntaxError>? = bytes.withContiguousStorageIfAvailable {
            parse(buffer: $0, nonFiniteConstants: nonFiniteConstants)
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer {
            parse(buffer: $0, nonFiniteConstants: nonFiniteConstants)
        }.get()
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, nonFiniteConstants: Bool)
        -> Result<JSONNode, JSONSyntaxError>
    {
        var parser = Parser(
            p: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!, n: buffer.count,
            nonFiniteConstants: nonFiniteConstants)
        do throws(JSONSyntaxError) {
            parser.skipSpace()
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.i == parser.n else { throw parser.fail("text after the JSON value") }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    /// The member of an object named `key` (the last one wins, as in serde and Python), or nil.
    public subscript(key: String) -> JSONNode? {
        guard case .object(let members) = self else { return nil }
        let k = Array(key.utf8)
        return members.last { $0.key == k }?.value
    }

    /// The value of a number, integer or not.
    public var double: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let x): x
        default: nil
        }
    }

    /// The string as Swift text (invalid UTF-8 becomes U+FFFD).
    public var text: String? {
        guard case .string(let bytes) = self else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Where and why JSON text failed to parse.
public struct JSONSyntaxError: Error, Sendable, Equatable {
    /// Byte offset of the failure.
    public var offset: Int
    /// 1-based line and column (in bytes) of `offset`.
    public var line: Int
    public var column: Int
    public var reason: String
}

private struct Parser {
    let p: UnsafePointer<UInt8>
    let n: Int
    let nonFiniteConstants: Bool
    var i = 0

    mutating func skipSpace() {
        while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
    }

    func fail(_ reason: String) -> JSONSyntaxError {
        var line = 1
        var column = 1
        for k in 0..<min(i, n) {
            if p[k] == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return JSONSyntaxError(offset: i, line: line, column: column, reason: reason)
    }

    mutating func expect(_ literal: StaticString) throws(JSONSyntaxError) {
        let bytes = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for b in bytes {
            guard i < n, p[i] == b else { throw fail("expected \(literal)") }
            i += 1
        }
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONNode {
        guard depth < 512 else { throw fail("nested too deeply") }
        guard i < n else { throw fail("unexpected end of input") }
        switch p[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(key: [UInt8], value: JSONNode)] = []
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
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if p[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                throw fail("expected , or } in an object")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONNode] = []
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
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                if p[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                throw fail("expected , or ] in an array")
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
        case UInt8(ascii: "N") where nonFiniteConstants:
            try expect("NaN")
            return .number(.nan)
        case UInt8(ascii: "I") where nonFiniteConstants:
            try expect("Infinity")
            return .number(.infinity)
        case UInt8(ascii: "-") where nonFiniteConstants && i + 1 < n && p[i + 1] == UInt8(ascii: "I"):
            try expect("-Infinity")
            return .number(-.infinity)
        default:
            return try number()
        }
    }

    /// A number by the JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() throws(JSONSyntaxError) -> JSONNode {
        let start = i
        func isDigit(_ k: Int) -> Bool { k < n && p[k] >= 0x30 && p[k] <= 0x39 }
        if i < n, p[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw fail("expected a value") }
        var integer = 0
        var fits = true
        if p[i] == 0x30 {
            i += 1
        } else {
            while isDigit(i) {
                let (times10, o1) = integer.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(p[i] - 0x30))
                if o1 || o2 { fits = false } else { integer = sum }
                i += 1
            }
        }
        var isInteger = true
        if i < n, p[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard isDigit(i) else { throw fail("expected a digit after the decimal point") }
            while isDigit(i) { i += 1 }
        }
        if i < n, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < n, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw fail("expected a digit in the exponent") }
            while isDigit(i) { i += 1 }
        }
        let negative = p[start] == UInt8(ascii: "-")
        if isInteger && fits { return .integer(negative ? -integer : integer) }
        let literal = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
        guard let value = Double(literal) else { throw fail("malformed number \(literal)") }
        return .number(value)
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
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

    /// A string at `p[i] == "`; returns its UTF-8 bytes. A lone surrogate escape becomes U+FFFD
    /// (Swift text cannot hold one).
    mutating func string() throws(JSONSyntaxError) -> [UInt8] {
        i += 1
        let start = i
        // Fast path: the run before the first escape or the closing quote.
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
                out += String(Unicode.Scalar(v) ?? "\u{FFFD}").utf8
            default:
                i -= 1
                throw fail("bad escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
    }
}
