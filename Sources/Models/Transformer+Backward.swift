import NN
import TensorCore

extension Transformer {
    /// Backpropagates through the last forward and accumulates (+=) into every parameter's
    /// `grad`. `logitsGrad` (B, T, V) is ∂L/∂logits, `hiddenGrad` (B, T, C) is ∂L/∂hidden (from a
    /// scalar head); either may be nil.
    public func backward(logitsGrad: Tensor?, hiddenGrad: Tensor?) {
        let n = batchSize * length, c = config.hiddenSize
        precondition(n > 0, "Transformer.backward before forward")
        dHidden.resize(to: [n, c])
        if let logitsGrad {
            precondition(
                logitsGrad.count == n * config.vocabSize,
                "Transformer.backward: logits grad \(logitsGrad.shape), expected (\(batchSize), \(length), \(config.vocabSize))"
            )
            head.backward(
                input: hiddenBuffer, outputGrad: logitsGrad.reshaped([n, config.vocabSize]),
                inputGrad: &dHidden)
        } else {
            dHidden.zero()
        }
        if let hiddenGrad {
            precondition(
                hiddenGrad.count == n * c,
                "Transformer.backward: hidden grad \(hiddenGrad.shape), expected (\(batchSize), \(length), \(c))"
            )
            hiddenGrad.withUnsafeBufferPointer { g in
                dHidden.withUnsafeMutableBufferPointer { d in
                    Kernels.add(d.baseAddress!, g.baseAddress!, d.baseAddress!, count: n * c)
                }
            }
        }
        dResidual.resize(to: [n, c])
        dResidual.zero()
        finalNorm.backward(input: residuals[blocks.count], outputGrad: dHidden, inputGrad: &dResidual)
        for l in stride(from: blocks.count - 1, through: 0, by: -1) {
            let block = blocks[l]
            if recomputing {
                block.swapActivations(with: &sharedBuffers)
                // LoRA dropout: the recomputed forward uses the masks of the forward it redoes.
                let adapters = (block.attention.projections + block.mlp.projections).compactMap(\.lora)
                for a in adapters { a.replaysMask = true }
                block.forward(
                    residuals[l], batch: batchSize, length: length, positions: positions,
                    segments: segmentIDs, into: &recomputedOutput)
                for a in adapters { a.replaysMask = false }
            }
            // The backward scratch is overwritten by every block: one set serves all of them.
            block.swapGradientScratch(with: &sharedBuffers)
            block.backward(input: residuals[l], grad: &dResidual, scratch: &dScratch)
            block.swapGradientScratch(with: &sharedBuffers)
            if recomputing { block.swapActivations(with: &sharedBuffers) }
        }
        tokenEmbedding.backward(tokens, outputGrad: dResidual)
        positionEmbedding?.backward(positions, outputGrad: dResidual)
    }

    /// As `backward(logitsGrad:hiddenGrad:)`, with ∂L/∂logits written by `fill` over the last
    /// forward's logits (B·T, V) in place: no second logits-sized buffer. The logits are gone
    /// afterwards. Callers must not hold the tensor `forward` returned (that would force a copy).
    public func backward(replacingLogitsWithGradient fill: (inout Tensor) -> Void, hiddenGrad: Tensor?) {
        precondition(
            computedLogits && batchSize * length > 0, "Transformer.backward: no logits from the last forward")
        logitsBuffer.reshape([batchSize * length, config.vocabSize])
        fill(&logitsBuffer)
        precondition(
            logitsBuffer.count == batchSize * length * config.vocabSize,
            "Transformer.backward: fill changed the logits' size")
        backward(logitsGrad: logitsBuffer, hiddenGrad: hiddenGrad)
    }
}
