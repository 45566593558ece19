import Foundation
import Models
import NN
import Testing
import TensorCore

/// A frozen model held in bf16 only (`holdFrozenWeightsInBF16`): its matrices drop their fp32
/// values (half the memory) and its logits stay within bf16 rounding of the fp32 model's.
@Suite struct FrozenBF16Tests {
    @Test(arguments: TinyConfigs.all)
    func logitsWithinBF16RoundingOfFP32(config: ModelConfig) throws {
        let model = try Transformer(config: config, seed: 1)
        scramble(model, seed: 2)
        let frozen = try model.copy()
        frozen.holdFrozenWeightsInBF16()
        let matrices = frozen.parameters.filter { $0.shape.count == 2 }
        #expect(!matrices.isEmpty && matrices.allSatisfy { $0.holdsBF16Only && $0.value.count == 0 })
        #expect(frozen.parameters.filter { $0.shape.count == 1 }.allSatisfy { !$0.holdsBF16Only })
        let b = 2, t = 6
        let tokens = randomTokens(b * t, vocab: config.vocabSize, seed: 3)
        let expected = model.forward(tokens: tokens, batchSize: b, length: t).scalars
        let got = frozen.forward(tokens: tokens, batchSize: b, length: t).scalars
        let scale = expected.map { abs($0) }.max()!
        let error = maxAbsDifference(got, expected)
        // bf16 keeps 8 significant bits (relative rounding ≤ 2⁻⁹ per weight); through a few layers
        // the logits move by well under 2 % of their range, and they do move (not a no-op).
        #expect(error <= 0.02 * scale, "max |Δ| \(error) for logits up to \(scale)")
        #expect(error > 0)
    }

    /// A model held in bf16 only serves one-token steps too (generation's matrix–vector path).
    @Test func singleRowForward() throws {
        let config = TinyConfigs.llamaTied
        let model = try Transformer(config: config, seed: 1)
        let frozen = try model.copy()
        frozen.holdFrozenWeightsInBF16()
        let expected = model.forward(tokens: [3], batchSize: 1, length: 1).scalars
        let got = frozen.forward(tokens: [3], batchSize: 1, length: 1).scalars
        #expect(maxAbsDifference(got, expected) <= 0.02 * expected.map { abs($0) }.max()!)
    }
}
