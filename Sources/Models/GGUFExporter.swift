import Foundation
import NN
import TensorCore

/// Converts a model to GGUF the way llama.cpp's `convert_hf_to_gguf.py` does, so that llama.cpp
/// runs the result as it runs a model converted by its own script: the same architecture names,
/// tensor names, metadata keys and types, Q/K row permutation and per-tensor type choices.
///
/// Families: llama and mistral (GGUF arch `llama`), qwen2, qwen3, gpt2. Tokenizer and chat
/// template come from `GGUFExporter+Tokenizer.swift`.
public enum GGUFExporter {
    /// The file-wide weight type (`--type`), `general.file_type` (`LlamaFileType`) in the file.
    public enum FileType: String, Sendable, CaseIterable {
        case f32, f16, bf16, q8_0

        public var tensorType: GGUFFile.TensorType {
            switch self {
            case .f32: .f32
            case .f16: .f16
            case .bf16: .bf16
            case .q8_0: .q8_0
            }
        }

        var llamaFileType: UInt32 {
            switch self {
            case .f32: 0
            case .f16: 1
            case .q8_0: 7
            case .bf16: 32
            }
        }
    }

    public struct Options: Sendable {
        public var type: FileType
        /// `general.name`.
        public var name: String
        /// Overrides the `tokenizer.ggml.pre` chosen from the pre-tokenizer (for a byte-level BPE
        /// whose split pattern is none of the known ones).
        public var tokenizerPre: String?
        public var alignment: Int

        public init(
            type: FileType = .f16, name: String, tokenizerPre: String? = nil,
            alignment: Int = GGUFFile.defaultAlignment
        ) {
            self.type = type
            self.name = name
            self.tokenizerPre = tokenizerPre
            self.alignment = alignment
        }
    }

    /// GGUF `general.architecture` for a family.
    public static func architecture(_ family: ModelConfig.Family) -> String {
        switch family {
        case .llama, .mistral: "llama"
        case .qwen2: "qwen2"
        case .qwen3: "qwen3"
        case .gpt2: "gpt2"
        }
    }

    /// Whether llama.cpp rotates this family in GGML's interleaved layout ("NORM" rope: pairs
    /// (2i, 2i+1)), so Hugging Face's rotate-half q/k rows must be permuted. Qwen2/Qwen3 use
    /// NEOX rope (rotate-half, like Hugging Face) and are written unpermuted.
    static func permutesQueryKey(_ family: ModelConfig.Family) -> Bool {
        family == .llama || family == .mistral
    }

    /// The GGUF file for `model` with `tokenizer` metadata (nil: none, e.g. in tests).
    public static func file(
        model: Transformer, tokenizer: TokenizerMetadata?,
        options: Options
    ) throws(GGUFExportError) -> GGUFFile {
        let config = model.config
        let arch = architecture(config.family)
        var file = GGUFFile(alignment: options.alignment)
        file.set("general.architecture", .string(arch))
        file.set("general.type", .string("model"))
        file.set("general.name", .string(options.name))
        setHyperparameters(config, arch: arch, into: &file)
        file.set("general.file_type", .uint32(options.type.llamaFileType))
        file.set("general.quantization_version", .uint32(2))  // GGML_QNT_VERSION
        if let tokenizer {
            try tokenizer.apply(to: &file, config: config, tokenizerPre: options.tokenizerPre)
        }

        for parameter in model.parameters {
            guard let mapped = tensorName(parameter.name, family: config.family) else {
                throw GGUFExportError(
                    "no GGUF name for tensor \(parameter.name) of family \(config.family.rawValue)")
            }
            var tensor = parameter.value
            if config.family == .gpt2, tensor.rank == 2, !mapped.hasPrefix("token_embd"),
                !mapped.hasPrefix("position_embd"),
                !mapped.hasPrefix("output.")
            {
                // Conv1D keeps [in, out]; GGUF wants [out, in] like every other linear layer.
                tensor = transposed(tensor)
            }
            if permutesQueryKey(config.family) {
                if mapped.hasSuffix(".attn_q.weight") || mapped.hasSuffix(".attn_q.bias") {
                    tensor = permuteRotaryRows(tensor, heads: config.headCount)
                } else if mapped.hasSuffix(".attn_k.weight") || mapped.hasSuffix(".attn_k.bias") {
                    tensor = permuteRotaryRows(tensor, heads: config.kvHeadCount)
                }
            }
            add(tensor, name: mapped, fileType: options.type, into: &file)
        }
        if case .llama3? = config.ropeScaling {
            guard config.family == .llama || config.family == .mistral else {
                throw GGUFExportError(
                    "llama3 rope scaling is exported only for the llama and mistral families "
                        + "(convert_hf_to_gguf.py writes rope_freqs for LlamaModel only), not "
                        + config.family.rawValue
                )
            }
            let factors = ropeFrequencyFactors(config)
            add(
                Tensor(shape: [factors.count], scalars: factors), name: "rope_freqs.weight",
                fileType: options.type, into: &file)
        }
        return file
    }

