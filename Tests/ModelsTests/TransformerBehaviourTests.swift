import Foundation
import Models
import NN
import Testing
import TensorCore

@Suite struct TransformerBehaviourTests {
    /// A packed row gives each document exactly the logits it gets alone.
    @Test(arguments: TinyConfigs.all)
    func segmentsMatchSeparateDocuments(config: ModelConfig) throws {
        let model = try Transformer(config: config, seed: 3)
        scramble(model, seed: 4)
        let a = randomTokens(5, vocab: config.vocabSize, seed: 5)
        let b = randomTokens(4, vocab: config.vocabSize, seed: 6)
        let v = config.vocabSize
        let packed = model.forward(
            tokens: a + b, batchSize: 1, length: 9,
            segmentIDs: [Int32](repeating: 2, count: 5) + [Int32](repeating: 3, count: 4)
        ).scalars
        let alone =
            model.forward(tokens: a, batchSize: 1, length: 5).scalars
            + model.forward(tokens: b, batchSize: 1, length: 4).scalars
        #expect(maxAbsDifference(packed, alone) < 1e-4)
        // Without segments the second document sees the first, so the logits differ.
        let unpacked = model.forward(tokens: a + b, batchSize: 1, length: 9).scalars
        #expect(maxAbsDifference(Array(unpacked[(5 * v)...]), Array(alone[(5 * v)...])) > 1e-3)
    }

    /// Batch rows are independent and right padding does not change earlier positions.
    @Test func batchRowsAreIndependent() throws {
        let config = TinyConfigs.llama
        let model = try Transformer(config: config, seed: 3)
        scramble(model, seed: 9)
        let a = randomTokens(6, vocab: config.vocabSize, seed: 10)
        let b = randomTokens(6, vocab: config.vocabSize, seed: 11)
        let both = model.forward(tokens: a + b, batchSize: 2, length: 6).scalars
        let first = model.forward(tokens: a, batchSize: 1, length: 6).scalars
        let prefix = model.forward(tokens: Array(b.prefix(3)), batchSize: 1, length: 3).scalars
        #expect(maxAbsDifference(Array(both[..<first.count]), first) < 1e-5)
        #expect(maxAbsDifference(Array(both[first.count..<(first.count + prefix.count)]), prefix) < 1e-5)
    }

    /// Greedy generation with the KV cache equals recomputing the whole sequence every step.
    @Test(arguments: TinyConfigs.all)
    func cachedGenerationMatchesRecomputation(config: ModelConfig) throws {
        let model = try Transformer(config: config, seed: 5)
        scramble(model, seed: 6)
        let prompts = [
            randomTokens(3, vocab: config.vocabSize, seed: 7),
            randomTokens(7, vocab: config.vocabSize, seed: 8),
            randomTokens(1, vocab: config.vocabSize, seed: 9),
        ]
        var rng = RandomGenerator(seed: 1)
        let options = SamplingOptions(temperature: 0, maxNewTokens: 8)
        let generated = model.generate(prompts: prompts, options: options, rng: &rng)
        for (r, prompt) in prompts.enumerated() {
            var seq = prompt
            var expected: [Int32] = []
            for _ in 0..<8 {
                let logits = model.forward(tokens: seq, batchSize: 1, length: seq.count).scalars
                let last = Array(logits[((seq.count - 1) * config.vocabSize)...])
                let next = Int32(
                    last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!)
                expected.append(next)
                seq.append(next)
            }
            #expect(generated[r].tokens == expected, "row \(r)")
            #expect(!generated[r].finished)
        }
    }

    @Test func generationStopsOnStopTokensAndCallback() throws {
        let config = TinyConfigs.gpt2
        let model = try Transformer(config: config, seed: 5)
        scramble(model, seed: 6)
        var rng = RandomGenerator(seed: 2)
        let free = model.generate(
            prompts: [[1, 2]], options: SamplingOptions(temperature: 0, maxNewTokens: 6), rng: &rng)[0]
        let stop = free.tokens[2]
        let stopped = model.generate(
            prompts: [[1, 2]],
            options: SamplingOptions(
                temperature: 0, maxNewTokens: 6,
                stopTokens: [stop]), rng: &rng)[0]
        let firstStop = free.tokens.firstIndex(of: stop)!
        #expect(stopped.tokens == Array(free.tokens[...firstStop]))
        #expect(stopped.finished)
        var seen = 0
        let cut = model.generate(
            prompts: [[1, 2], [3]], options: SamplingOptions(temperature: 1, maxNewTokens: 6),
            rng: &rng
        ) { row, _ in
            if row == 0 { seen += 1 }
            return row != 0 || seen < 2
        }
        #expect(cut[0].tokens.count == 2 && !cut[0].finished)
        #expect(cut[1].tokens.count == 6)
        // Generation never runs past the context window.
        let long = model.generate(
            prompts: [Array(repeating: 1, count: 20)], options: SamplingOptions(maxNewTokens: 50),
            rng: &rng)[0]
        #expect(long.tokens.count == config.contextLength - 20)
    }

