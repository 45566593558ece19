import Foundation
import NN
import Testing
@testable import TensorCore

/// Why bf16 cannot run on this machine, or nil.
private let bf16Unavailable: String? = {
    if case .failure(let reason) = BF16Matmul.probe() { return reason.description }
    return nil
}()

/// ‖a − b‖ / ‖b‖.
private func relativeDifference(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.count == b.count)
    var d = 0.0, n = 0.0
    for i in 0..<a.count {
        d += pow(Double(a[flat: i]) - Double(b[flat: i]), 2)
        n += pow(Double(b[flat: i]), 2)
    }
    return (d / max(n, 1e-30)).squareRoot()
}

/// The layers in bf16 (rounded inputs, fp32 accumulation) against fp32: outputs, input gradients
/// and weight gradients agree to bf16's precision (8 mantissa bits: ~0.4% per input; sums of
/// many products average the rounding down), and they are not bit-identical (bf16 really ran).
@Suite(.enabled(if: bf16Unavailable == nil, "oneDNN bf16 matmul unavailable"))
struct MixedPrecisionLayerTests {
    /// Runs `body` (forward + backward of fresh gradients) in each precision; returns both results.
    private func both(_ params: [Parameter], _ body: () -> [Tensor]) -> (fp32: [Tensor], bf16: [Tensor]) {
        func run(_ p: Precision) -> [Tensor] {
            MatmulPrecision.$override.withValue(p) {
                for q in params { q.zeroGrad() }
                return body() + params.map(\.grad)
            }
        }
        return (run(.fp32), run(.bf16))
    }

    private func expectClose(
        _ r: (fp32: [Tensor], bf16: [Tensor]), tolerance: Double = 1.5e-2,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var differs = false
        for (i, (a, b)) in zip(r.bf16, r.fp32).enumerated() {
            let d = relativeDifference(a, b)
            #expect(d < tolerance, "result \(i): relative difference \(d)", sourceLocation: sourceLocation)
            differs = differs || d > 1e-5
        }
        #expect(
            differs, "bf16 and fp32 gave identical results: the bf16 path did not run",
            sourceLocation: sourceLocation)
    }

    @Test(arguments: [Linear.WeightLayout.outputMajor, .inputMajor])
    func linearAgrees(layout: Linear.WeightLayout) {
        var rng = RandomGenerator(seed: 41)
        let layer = Linear(
            name: "l", inputSize: 96, outputSize: 80, bias: true, layout: layout, std: 0.3, rng: &rng)
        let x = randomTensor([64, 96], seed: 42), dy = randomTensor([64, 80], seed: 43)
        let r = both(layer.parameters) {
            let y = layer.forward(x)
            var dx = Tensor(shape: [0])
            layer.backward(input: x, outputGrad: dy, inputGrad: &dx)
            return [y, dx]
        }
        expectClose(r)
    }

    @Test(arguments: [MLP.Kind.swiglu, .gelu])
    func mlpAgrees(kind: MLP.Kind) {
        var rng = RandomGenerator(seed: 51)
        let layer = MLP(
            name: "m", kind: kind, hiddenSize: 64, intermediateSize: 128, std: 0.2, outputStd: 0.2, rng: &rng)
        let x = randomTensor([72, 64], seed: 52), dy = randomTensor([72, 64], seed: 53)
        let r = both(layer.parameters) {
            var y = Tensor(shape: [72, 64])
            layer.forward(x, addingInto: &y)
            var dx = Tensor(shape: [0])
            layer.backward(input: x, outputGrad: dy, inputGrad: &dx)
            return [y, dx]
        }
        expectClose(r)
    }

    @Test func groupedQueryAttentionAgrees() {
        var rng = RandomGenerator(seed: 61)
        let b = 2, t = 40, c = 64
        let table = RotaryTable(headDimension: 16, maxPosition: 64, theta: 10_000)
        let layer = Attention(
            name: "a", style: .llama(rotary: table), hiddenSize: c, heads: 4, kvHeads: 2, std: 0.2,
            outputStd: 0.2, rng: &rng)
        let x = randomTensor([b * t, c], seed: 62), dy = randomTensor([b * t, c], seed: 63)
        let positions: [Int32] = (0..<(b * t)).map { Int32($0 % t) }
        let r = both(layer.parameters) {
            var y = Tensor(shape: [b * t, c])
            layer.forward(x, batch: b, length: t, positions: positions, segments: nil, addingInto: &y)
            var dx = Tensor(shape: [0])
            layer.backward(input: x, outputGrad: dy, inputGrad: &dx)
            return [y, dx]
        }
        expectClose(r)
    }

    /// A short training run: a residual MLP stack learning a fixed random teacher, 40 SGD steps
    /// from the same start in each precision. bf16 must learn (loss falls by half) and end within
    /// 3% of fp32's loss. The weights change every step, so a stale bf16 weight copy would show.
    @Test func shortTrainingRunTracksFP32() {
        let rows = 96, width = 64
        let x = randomTensor([rows, width], seed: 71)
        var teacherRng = RandomGenerator(seed: 72)
        let teacher = MLP(
            name: "t", kind: .gelu, hiddenSize: width, intermediateSize: 128, std: 0.2, outputStd: 0.2,
            rng: &teacherRng)
        var target = x
        teacher.forward(x, addingInto: &target)

        func train(_ precision: Precision, lr: Float = 0.01) -> (first: Double, last: Double) {
            var rng = RandomGenerator(seed: 73)
            let blocks = (0..<2).map {
                MLP(
                    name: "b\($0)", kind: .swiglu, hiddenSize: width, intermediateSize: 128, std: 0.1,
                    outputStd: 0.1,
                    rng: &rng)
            }
            let params = blocks.flatMap(\.parameters)
            var losses: [Double] = []
            MatmulPrecision.$override.withValue(precision) {
                for _ in 0..<40 {
                    for p in params { p.zeroGrad() }
                    var hidden = [x]
                    for block in blocks {
                        var h = hidden.last!
                        block.forward(hidden.last!, addingInto: &h)
                        hidden.append(h)
                    }
                    // Loss ½·mean((y − target)²) over rows; its gradient flows back through the residuals.
                    var dy = Tensor(shape: [rows, width])
                    var loss = 0.0
                    for i in 0..<dy.count {
                        let e = hidden.last![flat: i] - target[flat: i]
                        loss += 0.5 * Double(e * e) / Double(rows)
                        dy[flat: i] = e / Float(rows)
                    }
                    losses.append(loss)
                    for (block, input) in zip(blocks, hidden).reversed() {
                        var dx = Tensor(shape: [0])
                        block.backward(input: input, outputGrad: dy, inputGrad: &dx)
                        dx.withUnsafeMutableBufferPointer { d in
                            dy.withUnsafeBufferPointer { g in for i in 0..<d.count { d[i] += g[i] } }
                        }
                        dy = dx
                    }
                    for p in params {
                        let g = p.grad
                        p.value.withUnsafeMutableBufferPointer { v in
                            g.withUnsafeBufferPointer { gb in for i in 0..<v.count { v[i] -= lr * gb[i] } }
                        }
                    }
                }
            }
            return (losses.first!, losses.last!)
        }
        let fp32 = train(.fp32), bf16 = train(.bf16)
        #expect(fp32.last < 0.5 * fp32.first)
        #expect(bf16.last < 0.5 * bf16.first)
        #expect(abs(bf16.last - fp32.last) <= 0.03 * fp32.last, "bf16 \(bf16.last) vs fp32 \(fp32.last)")
    }
}
