import NN
import TensorCore

extension Transformer {
    /// Runs the model on `tokens` (B·T, row-major, rows right-padded) and returns the logits
    /// (B, T, V), or an empty (B, T, 0) tensor when `computeLogits` is false (then only `hidden`
    /// is produced). Keeps the activations for `backward`.
    ///
    /// `segmentIDs` (B·T) packs several documents per row: a token attends only to earlier tokens
    /// of its own segment (a run of equal ids), and positions restart at 0 at each segment start.
    @discardableResult
    public func forward(
        tokens: [Int32], batchSize: Int, length: Int, segmentIDs: [Int32]? = nil,
        computeLogits: Bool = true
    ) -> Tensor {
        forward(
            tokens: tokens, batchSize: batchSize, length: length, segmentIDs: segmentIDs,
            computeLogits: computeLogits, recompute: recomputeActivations)
    }

    /// `recompute` false keeps every block's activations whatever `recomputeActivations` says
    /// (generation's prefill reads the keys and values of every layer afterwards).
    @discardableResult
    func forward(
        tokens: [Int32], batchSize: Int, length: Int, segmentIDs: [Int32]?, computeLogits: Bool,
        recompute: Bool
    ) -> Tensor {
        precondition(
            batchSize > 0 && length > 0 && tokens.count == batchSize * length,
            "Transformer.forward: \(tokens.count) tokens for batch \(batchSize) × length \(length)")
        precondition(
            length <= config.contextLength,
            "Transformer.forward: length \(length) exceeds the context length \(config.contextLength)")
        precondition(
            segmentIDs == nil || segmentIDs!.count == tokens.count,
            "Transformer.forward: \(segmentIDs?.count ?? 0) segment ids for \(tokens.count) tokens")
        self.tokens = tokens
        self.batchSize = batchSize
        self.length = length
        self.segmentIDs = segmentIDs
        recomputing = recompute
        positions = Self.positions(batchSize: batchSize, length: length, segmentIDs: segmentIDs)

        tokenEmbedding.forward(tokens, into: &residuals[0])
        positionEmbedding?.forward(positions, into: &residuals[0], accumulate: true)
        for (l, block) in blocks.enumerated() {
            // Recomputing, every block computes in the one shared set of buffers and keeps none.
            if recompute { block.swapActivations(with: &sharedBuffers) }
            block.forward(
                residuals[l], batch: batchSize, length: length, positions: positions, segments: segmentIDs,
                into: &residuals[l + 1])
            if recompute {
                block.swapActivations(with: &sharedBuffers)
                var released = BlockBuffers()  // buffers left from a forward that kept them
                block.swapActivations(with: &released)
            }
        }
        finalNorm.forward(residuals[blocks.count], into: &hiddenBuffer)
        computedLogits = computeLogits
        guard computeLogits else { return Tensor(shape: [batchSize, length, 0]) }
        head.forward(hiddenBuffer, into: &logitsBuffer)
        logitsBuffer.reshape([batchSize, length, config.vocabSize])
        return logitsBuffer
    }

    /// Position of every token: its index in the row, restarting at each segment start.
    static func positions(batchSize: Int, length: Int, segmentIDs: [Int32]?) -> [Int32] {
        var pos = [Int32](repeating: 0, count: batchSize * length)
        for b in 0..<batchSize {
            var p: Int32 = 0
            for t in 0..<length {
                let i = b * length + t
                if t > 0, let seg = segmentIDs, seg[i] != seg[i - 1] { p = 0 }
                pos[i] = p
                p += 1
            }
        }
        return pos
    }
}
