import Foundation
import NN
import TensorCore

/// A decoder-only transformer of any family (`ModelConfig.Family`), with Hugging Face
/// parameter names and layouts so checkpoints open in `transformers`.
///
/// Forward keeps the activations that backward needs; buffers are reused across calls of the
/// same shape, so a training loop allocates nothing per step once shapes repeat. Not thread-safe:
/// one model, one caller at a time (the kernels parallelise internally).
public final class Transformer {
    public private(set) var config: ModelConfig
    /// Every parameter, in a fixed order, under its Hugging Face name.
    public private(set) var parameters: [Parameter]
    /// The format of the projections' decoding copies (Transformer+DecodeWeights.swift); nil: fp32.
    public internal(set) var decodeWeightFormat: QuantizedWeights.Format?

    let tokenEmbedding: Embedding
    let positionEmbedding: Embedding?
    let blocks: [TransformerBlock]
    let finalNorm: any Normalization
    /// Output projection: the token embedding itself when tied.
    let head: Linear

    // State of the last forward.
    var tokens: [Int32] = []
    var positions: [Int32] = []
    var batchSize = 0
    var length = 0
    var residuals: [Tensor]  // L + 1 of (N, C)
    var hiddenBuffer = Tensor(shape: [0])  // (N, C)
    var logitsBuffer = Tensor(shape: [0])  // (N, V)
    var computedLogits = false
    var segmentIDs: [Int32]?
    /// Whether the last forward kept only the blocks' inputs (`recomputeActivations`).
    var recomputing = false
    /// One block's activations (when recomputing) and backward scratch, lent to each block in turn.
    var sharedBuffers = BlockBuffers()
    var recomputedOutput = Tensor(shape: [0])
    // Backward scratch.
    var dResidual = Tensor(shape: [0])
    var dScratch = Tensor(shape: [0])
    var dHidden = Tensor(shape: [0])

    /// Activation recomputation (gradient checkpointing per block): forward keeps only each
    /// block's input; backward runs the block's forward again from it, then its backward. Same
    /// gradients, one block's activations in memory instead of L, about one more forward of compute.
    public var recomputeActivations = false

    /// Builds a model with GPT-2-style initialisation: weights N(0, 0.02²), the projections that
    /// write into the residual stream N(0, (0.02/√(2L))²), norms 1, biases 0. Same seed, same weights.
    /// A nil seed leaves the weights zero without drawing them (a model whose weights are loaded
    /// next: drawing half a billion normals costs seconds).
    public init(config: ModelConfig, seed: UInt64?) throws {
        try config.validate()
        self.config = config
        var rng = RandomGenerator(seed: seed ?? 0)
        let c = config.hiddenSize, std: Float = seed == nil ? 0 : 0.02
        let residualStd = std / Float(2 * config.layerCount).squareRoot()
        var blocks: [TransformerBlock] = []
        switch config.family {
        case .llama, .mistral, .qwen2, .qwen3:
            tokenEmbedding = Embedding(
                name: "model.embed_tokens", count: config.vocabSize, size: c, std: std, rng: &rng)
            positionEmbedding = nil
            let table = RotaryTable(
                headDimension: config.headDimension, maxPosition: config.contextLength,
                theta: config.ropeTheta, scaling: config.ropeScaling)
            for l in 0..<config.layerCount {
                let p = "model.layers.\(l)"
                blocks.append(
                    TransformerBlock(
                        norm1: RMSNorm(name: p + ".input_layernorm", size: c, epsilon: config.normEpsilon),
                        attention: Attention(
                            name: p + ".self_attn", style: .llama(rotary: table), hiddenSize: c,
                            heads: config.headCount, kvHeads: config.kvHeadCount,
                            headDimension: config.headDimension, projectionBias: config.projectionBias,
                            outputBias: config.outputBias,
                            queryKeyNormEpsilon: config.queryKeyNorm ? config.normEpsilon : nil,
                            std: std, outputStd: residualStd, rng: &rng),
                        norm2: RMSNorm(
                            name: p + ".post_attention_layernorm", size: c, epsilon: config.normEpsilon),
                        mlp: MLP(
                            name: p + ".mlp", kind: .swiglu, hiddenSize: c,
                            intermediateSize: config.intermediateSize,
                            bias: config.mlpBias, std: std, outputStd: residualStd, rng: &rng)))
            }
            finalNorm = RMSNorm(name: "model.norm", size: c, epsilon: config.normEpsilon)
            head =
                config.tieEmbeddings
                ? Linear(sharing: tokenEmbedding.weight)
                : Linear(
                    name: "lm_head", inputSize: c, outputSize: config.vocabSize, bias: false, std: std,
                    rng: &rng)
        case .gpt2:
            tokenEmbedding = Embedding(
                name: "transformer.wte", count: config.vocabSize, size: c, std: std, rng: &rng)
            positionEmbedding = Embedding(
                name: "transformer.wpe", count: config.contextLength, size: c, std: std, rng: &rng)
            for l in 0..<config.layerCount {
                let p = "transformer.h.\(l)"
                blocks.append(
                    TransformerBlock(
                        norm1: LayerNorm(name: p + ".ln_1", size: c, epsilon: config.normEpsilon),
                        attention: Attention(
                            name: p + ".attn", style: .gpt2, hiddenSize: c, heads: config.headCount,
                            kvHeads: config.headCount, std: std, outputStd: residualStd, rng: &rng),
                        norm2: LayerNorm(name: p + ".ln_2", size: c, epsilon: config.normEpsilon),
                        mlp: MLP(
                            name: p + ".mlp", kind: .gelu, hiddenSize: c,
                            intermediateSize: config.intermediateSize,
                            std: std, outputStd: residualStd, rng: &rng)))
            }
            finalNorm = LayerNorm(name: "transformer.ln_f", size: c, epsilon: config.normEpsilon)
            head = Linear(sharing: tokenEmbedding.weight)
        }
        self.blocks = blocks
        residuals = Array(repeating: Tensor(shape: [0]), count: config.layerCount + 1)
        var params = tokenEmbedding.parameters + (positionEmbedding?.parameters ?? [])
        for b in blocks { params += b.parameters }
        params += finalNorm.parameters
        if !config.tieEmbeddings { params += head.parameters }
        parameters = params
    }

    /// The dtype `model.safetensors` is written in (the dtype the model was loaded from, unless
    /// changed); the weights in memory stay Float32.
    public var storageDType: ModelConfig.StorageDType {
        get { config.storageDType }
        set { config.storageDType = newValue }
    }

    /// Sets every parameter's gradient to zero.
    public func zeroGradients() {
        for p in parameters { p.zeroGrad() }
    }

    /// Number of scalars over all parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Bytes of the activation and scratch buffers the model holds now (residual stream, every
    /// block's and the shared ones, final hidden, logits, backward scratch): what forward and
    /// backward keep between steps, parameters and their gradients aside.
    public var activationByteCount: Int {
        let own =
            residuals.reduce(0) { $0 + $1.count } + hiddenBuffer.count + logitsBuffer.count
            + dResidual.count + dScratch.count + dHidden.count + recomputedOutput.count
        return 4 * own + sharedBuffers.byteCount + blocks.reduce(0) { $0 + $1.bufferByteCount }
    }

    /// (B, T, C) output of the final norm from the last forward (input of scalar heads).
    public var hidden: Tensor { hiddenBuffer.reshaped([batchSize, length, config.hiddenSize]) }
}
