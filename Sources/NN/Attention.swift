import TensorCore

/// Causal multi-head self-attention with its projections, as one layer.
///
/// `.llama`: separate `q_proj`, `k_proj`, `v_proj`, `o_proj` ([out, in], biases optional: Qwen2
/// has them on q/k/v only, Llama's `attention_bias` on all four), optional per-head RMSNorm of
/// queries and keys before the rotation (Qwen3's `q_norm`/`k_norm`), rotary positions (HF
/// rotate-half), grouped-query heads, a head size that may differ from hidden/heads. `.gpt2`: one `c_attn` ([C, 3C] Conv1D, bias)
/// and `c_proj`, no rotary. Both write q|k|v side by side into one (N, (H + 2·KV)·D) buffer so
/// one attention kernel serves both.
public final class Attention {
    public enum Style {
        case llama(rotary: RotaryTable)
        case gpt2
    }

    public let hiddenSize: Int
    public let heads: Int
    public let kvHeads: Int
    public let headDimension: Int
    public let output: Linear
    let query: Linear?, key: Linear?, value: Linear?
    let fused: Linear?
    let rotary: RotaryTable?
    let queryNorm: HeadNorm?, keyNorm: HeadNorm?

    // Activations of the last forward, reused across steps of the same shape.
    var qkv = Tensor(shape: [0])  // (N, W) after rotary
    // Two kernels, chosen per forward by the size of the (B, H, T, T) probabilities: below
    // `fusedThresholdBytes` the materialising kernels keep them (measured faster at every
    // context, docs/benchmarks.md); above it the fused (flash) kernels keep only each query's
    // log-sum-exp, (B, H, T), and the backward recomputes the probabilities tile by tile.
    var probs = Tensor(shape: [0])  // (B, H, T, T), materialising path
    var logSumExp = Tensor(shape: [0])  // (B, H, T), fused path
    var usedFused = false
    var segments: [Int32]?
    var context = Tensor(shape: [0])  // (N, H·D)
    var dContext = Tensor(shape: [0])
    var dQKV = Tensor(shape: [0])
    var positions: [Int32] = []
    var geometry: AttentionGeometry?

    /// Bytes of (B, H, T, T) probabilities one layer may keep before attention runs fused. The
    /// materialising kernels measured faster at contexts 256–2048 (the fused backward is 20–35%
    /// slower), so they run while that buffer is small; the fused ones bound memory for long
    /// contexts and large batches.
    public static let defaultFusedThresholdBytes = 32 << 20
    /// This layer's threshold (0: always fused; `.max`: never).
    public var fusedThresholdBytes = Attention.defaultFusedThresholdBytes

    /// `name` is the module prefix (`model.layers.0.self_attn` / `transformer.h.0.attn`);
    /// weights N(0, std²), the output projection N(0, outputStd²), biases 0, norms 1.
    /// `headDimension` defaults to hiddenSize / heads; `projectionBias` puts biases on q/k/v,
    /// `outputBias` on o; `queryKeyNormEpsilon` adds `q_norm`/`k_norm` (`.llama` style only).
    public init(
        name: String, style: Style, hiddenSize: Int, heads: Int, kvHeads: Int,
        headDimension: Int? = nil, projectionBias: Bool = false, outputBias: Bool = false,
        queryKeyNormEpsilon: Float? = nil, std: Float, outputStd: Float, rng: inout RandomGenerator
    ) {
        precondition(heads > 0 && kvHeads > 0 && heads % kvHeads == 0, "Attention: bad head counts")
        precondition(
            headDimension != nil || hiddenSize % heads == 0, "Attention: heads must divide the hidden size")
        self.hiddenSize = hiddenSize
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension ?? hiddenSize / heads
        let d = self.headDimension
        switch style {
        case .llama(let table):
            precondition(
                table.headDimension == d,
                "Attention: rotary table for head size \(table.headDimension), need \(d)")
            query = Linear(
                name: name + ".q_proj", inputSize: hiddenSize, outputSize: heads * d, bias: projectionBias,
                std: std, rng: &rng)
            key = Linear(
                name: name + ".k_proj", inputSize: hiddenSize, outputSize: kvHeads * d, bias: projectionBias,
                std: std, rng: &rng)
            value = Linear(
                name: name + ".v_proj", inputSize: hiddenSize, outputSize: kvHeads * d, bias: projectionBias,
                std: std, rng: &rng)
            output = Linear(
                name: name + ".o_proj", inputSize: heads * d, outputSize: hiddenSize, bias: outputBias,
                std: outputStd, rng: &rng)
            fused = nil
            rotary = table
            queryNorm = queryKeyNormEpsilon.map {
                HeadNorm(name: name + ".q_norm", headDimension: d, epsilon: $0)
            }
            keyNorm = queryKeyNormEpsilon.map {
                HeadNorm(name: name + ".k_norm", headDimension: d, epsilon: $0)
            }
        case .gpt2:
            precondition(
                d * heads == hiddenSize && queryKeyNormEpsilon == nil, "Attention: GPT-2 style options")
            precondition(kvHeads == heads, "Attention: GPT-2 style has no grouped-query heads")
            fused = Linear(
                name: name + ".c_attn", inputSize: hiddenSize, outputSize: 3 * hiddenSize, bias: true,
                layout: .inputMajor, std: std, rng: &rng)
            output = Linear(
                name: name + ".c_proj", inputSize: hiddenSize, outputSize: hiddenSize, bias: true,
                layout: .inputMajor, std: outputStd, rng: &rng)
            query = nil; key = nil; value = nil
            rotary = nil
            queryNorm = nil; keyNorm = nil
        }
    }

