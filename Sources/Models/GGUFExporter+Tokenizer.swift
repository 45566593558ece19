import Foundation

extension GGUFExporter {
    /// The tokenizer metadata llama.cpp needs, read from a Hugging Face folder's `tokenizer.json`,
    /// `tokenizer_config.json` and chat template, as convert_hf_to_gguf.py reads them:
    ///
    /// - byte-level BPE (GPT-2, Llama 3, Qwen2): `tokenizer.ggml.model` "gpt2", tokens in the
    ///   byte alphabet spelling of `tokenizer.json`, merges, and `tokenizer.ggml.pre` named after
    ///   the split pattern ("gpt-2", "llama-bpe", "qwen2"; the converter hashes the encoding of a
    ///   test string to the same end);
    /// - SentencePiece-style BPE with byte fallback (Llama 2, Mistral v0.1): "llama", pre
    ///   "default", tokens with ▁ for spaces, `<0xXX>` tokens typed BYTE, and scores.
    ///
    /// Token types: NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6. Ids the
    /// tokenizer lacks below the model's vocabulary size become `[PAD<id>]` (UNUSED).
    public struct TokenizerMetadata: Sendable {
        public var model: String
        /// nil: chosen from `splitPatterns` when applied.
        public var pre: String?
        public var splitPatterns: [String]
        public var tokens: [String]
        public var types: [Int32]
        public var scores: [Float]?
        public var merges: [String]
        public var bosID: Int?
        public var eosID: Int?
        public var unknownID: Int?
        public var paddingID: Int?
        public var addBOS: Bool?
        public var addEOS: Bool?
        public var addSpacePrefix: Bool?
        public var chatTemplate: String?
        /// Further named templates (`tokenizer.chat_template.<name>`).
        public var namedChatTemplates: [(name: String, template: String)] = []

        /// The pre-tokenizer names llama.cpp knows for the split patterns used here.
        static let knownPatterns: [String: String] = [
            gpt2Pattern: "gpt-2",
            llama3Pattern(digits: #"\p{N}{1,3}"#): "llama-bpe",
            llama3Pattern(digits: #"\p{N}"#): "qwen2",
        ]
        /// Llama 3's split pattern; Qwen2's is the same with one digit per piece.
        static func llama3Pattern(digits: String) -> String {
            #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"# + digits
                + #"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
        static let gpt2Pattern =
            #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

        func resolvedPre(override: String?) throws(GGUFExportError) -> String {
            if let override { return override }
            if let pre { return pre }
            if splitPatterns.count == 1, let name = Self.knownPatterns[splitPatterns[0]] { return name }
            throw GGUFExportError(
                "tokenizer.json: no llama.cpp pre-tokenizer is known for the split pattern(s) "
                    + "\(splitPatterns); pass --tokenizer-pre NAME (a name llama.cpp knows, e.g. llama-bpe, "
                    + "qwen2, gpt-2)"
            )
        }

        func apply(to file: inout GGUFFile, config: ModelConfig, tokenizerPre: String?)
            throws(GGUFExportError)
        {
            guard tokens.count <= config.vocabSize else {
                throw GGUFExportError(
                    "tokenizer has \(tokens.count) tokens but the model's vocab_size is \(config.vocabSize)")
            }
            var tokens = tokens, types = types, scores = scores
            for id in tokens.count..<config.vocabSize {
                tokens.append("[PAD\(id)]")
                types.append(5)
                scores?.append(-1000)
            }
            file.set("tokenizer.ggml.model", .string(model))
            file.set("tokenizer.ggml.pre", .string(try resolvedPre(override: tokenizerPre)))
            file.set("tokenizer.ggml.tokens", .strings(tokens))
            if let scores { file.set("tokenizer.ggml.scores", .float32s(scores)) }
            file.set("tokenizer.ggml.token_type", .int32s(types))
            if !merges.isEmpty { file.set("tokenizer.ggml.merges", .strings(merges)) }
            // Like SpecialVocab: the tokenizer's own special tokens first, config.json's ids otherwise.
            let ids: [(String, Int?)] = [
                ("bos_token_id", bosID ?? config.bosTokenID), ("eos_token_id", eosID ?? config.eosTokenID),
                ("unknown_token_id", unknownID), ("padding_token_id", paddingID ?? config.padTokenID),
            ]
            for (key, id) in ids {
                guard let id else { continue }
                guard id >= 0, id < config.vocabSize else {
                    throw GGUFExportError(
                        "tokenizer \(key) \(id) is outside the vocabulary (0..<\(config.vocabSize))")
                }
                file.set("tokenizer.ggml.\(key)", .uint32(UInt32(id)))
            }
            if let addBOS { file.set("tokenizer.ggml.add_bos_token", .bool(addBOS)) }
            if let addEOS { file.set("tokenizer.ggml.add_eos_token", .bool(addEOS)) }
            if let addSpacePrefix { file.set("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)) }
            if let chatTemplate { file.set("tokenizer.chat_template", .string(chatTemplate)) }
            for (name, template) in namedChatTemplates {
                file.set("tokenizer.chat_template.\(name)", .string(template))
            }
        }
    }
}
