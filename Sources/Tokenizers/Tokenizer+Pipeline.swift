import Foundation

/// Encoding through the whole pipeline (added tokens, normalizer, pre-tokenizer, model,
/// post-processor), with input offsets per token.
extension Tokenizer {
    /// Token ids with, for each, the UTF-8 byte range of the input it came from. Tokens the
    /// post-processor adds have an empty range where they go; a token from inserted text (a
    /// prepended `▁`) has the range of the text it was inserted before. Ranges are not trimmed
    /// of spaces (`tokenizers`' `trim_offsets`).
    public struct Encoding: Sendable, Equatable {
        public var ids: [TokenID]
        public var offsets: [Range<Int>]
    }

    /// Encodes text, then applies the post-processor when `addSpecialTokens` (Llama's `<s>`), as
    /// `tokenizers`' `encode(text, add_special_tokens=…)`.
    public func encode(_ text: String, allowedSpecial: SpecialTokenPolicy = .none, addSpecialTokens: Bool)
        -> [TokenID]
    {
        guard addSpecialTokens, let post = pipeline.postProcessor else {
            return encode(text, allowedSpecial: allowedSpecial)
        }
        return post.process(encode(text, allowedSpecial: allowedSpecial), nil, ranges: nil).ids
    }

    /// Encodes a pair of texts (`tokenizers`' `encode(a, b)`): the post-processor's pair template
    /// when `addSpecialTokens`, else the two encodings one after the other.
    public func encode(
        _ text: String, pair: String, allowedSpecial: SpecialTokenPolicy = .none, addSpecialTokens: Bool
    )
        -> [TokenID]
    {
        let first = encode(text, allowedSpecial: allowedSpecial)
        let second = encode(pair, allowedSpecial: allowedSpecial)
        guard addSpecialTokens, let post = pipeline.postProcessor else { return first + second }
        return post.process(first, second, ranges: nil).ids
    }

    /// Encodes text with each token's byte range in `text`'s UTF-8; the ids equal `encode`'s.
    public func encodeWithOffsets(
        _ text: String, allowedSpecial: SpecialTokenPolicy = .none, addSpecialTokens: Bool = false
    ) -> Encoding {
        var text = text
        let result = text.withUTF8 {
            encodePipeline(buffer: $0, allowedSpecial: allowedSpecial, offsets: true)
        }
        guard addSpecialTokens, let post = pipeline.postProcessor else {
            return Encoding(ids: result.ids, offsets: result.offsets)
        }
        let processed = post.process(result.ids, nil, ranges: (result.offsets, []))
        return Encoding(ids: processed.ids, offsets: processed.ranges)
    }

    /// The general path: any pipeline, optional offsets; one thread.
    func encodePipeline(buffer: UnsafeBufferPointer<UInt8>, allowedSpecial: SpecialTokenPolicy, offsets: Bool)
        -> (ids: [TokenID], offsets: [Range<Int>])
    {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return ([], []) }
        let n = buffer.count
        var ids: [TokenID] = []
        ids.reserveCapacity(n / 3)
        var ranges: [Range<Int>] = []
        var state = EncodingState(inputLength: n)
        let (raw, normalized) = pipeline.matchers(allowedSpecial)
        for (id, range) in raw.split(base, n) {
            if let id {
                ids.append(id)
                if offsets { ranges.append(range) }
                continue
            }
            encodeStretch(
                base + range.lowerBound, range.count, offset: range.lowerBound, normalizedMatcher: normalized,
                state: &state, ids: &ids, ranges: &ranges, offsets: offsets)
        }
        return (ids, ranges)
    }

    /// One stretch of input between added tokens.
    private func encodeStretch(
        _ p: UnsafePointer<UInt8>, _ n: Int, offset: Int, normalizedMatcher: AddedTokenMatcher,
        state: inout EncodingState, ids: inout [TokenID], ranges: inout [Range<Int>], offsets: Bool
    ) {
        if let scanner = pipeline.scanner, normalizedMatcher.isEmpty, isUnchangedByNormalizer(p, n) {
            let before = ids.count
            encodeOrdinary(p, n, scanner: scanner, state: &state, into: &ids)
            if offsets {
                var at = offset
                for id in ids[before...] {
                    let length = max(1, tokenBytes[Int(id)].count)
                    ranges.append(at..<min(at + length, offset + n))
                    at += length
                }
            }
            return
        }
        // Origins are needed for offsets, and by pre-tokenizers (Metaspace asks whether a piece
        // starts the input).
        var text = NormalizedText(
            p, n, offset: offset, tracksOrigins: offsets || pipeline.preTokenizer != nil)
        pipeline.normalizer?.apply(&text)
        let parts: [(id: TokenID?, range: Range<Int>)] =
            normalizedMatcher.isEmpty
            ? [(nil, 0..<text.count)]
            : text.bytes.withUnsafeBufferPointer { b in
                b.baseAddress.map { normalizedMatcher.split($0, b.count) } ?? []
            }
        for (id, range) in parts {
            if let id {
                ids.append(id)
                if offsets { ranges.append(text.originalRange(range)) }
                continue
            }
            let stretch = range.count == text.count ? text : text.slice(range)
            let pieces =
                pipeline.preTokenizer.map { $0.apply([stretch]) } ?? (stretch.isEmpty ? [] : [stretch])
            for piece in pieces where !piece.isEmpty {
                piece.bytes.withUnsafeBufferPointer { b in
                    let q = b.baseAddress!
                    if !offsets {
                        encodePiece(q, b.count, state: &state, into: &ids)
                        return
                    }
                    var lengths: [Int32] = []
                    if pipeline.wholePieceShortcut, let whole = wholePieceID(q, b.count) {
                        state.parts = [whole]
                        lengths = [Int32(b.count)]
                    } else {
                        bytePairMerge(
                            q, b.count, parts: &state.parts, lengths: &lengths, trackLengths: true,
                            scratch: &state.scratch)
                    }
                    ids += state.parts
                    var at = 0
                    for length in lengths {
                        let end = min(at + Int(length), b.count)
                        ranges.append(piece.originalRange(at..<end))
                        at = end
                    }
                }
            }
        }
    }

    private func wholePieceID(_ p: UnsafePointer<UInt8>, _ n: Int) -> TokenID? {
        let e = vocabulary.find(p, n, hash: ByteStringTable.hash(p, n))
        return e < 0 ? nil : TokenID(truncatingIfNeeded: vocabulary.values[e])
    }

    /// Whether the normalizer leaves these bytes as they are (no normalizer; a Unicode form on
    /// ASCII or on text already in that form).
    private func isUnchangedByNormalizer(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard let normalizer = pipeline.normalizer else { return true }
        guard normalizer.keepsASCII() else { return false }
        var ascii = true
        for k in 0..<n where p[k] >= 0x80 {
            ascii = false
            break
        }
        if ascii { return true }
        var text = NormalizedText(p, n, offset: 0)
        normalizer.apply(&text)
        return text.bytes.elementsEqual(UnsafeBufferPointer(start: p, count: n))
    }
}
