import Foundation

/// Finds a number literal Foundation's JSON parser refuses (`1e400`: "not representable") or
/// its decoder rejects without a path (`1e-400`), and the key it belongs to, so the error can
/// name the parameter as OpenAI's do rather than call the whole body invalid JSON.
enum JSONNumberScan {
    struct Finding: Equatable {
        /// The nearest key before the number (`temperature`), nil at the top level.
        var key: String?
        var literal: String
    }

    /// The first number literal in `body` that does not survive conversion to a finite Double
    /// (overflow to ±infinity, or a non-zero value that underflows to zero).
    static func firstUnrepresentableNumber(in body: Data) -> Finding? {
        let bytes = [UInt8](body)
        var i = 0
        var lastString: String?
        var key: String?
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                var j = i + 1
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") {
                    j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1
                }
                lastString = String(decoding: bytes[(i + 1)..<min(j, bytes.count)], as: UTF8.self)
                i = j + 1
                continue
            }
            if byte == UInt8(ascii: ":") {
                key = lastString
            } else if byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                var j = i
                while j < bytes.count, "+-.eE0123456789".utf8.contains(bytes[j]) { j += 1 }
                let literal = String(decoding: bytes[i..<j], as: UTF8.self)
                if !representable(literal) { return Finding(key: key, literal: literal) }
                i = j
                continue
            }
            i += 1
        }
        return nil
    }

    private static func representable(_ literal: String) -> Bool {
        guard let value = Double(literal) else { return true }  // not a number: the parser reports it
        if !value.isFinite { return false }
        if value == 0 {
            // Zero only if the mantissa is all zeros.
            let mantissa = literal.prefix { $0 != "e" && $0 != "E" }
            return !mantissa.contains { ("1"..."9").contains($0) }
        }
        return true
    }
}
