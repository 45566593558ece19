import Foundation
import NN
import Testing
@testable import Models
@testable import TensorCore

/// The same model twice: `reference` gets, as fp32 weights, exactly what `model`'s decoding copies
/// hold, so its fp32 forward is what quantized decoding must compute.
private func modelAndDequantizedTwin(_ config: ModelConfig, format: QuantizedWeights.Format) throws
    -> (model: Transformer, reference: Transformer)
{
    let model = try Transformer(config: config, seed: 5)
    scramble(model, seed: 6)
    let reference = try Transformer(config: config, seed: 5)
    scramble(reference, seed: 6)
    model.quantizeForDecoding(format)
    for (layer, twin) in zip(model.decodeLayers, reference.decodeLayers) {
        let q = try #require(layer.decodeWeights)
        var w = q.dequantized()
        if layer.layout == .inputMajor {
            var t = w
            for r in 0..<q.outputs { for c in 0..<q.inputs { t[c * q.outputs + r] = w[r * q.inputs + c] } }
            w = t
        }
        twin.weight.value = Tensor(shape: twin.weight.shape, scalars: w)
    }
    return (model, reference)
}

/// Greedy continuation by recomputing the whole sequence with fp32 forwards.
private func greedyByRecomputation(_ model: Transformer, prompt: [Int32], count: Int) -> [Int32] {
    var seq = prompt, out: [Int32] = []
    let vocab = model.config.vocabSize
    for _ in 0..<count {
        let logits = model.forward(tokens: seq, batchSize: 1, length: seq.count).scalars
        let last = Array(logits[((seq.count - 1) * vocab)...])
        let next = Int32(last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!)
        out.append(next)
        seq.append(next)
    }
    return out
}

@Suite struct QuantizedDecodingTests {
    /// Untied configurations: the head's copy then leaves the embedding lookup fp32 in both twins.
    static let untied = [TinyConfigs.llama, TinyConfigs.llamaBiased, TinyConfigs.qwen3]

    /// Prefill (a forward) and decode (block.decode + head) both multiply by the copies: the
    /// quantized model's generation is the fp32 recomputation of its dequantized twin.
    @Test(arguments: untied, QuantizedWeights.Format.allCases)
    func generationUsesTheCopiesInPrefillAndDecode(config: ModelConfig, format: QuantizedWeights.Format)
        throws
    {
        let (model, reference) = try modelAndDequantizedTwin(config, format: format)
        let prompt = randomTokens(5, vocab: config.vocabSize, seed: 8)
        let inside = model.withDecodeWeights {
            model.forward(tokens: prompt, batchSize: 1, length: 5).scalars
        }
        let twin = reference.forward(tokens: prompt, batchSize: 1, length: 5).scalars
        let fp32 = model.forward(tokens: prompt, batchSize: 1, length: 5).scalars
        #expect(maxAbsDifference(inside, twin) < 1e-4)
        // Outside `withDecodeWeights` the fp32 weights serve (training, scoring), and they differ.
        #expect(maxAbsDifference(fp32, twin) > 1e-3)
        var rng = RandomGenerator(seed: 1)
        let generated = model.generate(
            prompts: [prompt], options: SamplingOptions(temperature: 0, maxNewTokens: 8), rng: &rng)
        #expect(generated[0].tokens == greedyByRecomputation(reference, prompt: prompt, count: 8))
        #expect(!model.projections.contains { $0.usesDecodeWeights })
    }

