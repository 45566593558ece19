import Foundation
import TensorCore

/// Hugging Face `config.json` coding for the families `transformers` calls `llama`, `mistral`,
/// `qwen2`, `qwen3` and `gpt2`, with the field names it reads, so
/// `AutoModelForCausalLM.from_pretrained(runDir)` builds the same architecture.
///
/// Decoding reads both the transformers 4 layout (`rope_theta`, `rope_scaling`) and the
/// transformers 5 one (`rope_parameters`), checks every field it reads (missing, wrong type,
/// unsupported value) and names it, applies `transformers`' defaults for absent fields, refuses
/// every key it neither reads nor knows to be harmless (`ModelConfig+HuggingFaceKeys.swift`),
/// and ends with `validate()`.
extension ModelConfig: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let object = try decoder.singleValueContainer().decode([String: JSONValue].self)
        var reader = HuggingFaceConfigReader(object: object)
        self = try reader.config()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        // transformers 4 reads `torch_dtype`, 5 writes and prefers `dtype`.
        try c.encode(storageDType.rawValue, forKey: Key("torch_dtype"))
        try c.encode(storageDType.rawValue, forKey: Key("dtype"))
        try c.encode(vocabSize, forKey: Key("vocab_size"))
        try c.encode(tieEmbeddings, forKey: Key("tie_word_embeddings"))
        // Explicit nulls: an absent key would get transformers' family default (Llama's 1 and 2).
        for (key, id) in [("bos_token_id", bosTokenID), ("pad_token_id", padTokenID)] {
            if let id { try c.encode(id, forKey: Key(key)) } else { try c.encodeNil(forKey: Key(key)) }
        }
        switch eosTokenIDs.count {
        case 0: try c.encodeNil(forKey: Key("eos_token_id"))
        case 1: try c.encode(eosTokenIDs[0], forKey: Key("eos_token_id"))
        default: try c.encode(eosTokenIDs, forKey: Key("eos_token_id"))
        }
        try c.encode([Self.architecture(family)], forKey: Key("architectures"))
        try c.encode(family.rawValue, forKey: Key("model_type"))
        switch family {
        case .llama, .mistral, .qwen2, .qwen3:
            try c.encode(hiddenSize, forKey: Key("hidden_size"))
            try c.encode(intermediateSize, forKey: Key("intermediate_size"))
            try c.encode(headCount, forKey: Key("num_attention_heads"))
            try c.encode(layerCount, forKey: Key("num_hidden_layers"))
            try c.encode(kvHeadCount, forKey: Key("num_key_value_heads"))
            try c.encode(headDimension, forKey: Key("head_dim"))
            try c.encode(contextLength, forKey: Key("max_position_embeddings"))
            try c.encode(normEpsilon, forKey: Key("rms_norm_eps"))
            try c.encode("silu", forKey: Key("hidden_act"))
            // Both layouts: transformers 4 reads rope_theta/rope_scaling, 5 rope_parameters
            // (and gives a non-null rope_scaling precedence, so the two must agree).
            try c.encode(ropeTheta, forKey: Key("rope_theta"))
            var parameters = c.nestedContainer(keyedBy: Key.self, forKey: Key("rope_parameters"))
            try Self.encode(ropeScaling, theta: ropeTheta, into: &parameters)
            if ropeScaling == nil {
                try c.encodeNil(forKey: Key("rope_scaling"))
            } else {
                var scaling = c.nestedContainer(keyedBy: Key.self, forKey: Key("rope_scaling"))
                try Self.encode(ropeScaling, theta: ropeTheta, into: &scaling)
            }
            switch family {
            case .llama:
                try c.encode(attentionBias, forKey: Key("attention_bias"))
                try c.encode(mlpBias, forKey: Key("mlp_bias"))
            case .mistral:
                try c.encodeNil(forKey: Key("sliding_window"))
            case .qwen2:
                try c.encode(false, forKey: Key("use_sliding_window"))
                try c.encodeNil(forKey: Key("sliding_window"))
            case .qwen3:
                try c.encode(attentionBias, forKey: Key("attention_bias"))
                try c.encode(false, forKey: Key("use_sliding_window"))
                try c.encodeNil(forKey: Key("sliding_window"))
            case .gpt2: break
            }
        case .gpt2:
            try c.encode(hiddenSize, forKey: Key("n_embd"))
            try c.encode(headCount, forKey: Key("n_head"))
            try c.encode(layerCount, forKey: Key("n_layer"))
            try c.encode(contextLength, forKey: Key("n_positions"))
            try c.encode(contextLength, forKey: Key("n_ctx"))
            try c.encode(intermediateSize, forKey: Key("n_inner"))
            try c.encode(normEpsilon, forKey: Key("layer_norm_epsilon"))
            try c.encode("gelu_new", forKey: Key("activation_function"))
            // Trained without dropout; zero makes transformers' train mode match ours too.
            for key in ["resid_pdrop", "embd_pdrop", "attn_pdrop"] { try c.encode(0.0, forKey: Key(key)) }
        }
    }

    private static func encode(
        _ scaling: RotaryScaling?, theta: Float,
        into c: inout KeyedEncodingContainer<Key>
    ) throws {
        try c.encode(theta, forKey: Key("rope_theta"))
        switch scaling {
        case nil:
            try c.encode("default", forKey: Key("rope_type"))
        case .linear(let factor):
            try c.encode("linear", forKey: Key("rope_type"))
            try c.encode(factor, forKey: Key("factor"))
        case let .llama3(factor, low, high, original):
            try c.encode("llama3", forKey: Key("rope_type"))
            try c.encode(factor, forKey: Key("factor"))
            try c.encode(low, forKey: Key("low_freq_factor"))
            try c.encode(high, forKey: Key("high_freq_factor"))
            try c.encode(original, forKey: Key("original_max_position_embeddings"))
        }
    }

    static func architecture(_ family: Family) -> String {
        switch family {
        case .llama: "LlamaForCausalLM"
        case .mistral: "MistralForCausalLM"
        case .qwen2: "Qwen2ForCausalLM"
        case .qwen3: "Qwen3ForCausalLM"
        case .gpt2: "GPT2LMHeadModel"
        }
    }

    /// `config.json` bytes: pretty-printed with sorted keys (stable diffs between runs).
    public func huggingFaceJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)  // only numbers, strings and booleans: cannot fail
    }

    /// Decodes and validates a Hugging Face `config.json`; `source` names the file in errors.
    public static func fromHuggingFaceJSON(_ data: Data, source: String = "config.json")
        throws(ModelConfigError) -> ModelConfig
    {
        do {
            return try JSONDecoder().decode(ModelConfig.self, from: data)
        } catch let error as ModelConfigError {
            throw ModelConfigError(message: "\(source): \(error.message)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ModelConfigError(message: "\(source): not valid JSON (\(context.debugDescription))")
        } catch DecodingError.typeMismatch {
            throw ModelConfigError(message: "\(source): not a JSON object")
        } catch {
            throw ModelConfigError(message: "\(source): \(error)")
        }
    }

    /// Reads and validates `config.json` at `url`.
    public static func load(from url: URL) throws(ModelConfigError) -> ModelConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelConfigError(message: "cannot read \(url.path): \(error.localizedDescription)")
        }
        return try fromHuggingFaceJSON(data, source: url.path)
    }

    /// Atomically writes `config.json` to `url`.
    public func save(to url: URL) throws(AtomicFileError) {
        try AtomicFileWriter.write(huggingFaceJSON(), to: url)
    }
}

