import TensorCore

/// y = x · Wᵀ + b, with W stored as checkpoints store it.
///
/// `.outputMajor` is PyTorch `nn.Linear` ([out, in], Llama); `.inputMajor` is GPT-2's `Conv1D`
/// ([in, out]). Both go to the same sgemm with a transpose flag, so neither layout costs a copy.
public final class Linear {
    public enum WeightLayout: Sendable { case outputMajor, inputMajor }

    public let weight: Parameter
    public let bias: Parameter?
    public let inputSize: Int
    public let outputSize: Int
    public let layout: WeightLayout
    /// A low-rank adapter (LoRA.swift): when present the base weight and bias are frozen (no
    /// gradients) and the adapter's output is added to the layer's.
    public var lora: LoRAAdapter?
    /// A bf16 or int8 copy of the weight for decoding (Linear+DecodeWeights.swift), used by forward
    /// only while `usesDecodeWeights` is set; training always multiplies by the fp32 weight.
    public internal(set) var decodeWeights: QuantizedWeights?
    /// `weight.version` when `decodeWeights` was made (a later optimizer step makes it stale).
    var decodeWeightsVersion = -1
    public var usesDecodeWeights = false

    /// A new layer named `name` (parameters `name.weight`, `name.bias`), weights N(0, std²), bias 0
    /// (std 0: zeros without drawing, for weights about to be loaded).
    public init(
        name: String, inputSize: Int, outputSize: Int, bias: Bool, layout: WeightLayout = .outputMajor,
        std: Float, rng: inout RandomGenerator
    ) {
        let shape = layout == .outputMajor ? [outputSize, inputSize] : [inputSize, outputSize]
        self.weight = Parameter(
            name: name + ".weight",
            value: std == 0 ? Tensor(shape: shape) : .randomNormal(shape: shape, std: std, rng: &rng),
            decays: true)
        self.bias =
            bias ? Parameter(name: name + ".bias", value: Tensor(shape: [outputSize]), decays: false) : nil
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.layout = layout
    }

