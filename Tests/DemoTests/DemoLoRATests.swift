import Foundation
import Models
import Testing
import Tokenizers
import Training
@testable import Demo

/// The demo's SFT and DPO with `Parameters.lora`: only adapters train, the base run and the SFT
/// model DPO starts from stay bit-identical, and DPO's reference is its own base (a tie at step 0).
@Test func demoLoRATrainsOnlyAdapters() throws {
    let text = DemoTasks.pretrainingDocuments(seed: 1, byteCount: 20_000).joined(separator: "\n\n")
    let tokenizer = try BPETrainer.train(texts: [text], parameters: .init(vocabularySize: 300))
    let template = try ChatTemplate(tokenizer: tokenizer)
    let pad = try tokenizer.requireSpecialTokenID(SpecialTokens.pad)
    var p = DemoPipeline.Parameters()
    try p.apply("loraRank=2")
    #expect(p.lora?.rank == 2 && p.lora?.alpha == 4)
    p.sft.optimization = OptimizationSettings(learningRate: 1e-2, steps: 4)
    p.sft.batchSize = 4
    p.dpo.optimization = OptimizationSettings(learningRate: 1e-2, steps: 6)
    p.dpo.pairsPerStep = 2
    let config = ModelConfig(
        family: .llama, vocabSize: tokenizer.vocabularySize, hiddenSize: 16, layerCount: 1, headCount: 2,
        contextLength: 64, bosTokenID: 0, eosTokenID: Int(template.endOfTurnID))
    let base = try Transformer(config: config, seed: 2)
    let weights = base.parameters.map(\.value.scalars)
    let examples = DemoTasks.sftExamples(seed: 1, count: 8).map { template.render($0.messages) }

    let (sft, history) = try DemoPipeline.trainSFT(
        base: base, demonstrations: examples, padToken: pad, parameters: p, progress: nil)
    #expect(history.count == 4)
    #expect(sft.loraAdapters.count == 7, "every projection of the one layer")
    #expect(base.parameters.map(\.value.scalars) == weights, "the base run changed")
    #expect(sft.parameters.map(\.value.scalars) == weights, "SFT's frozen base weights changed")
    sft.mergeLoRA()
    #expect(sft.parameters.map(\.value.scalars) != weights, "the adapters learned nothing")

    let merged = sft.parameters.map(\.value.scalars)
    let evaluator = DemoEvaluator(template: template, examples: [], maxNewTokens: 4)
    let context = DemoPipeline.AlignmentContext(
        sft: sft, template: template, evaluator: evaluator, padToken: pad, parameters: p)
    let eot = template.endOfTurnID
    var data = DemoPipeline.LabelledData()
    data.pairs = [
        .init(
            prompt: context.render("reverse: fox dog"), chosen: tokenizer.encode("dog fox") + [eot],
            rejected: tokenizer.encode("fox fox") + [eot]),
        .init(
            prompt: context.render("reverse: red sun"), chosen: tokenizer.encode("sun red") + [eot],
            rejected: tokenizer.encode("red") + [eot]),
    ]
    data.heldOutTruthPairs = data.pairs
    let dpo = try DemoPipeline.trainDPO(context, data: data)
    #expect(dpo.policy.hasLoRA)
    #expect(dpo.history[0]["reward_margin"] == 0, "B = 0 at step 0: the policy is its reference")
    #expect(dpo.history.last!["loss"]! < dpo.history[0]["loss"]!)
    #expect(dpo.policy.parameters.map(\.value.scalars) == merged, "DPO changed its base weights")
    #expect(sft.parameters.map(\.value.scalars) == merged, "DPO changed the SFT model")
    #expect(dpo.heldOutAccuracy > 0.5)
}