    public var parameters: [Parameter] {
        if let fused { return fused.parameters + output.parameters }
        return query!.parameters + key!.parameters + value!.parameters + output.parameters
            + (queryNorm?.parameters ?? []) + (keyNorm?.parameters ?? [])
    }

    var qkvWidth: Int { (heads + 2 * kvHeads) * headDimension }

    /// x (N, C) → q|k|v into `qkv` (N, W), rotary applied with one position per row.
    func project(_ x: Tensor, positions: [Int32]) {
        let rows = x.count / hiddenSize, w = qkvWidth, d = headDimension
        qkv.resize(to: [rows, w])
        x.withUnsafeBufferPointer { xb in
            qkv.withUnsafeMutableBufferPointer { qb in
                let xp = xb.baseAddress!, qp = qb.baseAddress!
                if let fused {
                    fused.forward(x: xp, rows: rows, y: qp, yStride: w)
                } else {
                    query!.forward(x: xp, rows: rows, y: qp, yStride: w)
                    key!.forward(x: xp, rows: rows, y: qp + heads * d, yStride: w)
                    value!.forward(x: xp, rows: rows, y: qp + (heads + kvHeads) * d, yStride: w)
                }
                // Qwen3 normalises each head before the rotation.
                queryNorm?.forward(qp, rows: rows, stride: w, heads: heads)
                keyNorm?.forward(qp + heads * d, rows: rows, stride: w, heads: kvHeads)
                if let rotary {
                    positions.withUnsafeBufferPointer { pp in
                        Kernels.rope(
                            qp, rows: rows, stride: w, heads: heads, positions: pp.baseAddress!, table: rotary
                        )
                        Kernels.rope(
                            qp + heads * d, rows: rows, stride: w, heads: kvHeads, positions: pp.baseAddress!,
                            table: rotary)
                    }
                }
            }
        }
    }

    /// residual (N, C) += attention(x) for x (B·T, C); `positions` (B·T) feed the rotary
    /// embedding; `segments` (B·T) confine attention to runs of equal ids.
    public func forward(
        _ x: Tensor, batch: Int, length: Int, positions: [Int32], segments: [Int32]?,
        addingInto residual: inout Tensor
    ) {
        let rows = batch * length, w = qkvWidth, d = headDimension
        precondition(
            x.count == rows * hiddenSize && residual.count == rows * hiddenSize && positions.count == rows,
            "Attention.forward: x \(x.shape), residual \(residual.shape), \(positions.count) positions for \(batch)×\(length)"
        )
        precondition(
            segments == nil || segments!.count == rows, "Attention.forward: segment ids must be (B·T)")
        let g = AttentionGeometry(
            batch: batch, length: length, heads: heads, kvHeads: kvHeads, headDimension: d)
        geometry = g
        self.positions = positions
        project(x, positions: positions)
        self.segments = segments
        usedFused = g.probabilityCount * MemoryLayout<Float>.stride > fusedThresholdBytes
        context.resize(to: [rows, heads * d])
        if usedFused {
            probs.resize(to: [0])
            logSumExp.resize(to: [Kernels.logSumExpCount(g)])
        } else {
            logSumExp.resize(to: [0])
            probs.resize(to: [g.probabilityCount])
        }
        qkv.withUnsafeMutableBufferPointer { qb in
            logSumExp.withUnsafeMutableBufferPointer { lb in
                probs.withUnsafeMutableBufferPointer { pb in
                    context.withUnsafeMutableBufferPointer { cb in
                        let qp = qb.baseAddress!
                        let q = HeadLayout(base: qp, stride: w),
                            k = HeadLayout(base: qp + self.heads * d, stride: w)
                        let v = HeadLayout(base: qp + (self.heads + self.kvHeads) * d, stride: w)
                        let out = HeadLayout(base: cb.baseAddress!, stride: self.heads * d)
                        let run = { (seg: UnsafePointer<Int32>?) in
                            if self.usedFused {
                                Kernels.flashAttentionForward(
                                    q: q, k: k, v: v, out: out, logSumExp: lb.baseAddress!,
                                    segments: seg, geometry: g)
                            } else {
                                Kernels.attentionForward(
                                    q: q, k: k, v: v, out: out, probs: pb.baseAddress!,
                                    segments: seg, geometry: g)
                            }
                        }
                        if let segments {
                            segments.withUnsafeBufferPointer { run($0.baseAddress!) }
                        } else {
                            run(nil)
                        }
                    }
                }
            }
        }
        output.forward(context, into: &residual, accumulate: true)
    }

