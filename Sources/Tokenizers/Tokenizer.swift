/// A BPE tokenizer: the GPT-2 family trained here or read from tiktoken ranks, or any BPE
/// `tokenizer.json` as real models ship it (GPT-2, Llama 3, Qwen2, SentencePiece-style Llama 2 /
/// Mistral), encoding and decoding as Hugging Face `tokenizers` does.
///
/// Underneath is a pipeline (`Pipeline`): added tokens are cut out of the input, the text between
/// them is normalised and pre-tokenised, each piece goes through BPE (ranked merges over bytes or
/// characters, byte fallback, unknown token), the post-processor adds template tokens
/// (`encode(_:addSpecialTokens:)`), and the decoder turns tokens back into text. The byte-level
/// layouts with a known regex run on raw bytes with hand-written scanners and word caches.
///
/// The value is immutable and `Sendable`; encoding keeps its word cache per call, so one
/// tokenizer can be used from many threads at once.
///
/// Ids need not follow any layout: tokenizers trained here put the bytes at 0…255 (in byte
/// order), merges after them and the special tokens last, while GPT-2 numbers its byte tokens
/// in its own order. Everything goes through `tokenBytes`, `byteToID` and the merge table.
public struct Tokenizer: Sendable {
    /// One merge rule: `left` followed by `right` becomes `result`. Rules apply in rank order
    /// (their index in `merges`).
    public struct Merge: Sendable, Equatable, Hashable {
        public var left: TokenID
        public var right: TokenID
        public var result: TokenID
        public init(left: TokenID, right: TokenID, result: TokenID) {
            self.left = left
            self.right = right
            self.result = result
        }
    }

    /// A special token: its text and id.
    public struct SpecialToken: Sendable, Equatable, Hashable {
        public var content: String
        public var id: TokenID
        public init(content: String, id: TokenID) {
            self.content = content
            self.id = id
        }
    }

    /// The bytes of every token by id; a special token's bytes are the UTF-8 of its content.
    /// For character-level (SentencePiece-style) vocabularies: the token's text with `▁` as a
    /// space, and a `<0xXX>` token's byte.
    let tokenBytes: [[UInt8]]
    /// The merge rules in rank order.
    public let merges: [Merge]
    /// The special tokens, in id order (`added_tokens` with `special: true` in a tokenizer.json).
    public let specialTokens: [SpecialToken]

    let isSpecial: [Bool]
    /// `byteToID[b]` is the token of the single byte `b`.
    let byteToID: [TokenID]
    /// (left << 32 | right) → (rank << 32 | result).
    let mergeTable: PairTable
    /// Non-special token bytes → id, for the whole-piece shortcut.
    let vocabulary: ByteStringTable
    /// Special tokens longest first, so that a longer token wins over its prefix.
    let specialsByLength: [SpecialToken]
    /// Everything beyond GPT-2's layout: normalizer, pre-tokenizer, model options, added tokens,
    /// post-processor, decoder (`Pipeline.gpt2` for tokenizers trained here or read from tiktoken).
    let pipeline: Pipeline

    /// Number of ids, special tokens included.
    public var vocabularySize: Int { tokenBytes.count }

