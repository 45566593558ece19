import Foundation

/// The `normalizer` of a `tokenizer.json`, applied as `tokenizers` does to each stretch of
/// text between added tokens.
indirect enum Normalizer: Sendable {
    enum UnicodeForm: Sendable { case nfc, nfd, nfkc, nfkd }
    case unicode(UnicodeForm)
    /// Per scalar, its full lowercase mapping (Rust `char::to_lowercase`, no final-sigma rule).
    case lowercase
    /// Puts the text after this string, unless the text is empty.
    case prepend(String)
    case replace(TextPattern, String)
    /// Removes leading and/or trailing `White_Space` scalars.
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    func apply(_ text: inout NormalizedText) {
        switch self {
        case .unicode(let form):
            Self.normalize(&text, form)
        case .lowercase:
            text.mapScalars { scalar in
                let mapped = scalar.properties.lowercaseMapping
                return mapped.unicodeScalars.count == 1 && mapped.unicodeScalars.first == scalar
                    ? nil : Array(mapped.unicodeScalars)
            }
        case .prepend(let prefix):
            if !text.isEmpty { text.prepend(prefix) }
        case .replace(let pattern, let content):
            let matches = pattern.matches(in: text.bytes)
            text.replace(matches, with: content)
        case .strip(let left, let right):
            let scalars = text.scalars()
            var from = 0
            var to = scalars.count
            if left { while from < to, scalars[from].scalar.properties.isWhitespace { from += 1 } }
            if right { while to > from, scalars[to - 1].scalar.properties.isWhitespace { to -= 1 } }
            let low = from < to ? scalars[from].range.lowerBound : 0
            let high = from < to ? scalars[to - 1].range.upperBound : 0
            if low != 0 || high != text.count { text = text.slice(low..<high) }
        case .sequence(let steps):
            for step in steps { step.apply(&text) }
        }
    }

    /// Whether `apply` leaves ASCII text unchanged (Unicode forms only), which lets byte-level
    /// tokenizers with an NFC normalizer (Qwen2) keep their fast path on text already normal.
    func keepsASCII() -> Bool {
        switch self {
        case .unicode: return true
        case .sequence(let steps): return steps.allSatisfy { $0.keepsASCII() }
        default: return false
        }
    }

    static func normalized(_ string: String, _ form: UnicodeForm) -> String {
        switch form {
        case .nfc: string.precomposedStringWithCanonicalMapping
        case .nfd: string.decomposedStringWithCanonicalMapping
        case .nfkc: string.precomposedStringWithCompatibilityMapping
        case .nfkd: string.decomposedStringWithCompatibilityMapping
        }
    }

    /// Unicode normalisation with origins: each starter and the combining marks after it is
    /// normalised as a group (its output takes the group's origin). If normalising group by
    /// group does not give the normalisation of the whole (a rare composition across groups),
    /// the whole text's normalisation is used with the whole input range as every byte's origin.
    static func normalize(_ text: inout NormalizedText, _ form: UnicodeForm) {
        if text.bytes.allSatisfy({ $0 < 0x80 }) { return }
        let whole = normalized(text.string, form)
        if Array(whole.utf8) == text.bytes { return }
        let scalars = text.scalars()
        var out = NormalizedText(bytes: [], starts: [], ends: [], tracksOrigins: text.tracksOrigins)
        var groupStart = 0
        func flush(_ end: Int) {
            guard end > groupStart else { return }
            let range = scalars[groupStart].range.lowerBound..<scalars[end - 1].range.upperBound
            let piece = String(decoding: text.bytes[range], as: UTF8.self)
            let origin = text.originalRange(range)
            for s in normalized(piece, form).unicodeScalars { out.append(s, origin: origin) }
        }
        for (k, (scalar, _)) in scalars.enumerated()
        where k > 0 && scalar.properties.canonicalCombiningClass.rawValue == 0 {
            flush(k)
            groupStart = k
        }
        flush(scalars.count)
        if Array(whole.utf8) == out.bytes {
            text = out
        } else {
            let origin = text.originalRange(0..<text.count)
            var coarse = NormalizedText(bytes: [], starts: [], ends: [], tracksOrigins: text.tracksOrigins)
            for s in whole.unicodeScalars { coarse.append(s, origin: origin) }
            text = coarse
        }
    }
}
