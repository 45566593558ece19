/// One lexical token of a template.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case end
    }

    var kind: Kind
    var location: SourceLocation
}

/// Splits a template into text and tag tokens, as jinja2's lexer does with transformers' settings:
/// `trim_blocks=True` (the first newline after a block or comment tag is dropped),
/// `lstrip_blocks=True` (spaces and tabs before a block or comment tag on its own line are dropped),
/// `-` on a tag strips all whitespace on that side, `+` disables the two settings for that side,
/// newlines are normalised to `\n` and one trailing newline of the source is dropped
/// (`keep_trailing_newline=False`).
struct Lexer {
    private let chars: [Unicode.Scalar]
    private let lineStarts: [Int]
    private var position = 0
    private var tokens: [Token] = []

    static func tokenize(_ source: String) throws(TemplateError) -> [Token] {
        var lexer = Lexer(source: source)
        try lexer.run()
        lexer.tokens.append(Token(kind: .end, location: lexer.location(lexer.chars.count)))
        return lexer.tokens
    }

    private init(source: String) {
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(source.unicodeScalars.count)
        var previousWasCR = false
        for scalar in source.unicodeScalars {
            if scalar == "\r" {
                normalized.append("\n")
                previousWasCR = true
                continue
            }
            if scalar == "\n" && previousWasCR { previousWasCR = false; continue }
            previousWasCR = false
            normalized.append(scalar)
        }
        if normalized.last == "\n" { normalized.removeLast() }
        chars = normalized
        var starts = [0]
        for (index, scalar) in normalized.enumerated() where scalar == "\n" { starts.append(index + 1) }
        lineStarts = starts
    }

