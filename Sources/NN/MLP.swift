import TensorCore

/// The feed-forward block. `.swiglu` (Llama): down(silu(gate(x)) · up(x)), [out, in], biases only
/// with Llama's `mlp_bias`.
/// `.gelu` (GPT-2): c_proj(gelu_tanh(c_fc(x))), biases, Conv1D [in, out] layout.
public final class MLP {
    public enum Kind: Sendable { case swiglu, gelu }

    public let kind: Kind
    public let hiddenSize: Int
    public let intermediateSize: Int
    let gate: Linear?, up: Linear?, down: Linear?
    let fc: Linear?, proj: Linear?

    var pre = Tensor(shape: [0])  // (N, 2I) gate|up, or (N, I) before GELU
    var act = Tensor(shape: [0])  // (N, I)
    var dAct = Tensor(shape: [0])
    var dPre = Tensor(shape: [0])

    /// `name` is the module prefix (`model.layers.0.mlp` / `transformer.h.0.mlp`).
    public init(
        name: String, kind: Kind, hiddenSize: Int, intermediateSize: Int, bias: Bool = false, std: Float,
        outputStd: Float, rng: inout RandomGenerator
    ) {
        self.kind = kind
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        switch kind {
        case .swiglu:
            gate = Linear(
                name: name + ".gate_proj", inputSize: hiddenSize, outputSize: intermediateSize, bias: bias,
                std: std, rng: &rng)
            up = Linear(
                name: name + ".up_proj", inputSize: hiddenSize, outputSize: intermediateSize, bias: bias,
                std: std, rng: &rng)
            down = Linear(
                name: name + ".down_proj", inputSize: intermediateSize, outputSize: hiddenSize, bias: bias,
                std: outputStd, rng: &rng)
            fc = nil; proj = nil
        case .gelu:
            fc = Linear(
                name: name + ".c_fc", inputSize: hiddenSize, outputSize: intermediateSize, bias: true,
                layout: .inputMajor, std: std, rng: &rng)
            proj = Linear(
                name: name + ".c_proj", inputSize: intermediateSize, outputSize: hiddenSize, bias: true,
                layout: .inputMajor, std: outputStd, rng: &rng)
            gate = nil; up = nil; down = nil
        }
    }

    public var parameters: [Parameter] {
        switch kind {
        case .swiglu: gate!.parameters + up!.parameters + down!.parameters
        case .gelu: fc!.parameters + proj!.parameters
        }
    }

    /// residual (N, C) += mlp(x), x (N, C).
    public func forward(_ x: Tensor, addingInto residual: inout Tensor) {
        let rows = x.count / hiddenSize, i = intermediateSize
        precondition(
            x.shape.last == hiddenSize && residual.count == x.count,
            "MLP.forward: x \(x.shape), residual \(residual.shape)")
        act.resize(to: [rows, i])
        switch kind {
        case .swiglu:
            pre.resize(to: [rows, 2 * i])
            x.withUnsafeBufferPointer { xb in
                pre.withUnsafeMutableBufferPointer { pb in
                    gate!.forward(x: xb.baseAddress!, rows: rows, y: pb.baseAddress!, yStride: 2 * i)
                    up!.forward(x: xb.baseAddress!, rows: rows, y: pb.baseAddress! + i, yStride: 2 * i)
                    act.withUnsafeMutableBufferPointer { ab in
                        Kernels.swigluForward(gateUp: pb.baseAddress!, ab.baseAddress!, rows: rows, width: i)
                    }
                }
            }
            down!.forward(act, into: &residual, accumulate: true)
        case .gelu:
            fc!.forward(x, into: &pre)
            pre.withUnsafeBufferPointer { pb in
                act.withUnsafeMutableBufferPointer { ab in
                    Kernels.geluForward(pb.baseAddress!, ab.baseAddress!, count: rows * i)
                }
            }
            proj!.forward(act, into: &residual, accumulate: true)
        }
    }

    /// dx = ∂L/∂x (overwritten) given dy = ∂L/∂(mlp output), for the last forward's input x.
    public func backward(input x: Tensor, outputGrad dy: Tensor, inputGrad dx: inout Tensor) {
        let rows = x.count / hiddenSize, i = intermediateSize
        precondition(dy.count == x.count && act.count == rows * i, "MLP.backward: shapes")
        dx.resize(to: [rows, hiddenSize])
        switch kind {
        case .swiglu:
            down!.backward(input: act, outputGrad: dy, inputGrad: &dAct)
            dPre.resize(to: [rows, 2 * i])
            pre.withUnsafeBufferPointer { pb in
                dAct.withUnsafeBufferPointer { db in
                    dPre.withUnsafeMutableBufferPointer { dpb in
                        Kernels.swigluBackward(
                            gateUp: pb.baseAddress!, dh: db.baseAddress!, dGateUp: dpb.baseAddress!,
                            rows: rows, width: i)
                    }
                }
            }
            x.withUnsafeBufferPointer { xb in
                dPre.withUnsafeBufferPointer { dpb in
                    dx.withUnsafeMutableBufferPointer { dxb in
                        gate!.backward(
                            x: xb.baseAddress!, rows: rows, dy: dpb.baseAddress!, dyStride: 2 * i,
                            dx: dxb.baseAddress!)
                        up!.backward(
                            x: xb.baseAddress!, rows: rows, dy: dpb.baseAddress! + i, dyStride: 2 * i,
                            dx: dxb.baseAddress!, accumulateInput: true)
                    }
                }
            }
        case .gelu:
            proj!.backward(input: act, outputGrad: dy, inputGrad: &dAct)
            dPre.resize(to: [rows, i])
            pre.withUnsafeBufferPointer { pb in
                dAct.withUnsafeBufferPointer { db in
                    dPre.withUnsafeMutableBufferPointer { dpb in
                        Kernels.geluBackward(
                            pb.baseAddress!, db.baseAddress!, dpb.baseAddress!, count: rows * i,
                            accumulate: false)
                    }
                }
            }
            fc!.backward(input: x, outputGrad: dPre, inputGrad: &dx)
        }
    }
}
