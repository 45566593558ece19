import Foundation
import Models
import NN
import Testing
import TensorCore

@Suite struct ActivationRecomputationTests {
    /// One forward + backward with packed segments and both gradient inputs; returns the logits,
    /// hidden state and every parameter gradient.
    func step(_ model: Transformer, config: ModelConfig, seed: UInt64) -> (
        logits: [Float], hidden: [Float],
        grads: [[Float]]
    ) {
        let b = 2, t = 6
        let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: seed)
        let segments: [Int32] = [0, 0, 0, 1, 1, 1, 5, 5, 5, 5, 5, 6]
        let w = randomWeights([b, t, config.vocabSize], seed: seed + 1)
        let u = randomWeights([b, t, config.hiddenSize], seed: seed + 2)
        model.zeroGradients()
        let logits = model.forward(tokens: tokens, batchSize: b, length: t, segmentIDs: segments).scalars
        let hidden = model.hidden.scalars
        model.backward(logitsGrad: w, hiddenGrad: u)
        return (logits, hidden, model.parameters.map(\.grad.scalars))
    }

    /// Recomputing gives the same logits and bitwise the same gradients as keeping the
    /// activations, in every family, also when the mode changes between steps of one model.
    @Test(arguments: TinyConfigs.all)
    func sameGradients(config: ModelConfig) throws {
        let kept = try Transformer(config: config, seed: 1)
        scramble(kept, seed: 2)
        let recomputed = try Transformer(config: config, seed: 1)
        scramble(recomputed, seed: 2)
        recomputed.recomputeActivations = true
        for seed: UInt64 in [3, 13] {
            let a = step(kept, config: config, seed: seed)
            let b = step(recomputed, config: config, seed: seed)
            #expect(a.logits == b.logits)
            #expect(a.hidden == b.hidden)
            for (p, (ga, gb)) in zip(kept.parameters, zip(a.grads, b.grads)) {
                #expect(maxAbsDifference(ga, gb) == 0, "\(p.name)")
                #expect(ga.contains { $0 != 0 }, "\(p.name) has a zero gradient: the check would be vacuous")
            }
        }
        // Switching modes on one model: buffers a kept-activations forward left are released.
        recomputed.recomputeActivations = false
        let c = step(recomputed, config: config, seed: 23)
        recomputed.recomputeActivations = true
        let d = step(recomputed, config: config, seed: 23)
        for (gc, gd) in zip(c.grads, d.grads) { #expect(maxAbsDifference(gc, gd) == 0) }
    }

    /// The buffers the model holds between steps: L blocks' activations without recomputation,
    /// one block's with it.
    @Test func recomputationHoldsOneBlockOfActivations() throws {
        let config = ModelConfig(
            family: .llama, vocabSize: 13, hiddenSize: 16, layerCount: 6, headCount: 4,
            kvHeadCount: 2, intermediateSize: 40, contextLength: 32, tieEmbeddings: false)
        let b = 2, t = 32
        let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: 1)
        let g = randomWeights([b, t, config.vocabSize], seed: 2)
        func heldBytes(recompute: Bool) throws -> Int {
            let model = try Transformer(config: config, seed: 1)
            model.recomputeActivations = recompute
            for _ in 0..<2 {
                model.forward(tokens: tokens, batchSize: b, length: t)
                model.backward(logitsGrad: g, hiddenGrad: nil)
            }
            return model.activationByteCount
        }
        let kept = try heldBytes(recompute: false), recomputed = try heldBytes(recompute: true)
        // Per block: normed1, mid, normed2 (3·N·C), q|k|v (N·(H+2KV)·D), probabilities (B·H·T·T),
        // context (N·C), gate|up and activation (3·N·I); recomputing keeps one more (N, C) output.
        let n = b * t, c = 16
        let perBlock = 4 * (3 * n * c + n * (4 + 4) * 4 + b * 4 * t * t + n * c + 3 * n * 40)
        #expect(kept - recomputed == 5 * perBlock - 4 * n * c, "kept \(kept), recomputed \(recomputed)")
        #expect(Double(recomputed) < 0.5 * Double(kept))
    }

    /// Generation reads every layer's keys and values after its prefill: it keeps them even on
    /// a model that recomputes.
    @Test func generationUnchangedByRecomputation() throws {
        let model = try Transformer(config: TinyConfigs.llama, seed: 1)
        scramble(model, seed: 2)
        let prompts: [[Int32]] = [[1, 2, 3], [4, 5]]
        var rng = RandomGenerator(seed: 7)
        let plain = model.generate(
            prompts: prompts, options: SamplingOptions(temperature: 0, maxNewTokens: 6), rng: &rng)
        model.recomputeActivations = true
        rng = RandomGenerator(seed: 7)
        let recomputing = model.generate(
            prompts: prompts, options: SamplingOptions(temperature: 0, maxNewTokens: 6),
            rng: &rng)
        #expect(plain == recomputing)
        #expect(plain.allSatisfy { !$0.tokens.isEmpty })
    }
}
