import Foundation

/// Hugging Face `tokenizer.json` (byte-level BPE, as GPT-2's) and `tokenizer_config.json`.
extension Tokenizer {
    /// The `tokenizer.json` text: BPE model with the vocabulary in id order and merges in rank
    /// order (as `"left right"` strings, which every version of `tokenizers` reads; byte-level
    /// tokens never contain a space), ByteLevel pre-tokenizer and decoder, and the special tokens
    /// as added tokens.
    public func huggingFaceJSON() -> String {
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        for (k, special) in specialTokens.enumerated() {
            out += k == 0 ? "\n" : ",\n"
            out += "    {\"id\": \(special.id), \"content\": \(JSON.quote(special.content)), \"single_word\": false, "
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
            let pair = ByteLevel.encode(tokenBytes[Int(merge.left)]) + " " + ByteLevel.encode(tokenBytes[Int(merge.right)])
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
        try Data(huggingFaceJSON().utf8).write(to: directory.appendingPathComponent("tokenizer.json"), options: .atomic)
        try Data(huggingFaceConfigJSON().utf8).write(
            to: directory.appendingPathComponent("tokenizer_config.json"), options: .atomic)
    }

    /// Reads a Hugging Face `tokenizer.json` with a byte-level BPE model. Added tokens are
    /// special tokens (recognised only where allowed). Errors name the field at fault.
    public static func loadHuggingFace(from url: URL) throws -> Tokenizer {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw TokenizerError.fileNotFound(path: path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        func corrupt(_ field: String, _ reason: String) -> TokenizerError {
            .corruptFile(path: path, field: field, reason: reason)
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw corrupt("(root)", "not valid JSON: \(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else { throw corrupt("(root)", "expected a JSON object") }
        guard let model = root["model"] as? [String: Any] else { throw corrupt("model", "missing or not an object") }
        if let type = model["type"], !(type is NSNull) {
            guard let type = type as? String, type == "BPE" else { throw corrupt("model.type", "expected \"BPE\", found \(type)") }
        }
        if let pre = root["pre_tokenizer"], !(pre is NSNull) {
            guard let pre = pre as? [String: Any], let type = pre["type"] as? String, type == "ByteLevel" else {
                throw corrupt("pre_tokenizer", "only the GPT-2 ByteLevel pre-tokenizer is supported")
            }
        }
        guard let vocab = model["vocab"] as? [String: Any] else { throw corrupt("model.vocab", "missing or not an object") }
        var ids: [String: Int] = [:]
        ids.reserveCapacity(vocab.count)
        for (name, value) in vocab {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0, id < 1 << 30 else {
                throw corrupt("model.vocab[\(JSON.quote(name))]", "expected a non-negative integer id, found \(value)")
            }
            ids[name] = id
        }
        var specials: [SpecialToken] = []
        if let added = root["added_tokens"], !(added is NSNull) {
            guard let list = added as? [Any] else { throw corrupt("added_tokens", "expected an array") }
            for (k, entry) in list.enumerated() {
                guard let entry = entry as? [String: Any] else { throw corrupt("added_tokens[\(k)]", "expected an object") }
                guard let number = entry["id"] as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0, id < 1 << 30 else {
                    throw corrupt("added_tokens[\(k)].id", "expected a non-negative integer")
                }
                guard let content = entry["content"] as? String, !content.isEmpty else {
                    throw corrupt("added_tokens[\(k)].content", "expected a non-empty string")
                }
                specials.append(SpecialToken(content: content, id: TokenID(id)))
            }
        }
        let size = max(ids.values.max() ?? -1, specials.map { Int($0.id) }.max() ?? -1) + 1
        var tokenBytes = [[UInt8]?](repeating: nil, count: size)
        for (name, id) in ids {
            guard let bytes = ByteLevel.decode(name) else {
                if specials.contains(where: { Int($0.id) == id }) { continue }
                throw corrupt("model.vocab[\(JSON.quote(name))]", "not a byte-level token (a character outside GPT-2's byte alphabet)")
            }
            tokenBytes[id] = bytes
        }
        for special in specials { tokenBytes[Int(special.id)] = Array(special.content.utf8) }
        if let gap = tokenBytes.firstIndex(where: { $0 == nil }) {
            throw corrupt("model.vocab", "no token has id \(gap); ids must be 0..<\(size)")
        }
        guard let mergeList = model["merges"] as? [Any] else { throw corrupt("model.merges", "missing or not an array") }
        var pairs: [(TokenID, TokenID)] = []
        pairs.reserveCapacity(mergeList.count)
        for (rank, entry) in mergeList.enumerated() {
            let parts: [String]
            if let text = entry as? String {
                parts = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            } else if let list = entry as? [String] {
                parts = list
            } else {
                throw corrupt("model.merges[\(rank)]", "expected \"left right\" or [left, right]")
            }
            guard parts.count == 2 else { throw corrupt("model.merges[\(rank)]", "expected two tokens, found \(parts.count)") }
            guard let left = ids[parts[0]], let right = ids[parts[1]] else {
                throw corrupt("model.merges[\(rank)]", "token \(ids[parts[0]] == nil ? parts[0] : parts[1]) is not in model.vocab")
            }
            pairs.append((TokenID(left), TokenID(right)))
        }
        return try Tokenizer(tokenBytes: tokenBytes.map { $0! }, merges: pairs, specialTokens: specials, source: path)
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
