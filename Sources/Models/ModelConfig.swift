/// Shape and family of a decoder-only transformer.
///
/// Two families share one config: `.llama` (RMSNorm, rotary positions, SwiGLU MLP, no biases,
/// optional grouped-query heads, tied or untied embeddings) and `.gpt2` (LayerNorm, learned
/// positions, GELU MLP, biases, tied embeddings). The Hugging Face `config.json` coding lives in
/// `ModelConfig+HuggingFace.swift`.
public struct ModelConfig: Sendable, Equatable {
    public enum Family: String, Sendable, Codable, CaseIterable {
        case llama
        case gpt2
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
    /// Longest sequence the model attends over (context window).
    public var contextLength: Int
    public var normEpsilon: Float
    public var ropeTheta: Float
    public var tieEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    public init(family: Family = .llama, vocabSize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int? = nil, intermediateSize: Int? = nil, contextLength: Int,
                normEpsilon: Float = 1e-5, ropeTheta: Float = 10_000, tieEmbeddings: Bool? = nil,
                bosTokenID: Int? = nil, eosTokenID: Int? = nil) {
        self.family = family
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount ?? headCount
        // Llama's SwiGLU uses ~8/3·d (rounded up to a multiple of 32) so its parameter count
        // matches GPT-2's 4·d GELU MLP.
        self.intermediateSize = intermediateSize
            ?? (family == .gpt2 ? 4 * hiddenSize : ((8 * hiddenSize / 3 + 31) / 32) * 32)
        self.contextLength = contextLength
        self.normEpsilon = normEpsilon
        self.ropeTheta = ropeTheta
        self.tieEmbeddings = tieEmbeddings ?? true
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    public var headDimension: Int { hiddenSize / headCount }

    /// Checks that the shapes fit together; the message says which setting is wrong and why.
    public func validate() throws(ModelConfigError) {
        func fail(_ m: String) -> ModelConfigError { ModelConfigError(message: m) }
        for (name, value) in [("vocab size", vocabSize), ("hidden size", hiddenSize), ("layers", layerCount),
                              ("heads", headCount), ("key/value heads", kvHeadCount),
                              ("intermediate size", intermediateSize), ("context length", contextLength)]
        where value <= 0 {
            throw fail("\(name) must be positive, got \(value)")
        }
        guard hiddenSize % headCount == 0 else {
            throw fail("heads (\(headCount)) must divide the hidden size (\(hiddenSize))")
        }
        guard headCount % kvHeadCount == 0 else {
            throw fail("key/value heads (\(kvHeadCount)) must divide the heads (\(headCount))")
        }
        if family == .llama && headDimension % 2 != 0 {
            throw fail("rotary embeddings need an even head dimension, got \(headDimension)")
        }
        if family == .gpt2 {
            guard kvHeadCount == headCount else { throw fail("GPT-2 style models have no grouped-query heads") }
            guard tieEmbeddings else { throw fail("GPT-2 style models tie the input and output embeddings") }
        }
        guard normEpsilon > 0 else { throw fail("norm epsilon must be positive, got \(normEpsilon)") }
    }
}

public struct ModelConfigError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { "invalid model config: \(message)" }
}
