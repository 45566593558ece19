import NN
import TensorCore

/// The format of decoding copies, named for modules that do not import TensorCore (Serving).
public typealias DecodeWeightFormat = QuantizedWeights.Format

/// Quantized decoding: generation (prefill and decode) multiplies by bf16 or int8 copies of every
/// projection and of the LM head, while training and scoring keep the fp32 weights. The copies are
/// remade lazily: `generate` refreshes any layer whose weight changed since (so a PPO/GRPO rollout
/// after an optimizer step decodes with the new weights).
extension Transformer {
    /// The layers decoding multiplies by: every attention and MLP projection, then the LM head
    /// (the token embedding itself when tied).
    public var decodeLayers: [Linear] { projections + [head] }

    /// Makes (or refreshes) bf16 / int8 copies of the projections and the head for `generate`;
    /// nil drops them (fp32 decoding).
    public func quantizeForDecoding(_ format: QuantizedWeights.Format?) {
        guard let format else {
            dropDecodeWeights()
            return
        }
        decodeWeightFormat = format
        for layer in decodeLayers { layer.quantizeForDecoding(format) }
    }

    /// Frees the decoding copies; generation multiplies by the fp32 weights again.
    public func dropDecodeWeights() {
        decodeWeightFormat = nil
        for layer in decodeLayers { layer.dropDecodeWeights() }
    }

    /// Bytes of weights one batch-1 decoding step reads (projections, head, biases; the embedding
    /// row, norms and KV cache aside): the numerator of the memory-bandwidth floor.
    public var decodeWeightByteCount: Int { decodeLayers.reduce(0) { $0 + $1.decodeByteCount } }

    /// Runs `body` with the decoding copies in use (refreshed first when stale), or as is when no
    /// format is set. Forwards inside `body` (prefill, decode) multiply by the copies.
    public func withDecodeWeights<R>(_ body: () throws -> R) rethrows -> R {
        guard let format = decodeWeightFormat else { return try body() }
        let layers = decodeLayers
        for layer in layers {
            layer.quantizeForDecoding(format)
            layer.usesDecodeWeights = true
        }
        defer { for layer in layers { layer.usesDecodeWeights = false } }
        return try body()
    }
}
