import Foundation
import Models
import NN
import TensorCore

/// Tiny configurations of both families used across the transformer tests.
enum TinyConfigs {
    static let llama = ModelConfig(
        family: .llama, vocabSize: 13, hiddenSize: 8, layerCount: 2, headCount: 4,
        kvHeadCount: 2, intermediateSize: 12, contextLength: 24, tieEmbeddings: false)
    static let llamaTied = ModelConfig(
        family: .llama, vocabSize: 13, hiddenSize: 8, layerCount: 2, headCount: 2,
        intermediateSize: 12, contextLength: 24)
    static let gpt2 = ModelConfig(
        family: .gpt2, vocabSize: 13, hiddenSize: 8, layerCount: 2, headCount: 2,
        contextLength: 24)
    /// Llama with every option on: biases, llama3 RoPE scaling.
    static let llamaBiased = ModelConfig(
        family: .llama, vocabSize: 13, hiddenSize: 8, layerCount: 2, headCount: 4,
        kvHeadCount: 2, intermediateSize: 12, contextLength: 24,
        ropeScaling: .llama3(
            factor: 4, lowFrequencyFactor: 1, highFrequencyFactor: 4,
            originalContextLength: 8),
        attentionBias: true, mlpBias: true, tieEmbeddings: false)
    static let qwen2 = ModelConfig(
        family: .qwen2, vocabSize: 13, hiddenSize: 8, layerCount: 2, headCount: 4,
        kvHeadCount: 2, intermediateSize: 12, contextLength: 24, tieEmbeddings: true)
    /// Head size 6 with hidden 8 and 4 heads (q is 24 wide), q/k norms.
    static let qwen3 = ModelConfig(
        family: .qwen3, vocabSize: 13, hiddenSize: 8, layerCount: 2, headCount: 4,
        kvHeadCount: 2, intermediateSize: 12, contextLength: 24,
        ropeScaling: .linear(factor: 2), headDimension: 6, tieEmbeddings: false)
    static let all = [llama, llamaTied, gpt2, llamaBiased, qwen2, qwen3]
}

func randomTokens(_ count: Int, vocab: Int, seed: UInt64) -> [Int32] {
    var rng = RandomGenerator(seed: seed)
    return (0..<count).map { _ in Int32(rng.next() % UInt64(vocab)) }
}

func randomWeights(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return .randomNormal(shape: shape, std: 1, rng: &rng)
}

/// Larger random weights than the training init, so gradients stand well above rounding.
func scramble(_ model: Transformer, seed: UInt64) {
    var rng = RandomGenerator(seed: seed)
    for p in model.parameters {
        let isGain = !p.decays && !p.name.hasSuffix(".bias")
        p.value = .randomNormal(shape: p.shape, std: isGain ? 0.2 : 0.35, rng: &rng)
        if isGain { p.value.withUnsafeMutableBufferPointer { b in for i in 0..<b.count { b[i] += 1 } } }
    }
    model.zeroGradients()
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
