import Models
import NN
import TensorCore

/// One forward of a causal LM to per-token log-probabilities of a batch's targets, and the
/// shared way back: every objective hands in dLoss/dlogp (B,T), this turns it into logits
/// gradients (`TokenLogProbs.backward`) and runs the model's backward.
public struct LogProbPass {
    public let batch: SequenceBatch
    public let temperature: Float
    /// (B,T) log p(target) under softmax(logits / temperature); 0 where the mask is 0 is not
    /// guaranteed — always apply the mask.
    public let logProbs: [Float]
    /// (B,T) entropy of the tempered distribution at each position.
    public let entropy: [Float]
    let logits: Tensor

    /// Runs `model.forward` on the batch (keeping activations for `backward`).
    public init(model: Transformer, batch: SequenceBatch, temperature: Float = 1) {
        self.batch = batch
        self.temperature = temperature
        let out = model.forward(tokens: batch.tokens, batchSize: batch.batchSize, length: batch.length,
                                segmentIDs: batch.segmentIDs)
        logits = out.reshaped([batch.batchSize * batch.length, out.shape.last!])
        (logProbs, entropy) = TokenLogProbs.forward(logits: logits, targets: batch.targets, temperature: temperature)
    }

    /// Accumulates the gradients of a loss with dLoss/dlogp = `logProbGrad` (B,T) into the
    /// model's parameters. Must follow this pass's forward with no other forward in between.
    public func backward(model: Transformer, logProbGrad: [Float], hiddenGrad: Tensor? = nil) {
        precondition(logProbGrad.count == logProbs.count, "LogProbPass.backward: \(logProbGrad.count) grads for \(logProbs.count) tokens")
        var masked = logProbGrad
        for i in masked.indices where batch.mask[i] == 0 { masked[i] = 0 }
        let dLogits = TokenLogProbs.backward(logits: logits, targets: batch.targets, temperature: temperature,
                                             logProbGrad: masked)
        model.backward(logitsGrad: dLogits.reshaped([batch.batchSize, batch.length, dLogits.shape.last!]),
                       hiddenGrad: hiddenGrad)
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