    private func location(_ index: Int) -> SourceLocation {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= index { low = mid } else { high = mid - 1 }
        }
        return SourceLocation(line: low + 1, column: index - lineStarts[low] + 1)
    }

    private func error(_ message: String, at index: Int) -> TemplateError {
        TemplateError(.syntax, message, at: location(index))
    }

    private func starts(with literal: String, at index: Int) -> Bool {
        var i = index
        for scalar in literal.unicodeScalars {
            guard i < chars.count, chars[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        PythonString.isWhitespace(scalar)
    }

    private mutating func emitText(_ text: ArraySlice<Unicode.Scalar>, at index: Int) {
        guard !text.isEmpty else { return }
        var string = String.UnicodeScalarView()
        string.append(contentsOf: text)
        tokens.append(Token(kind: .text(String(string)), location: location(index)))
    }

    /// Applies the left-hand whitespace control of a tag to the text before it.
    private func controlled(
        _ text: ArraySlice<Unicode.Scalar>, sign: Unicode.Scalar?, isVariable: Bool, lineStarting: Bool
    ) -> ArraySlice<Unicode.Scalar> {
        if sign == "-" {
            var end = text.endIndex
            while end > text.startIndex, Self.isWhitespace(text[end - 1]) { end -= 1 }
            return text[text.startIndex..<end]
        }
        guard sign != "+", !isVariable else { return text }
        let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? text.startIndex
        guard lineStart > text.startIndex || lineStarting else { return text }
        let rest = text[lineStart...]
        guard !rest.isEmpty, rest.allSatisfy(Self.isWhitespace) else { return text }
        return text[text.startIndex..<lineStart]
    }

    private mutating func run() throws(TemplateError) {
        var lineStarting = true
        while position < chars.count {
            // Find the next tag opening.
            var open = position
            while open + 1 < chars.count,
                !(chars[open] == "{"
                    && (chars[open + 1] == "{" || chars[open + 1] == "%" || chars[open + 1] == "#"))
            {
                open += 1
            }
            guard open + 1 < chars.count else {
                emitText(chars[position...], at: position)
                return
            }
            let kind = chars[open + 1]
            var cursor = open + 2
            var sign: Unicode.Scalar?
            if cursor < chars.count, chars[cursor] == "-" || chars[cursor] == "+" {
                sign = chars[cursor]
                cursor += 1
            }
            let text = controlled(
                chars[position..<open], sign: sign, isVariable: kind == "{", lineStarting: lineStarting)
            emitText(text, at: position)

            switch kind {
            case "#":
                position = try skipComment(from: cursor, openedAt: open)
            case "%" where isRawBegin(at: cursor):
                position = try lexRaw(from: cursor, openedAt: open)
            default:
                let isBlock = kind == "%"
                tokens.append(Token(kind: isBlock ? .blockBegin : .variableBegin, location: location(open)))
                position = try lexTag(from: cursor, isBlock: isBlock, openedAt: open)
            }
            lineStarting = position > 0 && chars[position - 1] == "\n"
        }
    }

    /// Consumes a tag's closing delimiter and its right-hand whitespace control; returns the index after it.
    private func closeTag(at index: Int, delimiter: String, trims: Bool) -> Int? {
        var end: Int
        var sign: Unicode.Scalar?
        if (chars[index] == "-" || chars[index] == "+") && starts(with: delimiter, at: index + 1) {
            sign = chars[index]
            end = index + 1 + delimiter.unicodeScalars.count
        } else if starts(with: delimiter, at: index) {
            end = index + delimiter.unicodeScalars.count
        } else {
            return nil
        }
        if sign == "+" && !trims { return nil }  // `+}}` is not a closing delimiter in jinja2
        if sign == "-" {
            while end < chars.count, Self.isWhitespace(chars[end]) { end += 1 }
        } else if sign == nil, trims, end < chars.count, chars[end] == "\n" {
            end += 1
        }
        return end
    }

    private func skipComment(from start: Int, openedAt open: Int) throws(TemplateError) -> Int {
        var index = start
        while index < chars.count {
            if let end = closeTag(at: index, delimiter: "#}", trims: true) { return end }
            index += 1
        }
        throw error("missing end of comment tag", at: open)
    }

    private func isRawBegin(at start: Int) -> Bool {
        var index = start
        while index < chars.count, Self.isWhitespace(chars[index]) { index += 1 }
        guard starts(with: "raw", at: index) else { return false }
        index += 3
        while index < chars.count, Self.isWhitespace(chars[index]) { index += 1 }
        return starts(with: "%}", at: index) || starts(with: "-%}", at: index)
    }

    private mutating func lexRaw(from start: Int, openedAt open: Int) throws(TemplateError) -> Int {
        var index = start
        while !starts(with: "%}", at: index) && !starts(with: "-%}", at: index) { index += 1 }
        // jinja2's raw opening tag takes no trim_blocks newline, only `-` stripping.
        if chars[index] == "-" {
            index += 3
            while index < chars.count, Self.isWhitespace(chars[index]) { index += 1 }
        } else {
            index += 2
        }
        let bodyStart = index
        while index + 1 < chars.count {
            if chars[index] == "{" && chars[index + 1] == "%" {
                var cursor = index + 2
                var sign: Unicode.Scalar?
                if cursor < chars.count, chars[cursor] == "-" || chars[cursor] == "+" {
                    sign = chars[cursor]
                    cursor += 1
                }
                while cursor < chars.count, Self.isWhitespace(chars[cursor]) { cursor += 1 }
                if starts(with: "endraw", at: cursor) {
                    cursor += 6
                    while cursor < chars.count, Self.isWhitespace(chars[cursor]) { cursor += 1 }
                    if cursor < chars.count, let end = closeTag(at: cursor, delimiter: "%}", trims: true) {
                        let body = controlled(
                            chars[bodyStart..<index], sign: sign, isVariable: false, lineStarting: false)
                        emitText(body, at: bodyStart)
                        return end
                    }
                }
            }
            index += 1
        }
        throw error("missing end of raw directive", at: open)
    }

    private mutating func lexTag(from start: Int, isBlock: Bool, openedAt open: Int) throws(TemplateError)
        -> Int
    {
        var index = start
        var depth = 0
        while index < chars.count {
            let scalar = chars[index]
            if Self.isWhitespace(scalar) { index += 1; continue }
            if depth == 0 {
                let delimiter = isBlock ? "%}" : "}}"
                if let end = closeTag(at: index, delimiter: delimiter, trims: isBlock) {
                    tokens.append(Token(kind: isBlock ? .blockEnd : .variableEnd, location: location(index)))
                    return end
                }
            }
            let here = location(index)
            if let (token, next) = try number(at: index) {
                tokens.append(Token(kind: token, location: here))
                index = next
            } else if scalar == "_" || scalar.properties.isAlphabetic {
                var end = index + 1
                while end < chars.count,
                    chars[end] == "_" || chars[end].properties.isAlphabetic
                        || ("0"..."9").contains(chars[end])
                {
                    end += 1
                }
                tokens.append(
                    Token(kind: .name(String(String.UnicodeScalarView(chars[index..<end]))), location: here))
                index = end
            } else if scalar == "'" || scalar == "\"" {
                let (string, next) = try stringLiteral(at: index)
                tokens.append(Token(kind: .string(string), location: here))
                index = next
            } else {
                let two =
                    index + 1 < chars.count
                    ? String(String.UnicodeScalarView([scalar, chars[index + 1]])) : ""
                if ["//", "**", "==", "!=", ">=", "<="].contains(two) {
                    tokens.append(Token(kind: .op(two), location: here))
                    index += 2
                } else if "+-/*%~[](){}<>=.:|,;".unicodeScalars.contains(scalar) {
                    if scalar == "(" || scalar == "[" || scalar == "{" { depth += 1 }
                    if scalar == ")" || scalar == "]" || scalar == "}" {
                        if depth == 0 { throw error("unexpected '\(scalar)'", at: index) }
                        depth -= 1
                    }
                    tokens.append(Token(kind: .op(String(scalar)), location: here))
                    index += 1
                } else {
                    throw error("unexpected character '\(scalar)'", at: index)
                }
            }
        }
        throw error("unexpected end of template: the tag opened here is not closed", at: open)
    }

    private func isDigit(_ index: Int) -> Bool { index < chars.count && ("0"..."9").contains(chars[index]) }

    /// Digits with optional `_` separators, starting at `index` (which must be a digit).
    private func digits(from index: Int) -> Int {
        var end = index
        while isDigit(end) || (end < chars.count && chars[end] == "_" && isDigit(end + 1) && end > index) {
            end += 1
        }
        return end
    }

    private func number(at index: Int) throws(TemplateError) -> (Token.Kind, Int)? {
        guard isDigit(index) else { return nil }
        // A number right after `.` is an attribute like `x.0`, never a float `0.1`.
        let afterDot = index > 0 && chars[index - 1] == "."
        if chars[index] == "0", index + 1 < chars.count, "xXoObB".unicodeScalars.contains(chars[index + 1]) {
            let radix =
                "xX".unicodeScalars.contains(chars[index + 1])
                ? 16
                : "oO".unicodeScalars.contains(chars[index + 1]) ? 8 : 2
            var end = index + 2
            while end < chars.count, chars[end] == "_" || chars[end].properties.isASCIIHexDigit { end += 1 }
            let text = String(String.UnicodeScalarView(chars[(index + 2)..<end])).filter { $0 != "_" }
            guard let value = Int(text, radix: radix) else {
                throw error("invalid integer literal", at: index)
            }
            return (.integer(value), end)
        }
        var end = digits(from: index)
        var isFloat = false
        if !afterDot, end < chars.count, chars[end] == ".", isDigit(end + 1) {
            end = digits(from: end + 1)
            isFloat = true
        }
        if !afterDot, end < chars.count, chars[end] == "e" || chars[end] == "E" {
            var exponent = end + 1
            if exponent < chars.count, chars[exponent] == "+" || chars[exponent] == "-" { exponent += 1 }
            if isDigit(exponent) {
                end = digits(from: exponent)
                isFloat = true
            }
        }
        let text = String(String.UnicodeScalarView(chars[index..<end])).filter { $0 != "_" }
        if isFloat {
            guard let value = Double(text) else { throw error("invalid float literal", at: index) }
            return (.float(value), end)
        }
        guard let value = Int(text) else { throw error("integer literal too large", at: index) }
        return (.integer(value), end)
    }

    /// A quoted string with Python's backslash escapes (jinja2 decodes them with `unicode-escape`).
    private func stringLiteral(at start: Int) throws(TemplateError) -> (String, Int) {
        let quote = chars[start]
        var index = start + 1
        var result = String.UnicodeScalarView()
        while index < chars.count {
            let scalar = chars[index]
            if scalar == quote { return (String(result), index + 1) }
            guard scalar == "\\", index + 1 < chars.count else {
                result.append(scalar)
                index += 1
                continue
            }
            let escape = chars[index + 1]
            index += 2
            switch escape {
            case "n": result.append("\n")
            case "t": result.append("\t")
            case "r": result.append("\r")
            case "\\": result.append("\\")
            case "'": result.append("'")
            case "\"": result.append("\"")
            case "a": result.append("\u{07}")
            case "b": result.append("\u{08}")
            case "f": result.append("\u{0C}")
            case "v": result.append("\u{0B}")
            case "\n": break  // a backslash-newline continues the line
            case "x", "u", "U":
                let width = escape == "x" ? 2 : escape == "u" ? 4 : 8
                guard index + width <= chars.count,
                    let code = UInt32(
                        String(String.UnicodeScalarView(chars[index..<index + width])), radix: 16),
                    let decoded = Unicode.Scalar(code)
                else { throw error("invalid \\\(escape) escape in a string literal", at: index - 2) }
                result.append(decoded)
                index += width
            case "0"..."7":
                var code = escape.value - 48
                var count = 1
                while count < 3, index < chars.count, ("0"..."7").contains(chars[index]) {
                    code = code * 8 + chars[index].value - 48
                    index += 1
                    count += 1
                }
                result.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default:
                // Python keeps unknown escapes as written.
                result.append("\\")
                result.append(escape)
            }
        }
        throw error("unterminated string literal", at: start)
    }
}
