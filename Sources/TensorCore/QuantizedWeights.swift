/// A read-only copy of a weight matrix in a smaller format for decoding: bf16 (the upper half of
/// each fp32), or int8 with one fp32 scale per output row (symmetric: scale = max |w| / 127 over
/// the row, q = round(w / scale)). Weight-only: products with it take and return fp32
/// (`Kernels+QuantizedMatVec.swift`). Stored output-major, (outputs, inputs), whatever the
/// source's layout, so every output row is one contiguous stream.
public final class QuantizedWeights: @unchecked Sendable {
    // @unchecked: immutable after init; the storage is only read.

    /// The storage format of a decoding copy.
    public enum Format: String, Sendable, CaseIterable, CustomStringConvertible {
        case bf16, int8
        public var description: String { rawValue }
        /// Bytes per stored weight (int8's scales aside).
        public var bytesPerWeight: Int { self == .bf16 ? 2 : 1 }
    }

    public let format: Format
    /// Output rows (the layer's output size).
    public let outputs: Int
    /// Columns (the layer's input size).
    public let inputs: Int
    /// One scale per output row (int8); empty for bf16.
    public let scales: [Float]
    let storage: UnsafeMutableRawPointer

    /// Quantizes `weights`: (outputs, inputs) row-major, or (inputs, outputs) when `inputMajor`
    /// (GPT-2's Conv1D layout), which is transposed on the way.
    public init(
        _ weights: UnsafePointer<Float>, outputs: Int, inputs: Int, inputMajor: Bool, format: Format
    ) {
        precondition(outputs > 0 && inputs > 0, "QuantizedWeights: empty matrix \(outputs)×\(inputs)")
        self.format = format
        self.outputs = outputs
        self.inputs = inputs
        storage = .allocate(byteCount: outputs * inputs * format.bytesPerWeight, alignment: 64)
        let rowStride = inputMajor ? 1 : inputs, columnStride = inputMajor ? outputs : 1
        switch format {
        case .bf16:
            let q = storage.bindMemory(to: UInt16.self, capacity: outputs * inputs)
            Parallel.forRanges(outputs, costPerItem: inputs) { range in
                for r in range {
                    for c in 0..<inputs {
                        q[r * inputs + c] = BF16Matmul.bf16(weights[r * rowStride + c * columnStride])
                    }
                }
            }
            scales = []
        case .int8:
            let q = storage.bindMemory(to: Int8.self, capacity: outputs * inputs)
            var rowScales = [Float](repeating: 0, count: outputs)
            rowScales.withUnsafeMutableBufferPointer { s in
                let s = s.baseAddress!
                Parallel.forRanges(outputs, costPerItem: inputs) { range in
                    for r in range {
                        var largest: Float = 0
                        var finite = true
                        for c in 0..<inputs {
                            let w = weights[r * rowStride + c * columnStride]
                            finite = finite && w.isFinite
                            largest = max(largest, abs(w))
                        }
                        // A row with inf/NaN gives NaN outputs, as the fp32 product would.
                        let scale: Float = finite ? largest / 127 : .nan
                        s[r] = scale
                        for c in 0..<inputs {
                            let w = weights[r * rowStride + c * columnStride]
                            let v = scale > 0 && finite ? (w / scale).rounded(.toNearestOrEven) : 0
                            q[r * inputs + c] = Int8(max(-127, min(127, v)))
                        }
                    }
                }
            }
            scales = rowScales
        }
    }

    deinit { storage.deallocate() }

    /// Bytes a product reads from this copy: the weights and, for int8, the scales.
    public var byteCount: Int { outputs * inputs * format.bytesPerWeight + scales.count * 4 }

    /// The weights as fp32, (outputs, inputs) row-major: what every product with this copy
    /// multiplies by (reference for tests, and the operand of many-row products).
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: outputs * inputs)
        out.withUnsafeMutableBufferPointer { dequantize(into: $0.baseAddress!) }
        return out
    }

    func dequantize(into out: UnsafeMutablePointer<Float>) {
        let n = inputs
        switch format {
        case .bf16:
            let q = storage.assumingMemoryBound(to: UInt16.self)
            Parallel.forRanges(outputs, costPerItem: n) { range in
                for i in range.lowerBound * n..<range.upperBound * n { out[i] = BF16Matmul.float(q[i]) }
            }
        case .int8:
            let q = storage.assumingMemoryBound(to: Int8.self)
            scales.withUnsafeBufferPointer { s in
                Parallel.forRanges(outputs, costPerItem: n) { range in
                    for r in range {
                        for c in 0..<n { out[r * n + c] = Float(q[r * n + c]) * s[r] }
                    }
                }
            }
        }
    }
}
