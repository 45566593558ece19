/// The `pre_tokenizer` of a `tokenizer.json`: splits normalised text into pieces that BPE never
/// merges across, as `tokenizers` does. (The GPT-2 scanner itself is `PreTokenizer`.)
indirect enum PreTokenization: Sendable {
    enum PrependScheme: String, Sendable {
        case always, first, never
    }

    case split(TextPattern, SplitBehavior, invert: Bool)
    /// GPT-2's byte-level step: optional leading space, optional GPT-2 regex split; the model
    /// then works on bytes.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case punctuation(SplitBehavior)
    /// `\w+|[^\w\s]+`: word runs and runs of other non-space characters.
    case whitespace
    /// Splits on `White_Space`, dropping it.
    case whitespaceSplit
    case sequence([PreTokenization])

    /// Whether the model must work on bytes (a `ByteLevel` step is present).
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: true
        case .sequence(let steps): steps.contains { $0.isByteLevel }
        default: false
        }
    }

    /// The scanner that yields exactly this pre-tokenizer's pieces on raw bytes, if any: GPT-2's
    /// `ByteLevel` with its regex, or a known regex `Split` (isolated) before a regex-less
    /// `ByteLevel` (Llama 3, Qwen2). No prefix space in either.
    var fastScanner: PieceScanner? {
        switch self {
        case .byteLevel(false, true):
            return .gpt2
        case .sequence(let steps):
            if steps.count == 1 { return steps[0].fastScanner }
            if steps.count == 2, case .split(.scanner(let scanner), .isolated, false) = steps[0],
                case .byteLevel(false, false) = steps[1]
            {
                return scanner
            }
            return nil
        default:
            return nil
        }
    }

    func apply(_ pieces: [NormalizedText]) -> [NormalizedText] {
        var out: [NormalizedText] = []
        out.reserveCapacity(pieces.count)
        for piece in pieces { apply(piece, into: &out) }
        return out
    }

    private func splitting(
        _ piece: NormalizedText, _ matches: [Range<Int>], _ behavior: SplitBehavior,
        invert: Bool = false, into out: inout [NormalizedText]
    ) {
        for range in behavior.split(count: piece.count, matches: matches, invert: invert) {
            out.append(range.count == piece.count ? piece : piece.slice(range))
        }
    }

    func apply(_ piece: NormalizedText, into out: inout [NormalizedText]) {
        switch self {
        case .split(let pattern, let behavior, let invert):
            splitting(piece, pattern.matches(in: piece.bytes), behavior, invert: invert, into: &out)
        case .byteLevel(let addPrefixSpace, let useRegex):
            var piece = piece
            if addPrefixSpace && piece.bytes.first != 0x20 { piece.prepend(" ") }
            if useRegex {
                splitting(piece, TextPattern.scanner(.gpt2).matches(in: piece.bytes), .isolated, into: &out)
            } else if !piece.isEmpty {
                out.append(piece)
            }
        case .metaspace(let replacement, let scheme, let split):
            var piece = piece
            piece.replace(TextPattern.literal([0x20]).matches(in: piece.bytes), with: replacement)
            let startsWithReplacement = piece.bytes.starts(with: replacement.utf8)
            switch scheme {
            case .always where !startsWithReplacement:
                piece.prepend(replacement)
            case .first where !startsWithReplacement && piece.originalStart == 0:
                piece.prepend(replacement)
            default:
                break
            }
            if split {
                let matches = TextPattern.literal(Array(replacement.utf8)).matches(in: piece.bytes)
                splitting(piece, matches, .mergedWithNext, into: &out)
            } else if !piece.isEmpty {
                out.append(piece)
            }
        case .digits(let individual):
            splitting(
                piece, CharacterClass.matches(in: piece, CharacterClass.isNumeric),
                individual ? .isolated : .contiguous, into: &out)
        case .punctuation(let behavior):
            splitting(
                piece, CharacterClass.matches(in: piece, CharacterClass.isPunctuation), behavior, into: &out)
        case .whitespace:
            // Runs of word scalars and runs of other non-space scalars; spaces dropped.
            var runs: [Range<Int>] = []
            var runKind = 0  // 0 none, 1 word, 2 other
            for (scalar, range) in piece.scalars() {
                let kind = scalar.properties.isWhitespace ? 0 : (CharacterClass.isWord(scalar) ? 1 : 2)
                if kind != 0 && kind == runKind, let last = runs.last {
                    runs[runs.count - 1] = last.lowerBound..<range.upperBound
                } else if kind != 0 {
                    runs.append(range)
                }
                runKind = kind
            }
            for range in runs { out.append(piece.slice(range)) }
        case .whitespaceSplit:
            splitting(
                piece, CharacterClass.matches(in: piece) { $0.properties.isWhitespace }, .removed, into: &out)
        case .sequence(let steps):
            var pieces = [piece]
            for step in steps { pieces = step.apply(pieces) }
            out += pieces
        }
    }
}