    private static func setHyperparameters(_ config: ModelConfig, arch: String, into file: inout GGUFFile) {
        func u32(_ key: String, _ v: Int) { file.set("\(arch).\(key)", .uint32(UInt32(v))) }
        u32("context_length", config.contextLength)
        u32("embedding_length", config.hiddenSize)
        u32("block_count", config.layerCount)
        u32("feed_forward_length", config.intermediateSize)
        u32("attention.head_count", config.headCount)
        u32("vocab_size", config.vocabSize)
        if config.family == .gpt2 {
            file.set("\(arch).attention.layer_norm_epsilon", .float32(config.normEpsilon))
            return
        }
        u32("attention.head_count_kv", config.kvHeadCount)
        file.set("\(arch).rope.freq_base", .float32(config.ropeTheta))
        file.set("\(arch).attention.layer_norm_rms_epsilon", .float32(config.normEpsilon))
        u32("rope.dimension_count", config.headDimension)
        // The converter writes these whenever config.json has head_dim (transformers 5 always
        // saves it for these families); llama.cpp's default is the same value otherwise.
        u32("attention.key_length", config.headDimension)
        u32("attention.value_length", config.headDimension)
        if case .linear(let factor)? = config.ropeScaling {
            file.set("\(arch).rope.scaling.type", .string("linear"))
            file.set("\(arch).rope.scaling.factor", .float32(factor))
        }
    }

    /// Adds a tensor with the type convert_hf_to_gguf.py would choose: F32 for 1-D tensors,
    /// norms and position embeddings; Q8_0 falls back to F16 when rows are not whole blocks.
    private static func add(_ tensor: Tensor, name: String, fileType: FileType, into file: inout GGUFFile) {
        var type = fileType.tensorType
        if tensor.rank <= 1 || name.hasSuffix("_norm.weight") || name.hasPrefix("position_embd.") {
            type = .f32
        }
        if type == .q8_0, (tensor.shape.last ?? 0) % 32 != 0 { type = .f16 }
        let bytes = tensor.withUnsafeBufferPointer { GGUFFile.encode($0, as: type) }
        file.add(name: name, shape: tensor.shape, type: type, bytes: bytes)
    }