    /// dx = ∂L/∂x (overwritten) given dy = ∂L/∂(attention output) (N, C), for the last forward
    /// whose input was x. Weight gradients accumulate.
    public func backward(input x: Tensor, outputGrad dy: Tensor, inputGrad dx: inout Tensor) {
        guard let g = geometry else { preconditionFailure("Attention.backward before forward") }
        let rows = g.batch * g.length, w = qkvWidth, d = headDimension
        precondition(
            x.count == rows * hiddenSize && dy.count == rows * hiddenSize, "Attention.backward: shapes")
        output.backward(input: context, outputGrad: dy, inputGrad: &dContext)
        dQKV.resize(to: [rows, w])
        dx.resize(to: [rows, hiddenSize])
        qkv.withUnsafeMutableBufferPointer { qb in
            dQKV.withUnsafeMutableBufferPointer { db in
                let qp = qb.baseAddress!, dp = db.baseAddress!
                if usedFused {
                    logSumExp.withUnsafeBufferPointer { lb in
                        context.withUnsafeMutableBufferPointer { ob in
                            dContext.withUnsafeMutableBufferPointer { cb in
                                let run = { (seg: UnsafePointer<Int32>?) in
                                    Kernels.flashAttentionBackward(
                                        q: HeadLayout(base: qp, stride: w),
                                        k: HeadLayout(base: qp + self.heads * d, stride: w),
                                        v: HeadLayout(base: qp + (self.heads + self.kvHeads) * d, stride: w),
                                        out: HeadLayout(base: ob.baseAddress!, stride: self.heads * d),
                                        logSumExp: lb.baseAddress!,
                                        dOut: HeadLayout(base: cb.baseAddress!, stride: self.heads * d),
                                        dq: HeadLayout(base: dp, stride: w),
                                        dk: HeadLayout(base: dp + self.heads * d, stride: w),
                                        dv: HeadLayout(base: dp + (self.heads + self.kvHeads) * d, stride: w),
                                        segments: seg, geometry: g)
                                }
                                if let segments = self.segments {
                                    segments.withUnsafeBufferPointer { run($0.baseAddress!) }
                                } else {
                                    run(nil)
                                }
                            }
                        }
                    }
                } else {
                    probs.withUnsafeBufferPointer { pb in
                        dContext.withUnsafeMutableBufferPointer { cb in
                            Kernels.attentionBackward(
                                q: HeadLayout(base: qp, stride: w),
                                k: HeadLayout(base: qp + heads * d, stride: w),
                                v: HeadLayout(base: qp + (heads + kvHeads) * d, stride: w),
                                probs: pb.baseAddress!,
                                dOut: HeadLayout(base: cb.baseAddress!, stride: heads * d),
                                dq: HeadLayout(base: dp, stride: w),
                                dk: HeadLayout(base: dp + heads * d, stride: w),
                                dv: HeadLayout(base: dp + (heads + kvHeads) * d, stride: w), geometry: g)
                        }
                    }
                }
                if let rotary {
                    positions.withUnsafeBufferPointer { pp in
                        Kernels.rope(
                            dp, rows: rows, stride: w, heads: heads, positions: pp.baseAddress!,
                            table: rotary, inverse: true)
                        Kernels.rope(
                            dp + heads * d, rows: rows, stride: w, heads: kvHeads, positions: pp.baseAddress!,
                            table: rotary, inverse: true)
                    }
                }
                queryNorm?.backward(dp, rows: rows, stride: w, heads: heads)
                keyNorm?.backward(dp + heads * d, rows: rows, stride: w, heads: kvHeads)
                x.withUnsafeBufferPointer { xb in
                    dx.withUnsafeMutableBufferPointer { dxb in
                        let xp = xb.baseAddress!, dxp = dxb.baseAddress!
                        if let fused {
                            fused.backward(x: xp, rows: rows, dy: dp, dyStride: w, dx: dxp)
                        } else {
                            query!.backward(x: xp, rows: rows, dy: dp, dyStride: w, dx: dxp)
                            key!.backward(
                                x: xp, rows: rows, dy: dp + heads * d, dyStride: w, dx: dxp,
                                accumulateInput: true)
                            value!.backward(
                                x: xp, rows: rows, dy: dp + (heads + kvHeads) * d, dyStride: w, dx: dxp,
                                accumulateInput: true)
                        }
                    }
                }
            }
        }
    }

