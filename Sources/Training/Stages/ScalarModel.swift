import Models
import NN
import TensorCore

/// A transformer trunk with a scalar head: the reward model (one score per sequence, read at
/// its last token, the end-of-turn token) and PPO's value model (one value per position).
///
/// The head's weight is saved beside the trunk's as `score.weight` (Hugging Face's
/// sequence-classification name).
public final class ScalarModel {
    public let trunk: Transformer
    public let head: ScalarHead
    private var readPositions: [Int] = []

    public init(trunk: Transformer, head: ScalarHead) {
        precondition(
            head.hiddenSize == trunk.config.hiddenSize,
            "ScalarModel: head width \(head.hiddenSize) ≠ trunk width \(trunk.config.hiddenSize)")
        self.trunk = trunk
        self.head = head
    }

    public convenience init(trunk: Transformer, seed: UInt64) {
        self.init(
            trunk: trunk, head: ScalarHead(name: "score", hiddenSize: trunk.config.hiddenSize, seed: seed))
    }

    public var parameters: [Parameter] { trunk.parameters + head.parameters }

    /// Scores read at `positions` (indices into the (B,T) grid) after one trunk forward.
    public func forward(_ batch: SequenceBatch, positions: [Int]) -> [Float] {
        _ = trunk.forward(
            tokens: batch.tokens, batchSize: batch.batchSize, length: batch.length,
            segmentIDs: batch.segmentIDs, computeLogits: false)
        let c = trunk.config.hiddenSize
        let hidden = trunk.hidden
        var rows = Tensor(shape: [positions.count, c])
        hidden.withUnsafeBufferPointer { h in
            rows.withUnsafeMutableBufferPointer { r in
                for (i, p) in positions.enumerated() {
                    r.baseAddress!.advanced(by: i * c).update(
                        from: h.baseAddress!.advanced(by: p * c), count: c)
                }
            }
        }
        readPositions = positions
        return head.forward(rows)
    }

    /// One score per row, read at each row's last real token.
    public func sequenceScores(_ batch: SequenceBatch) -> [Float] {
        forward(batch, positions: (0..<batch.batchSize).map(batch.lastIndex))
    }

    /// One value per grid position (B,T).
    public func values(_ batch: SequenceBatch) -> [Float] {
        forward(batch, positions: Array(0..<(batch.batchSize * batch.length)))
    }

    /// Accumulates gradients for dLoss/dscore at the positions of the last `forward`.
    public func backward(scoreGrad: [Float]) {
        precondition(
            scoreGrad.count == readPositions.count,
            "ScalarModel.backward: \(scoreGrad.count) grads for \(readPositions.count) scores")
        let dRows = head.backward(outputGrad: scoreGrad)
        let c = trunk.config.hiddenSize
        let hidden = trunk.hidden
        var dHidden = Tensor(shape: hidden.shape)
        dRows.withUnsafeBufferPointer { d in
            dHidden.withUnsafeMutableBufferPointer { h in
                for (i, p) in readPositions.enumerated() {
                    for j in 0..<c { h[p * c + j] += d[i * c + j] }
                }
            }
        }
        trunk.backward(logitsGrad: nil, hiddenGrad: dHidden)
    }
}
