import Foundation
import Testing
@testable import TensorCore

private func normals(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    return (0..<n).map { _ in rng.nextNormal() * scale }
}

private func quantize(
    _ w: [Float], outputs: Int, inputs: Int, inputMajor: Bool = false, _ f: QuantizedWeights.Format
)
    -> QuantizedWeights
{
    w.withUnsafeBufferPointer {
        QuantizedWeights($0.baseAddress!, outputs: outputs, inputs: inputs, inputMajor: inputMajor, format: f)
    }
}

/// y = x · Wᵀ over the dequantized weights, in Double (the exact answer the kernels round).
private func reference(_ q: QuantizedWeights, x: [Float], rows: Int) -> [Double] {
    let w = q.dequantized()
    var y = [Double](repeating: 0, count: rows * q.outputs)
    for i in 0..<rows {
        for r in 0..<q.outputs {
            var s = 0.0
            for k in 0..<q.inputs { s += Double(w[r * q.inputs + k]) * Double(x[i * q.inputs + k]) }
            y[i * q.outputs + r] = s
        }
    }
    return y
}

/// Σ|w||x| per output: float rounding of a sum of n products is bounded by ~n·ε times it.
private func magnitudes(_ q: QuantizedWeights, x: [Float], rows: Int) -> [Double] {
    let w = q.dequantized()
    return (0..<rows * q.outputs).map { j in
        let i = j / q.outputs, r = j % q.outputs
        return (0..<q.inputs).reduce(0.0) {
            $0 + abs(Double(w[r * q.inputs + $1]) * Double(x[i * q.inputs + $1]))
        }
    }
}

@Suite struct QuantizedMatVecTests {
    @Test func int8RoundTripIsWithinHalfAStepPerRow() {
        let outputs = 13, inputs = 37
        var w = normals(outputs * inputs, seed: 1)
        w[5 * inputs + 3] = 40  // an outlier sets its row's scale, not the others'
        let q = quantize(w, outputs: outputs, inputs: inputs, .int8)
        let d = q.dequantized()
        for r in 0..<outputs {
            let largest = (0..<inputs).map { abs(w[r * inputs + $0]) }.max()!
            #expect(abs(q.scales[r] - largest / 127) <= largest * 1e-6)
            for c in 0..<inputs {
                #expect(abs(d[r * inputs + c] - w[r * inputs + c]) <= q.scales[r] * 0.5001)
            }
        }
        // The largest weight of each row is represented exactly (±127 steps).
        #expect(d[5 * inputs + 3] == 40 || abs(d[5 * inputs + 3] - 40) <= 40 * 1e-6)
        #expect(q.scales[5] > 10 * q.scales[4])
        #expect(q.byteCount == outputs * inputs + 4 * outputs)
    }

    @Test func bf16RoundTripIsWithinHalfAnUlp() {
        let w = normals(11 * 29, seed: 2, scale: 3)
        let d = quantize(w, outputs: 11, inputs: 29, .bf16).dequantized()
        for (a, b) in zip(w, d) { #expect(abs(a - b) <= abs(a) * Float(1.0 / 256)) }
    }

    @Test func zeroAndNonFiniteRows() {
        var w = [Float](repeating: 0, count: 3 * 5)
        w[5] = .infinity
        w[10] = 1
        let q = quantize(w, outputs: 3, inputs: 5, .int8)
        #expect(q.scales[0] == 0)
        #expect(q.scales[1].isNaN)
        let y = q.dequantized()
        #expect(y[0..<5].allSatisfy { $0 == 0 })
        #expect(y[10] == 1)
        var out = [Float](repeating: 0, count: 3)
        let x = [Float](repeating: 1, count: 5)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { yp in
                q.multiply(
                    x: xp.baseAddress!, rows: 1, xStride: 5, y: yp.baseAddress!, yStride: 3, accumulate: false
                )
            }
        }
        #expect(out[0] == 0 && out[1].isNaN && out[2] == 1)
    }

    @Test func inputMajorSourceIsTransposed() {
        let outputs = 7, inputs = 19
        let w = normals(outputs * inputs, seed: 3)
        var t = [Float](repeating: 0, count: w.count)
        for r in 0..<outputs { for c in 0..<inputs { t[c * outputs + r] = w[r * inputs + c] } }
        for f in QuantizedWeights.Format.allCases {
            let a = quantize(w, outputs: outputs, inputs: inputs, f).dequantized()
            let b = quantize(t, outputs: outputs, inputs: inputs, inputMajor: true, f).dequantized()
            #expect(a == b)
        }
    }

    /// Every path the CPU has, both formats, odd sizes (tails of every block and vector width),
    /// 1–21 input rows (streamed in groups of 1–4, and the sgemm path above 16), overwrite and
    /// accumulate, strided x and y: equal to the dequantized product within float rounding.
    @Test(arguments: QuantizedKernelPath.allCases)
    func kernelsMatchTheDequantizedProduct(path: QuantizedKernelPath) {
        guard path.isSupported else {
            // swift-testing has no per-argument skip: say why this case checks nothing here.
            print("skipped: the \(path) kernels need instructions this CPU lacks")
            return
        }
        var seed: UInt64 = 10
        for (outputs, inputs) in [(1, 1), (3, 7), (9, 15), (17, 16), (23, 33), (40, 100), (13, 129)] {
            for format in QuantizedWeights.Format.allCases {
                for rows in [1, 2, 3, 4, 5, 9, 21] {
                    seed += 1
                    let q = quantize(
                        normals(outputs * inputs, seed: seed), outputs: outputs, inputs: inputs, format)
                    let xStride = inputs + 3, yStride = outputs + 2
                    var x = normals(rows * xStride, seed: seed + 1000)
                    var packed = [Float](repeating: 0, count: rows * inputs)
                    for i in 0..<rows { for k in 0..<inputs { packed[i * inputs + k] = x[i * xStride + k] } }
                    let exact = reference(q, x: packed, rows: rows)
                    let bound = magnitudes(q, x: packed, rows: rows)
                    for accumulate in [false, true] {
                        var y = [Float](repeating: 0.5, count: rows * yStride)
                        x.withUnsafeMutableBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { yp in
                                q.multiply(
                                    x: xp.baseAddress!, rows: rows, xStride: xStride, y: yp.baseAddress!,
                                    yStride: yStride, accumulate: accumulate, path: path)
                            }
                        }
                        for i in 0..<rows {
                            for r in 0..<outputs {
                                let want = exact[i * outputs + r] + (accumulate ? 0.5 : 0)
                                let tolerance = 1e-6 * Double(inputs + 2) * (bound[i * outputs + r] + 1)
                                #expect(
                                    abs(Double(y[i * yStride + r]) - want) <= tolerance,
                                    "\(path) \(format) \(outputs)×\(inputs) rows \(rows) acc \(accumulate)")
                            }
                            // Padding between rows is untouched.
                            #expect(y[i * yStride + outputs] == 0.5)
                        }
                    }
                }
            }
        }
    }
}
