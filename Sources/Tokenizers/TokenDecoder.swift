/// The `decoder` of a `tokenizer.json`: turns token strings back into text, step by step, as
/// `tokenizers`' `decode_chain` does; the results are joined at the end.
indirect enum TokenDecoder: Sendable {
    /// GPT-2's byte alphabet back to bytes; a token with a character outside it stays as is.
    case byteLevel
    case metaspace(replacement: String, prependScheme: PreTokenization.PrependScheme)
    /// Runs of `<0xXX>` tokens become the UTF-8 text of their bytes (or one U+FFFD per byte).
    case byteFallback
    /// Joins all tokens into one.
    case fuse
    /// Removes up to `start` leading and `stop` trailing `content` characters from each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(TextPattern, String)
    case sequence([TokenDecoder])

    /// Whether this is the byte-level decoder alone, whose output is exactly the tokens' bytes.
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: true
        case .sequence(let steps): steps.count == 1 && steps[0].isByteLevel
        default: false
        }
    }

    func decodeChain(_ tokens: [[UInt8]]) -> [[UInt8]] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                if let decoded = ByteLevel.decode(String(decoding: token, as: UTF8.self)) {
                    bytes += decoded
                } else {
                    bytes += token
                }
            }
            // `String::from_utf8_lossy`.
            return [Array(String(decoding: bytes, as: UTF8.self).utf8)]
        case .metaspace(let replacement, let scheme):
            let mark = Array(replacement.utf8)
            return tokens.enumerated().map { k, token in
                var out: [UInt8] = []
                var i = 0
                while i < token.count {
                    if !mark.isEmpty, token[i...].starts(with: mark) {
                        if !(k == 0 && scheme != .never) { out.append(0x20) }
                        i += mark.count
                    } else {
                        out.append(token[i])
                        i += 1
                    }
                }
                return out
            }
        case .byteFallback:
            var out: [[UInt8]] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if String(validating: pending, as: UTF8.self) != nil {
                    out.append(pending)
                } else {
                    out += [[UInt8]](repeating: Array("\u{FFFD}".utf8), count: pending.count)
                }
                pending.removeAll()
            }
            for token in tokens {
                if let byte = Self.fallbackByte(token) {
                    pending.append(byte)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.flatMap { $0 }]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let chars = Array(String(decoding: token, as: UTF8.self).unicodeScalars)
                var cut = 0
                while cut < min(start, chars.count), chars[cut] == content { cut += 1 }
                var end = chars.count
                var removed = 0
                while removed < stop, end > cut, chars[end - 1] == content {
                    end -= 1
                    removed += 1
                }
                var kept = String.UnicodeScalarView()
                kept.append(contentsOf: chars[cut..<end])
                return Array(String(kept).utf8)
            }
        case .replace(let pattern, let content):
            return tokens.map { token in
                var out: [UInt8] = []
                var last = 0
                for m in pattern.matches(in: token) {
                    out += token[last..<m.lowerBound]
                    out += content.utf8
                    last = m.upperBound
                }
                out += token[last...]
                return out
            }
        case .sequence(let steps):
            var tokens = tokens
            for step in steps { tokens = step.decodeChain(tokens) }
            return tokens
        }
    }

    /// The byte of a `<0xXX>` token (exactly six bytes, two hex digits), or nil.
    static func fallbackByte(_ token: [UInt8]) -> UInt8? {
        guard token.count == 6, token.starts(with: Array("<0x".utf8)), token[5] == UInt8(ascii: ">") else {
            return nil
        }
        return UInt8(String(decoding: token[3..<5], as: UTF8.self), radix: 16)
    }
}
