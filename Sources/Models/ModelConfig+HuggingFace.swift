import Foundation

/// Hugging Face `config.json` coding: a `.llama` config is a `LlamaForCausalLM`, a `.gpt2`
/// config a `GPT2LMHeadModel`, with the field names `transformers` reads, so
/// `AutoModelForCausalLM.from_pretrained(runDir)` builds the same architecture.
///
/// Decoding checks every field it reads (missing, wrong type, unsupported value) and names it,
/// applies `transformers`' defaults for optional fields, and ends with `validate()`.
extension ModelConfig: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)

        func fail(_ field: String, _ problem: String) -> ModelConfigError {
            ModelConfigError(message: "config.json field \"\(field)\": \(problem)")
        }
        func optional<T: Decodable>(_ field: String, _ type: T.Type) throws -> T? {
            let key = Key(field)
            guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
            do {
                return try c.decode(T.self, forKey: key)
            } catch {
                throw fail(field, "expected \(T.self == Int.self ? "an integer" : T.self == Bool.self ? "true or false" : T.self == String.self ? "a string" : T.self == [String].self ? "a list of strings" : "a number")")
            }
        }
        func required<T: Decodable>(_ field: String, _ type: T.Type) throws -> T {
            guard let value = try optional(field, type) else { throw fail(field, "missing") }
            return value
        }
        func expect(_ field: String, oneOf allowed: [String]) throws {
            if let value = try optional(field, String.self), !allowed.contains(value) {
                throw fail(field, "unsupported value \"\(value)\"; expected \(allowed.map { "\"\($0)\"" }.joined(separator: " or "))")
            }
        }
        func expectFalse(_ field: String) throws {
            if try optional(field, Bool.self) == true { throw fail(field, "must be false (this model has no such biases)") }
        }

        let family: Family
        switch try optional("model_type", String.self) {
        case "llama": family = .llama
        case "gpt2": family = .gpt2
        case let other?: throw fail("model_type", "unsupported value \"\(other)\"; expected \"llama\" or \"gpt2\"")
        case nil:
            let architectures = try optional("architectures", [String].self) ?? []
            if architectures.contains("LlamaForCausalLM") { family = .llama }
            else if architectures.contains("GPT2LMHeadModel") { family = .gpt2 }
            else { throw fail("model_type", "missing (and architectures names neither LlamaForCausalLM nor GPT2LMHeadModel)") }
        }

        switch family {
        case .llama:
            try expect("hidden_act", oneOf: ["silu"])
            try expectFalse("attention_bias")
            try expectFalse("mlp_bias")
            if c.contains(Key("rope_scaling")), try !c.decodeNil(forKey: Key("rope_scaling")) {
                throw fail("rope_scaling", "rotary scaling is not supported; expected null")
            }
            let hidden = try required("hidden_size", Int.self)
            let heads = try required("num_attention_heads", Int.self)
            if let headDim = try optional("head_dim", Int.self), heads > 0, headDim != hidden / heads {
                throw fail("head_dim", "must equal hidden_size / num_attention_heads = \(hidden / heads), got \(headDim)")
            }
            self.init(
                family: .llama,
                vocabSize: try required("vocab_size", Int.self),
                hiddenSize: hidden,
                layerCount: try required("num_hidden_layers", Int.self),
                headCount: heads,
                kvHeadCount: try optional("num_key_value_heads", Int.self) ?? heads,
                intermediateSize: try required("intermediate_size", Int.self),
                contextLength: try optional("max_position_embeddings", Int.self) ?? 2048,
                normEpsilon: try optional("rms_norm_eps", Float.self) ?? 1e-6,
                ropeTheta: try optional("rope_theta", Float.self) ?? 10_000,
                // transformers' LlamaConfig defaults to untied embeddings.
                tieEmbeddings: try optional("tie_word_embeddings", Bool.self) ?? false,
                bosTokenID: try optional("bos_token_id", Int.self),
                eosTokenID: try optional("eos_token_id", Int.self))
        case .gpt2:
            try expect("activation_function", oneOf: ["gelu_new", "gelu_pytorch_tanh"])
            let width = try required("n_embd", Int.self)
            let positions = try required("n_positions", Int.self)
            if let ctx = try optional("n_ctx", Int.self), ctx != positions {
                throw fail("n_ctx", "must equal n_positions (\(positions)), got \(ctx)")
            }
            self.init(
                family: .gpt2,
                vocabSize: try required("vocab_size", Int.self),
                hiddenSize: width,
                layerCount: try required("n_layer", Int.self),
                headCount: try required("n_head", Int.self),
                intermediateSize: try optional("n_inner", Int.self) ?? 4 * width,
                contextLength: positions,
                normEpsilon: try optional("layer_norm_epsilon", Float.self) ?? 1e-5,
                tieEmbeddings: try optional("tie_word_embeddings", Bool.self) ?? true,
                bosTokenID: try optional("bos_token_id", Int.self),
                eosTokenID: try optional("eos_token_id", Int.self))
        }
        try validate()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode("float32", forKey: Key("torch_dtype"))
        try c.encode(vocabSize, forKey: Key("vocab_size"))
        try c.encode(tieEmbeddings, forKey: Key("tie_word_embeddings"))
        try c.encodeIfPresent(bosTokenID, forKey: Key("bos_token_id"))
        try c.encodeIfPresent(eosTokenID, forKey: Key("eos_token_id"))
        switch family {
        case .llama:
            try c.encode(["LlamaForCausalLM"], forKey: Key("architectures"))
            try c.encode("llama", forKey: Key("model_type"))
            try c.encode(hiddenSize, forKey: Key("hidden_size"))
            try c.encode(intermediateSize, forKey: Key("intermediate_size"))
            try c.encode(headCount, forKey: Key("num_attention_heads"))
            try c.encode(layerCount, forKey: Key("num_hidden_layers"))
            try c.encode(kvHeadCount, forKey: Key("num_key_value_heads"))
            try c.encode(headDimension, forKey: Key("head_dim"))
            try c.encode(contextLength, forKey: Key("max_position_embeddings"))
            try c.encode(normEpsilon, forKey: Key("rms_norm_eps"))
            try c.encode(ropeTheta, forKey: Key("rope_theta"))
            try c.encode("silu", forKey: Key("hidden_act"))
            try c.encode(false, forKey: Key("attention_bias"))
            try c.encode(false, forKey: Key("mlp_bias"))
        case .gpt2:
            try c.encode(["GPT2LMHeadModel"], forKey: Key("architectures"))
            try c.encode("gpt2", forKey: Key("model_type"))
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

    /// `config.json` bytes: pretty-printed with sorted keys (stable diffs between runs).
    public func huggingFaceJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)  // only numbers, strings and booleans: cannot fail
    }

    /// Decodes and validates a Hugging Face `config.json`; `source` names the file in errors.
    public static func fromHuggingFaceJSON(_ data: Data, source: String = "config.json") throws(ModelConfigError) -> ModelConfig {
        do {
            return try JSONDecoder().decode(ModelConfig.self, from: data)
        } catch let error as ModelConfigError {
            throw ModelConfigError(message: "\(source): \(error.message)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ModelConfigError(message: "\(source): not valid JSON (\(context.debugDescription))")
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