    /// The GGUF name of a Hugging Face parameter (llama.cpp's `tensor_mapping.py` for these
    /// families), nil when there is none.
    public static func tensorName(_ name: String, family: ModelConfig.Family) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        if family == .gpt2 {
            switch name {
            case "transformer.wte.weight": return "token_embd.weight"
            case "transformer.wpe.weight": return "position_embd.weight"
            case "transformer.ln_f.weight": return "output_norm.weight"
            case "transformer.ln_f.bias": return "output_norm.bias"
            case "lm_head.weight": return "output.weight"
            default: break
            }
            guard parts.count >= 5, parts[0] == "transformer", parts[1] == "h", let layer = Int(parts[2])
            else { return nil }
            let table = [
                "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output",
                "ln_2": "ffn_norm",
                "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
            ]
            let module = parts[3..<(parts.count - 1)].joined(separator: ".")
            guard let mapped = table[module], ["weight", "bias"].contains(parts.last!) else { return nil }
            return "blk.\(layer).\(mapped).\(parts.last!)"
        }
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else {
            return nil
        }
        let table = [
            "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
            "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
            "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
            "self_attn.k_norm": "attn_k_norm",
            "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
        ]
        let module = parts[3..<(parts.count - 1)].joined(separator: ".")
        guard let mapped = table[module], ["weight", "bias"].contains(parts.last!) else { return nil }
        return "blk.\(layer).\(mapped).\(parts.last!)"
    }

    /// Hugging Face's rotate-half q/k rows → GGML's interleaved pairs, as convert_hf_to_gguf.py's
    /// `LlamaModel.permute`: within each head of D rows, row j·(D/2) + i moves to row 2i + j
    /// (i < D/2, j ∈ {0, 1}). Works on weights (rows × columns) and biases (rows).
    public static func permuteRotaryRows(_ tensor: Tensor, heads: Int) -> Tensor {
        let rows = tensor.shape[0]
        precondition(
            heads > 0 && rows % (2 * heads) == 0, "permuteRotaryRows: \(rows) rows for \(heads) heads")
        let columns = tensor.count / rows, d = rows / heads, half = d / 2
        var out = [Float](repeating: 0, count: tensor.count)
        tensor.withUnsafeBufferPointer { src in
            for h in 0..<heads {
                for j in 0..<2 {
                    for i in 0..<half {
                        let from = (h * d + j * half + i) * columns, to = (h * d + 2 * i + j) * columns
                        for c in 0..<columns { out[to + c] = src[from + c] }
                    }
                }
            }
        }
        return Tensor(shape: tensor.shape, scalars: out)
    }

    /// The inverse of `permuteRotaryRows` (GGML interleaved → Hugging Face rotate-half).
    public static func unpermuteRotaryRows(_ tensor: Tensor, heads: Int) -> Tensor {
        let rows = tensor.shape[0], columns = tensor.count / rows, d = rows / heads, half = d / 2
        var out = [Float](repeating: 0, count: tensor.count)
        tensor.withUnsafeBufferPointer { src in
            for h in 0..<heads {
                for j in 0..<2 {
                    for i in 0..<half {
                        let from = (h * d + 2 * i + j) * columns, to = (h * d + j * half + i) * columns
                        for c in 0..<columns { out[to + c] = src[from + c] }
                    }
                }
            }
        }
        return Tensor(shape: tensor.shape, scalars: out)
    }

    static func transposed(_ tensor: Tensor) -> Tensor {
        let r = tensor.shape[0], c = tensor.shape[1]
        var out = [Float](repeating: 0, count: tensor.count)
        tensor.withUnsafeBufferPointer { src in
            for i in 0..<r { for j in 0..<c { out[j * r + i] = src[i * c + j] } }
        }
        return Tensor(shape: [c, r], scalars: out)
    }

    /// Llama 3.1 rope scaling as llama.cpp applies it: one divisor per frequency in
    /// `rope_freqs.weight` (1 for high frequencies, `factor` for low ones, smoothly between),
    /// computed as convert_hf_to_gguf.py's `LlamaModel.generate_extra_tensors`.
    public static func ropeFrequencyFactors(_ config: ModelConfig) -> [Float] {
        guard case let .llama3(factor, low, high, original)? = config.ropeScaling else { return [] }
        let dim = config.headDimension
        let lowWavelength = Float(original) / low, highWavelength = Float(original) / high
        return stride(from: 0, to: dim, by: 2).map { i in
            let frequency = 1 / Float(Foundation.pow(Double(config.ropeTheta), Double(Float(i) / Float(dim))))
            let wavelength = 2 * Float.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return factor }
            let smooth = (Float(original) / wavelength - low) / (high - low)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }
}

public struct GGUFExportError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "GGUF export: \(message)" }
}
