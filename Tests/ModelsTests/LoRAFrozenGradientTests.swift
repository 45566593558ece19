import Foundation
import Models
import NN
import Testing
import TensorCore

/// With adapters attached the base is frozen: backward passes input gradients through every base
/// layer but computes and allocates none of their own gradients, and the adapters' gradients are
/// what they would be if the base gradients were computed too (and what finite differences say).
@Suite struct LoRAFrozenGradientTests {
    static func adapted(_ config: ModelConfig) throws -> Transformer {
        let model = try Transformer(config: config, seed: 1)
        scramble(model, seed: 2)
        try model.attachLoRA(
            LoRAConfig(
                rank: 2, alpha: 3, targets: LoRAConfig.defaultTargets(for: config.family), baseModel: "b"),
            seed: 3)
        // B = 0 would make every dA zero: give B values so both factors' gradients are probed.
        var rng = RandomGenerator(seed: 4)
        for a in model.loraAdapters {
            a.b.value = .randomNormal(shape: a.b.shape, std: 0.3, rng: &rng)
        }
        return model
    }

    @Test(arguments: TinyConfigs.all)
    func frozenBaseGradientsAreNeitherComputedNorAllocated(config: ModelConfig) throws {
        let model = try Self.adapted(config)
        let b = 2, t = 5
        let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: 5)
        let w = randomWeights([b, t, config.vocabSize], seed: 6)
        let u = randomWeights([b, t, config.hiddenSize], seed: 7)
        func loss() -> Double {
            let logits = model.forward(tokens: tokens, batchSize: b, length: t)
            var s = 0.0
            for i in 0..<logits.count { s += Double(logits[flat: i]) * Double(w[flat: i]) }
            let h = model.hidden
            for i in 0..<h.count { s += Double(h[flat: i]) * Double(u[flat: i]) }
            return s
        }
        _ = loss()
        model.backward(logitsGrad: w, hiddenGrad: u)
        #expect(model.parameters.allSatisfy { !$0.requiresGradient && !$0.hasGradient })
        let adapterGrads = model.loraParameters.map(\.grad.scalars)
        #expect(adapterGrads.allSatisfy { $0.contains { $0 != 0 } })

        // The same backward with the base's gradients computed: identical adapter gradients.
        for p in model.parameters { p.requiresGradient = true }
        for p in model.loraParameters { p.zeroGrad() }
        _ = loss()
        model.backward(logitsGrad: w, hiddenGrad: u)
        #expect(model.loraParameters.map(\.grad.scalars) == adapterGrads)
        #expect(model.parameters.contains { $0.hasGradient })

        // Finite differences on a few entries of every adapter factor.
        let eps: Float = 1e-2
        for (p, g) in zip(model.loraParameters, adapterGrads) {
            for k in 0..<2 {
                let i = (k * 7919 + 11) % p.value.count
                let v = p.value[flat: i]
                p.value[flat: i] = v + eps
                let lp = loss()
                p.value[flat: i] = v - eps
                let lm = loss()
                p.value[flat: i] = v
                let num = (lp - lm) / Double(2 * eps), ana = Double(g[i])
                #expect(
                    abs(num - ana) <= 1e-2 + 2e-2 * max(abs(num), abs(ana)),
                    "\(p.name)[\(i)]: \(num) vs \(ana)")
            }
        }
    }

    /// Merging the adapters unfreezes the base: a merged model trains every weight again.
    @Test func mergingUnfreezesTheBase() throws {
        let model = try Self.adapted(TinyConfigs.llamaTied)
        model.mergeLoRA()
        #expect(model.parameters.allSatisfy { $0.requiresGradient })
        _ = model.forward(tokens: [1, 2, 3, 4], batchSize: 1, length: 4)
        model.backward(
            logitsGrad: randomWeights([1, 4, TinyConfigs.llamaTied.vocabSize], seed: 8), hiddenGrad: nil)
        #expect(model.parameters.allSatisfy { $0.hasGradient })
    }

    /// LoRA dropout under activation recomputation: the recomputed forward replays the masks the
    /// first forward drew, so the adapter gradients are bitwise those of keeping the activations.
    @Test(arguments: TinyConfigs.all)
    func recomputationReplaysDropoutMasks(config: ModelConfig) throws {
        func run(recompute: Bool) throws -> [[Float]] {
            let model = try Transformer(config: config, seed: 1)
            scramble(model, seed: 2)
            try model.attachLoRA(
                LoRAConfig(
                    rank: 2, alpha: 3, dropout: 0.3, targets: LoRAConfig.defaultTargets(for: config.family),
                    baseModel: "b"), seed: 3)
            var rng = RandomGenerator(seed: 4)
            for a in model.loraAdapters { a.b.value = .randomNormal(shape: a.b.shape, std: 0.3, rng: &rng) }
            model.setLoRATraining(true)
            model.recomputeActivations = recompute
            var grads: [[Float]] = []
            for seed: UInt64 in [5, 6] {  // two steps: the second draws fresh masks
                let tokens = randomTokens(2 * 5, vocab: config.vocabSize, seed: seed)
                _ = model.forward(tokens: tokens, batchSize: 2, length: 5)
                model.backward(
                    logitsGrad: randomWeights([2, 5, config.vocabSize], seed: seed + 10), hiddenGrad: nil)
                grads += model.loraParameters.map(\.grad.scalars)
                for p in model.loraParameters { p.zeroGrad() }
            }
            return grads
        }
        let kept = try run(recompute: false)
        #expect(try run(recompute: true) == kept)
        #expect(kept.allSatisfy { $0.contains { $0 != 0 } })
    }
}
