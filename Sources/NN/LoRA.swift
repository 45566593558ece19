import TensorCore

/// A low-rank adapter on a `Linear` (LoRA, as PEFT defines it): y = W x + b + (α/r)·B(A(dropout(x))).
///
/// A is (r, in), drawn as PEFT's `kaiming_uniform_(a: √5)`, i.e. U(±1/√in); B is (out, r), zero, so a
/// fresh adapter leaves the layer's output unchanged. Parameters are named as PEFT saves them minus its
/// `base_model.model.` prefix: `<module>.lora_A.weight`, `<module>.lora_B.weight`. A and B have the
/// same shapes for GPT-2's Conv1D (PEFT's `fan_in_fan_out` only transposes the merged delta).
///
/// Forward and backward recompute the rank-r intermediate (rows × r) instead of keeping it, so a
/// forward that is never followed by a backward (reference passes, generation) keeps no state.
public final class LoRAAdapter {
    public let a: Parameter  // (r, in)
    public let b: Parameter  // (out, r)
    public let rank: Int
    public let alpha: Float
    public let dropout: Float
    /// False: the layer computes its base output only (the frozen reference of DPO/KTO/PPO/GRPO).
    public var enabled = true
    /// Dropout applies only while training (as `nn.Dropout` in `train()` mode).
    public var training = false
    public var scale: Float { alpha / Float(rank) }

    /// The dropout masks' random stream (a checkpoint saves it so a resumed run draws the masks
    /// an uninterrupted one would).
    public var dropoutGenerator: RandomGenerator
    /// Tests turn this off to probe one fixed mask with finite differences.
    var redrawsMask = true
    /// True while activation recomputation re-runs the forward of this adapter's block before
    /// its backward: the forward reuses the mask the original forward drew, so the gradient is
    /// that of the loss that was computed.
    public var replaysMask = false
    /// The last training forward's dropout multipliers (0 or 1/(1-p)) per input scalar; backward
    /// uses the mask of the forward that precedes it.
    private var mask: [Float] = []
    private var hidden: [Float] = []
    private var scratch: [Float] = []

    public init(
        module: String, inputSize: Int, outputSize: Int, rank: Int, alpha: Float, dropout: Float = 0,
        rng: inout RandomGenerator
    ) {
        precondition(rank > 0 && (0..<1).contains(dropout), "LoRA: rank \(rank), dropout \(dropout)")
        let bound = 1 / Float(inputSize).squareRoot()
        var values = [Float](repeating: 0, count: rank * inputSize)
        for i in values.indices { values[i] = (2 * rng.nextUniform() - 1) * bound }
        a = Parameter(
            name: module + ".lora_A.weight", value: Tensor(shape: [rank, inputSize], scalars: values),
            decays: true)
        b = Parameter(
            name: module + ".lora_B.weight", value: Tensor(shape: [outputSize, rank]), decays: true)
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.dropoutGenerator = rng.split(stream: UInt64(truncatingIfNeeded: module.hashValueStable))
    }

    public var parameters: [Parameter] { [a, b] }
    var inputSize: Int { a.shape[1] }
    var outputSize: Int { b.shape[0] }

