extension Tokenizer {
    /// The bytes of a token sequence, as `tokenizers`' `decode` (its text's UTF-8): token
    /// strings through the decoder (or joined with spaces when there is none). With GPT-2's
    /// byte-level decoder this is exactly the tokens' bytes, so any input round-trips.
    /// Special tokens decode to their text unless skipped. Throws `unknownTokenID` for an id
    /// outside the vocabulary (ids often come from files; `tokenizers` drops such ids).
    public func decode(_ ids: [TokenID], skipSpecialTokens: Bool = false) throws -> [UInt8] {
        for id in ids where id < 0 || Int(id) >= tokenBytes.count {
            throw TokenizerError.unknownTokenID(id, vocabularySize: tokenBytes.count)
        }
        let kept = skipSpecialTokens ? ids.filter { !isSpecial[Int($0)] } : ids
        if pipeline.tokenStrings.isEmpty || pipeline.decoder?.isByteLevel == true {
            var out: [UInt8] = []
            out.reserveCapacity(kept.count * 4)
            for id in kept { out.append(contentsOf: tokenBytes[Int(id)]) }
            return out
        }
        let tokens = kept.map { pipeline.tokenStrings[Int($0)] }
        guard let decoder = pipeline.decoder else { return Array(tokens.joined(separator: [0x20])) }
        return Array(decoder.decodeChain(tokens).joined())
    }

    /// The text of a token sequence; bytes that are not valid UTF-8 (a sequence cut in the
    /// middle of a character) become U+FFFD. Use `decode(_:)` for exact bytes.
    public func decodeText(_ ids: [TokenID], skipSpecialTokens: Bool = false) throws -> String {
        String(decoding: try decode(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }
}
