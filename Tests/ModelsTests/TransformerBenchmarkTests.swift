import Foundation
import Models
import NN
import Testing
import TensorCore

/// Timing runs, off by default: `scripts/bench-train` (RLHF_BENCH=1, release build).
/// Each prints ms/step and tokens/s; the expectations only guard that the loss is finite.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_BENCH"] != nil), .serialized)
struct TransformerBenchmarkTests {
    static func config(_ name: String) -> (ModelConfig, batch: Int, length: Int) {
        switch name {
        case "S": (ModelConfig(family: .gpt2, vocabSize: 4096, hiddenSize: 256, layerCount: 4, headCount: 4, contextLength: 256), 16, 256)
        case "S-llama": (ModelConfig(family: .llama, vocabSize: 4096, hiddenSize: 256, layerCount: 4, headCount: 4, contextLength: 256), 16, 256)
        default: (ModelConfig(family: .gpt2, vocabSize: 8192, hiddenSize: 384, layerCount: 6, headCount: 6, contextLength: 256), 16, 256)
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// What the machine gives right now: sgemm GFLOP/s on the LM-head shape of config S
    /// (the box is shared, so step times are read against this).
    @Test func calibrateMatmul() {
        let a = randomWeights([4096, 256], seed: 1), b = randomWeights([4096, 256], seed: 2)
        var c = Tensor(shape: [0])
        Tensor.matmul(a, b, transposeB: true, into: &c)
        let start = Self.now()
        for _ in 0..<5 { Tensor.matmul(a, b, transposeB: true, into: &c) }
        let per = (Self.now() - start) / 5
        print(String(format: "bench sgemm 4096×256×4096: %.1f ms, %.0f GFLOP/s", per * 1000, 2.0 * 4096 * 4096 * 256 / per / 1e9))
        #expect(c.count == 4096 * 4096)
    }

    @Test(arguments: ["S", "S-llama", "M"])
    func trainingStep(name: String) throws {
        let (config, b, t) = Self.config(name)
        let model = try Transformer(config: config, seed: 1)
        let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: 2)
        var targets = [Int32](repeating: 0, count: b * t)
        var weights = [Float](repeating: 0, count: b * t)
        for r in 0..<b {
            for i in 0..<(t - 1) {
                targets[r * t + i] = tokens[r * t + i + 1]
                weights[r * t + i] = -1 / Float(b * (t - 1))
            }
        }
        var dLogits = Tensor(shape: [0])
        var parts = [Double](repeating: 0, count: 4)
        func step() -> Double {
            var t0 = Self.now()
            model.zeroGradients()
            let logits = model.forward(tokens: tokens, batchSize: b, length: t).reshaped([b * t, config.vocabSize])
            var t1 = Self.now(); parts[0] += t1 - t0; t0 = t1
            let (lp, _) = TokenLogProbs.forward(logits: logits, targets: targets, temperature: 1)
            TokenLogProbs.backward(logits: logits, targets: targets, temperature: 1, logProbGrad: weights, into: &dLogits)
            t1 = Self.now(); parts[1] += t1 - t0; t0 = t1
            model.backward(logitsGrad: dLogits, hiddenGrad: nil)
            t1 = Self.now(); parts[2] += t1 - t0; t0 = t1
            for p in model.parameters {
                p.grad.withUnsafeBufferPointer { g in
                    p.value.withUnsafeMutableBufferPointer { v in
                        for i in 0..<v.count { v[i] -= 0.01 * g[i] }
                    }
                }
            }
            parts[3] += Self.now() - t0
            return zip(lp, weights).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        _ = step()
        parts = [0, 0, 0, 0]
        let steps = 5
        let start = Self.now()
        var loss = 0.0
        for _ in 0..<steps { loss = step() }
        let per = (Self.now() - start) / Double(steps)
        let p = parts.map { String(format: "%.1f", $0 / Double(steps) * 1000) }
        print(String(format: "bench train %@: %d params, %.1f ms/step, %.0f tokens/s (forward %@, logprobs %@, backward %@, sgd %@ ms), loss %.3f",
                     name, model.parameterCount, per * 1000, Double(b * t) / per, p[0], p[1], p[2], p[3], loss))
        #expect(loss.isFinite)
    }

    @Test(arguments: ["M"])
    func generation(name: String) throws {
        let (config, _, _) = Self.config(name)
        let model = try Transformer(config: config, seed: 1)
        var rng = RandomGenerator(seed: 3)
        let prompt = randomTokens(16, vocab: config.vocabSize, seed: 4)
        for batch in [1, 8] {
            let options = SamplingOptions(temperature: 1, maxNewTokens: 200)
            _ = model.generate(prompts: Array(repeating: prompt, count: batch), options: SamplingOptions(maxNewTokens: 4), rng: &rng)
            let start = Self.now()
            let out = model.generate(prompts: Array(repeating: prompt, count: batch), options: options, rng: &rng)
            let elapsed = Self.now() - start
            let n = out.reduce(0) { $0 + $1.tokens.count }
            print(String(format: "bench generate %@ batch %d: %d tokens in %.2f s, %.0f tokens/s", name, batch, n, elapsed,
                         Double(n) / elapsed))
            #expect(n > 0)
        }
    }
}
