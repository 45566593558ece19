/// The `post_processor` of a `tokenizer.json`: what `encode(…, addSpecialTokens: true)` adds
/// around the text's tokens (Llama's `<s>`). `ByteLevel` only trims offsets in `tokenizers`,
/// so it changes no ids here; `BertProcessing` and `RobertaProcessing` are the templates
/// `[CLS] $A [SEP] ($B [SEP])` and `<s> $A </s> (</s> $B </s>)`.
indirect enum PostProcessor: Sendable {
    enum Piece: Sendable, Equatable {
        /// The ids of a special token of the template.
        case special([TokenID])
        /// The first (`A`) or second (`B`) sequence.
        case sequence(first: Bool)
    }

    case template(single: [Piece], pair: [Piece])
    case byteLevel
    case sequence([PostProcessor])

    /// Applies the template to one or two encoded sequences; `ranges` (when given) get an
    /// empty range at the text position where each added token goes.
    func process(
        _ first: [TokenID], _ second: [TokenID]?, ranges: (first: [Range<Int>], second: [Range<Int>])?
    )
        -> (ids: [TokenID], ranges: [Range<Int>])
    {
        switch self {
        case .byteLevel:
            return (first + (second ?? []), ranges.map { $0.first + $0.second } ?? [])
        case .sequence(let steps):
            // Each step sees the sequences the previous one left (`tokenizers` passes the list
            // of encodings along): `ByteLevel` keeps the pair, a template merges it into one.
            var first = first
            var second = second
            var firstRanges = ranges?.first ?? []
            var secondRanges = ranges?.second ?? []
            for step in steps {
                if case .byteLevel = step { continue }
                let result = step.process(
                    first, second, ranges: ranges == nil ? nil : (firstRanges, secondRanges))
                first = result.ids
                firstRanges = result.ranges
                second = nil
                secondRanges = []
            }
            return (first + (second ?? []), ranges == nil ? [] : firstRanges + secondRanges)
        case .template(let single, let pair):
            let pieces = second == nil ? single : pair
            var ids: [TokenID] = []
            var out: [Range<Int>] = []
            var position = 0
            for piece in pieces {
                switch piece {
                case .special(let special):
                    ids += special
                    if ranges != nil {
                        out += [Range<Int>](repeating: position..<position, count: special.count)
                    }
                case .sequence(let isFirst):
                    let part = isFirst ? first : (second ?? [])
                    ids += part
                    if let ranges {
                        let r = isFirst ? ranges.first : ranges.second
                        out += r
                        if let last = r.last { position = last.upperBound }
                    }
                }
            }
            return (ids, out)
        }
    }
}