    /// The input after dropout: `x` itself when there is no dropout, otherwise x ⊙ mask in `scratch`.
    private func dropped(
        _ x: UnsafePointer<Float>, rows: Int, drawing: Bool,
        _ body: (UnsafePointer<Float>) -> Void
    ) {
        guard dropout > 0, training else { return body(x) }
        let n = rows * inputSize
        if (drawing && redrawsMask && !replaysMask) || mask.count != n {
            mask = [Float](repeating: 0, count: n)
            let keep = 1 / (1 - dropout)
            for i in 0..<n where dropoutGenerator.nextUniform() >= dropout { mask[i] = keep }
        }
        var xd = [Float](repeating: 0, count: n)
        for i in 0..<n { xd[i] = x[i] * mask[i] }
        xd.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// hidden (rows, r) = xd · Aᵀ.
    private func project(_ xd: UnsafePointer<Float>, rows: Int) {
        if hidden.count < rows * rank { hidden = [Float](repeating: 0, count: rows * rank) }
        a.value.withUnsafeBufferPointer { ap in
            hidden.withUnsafeMutableBufferPointer { hp in
                BLAS.gemm(
                    transposeB: true, m: rows, n: rank, k: inputSize, a: xd, lda: inputSize,
                    b: ap.baseAddress!, ldb: inputSize, c: hp.baseAddress!, ldc: rank)
            }
        }
    }

    /// y += scale · B · A · dropout(x).
    public func forward(x: UnsafePointer<Float>, rows: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
        dropped(x, rows: rows, drawing: true) { project($0, rows: rows) }
        b.value.withUnsafeBufferPointer { bp in
            hidden.withUnsafeBufferPointer { hp in
                BLAS.gemm(
                    transposeB: true, m: rows, n: outputSize, k: rank, alpha: scale, a: hp.baseAddress!,
                    lda: rank, b: bp.baseAddress!, ldb: rank, beta: 1, c: y, ldc: yStride)
            }
        }
    }

    /// Accumulates ∂L/∂A and ∂L/∂B; adds the adapter's share of ∂L/∂x into `dx` (which already holds
    /// the base layer's).
    public func backward(
        x: UnsafePointer<Float>, rows: Int, dy: UnsafePointer<Float>, dyStride: Int,
        dx: UnsafeMutablePointer<Float>?
    ) {
        let s = scale
        var t = [Float](repeating: 0, count: rows * rank)  // dy · B (rows, r)
        b.value.withUnsafeBufferPointer { bp in
            t.withUnsafeMutableBufferPointer { tp in
                BLAS.gemm(
                    m: rows, n: rank, k: outputSize, a: dy, lda: dyStride, b: bp.baseAddress!, ldb: rank,
                    c: tp.baseAddress!, ldc: rank)
            }
        }
        dropped(x, rows: rows, drawing: false) { xd in
            project(xd, rows: rows)
            hidden.withUnsafeBufferPointer { hp in
                b.grad.withUnsafeMutableBufferPointer { g in  // dB += s · dyᵀ · hidden
                    BLAS.gemm(
                        transposeA: true, m: outputSize, n: rank, k: rows, alpha: s, a: dy, lda: dyStride,
                        b: hp.baseAddress!, ldb: rank, beta: 1, c: g.baseAddress!, ldc: rank)
                }
            }
            t.withUnsafeBufferPointer { tp in
                a.grad.withUnsafeMutableBufferPointer { g in  // dA += s · tᵀ · xd
                    BLAS.gemm(
                        transposeA: true, m: rank, n: inputSize, k: rows, alpha: s, a: tp.baseAddress!,
                        lda: rank, b: xd, ldb: inputSize, beta: 1, c: g.baseAddress!, ldc: inputSize)
                }
            }
        }
        guard let dx else { return }
        let masked = dropout > 0 && training
        let n = rows * inputSize
        if masked && scratch.count < n { scratch = [Float](repeating: 0, count: n) }
        a.value.withUnsafeBufferPointer { ap in
            t.withUnsafeBufferPointer { tp in
                if !masked {  // dx += s · t · A
                    BLAS.gemm(
                        m: rows, n: inputSize, k: rank, alpha: s, a: tp.baseAddress!, lda: rank,
                        b: ap.baseAddress!, ldb: inputSize, beta: 1, c: dx, ldc: inputSize)
                    return
                }
                scratch.withUnsafeMutableBufferPointer { sp in
                    BLAS.gemm(
                        m: rows, n: inputSize, k: rank, alpha: s, a: tp.baseAddress!, lda: rank,
                        b: ap.baseAddress!, ldb: inputSize, c: sp.baseAddress!, ldc: inputSize)
                    for i in 0..<n { dx[i] += sp[i] * mask[i] }
                }
            }
        }
    }

    /// scale · B · A in the base weight's layout ([out, in], or [in, out] for `.inputMajor`).
    public func delta(layout: Linear.WeightLayout) -> Tensor {
        var d = Tensor(shape: layout == .outputMajor ? [outputSize, inputSize] : [inputSize, outputSize])
        a.value.withUnsafeBufferPointer { ap in
            b.value.withUnsafeBufferPointer { bp in
                d.withUnsafeMutableBufferPointer { dp in
                    switch layout {
                    case .outputMajor:  // B (out, r) · A (r, in)
                        BLAS.gemm(
                            m: outputSize, n: inputSize, k: rank, alpha: scale, a: bp.baseAddress!, lda: rank,
                            b: ap.baseAddress!, ldb: inputSize, c: dp.baseAddress!, ldc: inputSize)
                    case .inputMajor:  // Aᵀ (in, r) · Bᵀ (r, out)
                        BLAS.gemm(
                            transposeA: true, transposeB: true, m: inputSize, n: outputSize, k: rank,
                            alpha: scale, a: ap.baseAddress!, lda: inputSize, b: bp.baseAddress!, ldb: rank,
                            c: dp.baseAddress!, ldc: outputSize)
                    }
                }
            }
        }
        return d
    }
}

extension Linear {
    /// The module name (`model.layers.0.self_attn.q_proj`): the weight's name without `.weight`.
    public var moduleName: String {
        weight.name.hasSuffix(".weight") ? String(weight.name.dropLast(".weight".count)) : weight.name
    }

    /// Attaches a fresh adapter; the base weight and bias stop receiving gradients.
    @discardableResult
    public func attachLoRA(rank: Int, alpha: Float, dropout: Float = 0, rng: inout RandomGenerator)
        -> LoRAAdapter
    {
        let adapter = LoRAAdapter(
            module: moduleName, inputSize: inputSize, outputSize: outputSize, rank: rank,
            alpha: alpha, dropout: dropout, rng: &rng)
        lora = adapter
        return adapter
    }

    /// Folds the adapter into the weight (W += scale·BA) and removes it.
    public func mergeLoRA() {
        guard let lora else { return }
        let d = lora.delta(layout: layout)
        weight.value.withUnsafeMutableBufferPointer { w in
            d.withUnsafeBufferPointer { dp in
                for i in 0..<w.count { w[i] += dp[i] }
            }
        }
        self.lora = nil
    }
}

extension Attention {
    /// The projections, in Hugging Face order (q, k, v or c_attn; then o_proj or c_proj).
    public var projections: [Linear] { [query, key, value, fused, output].compactMap { $0 } }
}

extension MLP {
    /// The projections (gate, up, down or c_fc, c_proj).
    public var projections: [Linear] { [gate, up, down, fc, proj].compactMap { $0 } }
}

extension String {
    /// FNV-1a: a hash that is the same in every process (Swift's `hashValue` is seeded per run).
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }
}
