import Datasets
import Foundation
import Models
import Testing
import Tokenizers
@testable import Training

/// Each stage from a JSONL file through StageData into its library call, at tiny scale: the
/// stage's own metric must move the right way.
enum StageFromFiles {
    static func model(_ d: StageData, seed: UInt64 = 1) throws -> Transformer {
        try Transformer(
            config: ModelConfig(
                family: .llama, vocabSize: d.tokenizer.vocabularySize, hiddenSize: 32,
                layerCount: 1, headCount: 2, contextLength: 64), seed: seed)
    }
}

@Test func sftFromFileLowersTheCompletionLoss() throws {
    let d = StageDataFixture.data(context: 64)
    let url = StageDataFixture.file([
        #"{"prompt": "reverse: fox dog", "completion": "dog fox"}"#,
        #"{"messages": [{"role": "user", "content": "reverse: the lazy"}, {"role": "assistant", "content": "lazy the"}]}"#,
    ])
    let rows = try d.sftExamples(from: url)
    let model = try StageFromFiles.model(d)
    var p = SupervisedFineTuning.Parameters()
    p.optimization = OptimizationSettings(learningRate: 1e-2, steps: 40)
    p.batchSize = 4
    p.packing = true
    let history = try SupervisedFineTuning.train(
        model: model, examples: rows.rows, padToken: d.padToken, parameters: p)
    let first = history[0]["loss"]!, last = history.last!["loss"]!
    #expect(last < first * 0.5, "loss \(first) → \(last)")
}

@Test func rewardModelFromFileLearnsTheLabellersPreference() throws {
    let d = StageDataFixture.data(context: 64)
    // The labeller prefers answers about the fox; pairs and a 3-way ranking.
    let words = ["the", "lazy", "dog", "brown", "over", "quick"]
    var lines: [String] = []
    for (i, w) in words.enumerated() {
        lines.append(#"{"prompt": "say something \#(i)", "chosen": "fox \#(w)", "rejected": "\#(w) dog"}"#)
        lines.append(
            #"{"prompt": "rank \#(i)", "responses": ["\#(w) dog", "fox fox", "\#(w)"], "ranking": [1, 2, 0]}"#
        )
    }
    let rows = try d.comparisons(from: StageDataFixture.file(lines))
    #expect(rows.rows.count == 12)
    let rm = ScalarModel(trunk: try StageFromFiles.model(d), seed: 2)
    var p = RewardModelTraining.Parameters()
    p.optimization = OptimizationSettings(learningRate: 3e-3, steps: 40)
    p.comparisonsPerStep = 4
    let before = RewardModelTraining.accuracy(model: rm, comparisons: rows.rows, padToken: d.padToken)
    let summary = try RewardModelTraining.train(
        model: rm, comparisons: rows.rows, heldOut: rows.rows, padToken: d.padToken, parameters: p)
    #expect(summary.heldOutAccuracy > max(before, 0.8), "accuracy \(before) → \(summary.heldOutAccuracy)")
}

@Test func dpoFromFileWidensTheMargin() throws {
    let d = StageDataFixture.data(context: 64)
    let url = StageDataFixture.file([
        #"{"prompt": "p1", "chosen": "the fox", "rejected": "the dog"}"#,
        #"{"prompt": "p2", "responses": ["lazy dog", "quick fox", "dog"], "ranking": [1, 0, 2]}"#,
    ])
    let pairs = StageData.preferencePairs(try d.comparisons(from: url).rows)
    #expect(pairs.count == 4)
    let policy = try StageFromFiles.model(d)
    var p = PreferenceTraining.Parameters()
    p.optimization = OptimizationSettings(learningRate: 3e-3, steps: 15)
    p.pairsPerStep = 4
    let history = try PreferenceTraining.train(
        policy: policy, reference: try policy.copy(), pairs: pairs, padToken: d.padToken, parameters: p)
    #expect(history[0]["reward_margin"]! == 0)
    #expect(history.last!["reward_margin"]! > 0.1 && history.last!["loss"]! < history[0]["loss"]!)
}