    /// A layer over an existing weight (tied input/output embeddings: [V, C] used as [out, in]).
    public init(sharing weight: Parameter, layout: WeightLayout = .outputMajor) {
        precondition(
            weight.shape.count == 2, "Linear: weight \(weight.name) must be rank 2, got \(weight.shape)")
        self.weight = weight
        self.bias = nil
        self.layout = layout
        self.outputSize = layout == .outputMajor ? weight.shape[0] : weight.shape[1]
        self.inputSize = layout == .outputMajor ? weight.shape[1] : weight.shape[0]
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    // MARK: raw-buffer form (used by the fused layers; y may be a column slice of a wider matrix)

    /// y (=|+=) x · Wᵀ + b.  x: (rows, in) contiguous; y: (rows, out) with row stride `yStride`.
    public func forward(
        x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
        accumulate: Bool = false
    ) {
        baseForward(x: x, rows: rows, y: y, yStride: yStride, accumulate: accumulate)
        if let lora, lora.enabled { lora.forward(x: x, rows: rows, y: y, yStride: yStride) }
    }

    private func baseForward(
        x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
        accumulate: Bool
    ) {
        if usesDecodeWeights, let q = decodeWeights {
            q.multiply(x: x, rows: rows, xStride: inputSize, y: y, yStride: yStride, accumulate: accumulate)
        } else if weight.holdsBF16Only {
            BLAS.gemm(
                transposeB: layout == .outputMajor, m: rows, n: outputSize, k: inputSize, a: x,
                lda: inputSize,
                bBF16Only: weight.bf16Value, ldb: layout == .outputMajor ? inputSize : outputSize,
                beta: accumulate ? 1 : 0, c: y, ldc: yStride)
        } else {
            fp32Forward(x: x, rows: rows, y: y, yStride: yStride, accumulate: accumulate)
        }
        bias?.value.withUnsafeBufferPointer { b in
            Kernels.addBias(y, rows: rows, n: outputSize, stride: yStride, bias: b.baseAddress!)
        }
    }

    private func fp32Forward(
        x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
        accumulate: Bool
    ) {
        weight.value.withUnsafeBufferPointer { w in
            if rows == 1 {
                // One token (generation): a matrix–vector product streams the weight once;
                // sgemm with M = 1 would repack the whole weight on every call.
                BLAS.gemv(
                    transpose: layout == .inputMajor, m: layout == .outputMajor ? outputSize : inputSize,
                    n: layout == .outputMajor ? inputSize : outputSize, a: w.baseAddress!,
                    lda: layout == .outputMajor ? inputSize : outputSize, x: x, beta: accumulate ? 1 : 0, y: y
                )
                return
            }
            let w16 = roundedWeight(m: rows, n: outputSize, k: inputSize)
            switch layout {
            case .outputMajor:
                BLAS.gemm(
                    transposeB: true, m: rows, n: outputSize, k: inputSize, a: x, lda: inputSize,
                    b: w.baseAddress!, ldb: inputSize, beta: accumulate ? 1 : 0, c: y, ldc: yStride,
                    mixed: true, bBF16: w16)
            case .inputMajor:
                BLAS.gemm(
                    m: rows, n: outputSize, k: inputSize, a: x, lda: inputSize,
                    b: w.baseAddress!, ldb: outputSize, beta: accumulate ? 1 : 0, c: y, ldc: yStride,
                    mixed: true, bBF16: w16)
            }
        }
    }

    /// Accumulates ∂L/∂W (and ∂L/∂b) from dy; writes (or adds, `accumulateInput`) ∂L/∂x into dx.
    public func backward(
        x: UnsafePointer<Float>, rows: Int, dy: UnsafePointer<Float>, dyStride: Int,
        dx: UnsafeMutablePointer<Float>?, accumulateInput: Bool = false
    ) {
        precondition(
            !weight.holdsBF16Only, "Linear(\(weight.name)): a bf16-only frozen weight has no backward")
        if let dx {
            let w16 = roundedWeight(m: rows, n: inputSize, k: outputSize)
            weight.value.withUnsafeBufferPointer { w in
                switch layout {
                case .outputMajor:  // dx = dy · W
                    BLAS.gemm(
                        m: rows, n: inputSize, k: outputSize, a: dy, lda: dyStride, b: w.baseAddress!,
                        ldb: inputSize, beta: accumulateInput ? 1 : 0, c: dx, ldc: inputSize,
                        mixed: true, bBF16: w16)
                case .inputMajor:  // dx = dy · Wᵀ
                    BLAS.gemm(
                        transposeB: true, m: rows, n: inputSize, k: outputSize, a: dy, lda: dyStride,
                        b: w.baseAddress!, ldb: outputSize, beta: accumulateInput ? 1 : 0, c: dx,
                        ldc: inputSize,
                        mixed: true, bBF16: w16)
                }
            }
        }
        if let lora {
            // Frozen base: only the adapter learns (and no gradient buffer of W's size exists).
            if lora.enabled { lora.backward(x: x, rows: rows, dy: dy, dyStride: dyStride, dx: dx) }
            return
        }
        if let bias, bias.requiresGradient {
            bias.grad.withUnsafeMutableBufferPointer { g in
                Kernels.biasGradient(dy, rows: rows, n: outputSize, stride: dyStride, dBias: g.baseAddress!)
            }
        }
        // A frozen weight (a LoRA run's head or embedding) passes the input gradient only: no
        // weight-gradient GEMM, no buffer of W's size.
        guard weight.requiresGradient else { return }
        weight.grad.withUnsafeMutableBufferPointer { g in
            switch layout {
            case .outputMajor:  // dW[out,in] += dyᵀ · x
                BLAS.gemm(
                    transposeA: true, m: outputSize, n: inputSize, k: rows, a: dy, lda: dyStride,
                    b: x, ldb: inputSize, beta: 1, c: g.baseAddress!, ldc: inputSize, mixed: true)
            case .inputMajor:  // dW[in,out] += xᵀ · dy
                BLAS.gemm(
                    transposeA: true, m: inputSize, n: outputSize, k: rows, a: x, lda: inputSize,
                    b: dy, ldb: dyStride, beta: 1, c: g.baseAddress!, ldc: outputSize, mixed: true)
            }
        }
    }

    /// The bf16 copy of the weight when a product of this size runs in bf16, else nil (no copy made).
    private func roundedWeight(m: Int, n: Int, k: Int) -> UnsafePointer<UInt16>? {
        BLAS.usesBF16(m: m, n: n, k: k) ? weight.bf16Value : nil
    }

    // MARK: tensor form

    /// x (N, in) → y (N, out).
    public func forward(_ x: Tensor, into y: inout Tensor, accumulate: Bool = false) {
        precondition(
            x.shape.last == inputSize, "Linear(\(weight.name)): input \(x.shape), expected (N, \(inputSize))")
        let rows = x.count / inputSize
        if accumulate {
            precondition(y.count == rows * outputSize, "Linear: accumulating into \(y.shape)")
        } else {
            y.resize(to: [rows, outputSize])
        }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                forward(
                    x: xp.baseAddress!, rows: rows, y: yp.baseAddress!, yStride: outputSize,
                    accumulate: accumulate)
            }
        }
    }

    public func forward(_ x: Tensor) -> Tensor {
        var y = Tensor(shape: [0])
        forward(x, into: &y)
        return y
    }

    /// dy (N, out) → dx (N, in) (overwritten, or added to with `accumulateInput`); grads accumulate.
    public func backward(
        input x: Tensor, outputGrad dy: Tensor, inputGrad dx: inout Tensor, accumulateInput: Bool = false
    ) {
        let rows = x.count / inputSize
        precondition(
            dy.count == rows * outputSize, "Linear(\(weight.name)): grad \(dy.shape) for input \(x.shape)")
        if !accumulateInput { dx.resize(to: [rows, inputSize]) }
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    backward(
                        x: xp.baseAddress!, rows: rows, dy: dp.baseAddress!, dyStride: outputSize,
                        dx: dxp.baseAddress!, accumulateInput: accumulateInput)
                }
            }
        }
    }
}
