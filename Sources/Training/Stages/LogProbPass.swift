import Models
import NN
import TensorCore

/// One forward of a causal LM to per-token log-probabilities of a batch's targets, and the
/// shared way back: every objective hands in dLoss/dlogp (B,T), this turns it into logits
/// gradients in place over the model's logits (`TokenLogProbs.backward(replacingLogits:)`)
/// and runs the model's backward.
public struct LogProbPass {
    public let batch: SequenceBatch
    public let temperature: Float
    /// (B,T) log p(target) under softmax(logits / temperature); 0 where the mask is 0 is not
    /// guaranteed — always apply the mask.
    public let logProbs: [Float]
    /// (B,T) entropy of the tempered distribution at each position.
    public let entropy: [Float]
    /// (B·T) log Σ e^(logit/τ) per position, for the one-pass backward.
    let logNormalizers: [Float]

    /// Runs `model.forward` on the batch (keeping activations for `backward`).
    public init(model: Transformer, batch: SequenceBatch, temperature: Float = 1) {
        self.batch = batch
        self.temperature = temperature
        // The logits stay only in the model's buffer (not held here), so `backward` can turn them
        // into their gradient in place.
        let logits = model.forward(
            tokens: batch.tokens, batchSize: batch.batchSize, length: batch.length,
            segmentIDs: batch.segmentIDs)
        var normalizers: [Float] = []
        (logProbs, entropy) = TokenLogProbs.forward(
            logits: logits.reshaped([batch.batchSize * batch.length, logits.shape.last!]),
            targets: batch.targets, temperature: temperature,
            logNormalizers: &normalizers)
        logNormalizers = normalizers
    }

    /// Accumulates the gradients of a loss with dLoss/dlogp = `logProbGrad` (B,T) into the
    /// model's parameters. Must follow this pass's forward with no other forward in between.
    public func backward(model: Transformer, logProbGrad: [Float], hiddenGrad: Tensor? = nil) {
        precondition(
            logProbGrad.count == logProbs.count,
            "LogProbPass.backward: \(logProbGrad.count) grads for \(logProbs.count) tokens")
        var masked = logProbGrad
        for i in masked.indices where batch.mask[i] == 0 { masked[i] = 0 }
        model.backward(
            replacingLogitsWithGradient: { logits in
                TokenLogProbs.backward(
                    replacingLogits: &logits, targets: batch.targets, temperature: temperature,
                    logNormalizers: logNormalizers, logProbGrad: masked)
            }, hiddenGrad: hiddenGrad)
    }
}

extension Transformer {
    /// (B,T) log-probs of a batch's targets without keeping anything for backward
    /// (reference and old-policy scoring). Positions where the mask is 0 are set to 0.
    public func scoreTargets(_ batch: SequenceBatch, temperature: Float = 1) -> [Float] {
        let pass = LogProbPass(model: self, batch: batch, temperature: temperature)
        var lp = pass.logProbs
        for i in lp.indices where batch.mask[i] == 0 { lp[i] = 0 }
        return lp
    }
}
