import TensorCore

/// A trainable tensor with its gradient, under its checkpoint (Hugging Face) name.
///
/// Layers own their parameters; backward passes accumulate (`+=`) into `grad`, so zeroing all
/// gradients is one call per parameter. Optimizers keep their moments keyed by parameter order.
public final class Parameter: @unchecked Sendable {
    // @unchecked: a parameter is mutated only by the single training loop that owns the model;
    // kernels that run in parallel write disjoint slices inside one call.
    public let name: String
    /// Every write (assignment or in-place mutation through this property) bumps `version`,
    /// which keys the bf16 copy used by mixed-precision products.
    public var value: Tensor { didSet { version &+= 1 } }
    public private(set) var version = 0
    private let roundedCopy = BF16Copy()
    /// False for norms' gains and biases: AdamW applies no weight decay to them.
    public let decays: Bool
    /// False for a frozen parameter (a LoRA run's base weights), as PyTorch's `requires_grad`:
    /// layers still pass gradients through to their input, but neither compute nor allocate
    /// this parameter's gradient (for a Linear, the weight-gradient GEMM is skipped).
    public var requiresGradient = true
    /// Allocated on the first write: a model that is only evaluated (a reference or reward
    /// model, a served model) never holds a second copy of its weights' size.
    private var storedGrad: Tensor?
    /// The gradient's shape, kept apart from `value` so reading `grad` never accesses `value`
    /// (an optimizer passes `&value` and `grad` to one call: exclusivity).
    private let gradShape: [Int]

    public init(name: String, value: Tensor, decays: Bool) {
        self.name = name
        self.value = value
        self.decays = decays
        gradShape = value.shape
    }

    /// ∂L/∂value, zero until a backward pass accumulates into it.
    public var grad: Tensor {
        get { storedGrad ?? Tensor(shape: gradShape) }
        set { storedGrad = newValue }
        _modify {
            if storedGrad == nil { storedGrad = Tensor(shape: gradShape) }
            yield &storedGrad!
        }
    }

    /// Whether a gradient has been allocated (a backward or an explicit write happened).
    public var hasGradient: Bool { storedGrad != nil }

    public var shape: [Int] { bf16Only == nil ? value.shape : gradShape }

    /// `value` rounded to bf16 (raw bits, same layout), remade after each change of `value`; the
    /// pointer is valid until the next call. For a parameter held in bf16 only, its bits.
    public var bf16Value: UnsafePointer<UInt16> {
        if let bf16Only { return UnsafePointer(bf16Only.baseAddress!) }
        return roundedCopy.of(value, version: version)
    }

    /// The weights of a frozen model that only runs forward (a reference or reward model), held
    /// as bf16 only: half the memory, `value` empty. Layers that meet such a parameter use
    /// `bf16Value` (`Linear`, `Embedding`); it never trains again.
    private var bf16Only: UnsafeMutableBufferPointer<UInt16>?

    /// Whether `holdInBF16Only` has dropped the fp32 values.
    public var holdsBF16Only: Bool { bf16Only != nil }

    /// Rounds the value to bf16 (nearest even), keeps only those bits and frees the fp32 value.
    public func holdInBF16Only() {
        guard bf16Only == nil else { return }
        let bits = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: max(1, value.count))
        value.withUnsafeBufferPointer { v in
            for i in v.indices { bits[i] = BF16Matmul.bf16(v[i]) }
        }
        bf16Only = bits
        requiresGradient = false
        storedGrad = nil
        value = Tensor(shape: [0])
    }

    deinit { bf16Only?.deallocate() }

    public func zeroGrad() { storedGrad?.zero() }

    /// `body` on the gradient to accumulate into, or, for a frozen parameter, on a zero buffer
    /// that is then dropped: for small parameters (norm gains) whose kernels compute their
    /// gradient together with the input's.
    public func withGradientBuffer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if requiresGradient { return try grad.withUnsafeMutableBufferPointer { try body($0) } }
        var discarded = [Float](repeating: 0, count: gradShape.reduce(1, *))
        return try discarded.withUnsafeMutableBufferPointer { try body($0) }
    }
}