/// One pass over a `config.json` object: typed getters that name the field in errors and record
/// what was read, so every remaining key can be checked against the harmless list at the end.
struct HuggingFaceConfigReader {
    let object: [String: JSONValue]
    /// Path of a nested object (`rope_parameters.`) in field names.
    let prefix: String
    var read: Set<String> = []

    init(object: [String: JSONValue], prefix: String = "") {
        self.object = object
        self.prefix = prefix
    }

    func fail(_ field: String, _ problem: String) -> ModelConfigError {
        ModelConfigError(message: "config.json field \"\(prefix)\(field)\": \(problem)")
    }

    /// The value, or nil when absent or null.
    mutating func value(_ field: String) -> JSONValue? {
        read.insert(field)
        guard let v = object[field], !v.isNull else { return nil }
        return v
    }

    mutating func int(_ field: String) throws(ModelConfigError) -> Int? {
        switch value(field) {
        case nil: return nil
        case .integer(let i)?: return Int(i)
        case .number(let d)? where d.rounded() == d && abs(d) < 0x1p62: return Int(d)
        case let other?: throw fail(field, "expected an integer, got \(other.text)")
        }
    }

    mutating func float(_ field: String) throws(ModelConfigError) -> Float? {
        switch value(field) {
        case nil: return nil
        case .integer(let i)?: return Float(i)
        case .number(let d)? where d.isFinite && abs(d) <= Double(Float.greatestFiniteMagnitude):
            return Float(d)
        case let other?: throw fail(field, "expected a number, got \(other.text)")
        }
    }

