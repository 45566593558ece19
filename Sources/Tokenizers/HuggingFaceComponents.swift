import Foundation

/// Reads the components of a `tokenizer.json` (normalizer, pre-tokenizer, decoder,
/// post-processor). Malformed fields are `corruptFile`; well-formed ones of a type not
/// implemented here are `unsupportedComponent`, naming the type.
struct HuggingFaceComponents {
    let path: String

    func corrupt(_ field: String, _ reason: String) -> TokenizerError {
        .corruptFile(path: path, field: field, reason: reason)
    }

    func unsupported(_ field: String, _ component: String, _ type: String) -> TokenizerError {
        .unsupportedComponent(path: path, field: field, component: component, type: type)
    }

    /// The object at a field, nil for a missing field or JSON null.
    func object(_ value: Any?, _ field: String) throws -> [String: Any]? {
        guard let value, !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any] else { throw corrupt(field, "expected an object or null") }
        return object
    }

    func type(_ object: [String: Any], _ field: String) throws -> String {
        guard let type = object["type"] as? String else {
            throw corrupt("\(field).type", "missing or not a string")
        }
        return type
    }

    func string(_ object: [String: Any], _ key: String, _ field: String, default value: String? = nil) throws
        -> String
    {
        if let s = object[key] as? String { return s }
        if let value, object[key] == nil || object[key] is NSNull { return value }
        throw corrupt("\(field).\(key)", "expected a string")
    }

    func bool(_ object: [String: Any], _ key: String, _ field: String, default value: Bool) throws -> Bool {
        guard let raw = object[key], !(raw is NSNull) else { return value }
        guard let flag = raw as? Bool else { throw corrupt("\(field).\(key)", "expected true or false") }
        return flag
    }

    func int(_ object: [String: Any], _ key: String, _ field: String, default value: Int) throws -> Int {
        guard let raw = object[key], !(raw is NSNull) else { return value }
        guard let number = raw as? NSNumber, let int = Int(exactly: number.doubleValue), int >= 0,
            int < 1 << 30
        else {
            throw corrupt("\(field).\(key)", "expected a non-negative integer")
        }
        return int
    }

    func list(_ object: [String: Any], _ key: String, _ field: String) throws -> [Any] {
        guard let list = object[key] as? [Any] else { throw corrupt("\(field).\(key)", "expected an array") }
        return list
    }

    /// `{"String": "…"}` or `{"Regex": "…"}`.
    func pattern(_ value: Any?, _ field: String) throws -> TextPattern {
        guard let object = value as? [String: Any], object.count == 1 else {
            throw corrupt(field, "expected {\"String\": …} or {\"Regex\": …}")
        }
        if let literal = object["String"] as? String { return .literal(Array(literal.utf8)) }
        if let regex = object["Regex"] as? String {
            do { return try TextPattern.regex(regex) } catch {
                throw corrupt("\(field).Regex", "the regex does not compile: \(error.localizedDescription)")
            }
        }
        throw corrupt(field, "expected {\"String\": …} or {\"Regex\": …}")
    }

    func behavior(_ object: [String: Any], _ field: String, default value: SplitBehavior? = nil) throws
        -> SplitBehavior
    {
        guard let raw = object["behavior"] as? String else {
            if let value, object["behavior"] == nil { return value }
            throw corrupt("\(field).behavior", "expected a string")
        }
        guard let behavior = SplitBehavior(rawValue: raw) else {
            throw corrupt("\(field).behavior", "unknown split behaviour \(raw)")
        }
        return behavior
    }

    func normalizer(_ value: Any?, _ field: String) throws -> Normalizer? {
        guard let object = try object(value, field) else { return nil }
        let type = try type(object, field)
        switch type {
        case "NFC": return .unicode(.nfc)
        case "NFD": return .unicode(.nfd)
        case "NFKC": return .unicode(.nfkc)
        case "NFKD": return .unicode(.nfkd)
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(try string(object, "prepend", field))
        case "Replace":
            return .replace(
                try pattern(object["pattern"], "\(field).pattern"), try string(object, "content", field))
        case "Strip":
            return .strip(
                left: try bool(object, "strip_left", field, default: true),
                right: try bool(object, "strip_right", field, default: true))
        case "Sequence":
            let steps = try list(object, "normalizers", field).enumerated().compactMap { k, step in
                try normalizer(step, "\(field).normalizers[\(k)]")
            }
            return .sequence(steps)
        default:
            throw unsupported(field, "normalizer", type)
        }
    }

    func preTokenizer(_ value: Any?, _ field: String) throws -> PreTokenization? {
        guard let object = try object(value, field) else { return nil }
        let type = try type(object, field)
        switch type {
        case "ByteLevel":
            return .byteLevel(
                addPrefixSpace: try bool(object, "add_prefix_space", field, default: true),
                useRegex: try bool(object, "use_regex", field, default: true))
        case "Split":
            return .split(
                try pattern(object["pattern"], "\(field).pattern"), try behavior(object, field),
                invert: try bool(object, "invert", field, default: false))
        case "Metaspace":
            let replacement = try string(object, "replacement", field, default: "▁")
            guard replacement.unicodeScalars.count == 1 else {
                throw corrupt("\(field).replacement", "expected one character")
            }
            return .metaspace(
                replacement: replacement, prependScheme: try prependScheme(object, field),
                split: try bool(object, "split", field, default: true))
        case "Digits":
            return .digits(individual: try bool(object, "individual_digits", field, default: false))
        case "Punctuation":
            return .punctuation(try behavior(object, field, default: .isolated))
        case "Whitespace":
            return .whitespace
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Sequence":
            let steps = try list(object, "pretokenizers", field).enumerated().compactMap { k, step in
                try preTokenizer(step, "\(field).pretokenizers[\(k)]")
            }
            return .sequence(steps)
        default:
            throw unsupported(field, "pre-tokenizer", type)
        }
    }

    /// `prepend_scheme`, or the older `add_prefix_space` (true = always, false = never).
    func prependScheme(_ object: [String: Any], _ field: String) throws -> PreTokenization.PrependScheme {
        if let raw = object["prepend_scheme"] as? String {
            guard let scheme = PreTokenization.PrependScheme(rawValue: raw) else {
                throw corrupt("\(field).prepend_scheme", "expected always, first or never, found \(raw)")
            }
            return scheme
        }
        return try bool(object, "add_prefix_space", field, default: true) ? .always : .never
    }

    func decoder(_ value: Any?, _ field: String) throws -> TokenDecoder? {
        guard let object = try object(value, field) else { return nil }
        let type = try type(object, field)
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            return .metaspace(
                replacement: try string(object, "replacement", field, default: "▁"),
                prependScheme: try prependScheme(object, field))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let content = try string(object, "content", field)
            guard content.unicodeScalars.count == 1, let scalar = content.unicodeScalars.first else {
                throw corrupt("\(field).content", "expected one character")
            }
            return .strip(
                content: scalar, start: try int(object, "start", field, default: 0),
                stop: try int(object, "stop", field, default: 0))
        case "Replace":
            return .replace(
                try pattern(object["pattern"], "\(field).pattern"), try string(object, "content", field))
        case "Sequence":
            let steps = try list(object, "decoders", field).enumerated().compactMap { k, step in
                try decoder(step, "\(field).decoders[\(k)]")
            }
            return .sequence(steps)
        default:
            throw unsupported(field, "decoder", type)
        }
    }

    /// `ids` of a special token entry, for template pieces.
    func postProcessor(_ value: Any?, _ field: String, tokenID: (String) -> TokenID?) throws -> PostProcessor?
    {
        guard let object = try object(value, field) else { return nil }
        let type = try type(object, field)
        switch type {
        case "ByteLevel":
            return .byteLevel
        case "TemplateProcessing":
            var specials: [String: [TokenID]] = [:]
            if let table = object["special_tokens"] as? [String: Any] {
                for (name, entry) in table {
                    guard let entry = entry as? [String: Any], let ids = entry["ids"] as? [NSNumber] else {
                        throw corrupt(
                            "\(field).special_tokens[\(JSON.quote(name))]", "expected an object with ids")
                    }
                    specials[name] = ids.map { TokenID(truncating: $0) }
                }
            } else if object["special_tokens"] != nil {
                throw corrupt("\(field).special_tokens", "expected an object")
            }
            func pieces(_ key: String) throws -> [PostProcessor.Piece] {
                try list(object, key, field).enumerated().map { k, raw in
                    let here = "\(field).\(key)[\(k)]"
                    if let special = (raw as? [String: Any])?["SpecialToken"] as? [String: Any] {
                        guard let id = special["id"] as? String,
                            let ids = specials[id] ?? tokenID(id).map({ [$0] })
                        else {
                            throw corrupt(here, "special token not in special_tokens")
                        }
                        return .special(ids)
                    }
                    if let sequence = (raw as? [String: Any])?["Sequence"] as? [String: Any] {
                        guard let id = sequence["id"] as? String, id == "A" || id == "B" else {
                            throw corrupt(here, "expected sequence A or B")
                        }
                        return .sequence(first: id == "A")
                    }
                    throw corrupt(here, "expected {\"SpecialToken\": …} or {\"Sequence\": …}")
                }
            }
            return .template(single: try pieces("single"), pair: try pieces("pair"))
        case "BertProcessing", "RobertaProcessing":
            func token(_ key: String) throws -> [TokenID] {
                guard let pair = object[key] as? [Any], pair.count == 2, let id = pair[1] as? NSNumber else {
                    throw corrupt("\(field).\(key)", "expected [token, id]")
                }
                return [TokenID(truncating: id)]
            }
            let cls = try token("cls")
            let sep = try token("sep")
            let a = PostProcessor.Piece.sequence(first: true)
            let b = PostProcessor.Piece.sequence(first: false)
            if type == "BertProcessing" {
                return .template(
                    single: [.special(cls), a, .special(sep)],
                    pair: [.special(cls), a, .special(sep), b, .special(sep)])
            }
            return .template(
                single: [.special(cls), a, .special(sep)],
                pair: [.special(cls), a, .special(sep), .special(sep), b, .special(sep)])
        case "Sequence":
            let steps = try list(object, "processors", field).enumerated().compactMap { k, step in
                try postProcessor(step, "\(field).processors[\(k)]", tokenID: tokenID)
            }
            return .sequence(steps)
        default:
            throw unsupported(field, "post-processor", type)
        }
    }
}
