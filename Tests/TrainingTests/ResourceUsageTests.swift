import Datasets
import Foundation
import Models
import Testing
import Tokenizers
@testable import Training

@Suite struct ResourceUsageTests {
    /// The peak is read and is at least the current resident size, which counts a buffer the
    /// test has just written.
    @Test func peakResidentCoversALiveBuffer() throws {
        let before = ResourceUsage.peakResidentBytes
        #expect(before > 0)
        let count = 16 << 20  // 64 MiB of Float
        var buffer = [Float](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 1024) { buffer[i] = Float(i) }  // every page touched
        #if os(Linux)
            let resident = try #require(ResourceUsage.residentBytes)
            #expect(resident >= count * 4)
            #expect(ResourceUsage.peakResidentBytes >= resident)
        #endif
        #expect(ResourceUsage.peakResidentBytes >= before)
        #expect(ResourceUsage.peakResidentMegabytes >= Double(count * 4) / 1_048_576)
        #expect(buffer[1024] == 1024)
    }

    /// A stage logs peak_rss_mb on every step, and recomputing activations changes nothing else:
    /// the same losses step for step and the same final weights.
    @Test func sftLogsPeakMemoryAndRecomputesTheSameRun() throws {
        let d = StageDataFixture.data(context: 64)
        let rows = try d.sftExamples(
            from: StageDataFixture.file([
                #"{"prompt": "reverse: fox dog", "completion": "dog fox"}"#,
                #"{"prompt": "reverse: the lazy", "completion": "lazy the"}"#,
            ]))
        func run(recompute: Bool) throws -> (history: [[String: Double]], weights: [[Float]]) {
            let model = try Transformer(
                config: ModelConfig(
                    family: .llama, vocabSize: d.tokenizer.vocabularySize,
                    hiddenSize: 32, layerCount: 2, headCount: 2,
                    contextLength: 64), seed: 1)
            model.recomputeActivations = recompute
            var p = SupervisedFineTuning.Parameters()
            p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 4)
            p.batchSize = 2
            let history = try SupervisedFineTuning.train(
                model: model, examples: rows.rows, padToken: d.padToken,
                parameters: p)
            return (history, model.parameters.map(\.value.scalars))
        }
        let kept = try run(recompute: false), recomputed = try run(recompute: true)
        #expect(kept.history.count == 4)
        for (a, b) in zip(kept.history, recomputed.history) {
            #expect(a["loss"] == b["loss"])
            #expect((a["peak_rss_mb"] ?? 0) > 0 && (b["peak_rss_mb"] ?? 0) > 0)
        }
        #expect(kept.weights == recomputed.weights)
    }
}