    mutating func bool(_ field: String) throws(ModelConfigError) -> Bool? {
        switch value(field) {
        case nil: return nil
        case .bool(let b)?: return b
        case let other?: throw fail(field, "expected true or false, got \(other.text)")
        }
    }

    mutating func string(_ field: String) throws(ModelConfigError) -> String? {
        switch value(field) {
        case nil: return nil
        case .string(let s)?: return s
        case let other?: throw fail(field, "expected a string, got \(other.text)")
        }
    }

    mutating func required(_ field: String) throws(ModelConfigError) -> Int {
        guard let v = try int(field) else { throw fail(field, "missing") }
        return v
    }

    mutating func expect(_ field: String, oneOf allowed: [String]) throws(ModelConfigError) {
        if let v = try string(field), !allowed.contains(v) {
            throw fail(
                field,
                "unsupported value \"\(v)\"; expected \(allowed.map { "\"\($0)\"" }.joined(separator: " or "))"
            )
        }
    }

    /// An integer or a list of integers (`eos_token_id`).
    mutating func integers(_ field: String) throws(ModelConfigError) -> [Int]? {
        switch value(field) {
        case nil: return nil
        case .integer(let i)?: return [Int(i)]
        case .array(let items)?:
            var ids: [Int] = []
            for item in items {
                guard case .integer(let i) = item else {
                    throw fail(field, "expected an integer or a list of integers")
                }
                ids.append(Int(i))
            }
            return ids
        case let other?: throw fail(field, "expected an integer or a list of integers, got \(other.text)")
        }
    }

    mutating func family() throws(ModelConfigError) -> ModelConfig.Family {
        let names = ModelConfig.Family.allCases.map(\.rawValue)
        if let type = try string("model_type") {
            guard let family = ModelConfig.Family(rawValue: type) else {
                throw fail(
                    "model_type",
                    "unsupported value \"\(type)\"; expected one of \(names.joined(separator: ", "))")
            }
            return family
        }
        let architectures: [String]
        if case .array(let items)? = value("architectures") {
            architectures = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        } else {
            architectures = []
        }
        for family in ModelConfig.Family.allCases
        where architectures.contains(ModelConfig.architecture(family)) {
            return family
        }
        let known = ModelConfig.Family.allCases.map { ModelConfig.architecture($0) }.joined(separator: ", ")
        throw fail("model_type", "missing (and architectures names none of \(known))")
    }

    mutating func config() throws(ModelConfigError) -> ModelConfig {
        let family = try family()
        var config: ModelConfig
        switch family {
        case .gpt2: config = try gpt2()
        case .llama, .mistral, .qwen2, .qwen3: config = try llamaLike(family)
        }
        config.bosTokenID = try int("bos_token_id")
        config.eosTokenIDs = try integers("eos_token_id") ?? []
        config.padTokenID = try int("pad_token_id")
        config.storageDType = try storageDType()
        try checkRemainingKeys(family)
        try config.validate()
        return config
    }

    private mutating func storageDType() throws(ModelConfigError) -> ModelConfig.StorageDType {
        // transformers 5 prefers `dtype` over the older `torch_dtype`.
        let field = object["dtype"].map { !$0.isNull } == true ? "dtype" : "torch_dtype"
        read.formUnion(["dtype", "torch_dtype"])
        guard let name = try string(field), name != "auto" else { return .float32 }
        guard let dtype = ModelConfig.StorageDType(rawValue: name) else {
            throw fail(
                field, "unsupported value \"\(name)\"; expected \"float32\", \"bfloat16\" or \"float16\"")
        }
        return dtype
    }

    private mutating func gpt2() throws(ModelConfigError) -> ModelConfig {
        try expect("activation_function", oneOf: ["gelu_new", "gelu_pytorch_tanh"])
        if try bool("scale_attn_weights") == false {
            throw fail("scale_attn_weights", "unscaled attention is not implemented; expected true")
        }
        if try bool("scale_attn_by_inverse_layer_idx") == true {
            throw fail(
                "scale_attn_by_inverse_layer_idx",
                "per-layer attention scaling is not implemented; expected false")
        }
        let width = try required("n_embd")
        let positions = try required("n_positions")
        if let ctx = try int("n_ctx"), ctx != positions {
            throw fail("n_ctx", "must equal n_positions (\(positions)), got \(ctx)")
        }
        return ModelConfig(
            family: .gpt2, vocabSize: try required("vocab_size"), hiddenSize: width,
            layerCount: try required("n_layer"),
            headCount: try required("n_head"), intermediateSize: try int("n_inner") ?? 4 * max(width, 0),
            contextLength: positions, normEpsilon: try float("layer_norm_epsilon") ?? 1e-5,
            tieEmbeddings: try bool("tie_word_embeddings") ?? true)
    }

    private mutating func llamaLike(_ family: ModelConfig.Family) throws(ModelConfigError) -> ModelConfig {
        try expect("hidden_act", oneOf: ["silu", "swish"])
        let hidden = try required("hidden_size")
        let heads = try required("num_attention_heads")
        let context =
            try int("max_position_embeddings")
            ?? (family == .mistral ? 131_072 : family == .llama ? 2048 : 32_768)
        // transformers' defaults: Mistral 8 kv heads, Qwen 32 (the class default before
        // __post_init__ only fills a null), Llama = heads.
        let kvDefault = family == .mistral ? 8 : family == .llama ? heads : 32
        var kvHeads = try int("num_key_value_heads") ?? kvDefault
        if object["num_key_value_heads"] == .null { kvHeads = heads }
        let headDim = try int("head_dim") ?? (family == .qwen3 ? 128 : nil)
        let (theta, scaling) = try rope(contextLength: context)
        try checkSlidingWindow(family, contextLength: context, layers: try required("num_hidden_layers"))
        var attentionBias = false, mlpBias = false
        switch family {
        case .llama:
            attentionBias = try bool("attention_bias") ?? false
            mlpBias = try bool("mlp_bias") ?? false
        case .qwen3:
            attentionBias = try bool("attention_bias") ?? false
        default: break
        }
        return ModelConfig(
            family: family, vocabSize: try required("vocab_size"), hiddenSize: hidden,
            layerCount: try required("num_hidden_layers"), headCount: heads, kvHeadCount: kvHeads,
            intermediateSize: try required("intermediate_size"), contextLength: context,
            normEpsilon: try float("rms_norm_eps") ?? 1e-6, ropeTheta: theta, ropeScaling: scaling,
            headDimension: headDim, attentionBias: attentionBias, mlpBias: mlpBias,
            tieEmbeddings: try bool("tie_word_embeddings") ?? false)
    }

    /// Mistral's `sliding_window`, Qwen's `use_sliding_window`/`max_window_layers`/`layer_types`:
    /// accepted only where no layer's window can cut an attention row (window off, or not shorter
    /// than the context), following how transformers 5 derives each layer's type.
    private mutating func checkSlidingWindow(
        _ family: ModelConfig.Family, contextLength: Int,
        layers: Int
    ) throws(ModelConfigError) {
        // Absent, transformers' class default (4096) applies; an explicit null switches it off.
        var window = try int("sliding_window")
        if object["sliding_window"] == nil && family != .llama { window = 4096 }
        let maxWindowLayers = try int("max_window_layers") ?? 28
        var layerTypes: [String]?
        if let v = value("layer_types") {
            guard case .array(let items) = v else { throw fail("layer_types", "expected a list of strings") }
            layerTypes = try items.map { (item) throws(ModelConfigError) -> String in
                guard case .string(let s) = item else {
                    throw fail("layer_types", "expected a list of strings")
                }
                return s
            }
        }
        func tooShort(_ w: Int) -> Bool { w < contextLength }
        switch family {
        case .llama, .mistral, .gpt2:
            if let window, tooShort(window) {
                throw fail(
                    "sliding_window",
                    "sliding-window attention (window \(window) < context \(contextLength)) is not implemented"
                )
            }
            if let odd = layerTypes?.first(where: { $0 != "full_attention" }) {
                throw fail("layer_types", "layer type \"\(odd)\" is not implemented")
            }
        case .qwen2, .qwen3:
            // Qwen's config drops the window unless use_sliding_window, then makes layers from
            // max_window_layers on sliding (unless layer_types lists them).
            let effective = try bool("use_sliding_window") == true ? window : nil
            let types =
                layerTypes
                ?? (0..<max(layers, 0)).map {
                    effective != nil && $0 >= maxWindowLayers ? "sliding_attention" : "full_attention"
                }
            for (layer, type) in types.enumerated() where type != "full_attention" {
                guard type == "sliding_attention" else {
                    throw fail("layer_types", "layer type \"\(type)\" is not implemented")
                }
                guard let effective else {
                    throw fail(
                        "layer_types",
                        "layer type \"sliding_attention\" (layer \(layer)) without a window: "
                            + "transformers cannot run it either")
                }
                if tooShort(effective) {
                    throw fail(
                        "use_sliding_window",
                        "sliding-window attention (window \(effective) < context "
                            + "\(contextLength), layer \(layer)) is not implemented")
                }
            }
        }
    }

    /// (theta, scaling) from `rope_scaling` (transformers 4; given precedence, as transformers 5
    /// does) or `rope_parameters` (transformers 5), with `rope_theta` inside or at the top level.
    private mutating func rope(contextLength: Int) throws(ModelConfigError) -> (Float, RotaryScaling?) {
        let topTheta = try float("rope_theta")
        if try float("partial_rotary_factor").map({ $0 != 1 }) == true {
            throw fail("partial_rotary_factor", "partial rotary embeddings are not implemented")
        }
        var results: [(Float, RotaryScaling?)] = []
        for field in ["rope_scaling", "rope_parameters"] {
            guard let v = value(field) else { continue }
            guard case .object(let dict) = v else { throw fail(field, "expected an object, got \(v.text)") }
            results.append(try rope(dict, field: field, topTheta: topTheta, contextLength: contextLength))
        }
        if results.count == 2, results[0] != results[1] {
            throw fail("rope_scaling", "disagrees with rope_parameters")
        }
        return results.first ?? (topTheta ?? 10_000, nil)
    }

    private func rope(
        _ dict: [String: JSONValue], field: String, topTheta: Float?,
        contextLength: Int
    ) throws(ModelConfigError) -> (Float, RotaryScaling?) {
        var sub = HuggingFaceConfigReader(object: dict, prefix: field + ".")
        if dict.values.contains(where: { if case .object = $0 { true } else { false } }) {
            throw fail(field, "per-layer-type rotary parameters are not implemented")
        }
        var type = "default"
        if let t = try sub.string("rope_type") {
            type = t
        } else if let t = try sub.string("type") {
            type = t
        }
        sub.read.insert("type")
        var theta = topTheta ?? 10_000
        if let t = try sub.float("rope_theta") { theta = t }
        if let f = try sub.float("partial_rotary_factor"), f != 1 {
            throw sub.fail("partial_rotary_factor", "partial rotary embeddings are not implemented")
        }
        func need(_ key: String) throws(ModelConfigError) -> Float {
            guard let v = try sub.float(key) else { throw sub.fail(key, "missing") }
            return v
        }
        let scaling: RotaryScaling?
        switch type {
        case "default":
            scaling = nil
        case "linear":
            scaling = .linear(factor: try need("factor"))
        case "llama3":
            var original = contextLength
            if let o = try sub.int("original_max_position_embeddings") { original = o }
            scaling = .llama3(
                factor: try need("factor"), lowFrequencyFactor: try need("low_freq_factor"),
                highFrequencyFactor: try need("high_freq_factor"), originalContextLength: original)
        default:
            throw sub.fail(
                "rope_type", "unsupported value \"\(type)\"; implemented: \"default\", \"linear\", \"llama3\""
            )
        }
        // A key the formulas above did not read would change the rotation in transformers.
        for key in dict.keys.sorted() where !sub.read.contains(key) && !(dict[key]!.isNull) {
            if type == "default" && key == "factor" { continue }  // transformers ignores it too
            throw sub.fail(key, "not implemented for rope_type \"\(type)\" (value \(dict[key]!.text))")
        }
        return (theta, scaling)
    }

    private func checkRemainingKeys(_ family: ModelConfig.Family) throws(ModelConfigError) {
        let harmless = ModelConfig.harmlessKeys.union(ModelConfig.familyHarmlessKeys(family))
        for key in object.keys.sorted() where !read.contains(key) {
            let v = object[key]!
            if let reason = ModelConfig.refusedKeys[key] {
                if v.isNull || v == .bool(false) { continue }
                throw fail(key, "\(reason) (value \(v.text))")
            }
            if harmless.contains(key) { continue }
            throw fail(
                key,
                "unknown for model_type \"\(family.rawValue)\" and not known to be harmless; "
                    + "refusing rather than ignoring it (value \(v.text))")
        }
    }
}