    /// Builds a tokenizer from token bytes (by id), merges `(left, right)` in rank order and
    /// special tokens. Throws `corruptFile` naming `source` and the field at fault when the
    /// parts do not form a byte-level BPE (a missing byte token, a merge whose result is not in
    /// the vocabulary, duplicate tokens, ids out of range).
    public init(
        tokenBytes: [[UInt8]], merges pairs: [(TokenID, TokenID)], specialTokens: [SpecialToken],
        source: String = "<memory>"
    ) throws {
        func corrupt(_ field: String, _ reason: String) -> TokenizerError {
            .corruptFile(path: source, field: field, reason: reason)
        }
        let count = tokenBytes.count
        var isSpecial = [Bool](repeating: false, count: count)
        var seenContent = Set<String>()
        for special in specialTokens {
            guard special.id >= 0, Int(special.id) < count else {
                throw corrupt(
                    "added_tokens",
                    "special token \(special.content) has id \(special.id) outside 0..<\(count)")
            }
            guard !special.content.isEmpty, seenContent.insert(special.content).inserted else {
                throw corrupt("added_tokens", "special token \"\(special.content)\" is empty or listed twice")
            }
            guard Array(special.content.utf8) == tokenBytes[Int(special.id)] else {
                throw corrupt(
                    "added_tokens",
                    "special token \(special.content) does not match the bytes of id \(special.id)")
            }
            isSpecial[Int(special.id)] = true
        }
        var vocabulary = ByteStringTable(capacity: count)
        var byteToID = [TokenID](repeating: -1, count: 256)
        for (id, bytes) in tokenBytes.enumerated() where !isSpecial[id] {
            guard !bytes.isEmpty else { throw corrupt("model.vocab", "token \(id) is empty") }
            let duplicate: Int = bytes.withUnsafeBufferPointer { b in
                let h = ByteStringTable.hash(b.baseAddress!, b.count)
                let e = vocabulary.find(b.baseAddress!, b.count, hash: h)
                if e >= 0 { return Int(vocabulary.values[e]) }
                vocabulary.insert(b.baseAddress!, b.count, hash: h, value: Int64(id))
                return -1
            }
            guard duplicate < 0 else {
                throw corrupt("model.vocab", "tokens \(duplicate) and \(id) have the same bytes \(bytes)")
            }
            if bytes.count == 1 { byteToID[Int(bytes[0])] = TokenID(id) }
        }
        if let missing = byteToID.firstIndex(of: -1) {
            throw corrupt(
                "model.vocab",
                "no token for byte 0x\(String(missing, radix: 16)); a byte-level BPE needs all 256")
        }
        var merges: [Merge] = []
        merges.reserveCapacity(pairs.count)
        var table: PairTable = [:]
        table.reserveCapacity(pairs.count)
        for (rank, (left, right)) in pairs.enumerated() {
            guard left >= 0, right >= 0, Int(left) < count, Int(right) < count,
                !isSpecial[Int(left)], !isSpecial[Int(right)]
            else { throw corrupt("model.merges[\(rank)]", "ids (\(left), \(right)) are not ordinary tokens") }
            let joined = tokenBytes[Int(left)] + tokenBytes[Int(right)]
            let result: Int = joined.withUnsafeBufferPointer { b in
                let e = vocabulary.find(
                    b.baseAddress!, b.count, hash: ByteStringTable.hash(b.baseAddress!, b.count))
                return e < 0 ? -1 : Int(vocabulary.values[e])
            }
            guard result >= 0 else {
                throw corrupt(
                    "model.merges[\(rank)]",
                    "the merged token \(ByteLevel.encode(joined)) is not in the vocabulary")
            }
            let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
            guard table[key] == nil else { continue }  // a repeated rule can never fire; keep the first
            table[key] = UInt64(rank) << 32 | UInt64(UInt32(result))
            merges.append(Merge(left: left, right: right, result: TokenID(result)))
        }
        self.tokenBytes = tokenBytes
        self.merges = merges
        self.specialTokens = specialTokens.sorted { $0.id < $1.id }
        self.isSpecial = isSpecial
        self.byteToID = byteToID
        self.mergeTable = table
        self.vocabulary = vocabulary
        self.specialsByLength = specialTokens.sorted {
            $0.content.utf8.count != $1.content.utf8.count
                ? $0.content.utf8.count > $1.content.utf8.count : $0.id < $1.id
        }
        self.pipeline = Pipeline.gpt2(specialTokens: specialTokens)
    }

    /// A tokenizer with any pipeline (read from `tokenizer.json`); the parts are checked by the
    /// reader.
    init(
        tokenBytes: [[UInt8]], merges: [Merge], mergeTable: PairTable, vocabulary: ByteStringTable,
        byteToID: [TokenID], pipeline: Pipeline
    ) {
        self.tokenBytes = tokenBytes
        self.merges = merges
        self.mergeTable = mergeTable
        self.vocabulary = vocabulary
        self.byteToID = byteToID
        self.pipeline = pipeline
        let specials = pipeline.addedTokens.filter(\.special).map {
            SpecialToken(content: $0.content, id: $0.id)
        }
        self.specialTokens = specials.sorted { $0.id < $1.id }
        var isSpecial = [Bool](repeating: false, count: tokenBytes.count)
        for s in specials { isSpecial[Int(s.id)] = true }
        self.isSpecial = isSpecial
        self.specialsByLength = specials.sorted {
            $0.content.utf8.count != $1.content.utf8.count
                ? $0.content.utf8.count > $1.content.utf8.count : $0.id < $1.id
        }
    }

    /// The added tokens (`added_tokens` of `tokenizer.json`), special or not, with their flags.
    public var addedTokens: [AddedToken] { pipeline.addedTokens }

    /// The id of a special token, or nil.
    public func specialTokenID(_ content: String) -> TokenID? {
        specialTokens.first { $0.content == content }?.id
    }

    /// The id of a special token, or `missingSpecialToken`.
    public func requireSpecialTokenID(_ content: String) throws -> TokenID {
        guard let id = specialTokenID(content) else { throw TokenizerError.missingSpecialToken(content) }
        return id
    }

    /// The bytes a token decodes to, or nil for an id outside the vocabulary.
    public func bytes(of id: TokenID) -> [UInt8]? {
        guard id >= 0, Int(id) < tokenBytes.count else { return nil }
        return tokenBytes[Int(id)]
    }

    /// Whether `id` is a special token.
    public func isSpecialToken(_ id: TokenID) -> Bool {
        id >= 0 && Int(id) < isSpecial.count && isSpecial[Int(id)]
    }
}

extension Tokenizer: Equatable {
    /// Two tokenizers are equal when they have the same tokens, merges and special tokens and,
    /// for those read from a tokenizer.json of another layout than GPT-2's, the same file text;
    /// hence they encode every input the same way.
    public static func == (a: Tokenizer, b: Tokenizer) -> Bool {
        a.tokenBytes == b.tokenBytes && a.merges == b.merges && a.specialTokens == b.specialTokens
            && a.pipeline.sourceJSON == b.pipeline.sourceJSON
    }
}
