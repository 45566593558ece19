import Foundation
import NN
import Testing
import TensorCore

/// The Llama-style attention options other families need: q/k/v and o biases (Qwen2, Llama's
/// `attention_bias`), per-head q/k RMSNorm (Qwen3), a head size other than hidden/heads, and
/// rescaled rotary tables (Llama 3.1, linear).
@Suite struct AttentionVariantTests {
    @Test(arguments: [
        (true, false, false, 4), (true, true, false, 4), (false, false, true, 6), (true, true, true, 6),
    ])
    func attentionGradients(projectionBias: Bool, outputBias: Bool, queryKeyNorm: Bool, headDimension: Int) {
        var rng = RandomGenerator(seed: 21)
        let c = 8, b = 2, t = 5, heads = 4, kvHeads = 2
        let table = RotaryTable(
            headDimension: headDimension, maxPosition: 16, theta: 10_000,
            scaling: .llama3(
                factor: 4, lowFrequencyFactor: 1, highFrequencyFactor: 4,
                originalContextLength: 8))
        let layer = Attention(
            name: "a", style: .llama(rotary: table), hiddenSize: c, heads: heads, kvHeads: kvHeads,
            headDimension: headDimension, projectionBias: projectionBias, outputBias: outputBias,
            queryKeyNormEpsilon: queryKeyNorm ? 1e-6 : nil, std: 0.5, outputStd: 0.5, rng: &rng)
        let names = Set(layer.parameters.map(\.name))
        #expect(
            names.contains("a.q_proj.bias") == projectionBias
                && names.contains("a.v_proj.bias") == projectionBias)
        #expect(names.contains("a.o_proj.bias") == outputBias)
        #expect(
            names.contains("a.q_norm.weight") == queryKeyNorm
                && names.contains("a.k_norm.weight") == queryKeyNorm)
        #expect(layer.parameters.first { $0.name == "a.q_proj.weight" }!.shape == [heads * headDimension, c])
        #expect(layer.parameters.first { $0.name == "a.o_proj.weight" }!.shape == [c, heads * headDimension])
        scrambleParameters(layer.parameters, seed: 22)
        let x = TensorBox(randomTensor([b * t, c], seed: 23))
        let w = randomTensor([b * t, c], seed: 24)
        let positions: [Int32] = (0..<(b * t)).map { Int32($0 % t) }
        func loss() -> Double {
            var out = Tensor(shape: [b * t, c])
            layer.forward(x.value, batch: b, length: t, positions: positions, segments: nil, addingInto: &out)
            return weightedSum(out, w)
        }
        _ = loss()
        var dx = Tensor(shape: [0])
        layer.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        let check = GradientCheck(samples: 8)
        check.checkParameters(layer.parameters, grads: layer.parameters.map(\.grad), loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
    }

    @Test func swigluWithBiasGradients() {
        var rng = RandomGenerator(seed: 31)
        let layer = MLP(
            name: "m", kind: .swiglu, hiddenSize: 6, intermediateSize: 10, bias: true, std: 0.5,
            outputStd: 0.5, rng: &rng)
        #expect(
            layer.parameters.map(\.name) == [
                "m.gate_proj.weight", "m.gate_proj.bias", "m.up_proj.weight",
                "m.up_proj.bias", "m.down_proj.weight", "m.down_proj.bias",
            ])
        scrambleParameters(layer.parameters, seed: 32)
        let x = TensorBox(randomTensor([4, 6], seed: 33))
        let w = randomTensor([4, 6], seed: 34)
        func loss() -> Double {
            var out = Tensor(shape: [4, 6])
            layer.forward(x.value, addingInto: &out)
            return weightedSum(out, w)
        }
        _ = loss()
        var dx = Tensor(shape: [0])
        layer.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        let check = GradientCheck(samples: 6)
        check.checkParameters(layer.parameters, grads: layer.parameters.map(\.grad), loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
    }

    /// Inverse frequencies read back from the table (angle at position 1) against the values
    /// transformers 5's `_compute_llama3_parameters` / linear scaling computed for the same
    /// settings (head size 16).
    @Test func rotaryScalingMatchesTransformers() {
        func frequencies(_ table: RotaryTable) -> [Float] {
            let half = table.headDimension / 2
            return (0..<half).map { atan2(table.sin[half + $0], table.cos[half + $0]) }
        }
        let llama3 = RotaryTable(
            headDimension: 16, maxPosition: 4, theta: 10_000,
            scaling: .llama3(
                factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4,
                originalContextLength: 64))
        let expected3: [Float] = [
            1.0, 0.24438458681106567, 0.013042256236076355, 0.0039528473280370235,
            0.0012499999720603228, 0.00039528473280370235, 0.0001250000059371814,
            3.9528473280370235e-05,
        ]
        for (a, e) in zip(frequencies(llama3), expected3) {
            #expect(abs(a - e) <= 1e-6 * max(1, e) + e * 1e-5, "\(a) vs \(e)")
        }
        let linear = RotaryTable(headDimension: 16, maxPosition: 4, theta: 500, scaling: .linear(factor: 4))
        let expectedLinear: [Float] = [
            0.25, 0.11496581882238388, 0.0528685599565506, 0.02431231178343296,
            0.011180340312421322, 0.005141428206115961, 0.0023643539752811193,
            0.0010872796410694718,
        ]
        for (a, e) in zip(frequencies(linear), expectedLinear) {
            #expect(abs(a - e) <= e * 1e-5, "\(a) vs \(e)")
        }
    }
}
