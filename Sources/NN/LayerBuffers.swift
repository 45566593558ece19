import TensorCore

/// Activation and gradient buffers of one attention layer, held outside it. Layers that run one
/// at a time exchange their buffers with one shared `AttentionBuffers` so that L layers use the
/// memory of one (activation recomputation; backward scratch in every mode).
public struct AttentionBuffers {
    var qkv = Tensor(shape: [0])
    var probs = Tensor(shape: [0])
    var logSumExp = Tensor(shape: [0])
    var context = Tensor(shape: [0])
    var dContext = Tensor(shape: [0])
    var dQKV = Tensor(shape: [0])

    public init() {}

    /// Bytes held by the buffers.
    public var byteCount: Int {
        4 * (qkv.count + probs.count + logSumExp.count + context.count + dContext.count + dQKV.count)
    }
}

/// As `AttentionBuffers`, for one MLP.
public struct MLPBuffers {
    var pre = Tensor(shape: [0])
    var act = Tensor(shape: [0])
    var dAct = Tensor(shape: [0])
    var dPre = Tensor(shape: [0])

    public init() {}

    public var byteCount: Int { 4 * (pre.count + act.count + dAct.count + dPre.count) }
}

extension Attention {
    /// Exchanges the forward activations (q|k|v, probabilities or their log-sum-exp, context)
    /// with `buffers`.
    public func swapActivations(with buffers: inout AttentionBuffers) {
        swap(&qkv, &buffers.qkv)
        swap(&probs, &buffers.probs)
        swap(&logSumExp, &buffers.logSumExp)
        swap(&context, &buffers.context)
    }

    /// Exchanges the backward scratch (overwritten by every backward) with `buffers`.
    public func swapGradientScratch(with buffers: inout AttentionBuffers) {
        swap(&dContext, &buffers.dContext)
        swap(&dQKV, &buffers.dQKV)
    }

    /// Bytes of the buffers this layer holds now.
    public var bufferByteCount: Int {
        4 * (qkv.count + probs.count + logSumExp.count + context.count + dContext.count + dQKV.count)
    }
}

extension MLP {
    /// Exchanges the forward activations (pre-activation, activation) with `buffers`.
    public func swapActivations(with buffers: inout MLPBuffers) {
        swap(&pre, &buffers.pre)
        swap(&act, &buffers.act)
    }

    /// Exchanges the backward scratch (overwritten by every backward) with `buffers`.
    public func swapGradientScratch(with buffers: inout MLPBuffers) {
        swap(&dAct, &buffers.dAct)
        swap(&dPre, &buffers.dPre)
    }

    /// Bytes of the buffers this layer holds now.
    public var bufferByteCount: Int { 4 * (pre.count + act.count + dAct.count + dPre.count) }
}
