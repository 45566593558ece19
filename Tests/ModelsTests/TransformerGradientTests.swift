import Foundation
import Models
import NN
import Testing
import TensorCore

@Suite struct TransformerGradientTests {
    /// Whole-model finite-difference check: loss = Σ w·logits + Σ u·hidden, with packed segments.
    @Test(arguments: TinyConfigs.all)
    func wholeModelGradients(config: ModelConfig) throws {
        let model = try Transformer(config: config, seed: 1)
        scramble(model, seed: 2)
        let b = 2, t = 6
        let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: 3)
        let segments: [Int32] = [0, 0, 0, 1, 1, 1, 5, 5, 5, 5, 5, 6]
        let w = randomWeights([b, t, config.vocabSize], seed: 4)
        let u = randomWeights([b, t, config.hiddenSize], seed: 5)
        func loss() -> Double {
            let logits = model.forward(tokens: tokens, batchSize: b, length: t, segmentIDs: segments)
            var s = 0.0
            for i in 0..<logits.count { s += Double(logits[flat: i]) * Double(w[flat: i]) }
            let h = model.hidden
            for i in 0..<h.count { s += Double(h[flat: i]) * Double(u[flat: i]) }
            return s
        }
        _ = loss()
        model.backward(logitsGrad: w, hiddenGrad: u)
        let grads = model.parameters.map(\.grad)
        let eps: Float = 1e-2
        var checked = 0
        for (p, g) in zip(model.parameters, grads) {
            for k in 0..<3 {
                let i = (k * 7919 + 11) % p.value.count
                let v = p.value[flat: i]
                p.value[flat: i] = v + eps
                let lp = loss()
                p.value[flat: i] = v - eps
                let lm = loss()
                p.value[flat: i] = v
                let num = (lp - lm) / Double(2 * eps)
                let ana = Double(g[flat: i])
                #expect(
                    abs(num - ana) <= 1e-2 + 2e-2 * max(abs(num), abs(ana)),
                    "\(p.name)[\(i)]: \(num) vs \(ana)")
                checked += 1
            }
        }
        #expect(checked == model.parameters.count * 3)
    }

    @Test func parameterNamesAndShapesFollowHuggingFace() throws {
        let llama = try Transformer(config: TinyConfigs.llama, seed: 1)
        let names = llama.parameters.map(\.name)
        #expect(names.first == "model.embed_tokens.weight")
        #expect(names.last == "lm_head.weight")
        #expect(names.contains("model.layers.1.self_attn.k_proj.weight"))
        let k = llama.parameters.first { $0.name == "model.layers.0.self_attn.k_proj.weight" }!
        #expect(k.shape == [2 * 2, 8])  // [kvHeads·D, C]
        #expect(names.count == 1 + 2 * 9 + 1 + 1)

        let gpt = try Transformer(config: TinyConfigs.gpt2, seed: 1)
        let g = Dictionary(uniqueKeysWithValues: gpt.parameters.map { ($0.name, $0.shape) })
        #expect(g["transformer.wte.weight"] == [13, 8])
        #expect(g["transformer.wpe.weight"] == [24, 8])
        #expect(g["transformer.h.0.attn.c_attn.weight"] == [8, 24])  // Conv1D [in, out]
        #expect(g["transformer.h.0.attn.c_attn.bias"] == [24])
        #expect(g["transformer.h.1.mlp.c_fc.weight"] == [8, 32])
        #expect(g["transformer.h.1.mlp.c_proj.weight"] == [32, 8])
        #expect(g["transformer.ln_f.bias"] == [8])
        #expect(g["lm_head.weight"] == nil)
        #expect(
            gpt.parameters.filter { !$0.decays }.allSatisfy {
                $0.name.contains("ln") || $0.name.hasSuffix(".bias")
            })
    }

    @Test func sameSeedSameWeights() throws {
        let a = try Transformer(config: TinyConfigs.gpt2, seed: 7)
        let b = try Transformer(config: TinyConfigs.gpt2, seed: 7)
        let c = try Transformer(config: TinyConfigs.gpt2, seed: 8)
        #expect(zip(a.parameters, b.parameters).allSatisfy { $0.value == $1.value })
        #expect(!zip(a.parameters, c.parameters).allSatisfy { $0.value == $1.value })
    }

    @Test func invalidConfigThrows() {
        let bad = ModelConfig(vocabSize: 10, hiddenSize: 10, layerCount: 1, headCount: 3, contextLength: 8)
        #expect(throws: ModelConfigError.self) { try Transformer(config: bad, seed: 1) }
    }
}
