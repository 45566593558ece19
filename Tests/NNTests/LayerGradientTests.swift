import Foundation
import NN
import Testing
import TensorCore

@Suite struct LayerGradientTests {
    let check = GradientCheck()

    @Test(arguments: [Linear.WeightLayout.outputMajor, .inputMajor])
    func linear(layout: Linear.WeightLayout) {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(
            name: "l", inputSize: 5, outputSize: 7, bias: true, layout: layout, std: 0.5, rng: &rng)
        scrambleParameters(layer.parameters, seed: 2)
        let x = TensorBox(randomTensor([6, 5], seed: 3))
        let w = randomTensor([6, 7], seed: 4)
        func loss() -> Double { weightedSum(layer.forward(x.value), w) }
        var dx = Tensor(shape: [0])
        _ = layer.forward(x.value)
        layer.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        let grads = layer.parameters.map(\.grad)
        check.checkParameters(layer.parameters, grads: grads, loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
    }

    /// The one-row (matrix–vector) path agrees with the batched product, also when accumulating.
    @Test(arguments: [Linear.WeightLayout.outputMajor, .inputMajor])
    func linearSingleRowMatchesBatch(layout: Linear.WeightLayout) {
        var rng = RandomGenerator(seed: 30)
        let layer = Linear(
            name: "l", inputSize: 6, outputSize: 5, bias: true, layout: layout, std: 0.5, rng: &rng)
        scrambleParameters(layer.parameters, seed: 31)
        let x = randomTensor([3, 6], seed: 32)
        let all = layer.forward(x).scalars
        for r in 0..<3 {
            let row = Tensor(shape: [1, 6], scalars: Array(x.scalars[(r * 6)..<(r * 6 + 6)]))
            var y = Tensor(shape: [1, 5], repeating: 1)
            layer.forward(row, into: &y, accumulate: true)
            for j in 0..<5 { #expect(abs(y[flat: j] - 1 - all[r * 5 + j]) < 1e-5) }
        }
    }

    @Test func linearForwardMatchesHandComputedValues() {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(name: "l", inputSize: 2, outputSize: 2, bias: true, std: 1, rng: &rng)
        layer.weight.value = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])  // [out, in]
        layer.bias!.value = Tensor(shape: [2], scalars: [10, 20])
        let y = layer.forward(Tensor(shape: [1, 2], scalars: [1, -1]))
        #expect(y.scalars == [Float(9), Float(19)])
    }

