@testable import NN
import Testing
import TensorCore

@Suite struct LoRATests {
    let check = GradientCheck()

    /// Finite differences agree with backward for A, B and the input; the base weight and bias get no
    /// gradient (frozen), with and without (fixed-mask) dropout, in both weight layouts.
    @Test(arguments: [
        (Linear.WeightLayout.outputMajor, Float(0)), (.inputMajor, 0), (.outputMajor, 0.5),
        (.inputMajor, 0.3),
    ])
    func gradientCheck(layout: Linear.WeightLayout, dropout: Float) {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(
            name: "m.q_proj", inputSize: 5, outputSize: 7, bias: true, layout: layout, std: 0.5,
            rng: &rng)
        let adapter = layer.attachLoRA(rank: 3, alpha: 6, dropout: dropout, rng: &rng)
        adapter.training = true
        scrambleParameters(adapter.parameters, seed: 2)  // B is zero at init: its A-gradient would be 0
        let x = TensorBox(randomTensor([6, 5], seed: 3))
        let w = randomTensor([6, 7], seed: 4)
        var dx = Tensor(shape: [0])
        _ = layer.forward(x.value)
        adapter.redrawsMask = false
        func loss() -> Double { weightedSum(layer.forward(x.value), w) }
        layer.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        check.checkParameters(adapter.parameters, grads: adapter.parameters.map(\.grad), loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
        #expect(!layer.weight.hasGradient && !layer.bias!.hasGradient)
        #expect(adapter.a.name == "m.q_proj.lora_A.weight" && adapter.b.shape == [7, 3])
    }

    /// B starts at zero (the layer is unchanged), A is U(±1/√in) as PEFT's kaiming_uniform_(a=√5).
    @Test func initialisation() {
        var rng = RandomGenerator(seed: 5)
        let layer = Linear(name: "l", inputSize: 64, outputSize: 8, bias: false, std: 0.5, rng: &rng)
        let x = randomTensor([3, 64], seed: 6)
        let before = layer.forward(x).scalars
        let adapter = layer.attachLoRA(rank: 4, alpha: 8, rng: &rng)
        #expect(layer.forward(x).scalars == before)
        let a = adapter.a.value.scalars
        #expect(a.allSatisfy { abs($0) <= 0.125 } && a.contains { abs($0) > 0.1 })
        #expect(adapter.b.value.scalars.allSatisfy { $0 == 0 })
    }

    /// Disabled adapters give the base output; merging gives the adapted output without an adapter.
    @Test(arguments: [Linear.WeightLayout.outputMajor, .inputMajor])
    func disableAndMerge(layout: Linear.WeightLayout) {
        var rng = RandomGenerator(seed: 7)
        let layer = Linear(
            name: "l", inputSize: 6, outputSize: 4, bias: true, layout: layout, std: 0.5, rng: &rng)
        let x = randomTensor([5, 6], seed: 8)
        let base = layer.forward(x).scalars
        let adapter = layer.attachLoRA(rank: 2, alpha: 3, rng: &rng)
        scrambleParameters(adapter.parameters, seed: 9)
        let adapted = layer.forward(x).scalars
        #expect(zip(adapted, base).contains { abs($0 - $1) > 1e-3 })
        adapter.enabled = false
        #expect(layer.forward(x).scalars == base)
        adapter.enabled = true
        let single = layer.forward(Tensor(shape: [1, 6], scalars: Array(x.scalars[0..<6]))).scalars
        for j in 0..<4 { #expect(abs(single[j] - adapted[j]) < 1e-5) }
        layer.mergeLoRA()
        #expect(layer.lora == nil)
        for (m, e) in zip(layer.forward(x).scalars, adapted) { #expect(abs(m - e) < 1e-5) }
    }
}
