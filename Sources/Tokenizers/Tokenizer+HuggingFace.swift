import Foundation
import OrderedJSON

/// Hugging Face `tokenizer.json` (byte-level BPE, as GPT-2's) and `tokenizer_config.json`.
extension Tokenizer {
    /// The `tokenizer.json` text: BPE model with the vocabulary in id order and merges in rank
    /// order (as `"left right"` strings, which every version of `tokenizers` reads; byte-level
    /// tokens never contain a space), ByteLevel pre-tokenizer and decoder, and the special tokens
    /// as added tokens.
    /// A tokenizer read from a file of another layout (Llama 3, SentencePiece, …) writes that
    /// file's text back unchanged.
    public func huggingFaceJSON() -> String {
        if let source = pipeline.sourceJSON { return source }
        var out =
            "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        for (k, special) in specialTokens.enumerated() {
            out += k == 0 ? "\n" : ",\n"
            out +=
                "    {\"id\": \(special.id), \"content\": \(JSON.quote(special.content)), \"single_word\": false, "
            out += "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
        }
        out += specialTokens.isEmpty ? "],\n" : "\n  ],\n"
        out += """
              "normalizer": null,
              "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
              "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
              "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": null,
                "continuing_subword_prefix": "",
                "end_of_word_suffix": "",
                "fuse_unk": false,
                "byte_fallback": false,
                "vocab": {
            """
        out += "\n"
        for (id, bytes) in tokenBytes.enumerated() {
            let name = isSpecial[id] ? String(decoding: bytes, as: UTF8.self) : ByteLevel.encode(bytes)
            out += "      \(JSON.quote(name)): \(id)"
            out += id + 1 < tokenBytes.count ? ",\n" : "\n"
        }
        out += "    },\n    \"merges\": ["
        for (rank, merge) in merges.enumerated() {
            out += rank == 0 ? "\n" : ",\n"
            let pair =
                ByteLevel.encode(tokenBytes[Int(merge.left)]) + " "
                + ByteLevel.encode(tokenBytes[Int(merge.right)])
            out += "      \(JSON.quote(pair))"
        }
        out += merges.isEmpty ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n"
        return out
    }

    /// The `tokenizer_config.json` text: the ChatML chat template (when the chat tokens exist),
    /// end-of-sequence and padding tokens, and the added tokens' flags.
    ///
    /// `eos_token` is `<|im_end|>` when present, because a chat model stops at the end of its
    /// turn (it is what `transformers` generation stops on); otherwise `<|endoftext|>`.
    public func huggingFaceConfigJSON() -> String {
        var fields: [String] = []
        var decoder: [String] = []
        for special in specialTokens {
            decoder.append(
                "    \(JSON.quote(String(special.id))): {\"content\": \(JSON.quote(special.content)), \"lstrip\": false, "
                    + "\"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": true}")
        }
        fields.append("  \"added_tokens_decoder\": {\n" + decoder.joined(separator: ",\n") + "\n  }")
        fields.append("  \"bos_token\": null")
        if specialTokenID(SpecialTokens.imStart) != nil, specialTokenID(SpecialTokens.imEnd) != nil {
            fields.append("  \"chat_template\": \(JSON.quote(ChatTemplate.jinja))")
        }
        fields.append("  \"clean_up_tokenization_spaces\": false")
        let eos = [SpecialTokens.imEnd, SpecialTokens.endOfText].first { specialTokenID($0) != nil }
        fields.append("  \"eos_token\": \(eos.map(JSON.quote) ?? "null")")
        let pad = specialTokenID(SpecialTokens.pad) != nil ? JSON.quote(SpecialTokens.pad) : "null"
        fields.append("  \"pad_token\": \(pad)")
        fields.append("  \"tokenizer_class\": \"PreTrainedTokenizerFast\"")
        fields.append("  \"unk_token\": null")
        return "{\n" + fields.joined(separator: ",\n") + "\n}\n"
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` into `directory` (created if needed),
    /// each atomically.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(huggingFaceJSON().utf8).write(
            to: directory.appendingPathComponent("tokenizer.json"), options: .atomic)
        try Data(huggingFaceConfigJSON().utf8).write(
            to: directory.appendingPathComponent("tokenizer_config.json"), options: .atomic)
    }

    /// Reads a Hugging Face `tokenizer.json` with a BPE model, as real models ship it: GPT-2,
    /// Llama 3 and Qwen2 (byte-level, regex `Split`), SentencePiece-style Llama 2 / Mistral
    /// (`Metaspace` or `Prepend`+`Replace`, byte fallback), with their added tokens, normalizer,
    /// post-processor and decoder. Errors name the field at fault; a component type that is not
    /// implemented is `unsupportedComponent`.
    public static func loadHuggingFace(from url: URL) throws -> Tokenizer {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TokenizerError.fileNotFound(path: path)
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        let reader = HuggingFaceComponents(path: path)
        let corrupt = reader.corrupt
        let tree: JSONNode
        do { tree = try JSONNode.parse(data) } catch {
            throw corrupt(
                "(root)", "not valid JSON: \(error.reason) at line \(error.line), column \(error.column)")
        }
        guard case .object(let members) = tree else { throw corrupt("(root)", "expected a JSON object") }
        // Small parts as Foundation values; the vocabulary and merges stay as exact bytes.
        var root: [String: Any] = [:]
        for (key, value) in members where key != Array("model".utf8) {
            root[String(decoding: key, as: UTF8.self)] = value.foundation
        }
        guard let modelTree = tree["model"], case .object(let modelMembers) = modelTree else {
            throw corrupt("model", "missing or not an object")
        }
        var model: [String: Any] = [:]
        for (key, value) in modelMembers where key != Array("vocab".utf8) && key != Array("merges".utf8) {
            model[String(decoding: key, as: UTF8.self)] = value.foundation
        }
        if let type = model["type"], !(type is NSNull) {
            guard let type = type as? String else { throw corrupt("model.type", "expected a string") }
            guard type == "BPE" else { throw reader.unsupported("model.type", "model", type) }
        }
        if let dropout = model["dropout"] as? NSNumber, dropout.doubleValue > 0 {
            throw reader.unsupported("model.dropout", "model option", "dropout \(dropout)")
        }
        guard let vocabTree = modelTree["vocab"], case .object(let vocab) = vocabTree else {
            throw corrupt("model.vocab", "missing or not an object")
        }
        var ids: [[UInt8]: Int] = [:]
        ids.reserveCapacity(vocab.count)
        for (name, value) in vocab {
            guard case .integer(let id) = value, id >= 0, id < 1 << 30
            else {
                throw corrupt(
                    "model.vocab[\(JSON.quote(String(decoding: name, as: UTF8.self)))]",
                    "expected a non-negative integer id, found \(value.foundation)")
            }
            ids[name] = id
        }
        var added: [AddedToken] = []
        if let list = root["added_tokens"], !(list is NSNull) {
            guard let list = list as? [Any] else { throw corrupt("added_tokens", "expected an array") }
            for (k, entry) in list.enumerated() {
                let field = "added_tokens[\(k)]"
                guard let entry = entry as? [String: Any] else { throw corrupt(field, "expected an object") }
                guard let number = entry["id"] as? NSNumber, let id = Int(exactly: number.doubleValue),
                    id >= 0, id < 1 << 30
                else {
                    throw corrupt("\(field).id", "expected a non-negative integer")
                }
                guard case .array(let entries) = tree["added_tokens"]!,
                    case .string(let bytes)? = entries[k]["content"],
                    !bytes.isEmpty
                else {
                    throw corrupt("\(field).content", "expected a non-empty string")
                }
                let content = String(decoding: bytes, as: UTF8.self)
                let special = try reader.bool(entry, "special", field, default: false)
                added.append(
                    AddedToken(
                        id: TokenID(id), content: content, special: special,
                        lstrip: try reader.bool(entry, "lstrip", field, default: false),
                        rstrip: try reader.bool(entry, "rstrip", field, default: false),
                        singleWord: try reader.bool(entry, "single_word", field, default: false),
                        normalized: try reader.bool(entry, "normalized", field, default: !special)))
            }
        }
        guard let mergeTree = modelTree["merges"], case .array(let mergeList) = mergeTree else {
            throw corrupt("model.merges", "missing or not an array")
        }
        var mergeNames: [([UInt8], [UInt8])] = []
        mergeNames.reserveCapacity(mergeList.count)
        for (rank, entry) in mergeList.enumerated() {
            var parts: [[UInt8]] = []
            if case .string(let text) = entry {
                parts = text.split(separator: 0x20, omittingEmptySubsequences: false).map(Array.init)
            } else if case .array(let list) = entry {
                for item in list {
                    guard case .string(let name) = item else { break }
                    parts.append(name)
                }
                if parts.count != list.count { parts = [] }
            } else {
                throw corrupt("model.merges[\(rank)]", "expected \"left right\" or [left, right]")
            }
            guard parts.count == 2 else {
                throw corrupt("model.merges[\(rank)]", "expected two tokens, found \(parts.count)")
            }
            mergeNames.append((parts[0], parts[1]))
        }

        let normalizer = try reader.normalizer(root["normalizer"], "normalizer")
        let preTokenizer = try reader.preTokenizer(root["pre_tokenizer"], "pre_tokenizer")
        let decoder = try reader.decoder(root["decoder"], "decoder")
        let contentIDs = Dictionary(added.map { ($0.content, $0.id) }, uniquingKeysWith: { a, _ in a })
        let postProcessor = try reader.postProcessor(root["post_processor"], "post_processor") {
            contentIDs[$0] ?? ids[Array($0.utf8)].map { TokenID($0) }
        }
        let byteLevel = preTokenizer?.isByteLevel ?? false
        let unknownName = model["unk_token"] as? String
        let prefix = (model["continuing_subword_prefix"] as? String) ?? ""
        let suffix = (model["end_of_word_suffix"] as? String) ?? ""
        let byteFallback = try reader.bool(model, "byte_fallback", "model", default: false)
        let ignoreMerges = try reader.bool(model, "ignore_merges", "model", default: false)
        let fuseUnknown = try reader.bool(model, "fuse_unk", "model", default: false)

        // The layout of files this package writes and of GPT-2: the byte-level fast path with
        // its parallel split (and `==` with the tokenizer that wrote the file).
        let gpt2Layout: Bool = {
            guard normalizer == nil, byteLevel, preTokenizer?.fastScanner == .gpt2, unknownName == nil,
                prefix.isEmpty,
                suffix.isEmpty, !byteFallback, decoder?.isByteLevel ?? true
            else { return false }
            if case .template = postProcessor { return false }
            if case .sequence = postProcessor { return false }
            // `normalized` means nothing without a normalizer (real GPT-2 files set it).
            return added.allSatisfy { $0.special && !$0.lstrip && !$0.rstrip && !$0.singleWord }
        }()
        if gpt2Layout {
            let specials = added.map { SpecialToken(content: $0.content, id: $0.id) }
            let size = max(ids.values.max() ?? -1, specials.map { Int($0.id) }.max() ?? -1) + 1
            var tokenBytes = [[UInt8]?](repeating: nil, count: size)
            for (nameBytes, id) in ids {
                let name = String(decoding: nameBytes, as: UTF8.self)
                guard let bytes = ByteLevel.decode(name) else {
                    if specials.contains(where: { Int($0.id) == id }) { continue }
                    throw corrupt(
                        "model.vocab[\(JSON.quote(name))]",
                        "not a byte-level token (a character outside GPT-2's byte alphabet)")
                }
                tokenBytes[id] = bytes
            }
            for special in specials { tokenBytes[Int(special.id)] = Array(special.content.utf8) }
            if let gap = tokenBytes.firstIndex(where: { $0 == nil }) {
                throw corrupt("model.vocab", "no token has id \(gap); ids must be 0..<\(size)")
            }
            var pairs: [(TokenID, TokenID)] = []
            pairs.reserveCapacity(mergeNames.count)
            for (rank, (left, right)) in mergeNames.enumerated() {
                guard let l = ids[left], let r = ids[right] else {
                    let missing = String(decoding: ids[left] == nil ? left : right, as: UTF8.self)
                    throw corrupt("model.merges[\(rank)]", "token \(missing) is not in model.vocab")
                }
                pairs.append((TokenID(l), TokenID(r)))
            }
            return try Tokenizer(
                tokenBytes: tokenBytes.map { $0! }, merges: pairs, specialTokens: specials, source: path)
        }

        // Any other layout.
        let size = max(ids.values.max() ?? -1, added.map { Int($0.id) }.max() ?? -1) + 1
        var names = [[UInt8]?](repeating: nil, count: size)
        for (name, id) in ids { names[id] = name }
        for token in added where names[Int(token.id)] == nil {
            names[Int(token.id)] = Array(token.content.utf8)
        }
        if let gap = names.firstIndex(where: { $0 == nil }) {
            throw corrupt("model.vocab", "no token has id \(gap); ids must be 0..<\(size)")
        }
        var vocabulary = ByteStringTable(capacity: ids.count)
        for (name, id) in ids {
            let key = byteLevel ? ByteLevel.decode(String(decoding: name, as: UTF8.self)) : name
            guard let key, !key.isEmpty else { continue }
            key.withUnsafeBufferPointer { b in
                let h = ByteStringTable.hash(b.baseAddress!, b.count)
                if vocabulary.find(b.baseAddress!, b.count, hash: h) < 0 {
                    vocabulary.insert(b.baseAddress!, b.count, hash: h, value: Int64(id))
                }
            }
        }
        var pipeline = Pipeline(
            normalizer: normalizer, preTokenizer: preTokenizer, scanner: nil,
            postProcessor: postProcessor, decoder: decoder, addedTokens: added)
        pipeline.byteLevel = byteLevel
        pipeline.byteFallback = byteFallback
        pipeline.fuseUnknown = fuseUnknown
        pipeline.continuingSubwordPrefix = Array(prefix.utf8)
        pipeline.endOfWordSuffix = Array(suffix.utf8)
        pipeline.wholePieceShortcut = ignoreMerges
        if byteLevel, let scanner = preTokenizer?.fastScanner, normalizer == nil || normalizer!.keepsASCII() {
            pipeline.scanner = scanner
        }
        if let unknownName {
            guard let id = ids[Array(unknownName.utf8)] else {
                throw corrupt("model.unk_token", "\(unknownName) is not in model.vocab")
            }
            pipeline.unknownID = TokenID(id)
        }
        var byteToID = [TokenID](repeating: -1, count: 256)
        if byteLevel {
            for b in 0..<256 {
                byteToID[b] = ids[Array(String(ByteLevel.byteToScalar[b]).utf8)].map { TokenID($0) } ?? -1
            }
        } else {
            var table = [TokenID](repeating: -1, count: 0x10000)
            for (name, id) in ids where name.count <= 3 {
                let scalars = String(decoding: name, as: UTF8.self).unicodeScalars
                if scalars.count == 1, let s = scalars.first, s.value < 0x10000, Array(String(s).utf8) == name
                {
                    table[Int(s.value)] = TokenID(id)
                }
            }
            pipeline.bmpToID = table
            if byteFallback {
                pipeline.fallbackIDs = (0..<256).map { b in
                    ids[Array(("<0x" + String(format: "%02X", b) + ">").utf8)].map { TokenID($0) } ?? -1
                }
            }
        }
        // Added tokens matched in normalised text are matched by their normalised content,
        // and decode to it (`normalized_cache` in `tokenizers`).
        for token in added where token.normalized {
            guard let normalizer else { continue }
            var text = NormalizedText(bytes: Array(token.content.utf8), starts: [], ends: [])
            text.starts = [Int32](repeating: 0, count: text.bytes.count)
            text.ends = text.starts
            normalizer.apply(&text)
            pipeline.normalizedContent[token.id] = text.bytes
        }
        pipeline.buildMatchers()
        pipeline.sourceJSON = String(decoding: data, as: UTF8.self)
        var strings = names.map { $0! }
        for token in added {
            strings[Int(token.id)] = pipeline.normalizedContent[token.id] ?? Array(token.content.utf8)
        }
        pipeline.tokenStrings = strings

        // What each token stands for, for `bytes(of:)` and offsets.
        let isAdded = Set(added.map(\.id))
        let metaspace = Array("▁".utf8)
        var tokenBytes: [[UInt8]] = []
        tokenBytes.reserveCapacity(size)
        for (id, string) in strings.enumerated() {
            if isAdded.contains(TokenID(id)) {
                tokenBytes.append(string)
            } else if byteLevel {
                tokenBytes.append(ByteLevel.decode(String(decoding: string, as: UTF8.self)) ?? string)
            } else if byteFallback, let byte = TokenDecoder.fallbackByte(string) {
                tokenBytes.append([byte])
            } else {
                var bytes: [UInt8] = []
                var i = 0
                while i < string.count {
                    if string[i...].starts(with: metaspace) {
                        bytes.append(0x20)
                        i += metaspace.count
                    } else {
                        bytes.append(string[i])
                        i += 1
                    }
                }
                tokenBytes.append(bytes)
            }
        }

        // Merges: `tokenizers` keys them in a hash map, so a repeated pair takes its last rank.
        let prefixBytes = Array(prefix.utf8)
        var merges: [Merge] = []
        merges.reserveCapacity(mergeNames.count)
        var table: PairTable = [:]
        table.reserveCapacity(mergeNames.count)
        for (rank, (left, right)) in mergeNames.enumerated() {
            guard let l = ids[left], let r = ids[right] else {
                let missing = String(decoding: ids[left] == nil ? left : right, as: UTF8.self)
                throw corrupt("model.merges[\(rank)]", "token \(missing) is not in model.vocab")
            }
            var rightName = right
            if !prefixBytes.isEmpty, rightName.starts(with: prefixBytes) {
                rightName.removeFirst(prefixBytes.count)
            }
            let joined = left + rightName
            guard let result = ids[joined] else {
                throw corrupt(
                    "model.merges[\(rank)]",
                    "the merged token \(String(decoding: joined, as: UTF8.self)) is not in the vocabulary")
            }
            table[UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))] = UInt64(rank) << 32 | UInt64(UInt32(result))
            merges.append(Merge(left: TokenID(l), right: TokenID(r), result: TokenID(result)))
        }
        return Tokenizer(
            tokenBytes: tokenBytes, merges: merges, mergeTable: table, vocabulary: vocabulary,
            byteToID: byteToID, pipeline: pipeline)
    }
}

/// Minimal JSON string quoting for the hand-written files (the vocabulary must stay in id order,
/// which `JSONSerialization` does not keep).
enum JSON {
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
