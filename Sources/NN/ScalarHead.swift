import TensorCore

/// A linear map from the hidden state to one number per token (reward model score, PPO value).
/// Parameter `name.weight` with shape [1, C] (HF sequence-classification `score.weight`).
public final class ScalarHead {
    public let weight: Parameter
    public let hiddenSize: Int
    var input = Tensor(shape: [0])  // (N, C) of the last forward

    /// `name` is the module prefix, e.g. `score`; weights N(0, 0.02²) from `seed`.
    public init(name: String, hiddenSize: Int, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        weight = Parameter(
            name: name + ".weight", value: .randomNormal(shape: [1, hiddenSize], std: 0.02, rng: &rng),
            decays: true)
        self.hiddenSize = hiddenSize
    }

    public var parameters: [Parameter] { [weight] }

    /// x (N, C) → one score per row.
    public func forward(_ x: Tensor) -> [Float] {
        precondition(x.shape.last == hiddenSize, "ScalarHead: input \(x.shape), expected (N, \(hiddenSize))")
        input.assign(x)
        let rows = x.count / hiddenSize
        var out = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xb in
            weight.value.withUnsafeBufferPointer { wb in
                out.withUnsafeMutableBufferPointer { ob in
                    BLAS.gemv(
                        m: rows, n: hiddenSize, a: xb.baseAddress!, lda: hiddenSize, x: wb.baseAddress!,
                        y: ob.baseAddress!)
                }
            }
        }
        return out
    }

    /// ∂L/∂x (N, C) given ∂L/∂score per row; accumulates ∂L/∂w.
    public func backward(outputGrad: [Float]) -> Tensor {
        let rows = input.count / hiddenSize, c = hiddenSize
        precondition(
            outputGrad.count == rows, "ScalarHead.backward: \(outputGrad.count) grads for \(rows) rows")
        var dx = Tensor(shape: [rows, c])
        input.withUnsafeBufferPointer { xb in
            weight.value.withUnsafeBufferPointer { wb in
                dx.withUnsafeMutableBufferPointer { db in
                    for r in 0..<rows {
                        let g = outputGrad[r]
                        for i in 0..<c { db[r * c + i] = g * wb[i] }
                    }
                }
            }
            outputGrad.withUnsafeBufferPointer { gb in
                weight.grad.withUnsafeMutableBufferPointer { wg in
                    // dw += gᵀ · x
                    BLAS.gemv(
                        transpose: true, m: rows, n: c, a: xb.baseAddress!, lda: c, x: gb.baseAddress!,
                        beta: 1, y: wg.baseAddress!)
                }
            }
        }
        return dx
    }
}
