import Foundation

extension GGUFExporter.TokenizerMetadata {
    /// Reads `tokenizer.json` (required), `tokenizer_config.json` and the chat template
    /// (`chat_template.jinja`, else `chat_template.json`, else `tokenizer_config.json`'s
    /// `chat_template`, the order transformers 5 uses) from a Hugging Face or run folder.
    public static func load(directory: URL) throws(GGUFExportError) -> Self {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let path = tokenizerURL.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw GGUFExportError(
                "\(path): missing; a GGUF file carries the tokenizer, so export needs tokenizer.json")
        }
        let json = try readObject(tokenizerURL)
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let config = FileManager.default.fileExists(atPath: configURL.path) ? try readObject(configURL) : [:]
        var result = try fromJSON(json, config: config, source: path)
        try result.loadChatTemplate(directory: directory, config: config)
        return result
    }

    /// Builds the metadata from parsed `tokenizer.json` and `tokenizer_config.json` objects.
    static func fromJSON(_ json: [String: Any], config: [String: Any], source: String) throws(GGUFExportError)
        -> Self
    {
        func fail(_ field: String, _ reason: String) -> GGUFExportError {
            GGUFExportError("\(source): \(field): \(reason)")
        }
        guard let model = json["model"] as? [String: Any] else {
            throw fail("model", "missing or not an object")
        }
        guard (model["type"] as? String) == "BPE" else {
            throw fail(
                "model.type",
                "\(model["type"] ?? "nil") is not supported (GGUF export handles BPE tokenizers: "
                    + "byte-level like GPT-2/Llama 3/Qwen2, or SentencePiece-style with byte fallback like "
                    + "Llama 2)"
            )
        }
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw fail("model.vocab", "missing or not an object")
        }
        let byteFallback = model["byte_fallback"] as? Bool ?? false
        let decoderType = (json["decoder"] as? [String: Any])?["type"] as? String
        var patterns: [String] = []
        var byteLevel = decoderType == "ByteLevel"
        var prependScheme: String?
        func collect(_ node: Any?) {
            guard let node = node as? [String: Any], let type = node["type"] as? String else { return }
            switch type {
            case "Sequence": for child in node["pretokenizers"] as? [Any] ?? [] { collect(child) }
            case "ByteLevel":
                byteLevel = true
                if node["use_regex"] as? Bool ?? true {
                    patterns.append(GGUFExporter.TokenizerMetadata.gpt2Pattern)
                }
            case "Split":
                let pattern = node["pattern"] as? [String: Any]
                patterns.append(pattern?["Regex"] as? String ?? pattern?["String"] as? String ?? "Split")
            case "Metaspace": prependScheme = node["prepend_scheme"] as? String ?? "always"
            default: patterns.append(type)
            }
        }
        collect(json["pre_tokenizer"])

        var entries: [(id: Int, text: String)] = []
        for (text, value) in vocab {
            guard let id = value as? Int, id >= 0 else {
                throw fail("model.vocab[\(text)]", "id is not a non-negative integer")
            }
            entries.append((id, text))
        }
        struct Added { var id: Int; var content: String; var special: Bool }
        var added: [Added] = []
        for (i, item) in (json["added_tokens"] as? [Any] ?? []).enumerated() {
            guard let item = item as? [String: Any], let id = item["id"] as? Int, id >= 0,
                let content = item["content"] as? String
            else { throw fail("added_tokens[\(i)]", "needs a non-negative id and a content string") }
            added.append(Added(id: id, content: content, special: item["special"] as? Bool ?? false))
        }
        let count = (entries.map(\.id) + added.map(\.id)).max().map { $0 + 1 } ?? 0
        var tokens = [String?](repeating: nil, count: count)
        for (id, text) in entries {
            if let other = tokens[id] {
                throw fail("model.vocab", "id \(id) is used by both \(other) and \(text)")
            }
            tokens[id] = text
        }

        var result: Self
        if byteLevel && !byteFallback {
            var types = [Int32](repeating: 1, count: count)
            for token in added {
                let control = token.special || looksSpecial(token.content)
                // As the converter: user-defined tokens are stored pre-normalised (▁ as a space).
                tokens[token.id] =
                    control ? token.content : token.content.replacingOccurrences(of: "\u{2581}", with: " ")
                types[token.id] = control ? 3 : 4
            }
            result = Self(
                model: "gpt2", pre: nil, splitPatterns: patterns, tokens: [], types: types, scores: nil,
                merges: try mergeStrings(model["merges"], fail: fail))
        } else if byteFallback && !byteLevel {
            var types = [Int32](repeating: 1, count: count)
            for (id, text) in entries
            where text.utf8.count == 6 && text.hasPrefix("<0x") && text.hasSuffix(">")
                && UInt8(text.dropFirst(3).dropLast(), radix: 16) != nil
            {
                types[id] = 6
            }
            for token in added {
                tokens[token.id] = token.content
                types[token.id] = token.special ? 3 : 4
            }
            // llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined token has
            // the highest score; scoring each token by minus the rank of the merge that makes it
            // reproduces the BPE merge order (convert_hf_to_gguf.py's LlamaHfVocab writes -1000
            // for every token, which leaves llama.cpp merging left to right instead).
            var scores = [Float](repeating: 0, count: count)
            let merges = try mergeStrings(model["merges"], fail: fail)
            let ids = Dictionary(entries.map { ($0.text, $0.id) }, uniquingKeysWith: { a, _ in a })
            var ranked = Set<Int>()
            for (rank, merge) in merges.enumerated() {
                guard let space = merge.firstIndex(of: " ") else { continue }
                let joined = String(merge[..<space]) + String(merge[merge.index(after: space)...])
                if let id = ids[joined], ranked.insert(id).inserted { scores[id] = -Float(rank + 1) }
            }
            for (id, text) in entries where !ranked.contains(id) && text.count > 1 && types[id] == 1 {
                scores[id] = -Float(merges.count + id + 1)  // never made by a merge: last resort
            }
            for token in added { scores[token.id] = 0 }
            result = Self(
                model: "llama", pre: "default", splitPatterns: [], tokens: [], types: types, scores: scores,
                merges: [])
            if let prependScheme { result.addSpacePrefix = prependScheme != "never" }
        } else {
            throw fail(
                "model",
                "a BPE tokenizer that is "
                    + (byteLevel ? "byte-level with byte fallback " : "neither byte-level nor byte-fallback ")
                    + "has no llama.cpp tokenizer model")
        }
        for id in 0..<count where tokens[id] == nil {
            tokens[id] = "[PAD\(id)]"
            result.types[id] = 5
        }
        result.tokens = tokens.map { $0! }

        // Special tokens: tokenizer_config.json's `<kind>_token` looked up among the added tokens.
        func configToken(_ kind: String) -> String? {
            let entry = config["\(kind)_token"]
            return entry as? String ?? (entry as? [String: Any])?["content"] as? String
        }
        func addedID(_ content: String?) -> Int? {
            content.flatMap { c in added.first { $0.content == c }?.id }
        }
        result.bosID = addedID(configToken("bos"))
        result.eosID = addedID(configToken("eos"))
        result.unknownID = addedID(configToken("unk") ?? (model["unk_token"] as? String))
        result.paddingID = addedID(configToken("pad"))

        // add_bos/add_eos from the post-processor, as SpecialVocab reads it, then tokenizer_config.json.
        var processors: [[String: Any]] = []
        if let post = json["post_processor"] as? [String: Any] {
            processors = post["processors"] as? [[String: Any]] ?? [post]
        }
        for processor in processors {
            switch processor["type"] as? String {
            case "ByteLevel":
                result.addBOS = result.addBOS ?? false
                result.addEOS = result.addEOS ?? false
            case "TemplateProcessing":
                let single = processor["single"] as? [[String: Any]] ?? []
                guard single.count > 1 else { continue }
                func special(_ item: [String: Any]) -> String? {
                    (item["SpecialToken"] as? [String: Any])?["id"] as? String
                }
                if let first = special(single[0]) {
                    let bos = configToken("bos") ?? first
                    result.addBOS = first == bos
                    if result.bosID == nil, first == bos { result.bosID = addedID(first) }
                }
                if let last = special(single[single.count - 1]) {
                    let eos = configToken("eos") ?? last
                    result.addEOS = last == eos
                    if result.eosID == nil, last == eos { result.eosID = addedID(last) }
                }
            default: continue
            }
        }
        if result.addBOS == nil, let v = config["add_bos_token"] as? Bool { result.addBOS = v }
        if result.addEOS == nil, let v = config["add_eos_token"] as? Bool { result.addEOS = v }
        if let v = config["add_prefix_space"] as? Bool, result.model == "llama" { result.addSpacePrefix = v }
        return result
    }

    /// Merges as "left right" strings; the pair form (tokenizers ≥ 0.20) with spaces inside a part
    /// spells each space U+0120, as gguf-py does.
    static func mergeStrings(_ value: Any?, fail: (String, String) -> GGUFExportError) throws(GGUFExportError)
        -> [String]
    {
        guard let list = value as? [Any] else { return [] }
        var out: [String] = []
        out.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            if let s = item as? String {
                out.append(s)
            } else if let pair = item as? [String], pair.count == 2 {
                out.append(
                    pair.map { $0.replacingOccurrences(of: " ", with: "\u{0120}") }.joined(separator: " "))
            } else {
                throw fail("model.merges[\(i)]", "expected \"a b\" or [a, b]")
            }
        }
        return out
    }

    /// convert_hf_to_gguf.py's `does_token_look_special`: added tokens that should be CONTROL
    /// even when not marked special.
    static func looksSpecial(_ text: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(text)
            || (text.hasPrefix("<|") && text.hasSuffix("|>"))
            || (text.hasPrefix("<｜") && text.hasSuffix("｜>"))
            || (text.hasPrefix("<unused") && text.hasSuffix(">"))
    }

    mutating func loadChatTemplate(directory: URL, config: [String: Any]) throws(GGUFExportError) {
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        let jsonURL = directory.appendingPathComponent("chat_template.json")
        if FileManager.default.fileExists(atPath: jinja.path) {
            do { chatTemplate = try String(contentsOf: jinja, encoding: .utf8) } catch {
                throw GGUFExportError("\(jinja.path): cannot read as UTF-8: \(error.localizedDescription)")
            }
        } else if FileManager.default.fileExists(atPath: jsonURL.path) {
            guard let text = try Self.readObject(jsonURL)["chat_template"] as? String else {
                throw GGUFExportError("\(jsonURL.path): chat_template: missing or not a string")
            }
            chatTemplate = text
        } else if let text = config["chat_template"] as? String {
            chatTemplate = text
        } else if let list = config["chat_template"] as? [[String: Any]] {
            for entry in list {
                guard let name = entry["name"] as? String, let template = entry["template"] as? String else {
                    throw GGUFExportError(
                        "tokenizer_config.json: chat_template: list entries need string name and template")
                }
                if name == "default" {
                    chatTemplate = template
                } else {
                    namedChatTemplates.append((name, template))
                }
            }
        }
    }

    static func readObject(_ url: URL) throws(GGUFExportError) -> [String: Any] {
        do {
            let data = try Data(contentsOf: url)
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw GGUFExportError("\(url.path): expected a JSON object")
            }
            return object
        } catch let error as GGUFExportError {
            throw error
        } catch {
            throw GGUFExportError("\(url.path): cannot read JSON: \(error.localizedDescription)")
        }
    }
}
