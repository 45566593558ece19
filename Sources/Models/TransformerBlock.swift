import NN
import TensorCore

/// One pre-norm decoder layer: x + attn(norm1(x)), then + mlp(norm2(·)). Owns the activations
/// its backward needs (reused across steps of the same shape).
final class TransformerBlock {
    let norm1: any Normalization
    let attention: Attention
    let norm2: any Normalization
    let mlp: MLP

    var normed1 = Tensor(shape: [0])  // (N, C)
    var mid = Tensor(shape: [0])  // (N, C) residual after attention
    var normed2 = Tensor(shape: [0])  // (N, C)

    init(norm1: any Normalization, attention: Attention, norm2: any Normalization, mlp: MLP) {
        self.norm1 = norm1
        self.attention = attention
        self.norm2 = norm2
        self.mlp = mlp
    }

    var parameters: [Parameter] {
        norm1.parameters + attention.parameters + norm2.parameters + mlp.parameters
    }

    /// out (N, C) = block(x) for x (B·T, C).
    func forward(
        _ x: Tensor, batch: Int, length: Int, positions: [Int32], segments: [Int32]?, into out: inout Tensor
    ) {
        norm1.forward(x, into: &normed1)
        mid.assign(x)
        attention.forward(
            normed1, batch: batch, length: length, positions: positions, segments: segments,
            addingInto: &mid)
        norm2.forward(mid, into: &normed2)
        out.assign(mid)
        mlp.forward(normed2, addingInto: &out)
    }

    /// On entry `grad` is ∂L/∂out; on return ∂L/∂x. `scratch` is a reusable (N, C) buffer.
    func backward(input x: Tensor, grad: inout Tensor, scratch: inout Tensor) {
        mlp.backward(input: normed2, outputGrad: grad, inputGrad: &scratch)
        norm2.backward(input: mid, outputGrad: scratch, inputGrad: &grad)
        attention.backward(input: normed1, outputGrad: grad, inputGrad: &scratch)
        norm1.backward(input: x, outputGrad: scratch, inputGrad: &grad)
    }

    /// Exchanges this block's forward activations (its own and its layers') with `buffers`.
    func swapActivations(with buffers: inout BlockBuffers) {
        swap(&normed1, &buffers.normed1)
        swap(&mid, &buffers.mid)
        swap(&normed2, &buffers.normed2)
        attention.swapActivations(with: &buffers.attention)
        mlp.swapActivations(with: &buffers.mlp)
    }

    /// Exchanges the layers' backward scratch with `buffers`.
    func swapGradientScratch(with buffers: inout BlockBuffers) {
        attention.swapGradientScratch(with: &buffers.attention)
        mlp.swapGradientScratch(with: &buffers.mlp)
    }

    /// Bytes of activation and scratch buffers the block holds now (norm statistics aside: N floats).
    var bufferByteCount: Int {
        4 * (normed1.count + mid.count + normed2.count) + attention.bufferByteCount + mlp.bufferByteCount
    }

    /// Generation step: x (R, C) updated in place, one new token per row.
    func decode(
        _ x: inout Tensor, positions: [Int32], cacheRows: [Int], keys: inout Tensor, values: inout Tensor
    ) {
        norm1.forward(x, into: &normed1)
        attention.decode(
            normed1, positions: positions, cacheRows: cacheRows, keys: &keys, values: &values,
            addingInto: &x)
        norm2.forward(x, into: &normed2)
        mlp.forward(normed2, addingInto: &x)
    }
}

/// One block's buffers held outside it: blocks that run one at a time share one set.
struct BlockBuffers {
    var normed1 = Tensor(shape: [0])
    var mid = Tensor(shape: [0])
    var normed2 = Tensor(shape: [0])
    var attention = AttentionBuffers()
    var mlp = MLPBuffers()

    var byteCount: Int {
        4 * (normed1.count + mid.count + normed2.count) + attention.byteCount + mlp.byteCount
    }
}
