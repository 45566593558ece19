import TensorCore

/// A per-token normalisation layer (RMSNorm or LayerNorm) with learned gain (and bias).
/// Forward keeps per-row statistics for the backward of the same call site.
public protocol Normalization: AnyObject {
    var parameters: [Parameter] { get }
    var size: Int { get }
    /// x (N, C) → y (N, C).
    func forward(_ x: Tensor, into y: inout Tensor)
    /// dx += ∂L/∂x for the last forward (x is that forward's input); gains/biases accumulate.
    func backward(input x: Tensor, outputGrad dy: Tensor, inputGrad dx: inout Tensor)
}
