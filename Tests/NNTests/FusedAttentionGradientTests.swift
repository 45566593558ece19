import Foundation
@testable import NN
import Testing
import TensorCore

/// The attention layer's gradients through the fused kernel at a length that is not a multiple of
/// its 64-token tiles, with grouped-query heads and packed documents (segment ids) whose
/// boundaries fall inside tiles.
@Suite struct FusedAttentionGradientTests {
    @Test(arguments: [false, true])
    func gradientsAcrossTiles(packed: Bool) {
        var rng = RandomGenerator(seed: 81)
        let c = 8, b = 1, t = 70, heads = 4, kvHeads = 2
        let table = RotaryTable(headDimension: 2, maxPosition: 80, theta: 10_000)
        let layer = Attention(
            name: "a", style: .llama(rotary: table), hiddenSize: c, heads: heads, kvHeads: kvHeads,
            std: 0.5, outputStd: 0.5, rng: &rng)
        layer.fusedThresholdBytes = 0  // the fused kernels at any size
        scrambleParameters(layer.parameters, seed: 82)
        let x = TensorBox(randomTensor([b * t, c], seed: 83))
        let w = randomTensor([b * t, c], seed: 84)
        // Documents of 30, 30 and 10 tokens, positions restarting at each.
        let segments: [Int32]? = packed ? (0..<t).map { Int32($0 / 30) } : nil
        let positions: [Int32] = (0..<t).map { Int32(packed ? $0 % 30 : $0) }
        func loss() -> Double {
            var out = Tensor(shape: [b * t, c])
            layer.forward(
                x.value, batch: b, length: t, positions: positions, segments: segments, addingInto: &out)
            return weightedSum(out, w)
        }
        _ = loss()
        var dx = Tensor(shape: [0])
        layer.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        let check = GradientCheck(samples: 6)
        check.checkParameters(layer.parameters, grads: layer.parameters.map(\.grad), loss: loss)
        // Inputs of the last document (after two boundaries, in the second tile) included.
        check.checkInput(x, grad: dx, loss: loss)
        if packed {
            // A token of the first document does not influence the last one's outputs.
            var out = Tensor(shape: [b * t, c])
            layer.forward(
                x.value, batch: b, length: t, positions: positions, segments: segments, addingInto: &out)
            let before = (60..<70).map { out[flat: $0 * c] }
            x.value[flat: 5 * c] += 1
            var out2 = Tensor(shape: [b * t, c])
            layer.forward(
                x.value, batch: b, length: t, positions: positions, segments: segments, addingInto: &out2)
            #expect((60..<70).map { out2[flat: $0 * c] } == before)
        }
    }

    /// Both kernels give the same layer output and input gradient, and the layer picks the fused
    /// one only above its threshold.
    @Test func bothPathsAgreeAndTheThresholdChooses() {
        let c = 8, b = 2, t = 33
        func run(threshold: Int) -> (out: [Float], dx: [Float], fused: Bool) {
            var rng = RandomGenerator(seed: 91)
            let layer = Attention(
                name: "a", style: .gpt2, hiddenSize: c, heads: 2, kvHeads: 2, std: 0.5,
                outputStd: 0.5, rng: &rng)
            layer.fusedThresholdBytes = threshold
            let x = randomTensor([b * t, c], seed: 92), w = randomTensor([b * t, c], seed: 93)
            var out = Tensor(shape: [b * t, c])
            let positions = (0..<(b * t)).map { Int32($0 % t) }
            layer.forward(x, batch: b, length: t, positions: positions, segments: nil, addingInto: &out)
            var dx = Tensor(shape: [0])
            layer.backward(input: x, outputGrad: w, inputGrad: &dx)
            return (out.scalars, dx.scalars, layer.usedFused)
        }
        let fused = run(threshold: 0), materialised = run(threshold: .max)
        #expect(fused.fused && !materialised.fused)
        #expect(!run(threshold: b * 2 * t * t * 4).fused && run(threshold: b * 2 * t * t * 4 - 1).fused)
        for (a, e) in zip(fused.out, materialised.out) { #expect(abs(a - e) <= 1e-5 * max(1, abs(e))) }
        for (a, e) in zip(fused.dx, materialised.dx) { #expect(abs(a - e) <= 1e-4 * max(1, abs(e))) }
    }
}
