import TensorCore

/// The shared objective → logits path: log-probabilities of target tokens under
/// softmax(logits / temperature), and the gradient back to the logits.
public enum TokenLogProbs {
    /// logits (N, V), targets (N) → per-row log p(target) and entropy of the tempered distribution.
    public static func forward(logits: Tensor, targets: [Int32], temperature: Float) -> (
        logProbs: [Float], entropy: [Float]
    ) {
        var unused: [Float] = []
        return forward(
            logits: logits, targets: targets, temperature: temperature, logNormalizers: &unused,
            keepNormalizers: false)
    }

    /// As `forward(logits:targets:temperature:)`, also writing each row's log Σ e^(logit/τ) into
    /// `logNormalizers` for the one-pass `backward(replacingLogits:...)`.
    public static func forward(
        logits: Tensor, targets: [Int32], temperature: Float,
        logNormalizers: inout [Float]
    ) -> (logProbs: [Float], entropy: [Float]) {
        forward(
            logits: logits, targets: targets, temperature: temperature, logNormalizers: &logNormalizers,
            keepNormalizers: true)
    }

    static func forward(
        logits: Tensor, targets: [Int32], temperature: Float, logNormalizers: inout [Float],
        keepNormalizers: Bool
    ) -> (logProbs: [Float], entropy: [Float]) {
        precondition(temperature > 0, "TokenLogProbs: temperature must be positive, got \(temperature)")
        let v = logits.shape.last ?? 0
        let rows = targets.count
        precondition(logits.count == rows * v, "TokenLogProbs: logits \(logits.shape) for \(rows) targets")
        var lp = [Float](repeating: 0, count: rows), ent = [Float](repeating: 0, count: rows)
        if keepNormalizers { logNormalizers = [Float](repeating: 0, count: rows) }
        logits.withUnsafeBufferPointer { lb in
            targets.withUnsafeBufferPointer { tb in
                lp.withUnsafeMutableBufferPointer { lpb in
                    ent.withUnsafeMutableBufferPointer { eb in
                        logNormalizers.withUnsafeMutableBufferPointer { nb in
                            Kernels.tokenLogProbs(
                                logits: lb.baseAddress!, rows: rows, vocab: v, targets: tb.baseAddress!,
                                temperature: temperature, logProbs: lpb.baseAddress!,
                                entropy: eb.baseAddress!,
                                logNormalizers: keepNormalizers ? nb.baseAddress! : nil)
                        }
                    }
                }
            }
        }
        return (lp, ent)
    }

    /// Turns `logits` (N, V) into dLoss/dlogits in place, given dLoss/dlogp per row and the
    /// forward's `logNormalizers`: one pass over the logits and no second (N, V) buffer.
    public static func backward(
        replacingLogits logits: inout Tensor, targets: [Int32], temperature: Float,
        logNormalizers: [Float], logProbGrad: [Float]
    ) {
        let v = logits.shape.last ?? 0
        let rows = targets.count
        precondition(
            logits.count == rows * v && logProbGrad.count == rows && logNormalizers.count == rows,
            "TokenLogProbs.backward: logits \(logits.shape), \(rows) targets, \(logProbGrad.count) grads, \(logNormalizers.count) normalizers"
        )
        targets.withUnsafeBufferPointer { tb in
            logProbGrad.withUnsafeBufferPointer { gb in
                logNormalizers.withUnsafeBufferPointer { nb in
                    logits.withUnsafeMutableBufferPointer { lb in
                        Kernels.tokenLogProbsBackward(
                            logits: lb.baseAddress!, rows: rows, vocab: v, targets: tb.baseAddress!,
                            temperature: temperature, logProbGrad: gb.baseAddress!,
                            dLogits: lb.baseAddress!, logNormalizers: nb.baseAddress!)
                    }
                }
            }
        }
    }

    /// dLoss/dlogits (N, V) given dLoss/dlogp per row.
    public static func backward(logits: Tensor, targets: [Int32], temperature: Float, logProbGrad: [Float])
        -> Tensor
    {
        var d = Tensor(shape: logits.shape)
        backward(
            logits: logits, targets: targets, temperature: temperature, logProbGrad: logProbGrad, into: &d)
        return d
    }

    /// As `backward(logits:targets:temperature:logProbGrad:)`, writing into a reused buffer.
    public static func backward(
        logits: Tensor, targets: [Int32], temperature: Float, logProbGrad: [Float],
        into d: inout Tensor
    ) {
        let v = logits.shape.last ?? 0
        let rows = targets.count
        precondition(
            logits.count == rows * v && logProbGrad.count == rows,
            "TokenLogProbs.backward: logits \(logits.shape), \(rows) targets, \(logProbGrad.count) grads")
        d.resize(to: logits.shape)
        logits.withUnsafeBufferPointer { lb in
            targets.withUnsafeBufferPointer { tb in
                logProbGrad.withUnsafeBufferPointer { gb in
                    d.withUnsafeMutableBufferPointer { db in
                        Kernels.tokenLogProbsBackward(
                            logits: lb.baseAddress!, rows: rows, vocab: v, targets: tb.baseAddress!,
                            temperature: temperature, logProbGrad: gb.baseAddress!,
                            dLogits: db.baseAddress!)
                    }
                }
            }
        }
    }
}
