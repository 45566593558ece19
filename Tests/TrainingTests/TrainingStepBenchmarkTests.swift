import Foundation
import Models
import NN
import Testing
import TensorCore
import Training

/// Timing runs, off by default: `scripts/bench-train` (RLHF_BENCH=1, release build), which runs
/// each configuration in its own process (RLHF_BENCH_CONFIG=S|S-llama|M) to read its peak memory.
/// Each prints ms/step and tokens/s; the expectations only guard that the loss is finite.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_BENCH"] != nil), .serialized)
struct TrainingStepBenchmarkTests {
    /// What to time (comma-separated RLHF_BENCH_CONFIG): `sgemm`, training configs `S`,
    /// `S-llama`, `M`, and generation `generate-M`; everything by default.
    static let selected: [String] = {
        let names = ProcessInfo.processInfo.environment["RLHF_BENCH_CONFIG"]?.split(separator: ",").map(
            String.init)
        return names ?? ["sgemm", "S", "S-llama", "M", "generate-M"]
    }()
    static let trainingConfigs = selected.filter { $0 != "sgemm" && !$0.hasPrefix("generate-") }
    static let generationConfigs = selected.filter { $0.hasPrefix("generate-") }.map {
        String($0.dropFirst(9))
    }

    static func randomTokens(_ count: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in Int32(rng.next() % UInt64(vocab)) }
    }

    static func randomWeights(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return .randomNormal(shape: shape, std: 1, rng: &rng)
    }

    static func config(_ name: String) -> (ModelConfig, batch: Int, length: Int) {
        switch name {
        case "S":
            (
                ModelConfig(
                    family: .gpt2, vocabSize: 4096, hiddenSize: 256, layerCount: 4, headCount: 4,
                    contextLength: 256), 16, 256
            )
        case "S-llama":
            (
                ModelConfig(
                    family: .llama, vocabSize: 4096, hiddenSize: 256, layerCount: 4, headCount: 4,
                    contextLength: 256), 16, 256
            )
        default:
            (
                ModelConfig(
                    family: .gpt2, vocabSize: 8192, hiddenSize: 384, layerCount: 6, headCount: 6,
                    contextLength: 256), 16, 256
            )
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// What the machine gives right now: sgemm GFLOP/s on the LM-head shape of config S
    /// (the box is shared, so step times are read against this).
    @Test(.enabled(if: Self.selected.contains("sgemm"))) func calibrateMatmul() {
        let a = Self.randomWeights([4096, 256], seed: 1), b = Self.randomWeights([4096, 256], seed: 2)
        var c = Tensor(shape: [0])
        Tensor.matmul(a, b, transposeB: true, into: &c)
        let start = Self.now()
        for _ in 0..<5 { Tensor.matmul(a, b, transposeB: true, into: &c) }
        let per = (Self.now() - start) / 5
        print(
            String(
                format: "bench sgemm 4096×256×4096: %.1f ms, %.0f GFLOP/s", per * 1000,
                2.0 * 4096 * 4096 * 256 / per / 1e9))
        #expect(c.count == 4096 * 4096)
    }

    /// One step as pretraining takes it: forward, log-probs, in-place logits gradient, backward,
    /// AdamW (weight decay 0.1 on matrices, as the PyTorch peer).
    @Test(arguments: Self.trainingConfigs)
    func trainingStep(name: String) throws {
        let (config, b, t) = Self.config(name)
        let model = try Transformer(config: config, seed: 1)
        var optimizer = Adam.adamW(weightDecay: 0.1)
        let tokens = Self.randomTokens(b * t, vocab: config.vocabSize, seed: 2)
        var targets = [Int32](repeating: 0, count: b * t)
        var weights = [Float](repeating: 0, count: b * t)
        for r in 0..<b {
            for i in 0..<(t - 1) {
                targets[r * t + i] = tokens[r * t + i + 1]
                weights[r * t + i] = -1 / Float(b * (t - 1))
            }
        }
        var parts = [Double](repeating: 0, count: 4)
        func step() -> Double {
            var t0 = Self.now()
            model.zeroGradients()
            // The training stages' path (LogProbPass): log-probs with saved normalizers, then the
            // logits turned into their gradient in place.
            var normalizers: [Float] = []
            let (lp, _) = TokenLogProbs.forward(
                logits: model.forward(tokens: tokens, batchSize: b, length: t)
                    .reshaped([b * t, config.vocabSize]),
                targets: targets, temperature: 1, logNormalizers: &normalizers)
            var t1 = Self.now(); parts[0] += t1 - t0; t0 = t1
            model.backward(
                replacingLogitsWithGradient: { logits in
                    TokenLogProbs.backward(
                        replacingLogits: &logits, targets: targets, temperature: 1,
                        logNormalizers: normalizers, logProbGrad: weights)
                    t1 = Self.now(); parts[1] += t1 - t0; t0 = t1
                }, hiddenGrad: nil)
            t1 = Self.now(); parts[2] += t1 - t0; t0 = t1
            optimizer.step(model.parameters, learningRate: 3e-4)
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
        // Model FLOPs as the peer counts them: 6·N (N without the position table) + 6·L·T·d.
        let positionTable = config.family == .gpt2 ? config.contextLength * config.hiddenSize : 0
        let flopsPerToken =
            6.0 * Double(model.parameterCount - positionTable)
            + 6.0 * Double(config.layerCount * t * config.hiddenSize)
        print(
            String(
                format:
                    "bench train %@: %d params, %.1f ms/step, %.0f tokens/s, %.1f model GFLOP/s (forward+logprobs %@, logprobs backward %@, backward %@, adamw %@ ms), loss %.3f",
                name, model.parameterCount, per * 1000, Double(b * t) / per,
                flopsPerToken * Double(b * t) / per / 1e9,
                p[0], p[1], p[2], p[3], loss))
        #expect(loss.isFinite)
    }

    /// As the peer: a one-token prompt, greedy decoding with the KV cache to the full context
    /// (255 new tokens; the peer's 256 includes the prompt position), median of three runs.
    /// RLHF_DECODE_WEIGHTS=bf16|int8 decodes with those copies (labelled `M-int8`); with
    /// RLHF_BENCH_FLOOR, batch 1 also prints the weights read per token and the read bandwidth
    /// measured right after (the floor). RLHF_BENCH_BATCHES=1,8 chooses the batch sizes.
    @Test(arguments: Self.generationConfigs)
    func generation(name: String) throws {
        let (config, _, _) = Self.config(name)
        let model = try Transformer(config: config, seed: 1)
        let format = ProcessInfo.processInfo.environment["RLHF_DECODE_WEIGHTS"].flatMap {
            QuantizedWeights.Format(rawValue: $0)
        }
        model.quantizeForDecoding(format)
        let name = name + (format.map { "-\($0)" } ?? "")
        var rng = RandomGenerator(seed: 3)
        let prompt: [Int32] = [0]
        let batches = ProcessInfo.processInfo.environment["RLHF_BENCH_BATCHES"].map {
            $0.split(separator: ",").compactMap { Int($0) }
        }
        for batch in batches ?? [1, 8] {
            let options = SamplingOptions(temperature: 0, maxNewTokens: config.contextLength - 1)
            _ = model.generate(
                prompts: Array(repeating: prompt, count: batch), options: SamplingOptions(maxNewTokens: 16),
                rng: &rng)
            var times: [Double] = []
            var n = 0
            for _ in 0..<3 {
                let start = Self.now()
                let out = model.generate(
                    prompts: Array(repeating: prompt, count: batch), options: options, rng: &rng)
                times.append(Self.now() - start)
                n = out.reduce(0) { $0 + $1.tokens.count }
            }
            let elapsed = times.sorted()[1]
            print(
                String(
                    format: "bench generate %@ batch %d: %d tokens in %.2f s, %.0f tokens/s", name, batch, n,
                    elapsed,
                    Double(n) / elapsed))
            if batch == 1 && ProcessInfo.processInfo.environment["RLHF_BENCH_FLOOR"] != nil {
                // (Its own process in scripts/bench-train: the 256 MB array would be the peak memory.)
                // The floor as measured before (a 2-thread read of an array larger than the
                // caches: 256 MB, DRAM), and of an array the size of the weights (int8's and
                // bf16's fit a 32 MiB L3, so that read is the cache's bandwidth).
                let bytes = model.decodeWeightByteCount
                let dram = MemoryBandwidth.read(bytes: 256 << 20, repeats: 5)
                let same = MemoryBandwidth.read(bytes: bytes)
                let rate = Double(n) / elapsed
                print(
                    String(
                        format:
                            "bench floor %@: %.1f MB of weights per token; read 256 MB %.1f GB/s (median %.1f): "
                            + "floor %.0f tokens/s, reached %.0f%%; read %.1f MB %.1f GB/s (median %.1f): "
                            + "floor %.0f tokens/s, reached %.0f%% (%@ kernels)",
                        name, Double(bytes) / 1e6, dram.best, dram.median, dram.best * 1e9 / Double(bytes),
                        100 * rate / (dram.best * 1e9 / Double(bytes)), Double(bytes) / 1e6, same.best,
                        same.median, same.best * 1e9 / Double(bytes),
                        100 * rate / (same.best * 1e9 / Double(bytes)),
                        QuantizedKernelPath.current.description))
            }
            #expect(n > 0)
        }
    }
}
