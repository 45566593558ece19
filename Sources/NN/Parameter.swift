import TensorCore

/// A trainable tensor with its gradient, under its checkpoint (Hugging Face) name.
///
/// Layers own their parameters; backward passes accumulate (`+=`) into `grad`, so zeroing all
/// gradients is one call per parameter. Optimizers keep their moments keyed by parameter order.
public final class Parameter: @unchecked Sendable {
    // @unchecked: a parameter is mutated only by the single training loop that owns the model;
    // kernels that run in parallel write disjoint slices inside one call.
    public let name: String
    public var value: Tensor
    public var grad: Tensor
    /// False for norms' gains and biases: AdamW applies no weight decay to them.
    public let decays: Bool

    public init(name: String, value: Tensor, decays: Bool) {
        self.name = name
        self.value = value
        self.grad = Tensor(shape: value.shape)
        self.decays = decays
    }

    public var shape: [Int] { value.shape }

    public func zeroGrad() { grad.zero() }
}
