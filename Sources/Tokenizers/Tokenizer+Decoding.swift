extension Tokenizer {
    /// The bytes of a token sequence. Special tokens decode to their text unless skipped.
    /// Throws `unknownTokenID` for an id outside the vocabulary (ids often come from files).
    public func decode(_ ids: [TokenID], skipSpecialTokens: Bool = false) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0, Int(id) < tokenBytes.count else {
                throw TokenizerError.unknownTokenID(id, vocabularySize: tokenBytes.count)
            }
            if skipSpecialTokens && isSpecial[Int(id)] { continue }
            out.append(contentsOf: tokenBytes[Int(id)])
        }
        return out
    }

    /// The text of a token sequence; bytes that are not valid UTF-8 (a sequence cut in the
    /// middle of a character) become U+FFFD. Use `decode(_:)` for exact bytes.
    public func decodeText(_ ids: [TokenID], skipSpecialTokens: Bool = false) throws -> String {
        String(decoding: try decode(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }
}
