import Foundation
import TensorCore

/// Shape and family of a decoder-only transformer.
///
/// `.gpt2` is LayerNorm, learned positions, GELU MLP, biases, tied embeddings. The others are
/// the Llama design (RMSNorm, rotary positions, SwiGLU MLP, grouped-query heads, tied or untied
/// embeddings) and differ in a few visible places: `.qwen2` has q/k/v biases, `.qwen3` normalises
/// each query and key head (`q_norm`/`k_norm`), `.llama` may have `attention_bias`/`mlp_bias`,
/// `.mistral` has none (see `projectionBias`, `outputBias`, `queryKeyNorm`). The Hugging Face
/// `config.json` coding lives in `ModelConfig+HuggingFace.swift`, the limits in
/// `ModelConfig+Limits.swift`.
public struct ModelConfig: Sendable, Equatable {
    public enum Family: String, Sendable, Codable, CaseIterable {
        case llama
        case mistral
        case qwen2
        case qwen3
        case gpt2
    }

    /// The dtype the weights are stored in on disk (`torch_dtype`); in memory they are always
    /// Float32. A loaded model keeps the dtype of its files, so saving it does not grow it.
    public enum StorageDType: String, Sendable, CaseIterable {
        case float32, bfloat16, float16

        public var safeTensors: SafeTensors.DType {
            switch self {
            case .float32: .f32
            case .bfloat16: .bf16
            case .float16: .f16
            }
        }

        public init?(safeTensors dtype: SafeTensors.DType) {
            switch dtype {
            case .f32: self = .float32
            case .bf16: self = .bfloat16
            case .f16: self = .float16
            default: return nil
            }
        }
    }

    public var family: Family
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// Key/value heads (grouped-query attention); equals `headCount` for plain multi-head.
    public var kvHeadCount: Int
    /// Width of the MLP's hidden layer (SwiGLU: per gate/up projection).
    public var intermediateSize: Int
    /// Longest sequence the model attends over (context window, `max_position_embeddings`).
    public var contextLength: Int
    public var normEpsilon: Float
    public var ropeTheta: Float
    /// Rotary frequency rescaling (`rope_type` "linear" / "llama3"); nil is the default rotation.
    public var ropeScaling: RotaryScaling?
    /// `head_dim` when it is not hiddenSize / headCount (Qwen3); nil means that quotient.
    public var explicitHeadDimension: Int?
    /// Llama's `attention_bias` (q, k, v and o biases) and Qwen3's (same meaning).
    public var attentionBias: Bool
    /// Llama's `mlp_bias` (gate, up and down biases).
    public var mlpBias: Bool
    public var tieEmbeddings: Bool
    public var bosTokenID: Int?
    /// Every token that ends generation (`eos_token_id` may be a list).
    public var eosTokenIDs: [Int]
    public var padTokenID: Int?
    public var storageDType: StorageDType

    public init(
        family: Family = .llama, vocabSize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
        kvHeadCount: Int? = nil, intermediateSize: Int? = nil, contextLength: Int,
        normEpsilon: Float = 1e-5, ropeTheta: Float = 10_000, ropeScaling: RotaryScaling? = nil,
        headDimension: Int? = nil, attentionBias: Bool = false, mlpBias: Bool = false,
        tieEmbeddings: Bool? = nil, bosTokenID: Int? = nil, eosTokenID: Int? = nil,
        eosTokenIDs: [Int]? = nil, padTokenID: Int? = nil, storageDType: StorageDType = .float32
    ) {
        self.family = family
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount ?? headCount
        // Llama's SwiGLU uses ~8/3·d (rounded up to a multiple of 32) so its parameter count
        // matches GPT-2's 4·d GELU MLP.
        self.intermediateSize =
            intermediateSize
            ?? (family == .gpt2 ? 4 * hiddenSize : ((8 * hiddenSize / 3 + 31) / 32) * 32)
        self.contextLength = contextLength
        self.normEpsilon = normEpsilon
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        // A head size equal to the quotient is not "explicit": configs compare equal either way.
        self.explicitHeadDimension =
            headCount > 0 && headDimension == hiddenSize / headCount
                && hiddenSize % headCount == 0 ? nil : headDimension
        self.attentionBias = attentionBias
        self.mlpBias = mlpBias
        self.tieEmbeddings = tieEmbeddings ?? true
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs ?? eosTokenID.map { [$0] } ?? []
        self.padTokenID = padTokenID
        self.storageDType = storageDType
    }

    /// The first end-of-sequence token (setting it replaces the list).
    public var eosTokenID: Int? {
        get { eosTokenIDs.first }
        set { eosTokenIDs = newValue.map { [$0] } ?? [] }
    }

    public var headDimension: Int { explicitHeadDimension ?? (headCount > 0 ? hiddenSize / headCount : 0) }

    /// Rotary positions (every family but GPT-2, which learns position embeddings).
    public var usesRotary: Bool { family != .gpt2 }
    /// Biases on the q/k/v projections: always for Qwen2, with `attention_bias` for Llama/Qwen3.
    public var projectionBias: Bool {
        switch family {
        case .qwen2: true
        case .llama, .qwen3: attentionBias
        case .mistral, .gpt2: false
        }
    }
    /// Bias on the attention output projection `o_proj` (Qwen2 has none even with q/k/v biases).
    public var outputBias: Bool { family == .llama || family == .qwen3 ? attentionBias : false }
    /// Per-head RMSNorm of queries and keys before the rotation (Qwen3).
    public var queryKeyNorm: Bool { family == .qwen3 }
}

public struct ModelConfigError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { "invalid model config: \(message)" }
}
