import TensorCore

/// The shared objective → logits path: log-probabilities of target tokens under
/// softmax(logits / temperature), and the gradient back to the logits.
public enum TokenLogProbs {
    /// logits (N, V), targets (N) → per-row log p(target) and entropy of the tempered distribution.
    public static func forward(logits: Tensor, targets: [Int32], temperature: Float) -> (logProbs: [Float], entropy: [Float]) {
        precondition(temperature > 0, "TokenLogProbs: temperature must be positive, got \(temperature)")
        let v = logits.shape.last ?? 0
        let rows = targets.count
        precondition(logits.count == rows * v, "TokenLogProbs: logits \(logits.shape) for \(rows) targets")
        var lp = [Float](repeating: 0, count: rows), ent = [Float](repeating: 0, count: rows)
        logits.withUnsafeBufferPointer { lb in
            targets.withUnsafeBufferPointer { tb in
                lp.withUnsafeMutableBufferPointer { lpb in
                    ent.withUnsafeMutableBufferPointer { eb in
                        Kernels.tokenLogProbs(logits: lb.baseAddress!, rows: rows, vocab: v, targets: tb.baseAddress!,
                                              temperature: temperature, logProbs: lpb.baseAddress!, entropy: eb.baseAddress!)
                    }
                }
            }
        }
        return (lp, ent)
    }

    /// dLoss/dlogits (N, V) given dLoss/dlogp per row.
    public static func backward(logits: Tensor, targets: [Int32], temperature: Float, logProbGrad: [Float]) -> Tensor {
        var d = Tensor(shape: logits.shape)
        backward(logits: logits, targets: targets, temperature: temperature, logProbGrad: logProbGrad, into: &d)
        return d
    }

    /// As `backward(logits:targets:temperature:logProbGrad:)`, writing into a reused buffer.
    public static func backward(logits: Tensor, targets: [Int32], temperature: Float, logProbGrad: [Float],
                                into d: inout Tensor) {
        let v = logits.shape.last ?? 0
        let rows = targets.count
        precondition(logits.count == rows * v && logProbGrad.count == rows,
                     "TokenLogProbs.backward: logits \(logits.shape), \(rows) targets, \(logProbGrad.count) grads")
        d.resize(to: logits.shape)
        logits.withUnsafeBufferPointer { lb in
            targets.withUnsafeBufferPointer { tb in
                logProbGrad.withUnsafeBufferPointer { gb in
                    d.withUnsafeMutableBufferPointer { db in
                        Kernels.tokenLogProbsBackward(logits: lb.baseAddress!, rows: rows, vocab: v, targets: tb.baseAddress!,
                                                      temperature: temperature, logProbGrad: gb.baseAddress!,
                                                      dLogits: db.baseAddress!)
                    }
                }
            }
        }
    }
}