    /// A change of the weights (an optimizer step) makes the copies stale; the next generation
    /// remakes them; dropping them restores fp32 decoding exactly.
    @Test func copiesAreRefreshedAfterAWeightChangeAndDropped() throws {
        let config = TinyConfigs.llama
        let model = try Transformer(config: config, seed: 5)
        scramble(model, seed: 6)
        model.quantizeForDecoding(.int8)
        #expect(model.decodeLayers.allSatisfy { $0.decodeWeightsAreCurrent })
        let prompt = randomTokens(4, vocab: config.vocabSize, seed: 3)
        let before = model.withDecodeWeights {
            model.forward(tokens: prompt, batchSize: 1, length: 4).scalars
        }
        scramble(model, seed: 7)  // every weight rewritten, as after a step
        #expect(!model.decodeLayers.contains { $0.decodeWeightsAreCurrent })
        var rng = RandomGenerator(seed: 1)
        _ = model.generate(
            prompts: [prompt], options: SamplingOptions(temperature: 0, maxNewTokens: 2), rng: &rng)
        #expect(model.decodeLayers.allSatisfy { $0.decodeWeightsAreCurrent })
        let after = model.withDecodeWeights { model.forward(tokens: prompt, batchSize: 1, length: 4).scalars }
        let fp32 = model.forward(tokens: prompt, batchSize: 1, length: 4).scalars
        #expect(maxAbsDifference(before, after) > 0.1)
        #expect(maxAbsDifference(after, fp32) < 0.1 * fp32.map(abs).max()!)
        model.dropDecodeWeights()
        #expect(model.decodeWeightFormat == nil && model.decodeLayers.allSatisfy { $0.decodeWeights == nil })
        let dropped = model.withDecodeWeights {
            model.forward(tokens: prompt, batchSize: 1, length: 4).scalars
        }
        #expect(dropped == fp32)
    }

    @Test func bytesReadPerTokenFollowTheFormat() throws {
        let config = TinyConfigs.llama
        let model = try Transformer(config: config, seed: 5)
        let weights = model.decodeLayers.reduce(0) { $0 + $1.weight.value.count }
        let rows = model.decodeLayers.reduce(0) { $0 + $1.outputSize }
        #expect(model.decodeWeightByteCount == 4 * weights)
        model.quantizeForDecoding(.bf16)
        #expect(model.decodeWeightByteCount == 2 * weights)
        model.quantizeForDecoding(.int8)
        #expect(model.decodeWeightByteCount == weights + 4 * rows)
    }

    /// A small GPT-2-shaped model (tied head, Conv1D layout, biases, GELU), weights N(0, 0.1²):
    /// greedy decoding with bf16 / int8 copies against fp32. Measured: bf16 128/128 tokens agree,
    /// max |Δ logit| 0.016 of |logit| ≤ 3.3; int8 125/128, 0.056. Bounds at about twice that.
    @Test(arguments: QuantizedWeights.Format.allCases)
    func greedyGenerationMostlyMatchesFP32(format: QuantizedWeights.Format) throws {
        let config = ModelConfig(
            family: .gpt2, vocabSize: 96, hiddenSize: 64, layerCount: 2, headCount: 4, contextLength: 48)
        let model = try Transformer(config: config, seed: 11)
        var rng = RandomGenerator(seed: 12)
        for p in model.parameters where p.decays {
            p.value = .randomNormal(shape: p.shape, std: 0.1, rng: &rng)
        }
        let prompts = (0..<8).map { randomTokens(4, vocab: config.vocabSize, seed: 100 + UInt64($0)) }
        let options = SamplingOptions(temperature: 0, maxNewTokens: 16)
        var r1 = RandomGenerator(seed: 1), r2 = RandomGenerator(seed: 1)
        let fp32 = model.generate(prompts: prompts, options: options, rng: &r1)
        model.quantizeForDecoding(format)
        let quantized = model.generate(prompts: prompts, options: options, rng: &r2)
        var same = 0, total = 0, worst: Float = 0, spread: Float = 0
        for (r, prompt) in prompts.enumerated() {
            // Tokens agree until the first divergence; count the agreeing prefix.
            let a = fp32[r].tokens, b = quantized[r].tokens
            same += zip(a, b).prefix { $0 == $1 }.count
            total += a.count
            // Logit error on the fp32 sequence: quantized forward vs fp32 forward.
            let seq = prompt + a
            let exact = model.forward(tokens: seq, batchSize: 1, length: seq.count).scalars
            let approx = model.withDecodeWeights {
                model.forward(tokens: seq, batchSize: 1, length: seq.count).scalars
            }
            worst = max(worst, maxAbsDifference(exact, approx))
            spread = max(spread, exact.map(abs).max()!)
        }
        print(
            "quantized greedy \(format): \(same)/\(total) tokens agree, max |Δ logit| \(worst) (|logit| ≤ \(spread))"
        )
        // bf16 rounds each weight by ≤ 2⁻⁹ relative, int8 by ≤ half a step of max|w|/127.
        #expect(worst <= (format == .bf16 ? 0.01 : 0.04) * spread)
        #expect(Double(same) >= (format == .bf16 ? 0.95 : 0.85) * Double(total))
    }
}
