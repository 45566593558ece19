import TensorCore

/// RMSNorm over each attention head's D values (Qwen3's `q_norm` / `k_norm`), applied in place to
/// heads that sit as column slices of a wider buffer (the fused q|k|v rows). Parameter
/// `name.weight` of size D. Keeps its input for the backward of the same call.
public final class HeadNorm {
    public let norm: RMSNorm
    var input = Tensor(shape: [0])  // (N·heads, D), gathered before normalising
    var output = Tensor(shape: [0])  // (N·heads, D)
    var dInput = Tensor(shape: [0])
    var dOutput = Tensor(shape: [0])

    public init(name: String, headDimension: Int, epsilon: Float) {
        norm = RMSNorm(name: name, size: headDimension, epsilon: epsilon)
    }

    public var parameters: [Parameter] { norm.parameters }

    /// Normalises `heads` heads of each of `rows` rows in place (row stride `stride`).
    func forward(_ base: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int) {
        let width = heads * norm.size
        input.resize(to: [rows * heads, norm.size])
        Self.gather(base, rows: rows, stride: stride, width: width, into: &input)
        norm.forward(input, into: &output)
        Self.scatter(output, rows: rows, stride: stride, width: width, into: base)
    }

    /// Replaces ∂L/∂(normalised heads) in place by ∂L/∂(heads before the norm); the weight
    /// gradient accumulates.
    func backward(_ grad: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int) {
        let width = heads * norm.size
        precondition(
            input.count == rows * width, "HeadNorm.backward: \(rows) rows, forward had \(input.shape)")
        dOutput.resize(to: input.shape)
        Self.gather(grad, rows: rows, stride: stride, width: width, into: &dOutput)
        dInput.resize(to: input.shape)
        dInput.zero()  // the kernel accumulates into dx
        norm.backward(input: input, outputGrad: dOutput, inputGrad: &dInput)
        Self.scatter(dInput, rows: rows, stride: stride, width: width, into: grad)
    }

    private static func gather(
        _ base: UnsafeMutablePointer<Float>, rows: Int, stride: Int, width: Int,
        into out: inout Tensor
    ) {
        out.withUnsafeMutableBufferPointer { ob in
            for r in 0..<rows { (ob.baseAddress! + r * width).update(from: base + r * stride, count: width) }
        }
    }

    private static func scatter(
        _ t: Tensor, rows: Int, stride: Int, width: Int, into base: UnsafeMutablePointer<Float>
    ) {
        t.withUnsafeBufferPointer { tb in
            for r in 0..<rows { (base + r * stride).update(from: tb.baseAddress! + r * width, count: width) }
        }
    }
}