    /// Seeded sampling is reproducible, and top-k = 2 only ever picks one of the two most likely.
    @Test func samplingIsSeededAndFiltered() throws {
        let config = TinyConfigs.llama
        let model = try Transformer(config: config, seed: 5)
        scramble(model, seed: 6)
        var r1 = RandomGenerator(seed: 42), r2 = RandomGenerator(seed: 42)
        let opts = SamplingOptions(temperature: 1.3, topP: 0.9, maxNewTokens: 10)
        #expect(
            model.generate(prompts: [[1, 2, 3]], options: opts, rng: &r1)
                == model.generate(prompts: [[1, 2, 3]], options: opts, rng: &r2))
        let logits = model.forward(tokens: [4, 5], batchSize: 1, length: 2).scalars
        let last = Array(logits[config.vocabSize...])
        let top2 = Set(last.indices.sorted { last[$0] > last[$1] }.prefix(2).map { Int32($0) })
        var rng = RandomGenerator(seed: 3)
        for _ in 0..<30 {
            let tok = model.generate(
                prompts: [[4, 5]], options: SamplingOptions(temperature: 5, topK: 2, maxNewTokens: 1),
                rng: &rng)[0].tokens[0]
            #expect(top2.contains(tok))
        }
    }

    /// A 2-layer model learns a repeated sequence: Adam on the mean next-token loss drives it near 0.
    @Test(arguments: [ModelConfig.Family.llama, .gpt2])
    func trainingLossFalls(family: ModelConfig.Family) throws {
        let config = ModelConfig(
            family: family, vocabSize: 16, hiddenSize: 32, layerCount: 2, headCount: 4,
            contextLength: 32)
        let model = try Transformer(config: config, seed: 11)
        let pattern: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6]
        let b = 2, t = 16
        let tokens = (0..<(b * t)).map { pattern[$0 % pattern.count] }
        var targets = [Int32](repeating: 0, count: b * t)
        var weights = [Float](repeating: 0, count: b * t)
        for r in 0..<b {
            for i in 0..<(t - 1) {
                targets[r * t + i] = tokens[r * t + i + 1]
                weights[r * t + i] = -1 / Float(b * (t - 1))  // d(mean NLL)/d logp
            }
        }
        var m = model.parameters.map { Tensor(shape: $0.shape) }
        var v = m
        let lr: Float = 1e-2, b1: Float = 0.9, b2: Float = 0.999
        var first = 0.0, last = 0.0
        for step in 1...60 {
            model.zeroGradients()
            let logits = model.forward(tokens: tokens, batchSize: b, length: t).reshaped([
                b * t, config.vocabSize,
            ])
            let (lp, _) = TokenLogProbs.forward(logits: logits, targets: targets, temperature: 1)
            let loss = zip(lp, weights).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            if step == 1 { first = loss }
            last = loss
            let dl = TokenLogProbs.backward(
                logits: logits, targets: targets, temperature: 1, logProbGrad: weights)
            model.backward(logitsGrad: dl.reshaped([b, t, config.vocabSize]), hiddenGrad: nil)
            for (i, p) in model.parameters.enumerated() {
                let c1 = 1 - pow(b1, Float(step)), c2 = 1 - pow(b2, Float(step))
                for j in 0..<p.value.count {
                    let g = p.grad[flat: j]
                    m[i][flat: j] = b1 * m[i][flat: j] + (1 - b1) * g
                    v[i][flat: j] = b2 * v[i][flat: j] + (1 - b2) * g * g
                    p.value[flat: j] -= lr * (m[i][flat: j] / c1) / ((v[i][flat: j] / c2).squareRoot() + 1e-8)
                }
            }
        }
        #expect(first > 2.0)  // ≈ ln 16 at init
        #expect(last < 0.1, "loss \(first) → \(last)")
    }
}

@Suite struct SamplingFilterTests {
    /// With a known distribution, top-p keeps exactly the smallest prefix reaching p, and top-k
    /// then top-p works on the renormalised top-k mass (Hugging Face order).
    @Test func nucleusAndTopKKeepTheRightTokens() throws {
        // Logits for p = [0.5, 0.3, 0.15, 0.05] over 4 tokens (vocab 4), decode one token many times.
        let config = ModelConfig(
            family: .gpt2, vocabSize: 4, hiddenSize: 4, layerCount: 1, headCount: 1, contextLength: 4)
        let model = try Transformer(config: config, seed: 1)
        // Zero every weight, then make the output bias-free logits come from ln_f's bias: hidden
        // = ln_f.bias, logits = wte · bias.
        for p in model.parameters { p.value.zero() }
        let wte = model.parameters.first { $0.name == "transformer.wte.weight" }!
        let probs: [Float] = [0.5, 0.3, 0.15, 0.05]
        var w = [Float](repeating: 0, count: 16)
        for i in 0..<4 { w[i * 4] = log(probs[i]) }
        wte.value = Tensor(shape: [4, 4], scalars: w)
        model.parameters.first { $0.name == "transformer.ln_f.bias" }!.value = Tensor(
            shape: [4], scalars: [1, 0, 0, 0])
        func counts(_ options: SamplingOptions) -> [Int] {
            var rng = RandomGenerator(seed: 9)
            var c = [0, 0, 0, 0]
            for _ in 0..<400 {
                c[Int(model.generate(prompts: [[0]], options: options, rng: &rng)[0].tokens[0])] += 1
            }
            return c
        }
        let nucleus = counts(SamplingOptions(topP: 0.75, maxNewTokens: 1))  // 0.5 + 0.3 ≥ 0.75
        #expect(nucleus[2] == 0 && nucleus[3] == 0 && nucleus[0] > nucleus[1] && nucleus[1] > 60)
        // top-k 3 renormalises to [0.526, 0.316, 0.158]; top-p 0.8 then keeps the first two.
        let both = counts(SamplingOptions(topK: 3, topP: 0.8, maxNewTokens: 1))
        #expect(both[2] == 0 && both[3] == 0 && both[1] > 60)
        let all = counts(SamplingOptions(maxNewTokens: 1))
        #expect(all.allSatisfy { $0 > 0 } && abs(Double(all[0]) / 400 - 0.5) < 0.08)
    }
}
