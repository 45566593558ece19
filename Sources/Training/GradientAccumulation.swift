import NN
import TensorCore

/// Gradient accumulation with the loss normalised by the number of target tokens of the whole
/// optimizer step, not per micro-batch.
///
/// Averaging each micro-batch separately and then averaging the averages weights a token in a
/// short micro-batch more than one in a long micro-batch (a known bias in many trainers). The
/// correct step loss is `Σ_all tokens loss_t / N_total`. So a stage loop:
///
/// 1. builds all micro-batches of the step and counts their target tokens (known from the loss
///    masks before any forward pass): `var acc = GradientAccumulation(targetTokenCounts: counts)`;
/// 2. for each micro-batch runs forward, computes the *summed* per-token loss and seeds backward
///    with `dLoss/dlogp_t = acc.gradientScale` per target token (i.e. gradient of sum / N_total),
///    and records `acc.add(lossSum:tokens:)`; backward accumulates into `parameter.grad`;
/// 3. after the last micro-batch, `acc.meanLoss` is the step's loss and the gradients are those
///    of one big batch; clip, guard and step.
public struct GradientAccumulation: Sendable, Equatable {
    /// Target tokens in each micro-batch of this step.
    public let targetTokenCounts: [Int]
    public private(set) var lossSum: Double = 0
    public private(set) var tokensSeen = 0
    public private(set) var microBatchesSeen = 0

    public init(targetTokenCounts: [Int]) {
        precondition(targetTokenCounts.allSatisfy { $0 >= 0 }, "GradientAccumulation: negative token count")
        self.targetTokenCounts = targetTokenCounts
    }

    public var totalTargetTokens: Int { targetTokenCounts.reduce(0, +) }

    /// Multiply the gradient of the *summed* micro-batch loss by this (1 / total target tokens;
    /// 0 when the step has no target tokens, so nothing moves).
    public var gradientScale: Float { totalTargetTokens > 0 ? 1 / Float(totalTargetTokens) : 0 }

    /// Records one micro-batch's summed loss; call once per micro-batch, in order.
    public mutating func add(lossSum: Double, tokens: Int) {
        precondition(
            microBatchesSeen < targetTokenCounts.count,
            "GradientAccumulation: more micro-batches than planned")
        precondition(
            tokens == targetTokenCounts[microBatchesSeen],
            "GradientAccumulation: micro-batch \(microBatchesSeen) has \(tokens) target tokens, planned \(targetTokenCounts[microBatchesSeen])"
        )
        self.lossSum += lossSum
        tokensSeen += tokens
        microBatchesSeen += 1
    }

    public var isComplete: Bool { microBatchesSeen == targetTokenCounts.count }

    /// Mean loss per target token over the micro-batches recorded so far.
    public var meanLoss: Double { tokensSeen > 0 ? lossSum / Double(tokensSeen) : 0 }
}
