import NN
import Testing
import TensorCore

/// Gradients are allocated on first write, so evaluated-only models hold no second copy.
@Test func parameterGradientIsAllocatedOnFirstWrite() {
    var rng = RandomGenerator(seed: 1)
    let layer = Linear(name: "l", inputSize: 3, outputSize: 2, bias: true, std: 1, rng: &rng)
    #expect(layer.parameters.allSatisfy { !$0.hasGradient })
    #expect(layer.weight.grad.shape == [2, 3] && layer.weight.grad.scalars.allSatisfy { $0 == 0 })
    layer.weight.zeroGrad()
    #expect(!layer.weight.hasGradient)
    let x = Tensor(shape: [1, 3], scalars: [1, 2, 3])
    _ = layer.forward(x)
    var dx = Tensor(shape: [0])
    layer.backward(input: x, outputGrad: Tensor(shape: [1, 2], scalars: [1, -1]), inputGrad: &dx)
    #expect(layer.parameters.allSatisfy { $0.hasGradient })
    #expect(layer.bias!.grad.scalars == [1, -1])
    #expect(layer.weight.grad.scalars == [1, 2, 3, -1, -2, -3])
    layer.weight.zeroGrad()
    #expect(layer.weight.grad.scalars.allSatisfy { $0 == 0 } && layer.weight.hasGradient)
}

/// An update that modifies `value` while reading `grad` in one call (as optimizers do) must not
/// touch `value` through `grad`, even before any gradient exists.
@Test func readingAnUnallocatedGradientDoesNotAccessTheValue() {
    let p = Parameter(name: "p", value: Tensor(shape: [3], scalars: [1, 2, 3]), decays: true)
    func step(_ value: inout Tensor, _ grad: Tensor) {
        for i in 0..<value.count { value[flat: i] -= grad[flat: i] }
    }
    step(&p.value, p.grad)
    #expect(p.value.scalars == [1, 2, 3] && !p.hasGradient)
}
