import TensorCore

/// Weight-only quantized copies for decoding: the fp32 weight stays (training, scoring), and a
/// bf16 or int8 copy (`QuantizedWeights`) serves forward while `usesDecodeWeights` is set.
extension Linear {
    /// Makes the decoding copy in `format`, or remakes it when the weight changed since (an
    /// optimizer step, a merge, a load): cheap when it is current.
    public func quantizeForDecoding(_ format: QuantizedWeights.Format) {
        if let q = decodeWeights, q.format == format, decodeWeightsVersion == weight.version { return }
        decodeWeights = weight.value.withUnsafeBufferPointer { w in
            QuantizedWeights(
                w.baseAddress!, outputs: outputSize, inputs: inputSize, inputMajor: layout == .inputMajor,
                format: format)
        }
        decodeWeightsVersion = weight.version
    }

    /// Whether the decoding copy was made from the weight as it is now.
    public var decodeWeightsAreCurrent: Bool {
        decodeWeights != nil && decodeWeightsVersion == weight.version
    }

    /// Frees the decoding copy; forward multiplies by the fp32 weight again.
    public func dropDecodeWeights() {
        decodeWeights = nil
        decodeWeightsVersion = -1
        usesDecodeWeights = false
    }

    /// Bytes of weights (and bias) one decoding step reads from this layer: the decoding copy
    /// when there is one, else the fp32 weight.
    public var decodeByteCount: Int {
        (decodeWeights?.byteCount ?? 4 * weight.value.count) + 4 * (bias?.value.count ?? 0)
    }
}