    @Test(arguments: [false, true])
    func norms(layerNorm: Bool) {
        let norm: any Normalization =
            layerNorm
            ? LayerNorm(name: "n", size: 6, epsilon: 1e-5)
            : RMSNorm(name: "n", size: 6, epsilon: 1e-5)
        scrambleParameters(norm.parameters, seed: 5)
        let x = TensorBox(randomTensor([4, 6], seed: 6))
        let w = randomTensor([4, 6], seed: 7)
        var y = Tensor(shape: [0])
        func loss() -> Double { norm.forward(x.value, into: &y); return weightedSum(y, w) }
        _ = loss()
        var dx = Tensor(shape: [4, 6])
        norm.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        check.checkParameters(norm.parameters, grads: norm.parameters.map(\.grad), loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
    }

    @Test func rmsNormForwardValues() {
        let norm = RMSNorm(name: "n", size: 2, epsilon: 0)
        var y = Tensor(shape: [0])
        norm.forward(Tensor(shape: [1, 2], scalars: [3, 4]), into: &y)
        // rms = √((9 + 16)/2) = √12.5
        let r = Float(12.5).squareRoot()
        #expect(abs(y[flat: 0] - 3 / r) < 1e-6 && abs(y[flat: 1] - 4 / r) < 1e-6)
    }

    @Test(arguments: [MLP.Kind.swiglu, .gelu])
    func mlp(kind: MLP.Kind) {
        var rng = RandomGenerator(seed: 8)
        let layer = MLP(
            name: "m", kind: kind, hiddenSize: 6, intermediateSize: 10, std: 0.5, outputStd: 0.5, rng: &rng)
        scrambleParameters(layer.parameters, seed: 9)
        let x = TensorBox(randomTensor([5, 6], seed: 10))
        let w = randomTensor([5, 6], seed: 11)
        func loss() -> Double {
            var out = Tensor(shape: [5, 6])
            layer.forward(x.value, addingInto: &out)
            return weightedSum(out, w)
        }
        _ = loss()
        var dx = Tensor(shape: [0])
        layer.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        check.checkParameters(layer.parameters, grads: layer.parameters.map(\.grad), loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
    }

    @Test(arguments: [(false, 2, 2, false), (false, 4, 2, true), (true, 2, 2, true)])
    func attention(gpt2: Bool, heads: Int, kvHeads: Int, segmented: Bool) {
        var rng = RandomGenerator(seed: 12)
        let c = 8, b = 2, t = 5
        let style: Attention.Style =
            gpt2
            ? .gpt2 : .llama(rotary: RotaryTable(headDimension: c / heads, maxPosition: 16, theta: 10_000))
        let layer = Attention(
            name: "a", style: style, hiddenSize: c, heads: heads, kvHeads: kvHeads, std: 0.5,
            outputStd: 0.5, rng: &rng)
        scrambleParameters(layer.parameters, seed: 13)
        let x = TensorBox(randomTensor([b * t, c], seed: 14))
        let w = randomTensor([b * t, c], seed: 15)
        let segments: [Int32]? = segmented ? [0, 0, 1, 1, 1, 4, 4, 4, 4, 5] : nil
        let positions: [Int32] =
            segmented ? [0, 1, 0, 1, 2, 0, 1, 2, 3, 0] : (0..<(b * t)).map { Int32($0 % t) }
        func loss() -> Double {
            var out = Tensor(shape: [b * t, c])
            layer.forward(
                x.value, batch: b, length: t, positions: positions, segments: segments, addingInto: &out)
            return weightedSum(out, w)
        }
        _ = loss()
        var dx = Tensor(shape: [0])
        layer.backward(input: x.value, outputGrad: w, inputGrad: &dx)
        let check = GradientCheck(samples: 8)
        check.checkParameters(layer.parameters, grads: layer.parameters.map(\.grad), loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
    }

    @Test func embedding() {
        var rng = RandomGenerator(seed: 16)
        let layer = Embedding(name: "e", count: 5, size: 3, std: 1, rng: &rng)
        let ids: [Int32] = [4, 1, 4, 0]
        let w = randomTensor([4, 3], seed: 17)
        var y = Tensor(shape: [0])
        func loss() -> Double { layer.forward(ids, into: &y); return weightedSum(y, w) }
        _ = loss()
        #expect(Array(y.scalars[0..<3]) == Array(layer.weight.value.scalars[12..<15]))
        layer.backward(ids, outputGrad: w)
        GradientCheck(samples: 15).checkParameters(layer.parameters, grads: [layer.weight.grad], loss: loss)
    }

    @Test func scalarHead() {
        let head = ScalarHead(name: "score", hiddenSize: 4, seed: 18)
        #expect(head.weight.name == "score.weight" && head.weight.shape == [1, 4])
        scrambleParameters(head.parameters, seed: 19)
        let x = TensorBox(randomTensor([3, 4], seed: 20))
        let g: [Float] = [0.5, -1, 2]
        func loss() -> Double { zip(head.forward(x.value), g).reduce(0) { $0 + Double($1.0 * $1.1) } }
        _ = loss()
        let dx = head.backward(outputGrad: g)
        check.checkParameters(head.parameters, grads: [head.weight.grad], loss: loss)
        check.checkInput(x, grad: dx, loss: loss)
    }

    @Test(arguments: [Float(1), 0.7])
    func tokenLogProbs(temperature: Float) {
        let logits = TensorBox(randomTensor([4, 9], std: 2, seed: 21))
        let targets: [Int32] = [3, 0, 8, 3]
        let g: [Float] = [1, -0.5, 0.25, 2]
        func loss() -> Double {
            let (lp, _) = TokenLogProbs.forward(
                logits: logits.value, targets: targets, temperature: temperature)
            return zip(lp, g).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        let d = TokenLogProbs.backward(
            logits: logits.value, targets: targets, temperature: temperature, logProbGrad: g)
        GradientCheck(samples: 36).checkInput(logits, grad: d, loss: loss)
        // Reference values in Double.
        let (lp, ent) = TokenLogProbs.forward(
            logits: logits.value, targets: targets, temperature: temperature)
        for r in 0..<4 {
            let z = (0..<9).map { Double(logits.value[flat: r * 9 + $0]) / Double(temperature) }
            let m = z.max()!
            let lse = m + log(z.reduce(0) { $0 + exp($1 - m) })
            let p = z.map { exp($0 - lse) }
            let h = -zip(p, z).reduce(0) { $0 + $1.0 * ($1.1 - lse) }
            #expect(abs(Double(lp[r]) - (z[Int(targets[r])] - lse)) < 1e-5)
            #expect(abs(Double(ent[r]) - h) < 1e-5)
        }
        // The one-pass, in-place backward from the saved normalizers gives the same gradient.
        var normalizers: [Float] = []
        let (lp2, _) = TokenLogProbs.forward(
            logits: logits.value, targets: targets, temperature: temperature,
            logNormalizers: &normalizers)
        #expect(lp2 == lp)
        var inPlace = logits.value
        TokenLogProbs.backward(
            replacingLogits: &inPlace, targets: targets, temperature: temperature,
            logNormalizers: normalizers, logProbGrad: g)
        for i in 0..<d.count { #expect(abs(inPlace[flat: i] - d[flat: i]) < 1e-6) }
    }
}