    // MARK: generation

    /// Copies the keys and values of tokens `0..<count` of batch row `row` from the last forward
    /// into cache row `cacheRow` of keys/values (rows, capacity, KV·D).
    public func storeKeysValues(
        batchRow row: Int, count: Int, keys: inout Tensor, values: inout Tensor, cacheRow: Int
    ) {
        guard let g = geometry else { preconditionFailure("Attention.storeKeysValues before forward") }
        let kvw = kvHeads * headDimension, w = qkvWidth
        let capacity = keys.shape[1]
        precondition(count <= g.length && count <= capacity, "Attention.storeKeysValues: \(count) tokens")
        qkv.withUnsafeBufferPointer { qb in
            keys.withUnsafeMutableBufferPointer { kb in
                values.withUnsafeMutableBufferPointer { vb in
                    for t in 0..<count {
                        let src = qb.baseAddress! + (row * g.length + t) * w + heads * headDimension
                        let dst = (cacheRow * capacity + t) * kvw
                        (kb.baseAddress! + dst).update(from: src, count: kvw)
                        (vb.baseAddress! + dst).update(from: src + kvw, count: kvw)
                    }
                }
            }
        }
    }

    /// One new token per row: residual (R, C) += attention(x) where row r is at position
    /// `positions[r]` of cache row `cacheRows[r]`; its key/value are written into the cache first.
    public func decode(
        _ x: Tensor, positions: [Int32], cacheRows: [Int], keys: inout Tensor, values: inout Tensor,
        addingInto residual: inout Tensor
    ) {
        let rows = positions.count, w = qkvWidth, d = headDimension, kvw = kvHeads * d
        let capacity = keys.shape[1]
        precondition(x.count == rows * hiddenSize && cacheRows.count == rows, "Attention.decode: shapes")
        project(x, positions: positions)
        context.resize(to: [rows, heads * d])
        qkv.withUnsafeMutableBufferPointer { qb in
            keys.withUnsafeMutableBufferPointer { kb in
                values.withUnsafeMutableBufferPointer { vb in
                    for r in 0..<rows {
                        let p = Int(positions[r])
                        precondition(
                            p < capacity, "Attention.decode: position \(p) beyond the cache (\(capacity))")
                        let src = qb.baseAddress! + r * w + heads * d
                        let dst = (cacheRows[r] * capacity + p) * kvw
                        (kb.baseAddress! + dst).update(from: src, count: kvw)
                        (vb.baseAddress! + dst).update(from: src + kvw, count: kvw)
                    }
                    context.withUnsafeMutableBufferPointer { cb in
                        Kernels.attentionDecode(
                            q: HeadLayout(base: qb.baseAddress!, stride: w),
                            kCache: kb.baseAddress!, vCache: vb.baseAddress!,
                            cacheRowStride: capacity * kvw, cacheRows: cacheRows,
                            lengths: positions.map { Int($0) + 1 }, heads: heads, kvHeads: kvHeads,
                            headDimension: d, out: HeadLayout(base: cb.baseAddress!, stride: heads * d))
                    }
                }
            }
        }
        output.forward(context, into: &residual, accumulate: true)
    }
}
