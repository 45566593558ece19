import Foundation
import Models
import Testing
import TensorCore
import Tokenizers
import Training

/// SFT memory and speed on a real-sized model, off by default (docs/memory.md):
///
///     RLHF_MEMORY_BENCH=/path/to/hf-model RLHF_MEMORY_RECOMPUTE=0|1 swift test --filter MemoryBenchmark
///
/// one process per setting, so each reads its own peak. SFT, AdamW, batch 4 of 512-token rows
/// (random tokens, the second half of each row trained), 3 steps. Prints peak RSS and tokens/s.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_MEMORY_BENCH"] != nil))
struct MemoryBenchmarkTests {
    @Test func sftPeakMemory() throws {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["RLHF_MEMORY_BENCH"]!
        let recompute = environment["RLHF_MEMORY_RECOMPUTE"] == "1"
        let length = Int(environment["RLHF_MEMORY_LENGTH"] ?? "") ?? 512
        let afterStart = ResourceUsage.peakResidentMegabytes
        let model = try Transformer.load(from: RunDirectory(path: path))
        let afterLoad = ResourceUsage.peakResidentMegabytes
        model.recomputeActivations = recompute
        var rng = RandomGenerator(seed: 1)
        let examples = (0..<8).map { _ in
            RenderedChat(
                tokens: (0..<length).map { _ in TokenID(rng.next() % UInt64(model.config.vocabSize)) },
                lossMask: (0..<length).map { $0 >= length / 2 })
        }
        var p = SupervisedFineTuning.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-4, steps: 3, warmupSteps: 0)
        p.batchSize = 4
        let history = try SupervisedFineTuning.train(
            model: model, examples: examples, padToken: 0, parameters: p)
        for (i, m) in history.enumerated() {
            print(
                String(
                    format: "memory-bench recompute=%d step %d: loss %.4f, %.0f tokens/s, peak %.0f MB",
                    recompute ? 1 : 0,
                    i + 1, m["loss"]!, m["tokens_per_second"]!, m["peak_rss_mb"]!))
        }
        print(
            String(
                format:
                    "memory-bench recompute=%d: %d parameters; peak at start %.0f MB, after load %.0f MB, "
                    + "final %.0f MB; activation buffers held %.0f MB", recompute ? 1 : 0,
                model.parameterCount,
                afterStart, afterLoad, ResourceUsage.peakResidentMegabytes,
                Double(model.activationByteCount) / 1_048_576))
        #expect(history.allSatisfy { $0["loss"]!.isFinite })
    }
}
