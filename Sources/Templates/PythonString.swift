/// Python's `str` operations, which work on Unicode code points (not Swift's grapheme clusters):
/// templates index, slice, strip and split strings, and the results must match CPython's.
enum PythonString {
    typealias Scalars = [Unicode.Scalar]

    /// `str.isspace()` for one code point.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
            0x3000:
            return true
        default:
            return false
        }
    }

    static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    static func strip(
        _ string: String, characters: String?, leading: Bool = true, trailing: Bool = true
    ) -> String {
        let scalars = Array(string.unicodeScalars)
        let set = characters.map { Set($0.unicodeScalars) }
        let drop = { (scalar: Unicode.Scalar) in set?.contains(scalar) ?? isWhitespace(scalar) }
        var start = 0
        var end = scalars.count
        if leading { while start < end, drop(scalars[start]) { start += 1 } }
        if trailing { while end > start, drop(scalars[end - 1]) { end -= 1 } }
        return Self.string(scalars[start..<end])
    }

    /// Index of the first occurrence of `needle` in `haystack` at or after `from`, in code points.
    static func find(_ needle: Scalars, in haystack: Scalars, from: Int = 0) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        if needle.isEmpty { return from <= haystack.count ? from : nil }
        var index = max(from, 0)
        while index + needle.count <= haystack.count {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }

    static func rfind(_ needle: Scalars, in haystack: Scalars) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var index = haystack.count - needle.count
        while index >= 0 {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index -= 1
        }
        return nil
    }

    static func contains(_ haystack: String, _ needle: String) -> Bool {
        find(Array(needle.unicodeScalars), in: Array(haystack.unicodeScalars)) != nil
    }

    static func count(_ needle: String, in haystack: String) -> Int {
        let needle = Array(needle.unicodeScalars)
        let haystack = Array(haystack.unicodeScalars)
        if needle.isEmpty { return haystack.count + 1 }
        var count = 0
        var index = 0
        while let found = find(needle, in: haystack, from: index) {
            count += 1
            index = found + needle.count
        }
        return count
    }

    /// `str.replace(old, new, count)`.
    static func replace(_ string: String, _ old: String, _ new: String, count limit: Int = -1) -> String {
        let haystack = Array(string.unicodeScalars)
        let needle = Array(old.unicodeScalars)
        let replacement = Array(new.unicodeScalars)
        var result: Scalars = []
        var replaced = 0
        if needle.isEmpty {
            // Python inserts `new` between every code point and at both ends.
            for scalar in haystack {
                if limit < 0 || replaced < limit { result += replacement; replaced += 1 }
                result.append(scalar)
            }
            if limit < 0 || replaced < limit { result += replacement }
            return self.string(result)
        }
        var index = 0
        while limit < 0 || replaced < limit, let found = find(needle, in: haystack, from: index) {
            result += haystack[index..<found]
            result += replacement
            index = found + needle.count
            replaced += 1
        }
        result += haystack[index...]
        return self.string(result)
    }

    /// `str.split(sep, maxsplit)`; `sep == nil` splits on whitespace runs and drops empty parts.
    static func split(_ string: String, separator: String?, maxSplit: Int = -1) -> [String] {
        let scalars = Array(string.unicodeScalars)
        guard let separator else {
            var parts: [String] = []
            var index = 0
            while true {
                while index < scalars.count, isWhitespace(scalars[index]) { index += 1 }
                if index == scalars.count { break }
                if maxSplit >= 0, parts.count == maxSplit {
                    // Python keeps the rest as it is, trailing whitespace included.
                    parts.append(self.string(scalars[index...]))
                    break
                }
                let start = index
                while index < scalars.count, !isWhitespace(scalars[index]) { index += 1 }
                parts.append(self.string(scalars[start..<index]))
            }
            return parts
        }
        let needle = Array(separator.unicodeScalars)
        var parts: [String] = []
        var index = 0
        while maxSplit < 0 || parts.count < maxSplit, let found = find(needle, in: scalars, from: index) {
            parts.append(self.string(scalars[index..<found]))
            index = found + needle.count
        }
        parts.append(self.string(scalars[index...]))
        return parts
    }

    /// `str.rsplit(sep, maxsplit)`.
    static func rsplit(_ string: String, separator: String?, maxSplit: Int = -1) -> [String] {
        guard maxSplit >= 0 else { return split(string, separator: separator) }
        // Splitting the reversed string with the reversed separator is the same as splitting from the right.
        let reversed = self.string(string.unicodeScalars.reversed())
        let reversedSeparator = separator.map { self.string($0.unicodeScalars.reversed()) }
        return split(reversed, separator: reversedSeparator, maxSplit: maxSplit)
            .map { self.string($0.unicodeScalars.reversed()) }.reversed()
    }

    /// `str.splitlines()` (without keepends).
    static func splitLines(_ string: String) -> [String] {
        let scalars = Array(string.unicodeScalars)
        var lines: [String] = []
        var start = 0
        var index = 0
        while index < scalars.count {
            let value = scalars[index].value
            if [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029].contains(value) {
                lines.append(self.string(scalars[start..<index]))
                if value == 0x0D, index + 1 < scalars.count, scalars[index + 1] == "\n" { index += 1 }
                start = index + 1
            }
            index += 1
        }
        if start < scalars.count { lines.append(self.string(scalars[start...])) }
        return lines
    }

    private static func isCased(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isLowercase || scalar.properties.isUppercase
            || scalar.properties.generalCategory == .titlecaseLetter
    }

    /// `str.title()`: a cased character after an uncased one is title-cased, others lowercased.
    static func title(_ string: String) -> String {
        var result = ""
        var previousCased = false
        for scalar in string.unicodeScalars {
            result += previousCased ? scalar.properties.lowercaseMapping : scalar.properties.titlecaseMapping
            previousCased = isCased(scalar)
        }
        return result
    }

    /// `str.capitalize()`: first code point title-cased, the rest lowercased.
    static func capitalize(_ string: String) -> String {
        var result = ""
        for (index, scalar) in string.unicodeScalars.enumerated() {
            result += index == 0 ? scalar.properties.titlecaseMapping : scalar.properties.lowercaseMapping
        }
        return result
    }

    /// jinja2's `title` filter: words start after `-`, whitespace or an opening bracket.
    static func jinjaTitle(_ string: String) -> String {
        let separators: Set<Unicode.Scalar> = ["-", "(", "{", "[", "<"]
        var result = ""
        var atWordStart = true
        for scalar in string.unicodeScalars {
            let isSeparator = separators.contains(scalar) || isWhitespace(scalar)
            if isSeparator {
                result.unicodeScalars.append(scalar)
                atWordStart = true
            } else {
                result +=
                    atWordStart ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping
                atWordStart = false
            }
        }
        return result
    }

    static func upper(_ string: String) -> String {
        string.unicodeScalars.map(\.properties.uppercaseMapping).joined()
    }

    static func lower(_ string: String) -> String {
        string.unicodeScalars.map(\.properties.lowercaseMapping).joined()
    }

    /// Python's `repr(str)`.
    static func repr(_ string: String) -> String {
        let quote: Unicode.Scalar =
            string.unicodeScalars.contains("'") && !string.unicodeScalars.contains("\"")
            ? "\"" : "'"
        var result = String(quote)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case quote: result += "\\" + String(quote)
            default:
                if isPrintable(scalar) {
                    result.unicodeScalars.append(scalar)
                } else if scalar.value < 0x100 {
                    result += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value < 0x10000 {
                    result += "\\u" + hex(scalar.value, width: 4)
                } else {
                    result += "\\U" + hex(scalar.value, width: 8)
                }
            }
        }
        result.unicodeScalars.append(quote)
        return result
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `str.isprintable()` for one code point: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs
    /// other than the space.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16.
    static func repr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        let swift = value.description  // shortest round-trip, like Python's
        guard let e = swift.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return swift }
        let exponent = Int(swift[swift.index(after: e)...])!
        guard exponent >= -4 && exponent < 16 else {
            // Python writes at least two exponent digits: 1e-05, 1e+16.
            let mantissa = swift[..<e]
            let sign = exponent < 0 ? "-" : "+"
            let digits = String(abs(exponent))
            return mantissa + "e" + sign + (digits.count < 2 ? "0" + digits : digits)
        }
        // Swift switched to exponent form earlier than Python does (from 2^53): write it positionally.
        var mantissa = String(swift[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa.removeFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
        let pointPosition = parts[0].count + exponent
        var text: String
        if pointPosition >= digits.count {
            text = digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
        } else if pointPosition <= 0 {
            text = "0." + String(repeating: "0", count: -pointPosition) + digits
        } else {
            let index = digits.index(digits.startIndex, offsetBy: pointPosition)
            text = digits[..<index] + "." + digits[index...]
        }
        return (negative ? "-" : "") + text
    }
}
