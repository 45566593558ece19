import CKernels
import Foundation

/// The instruction set of the quantized decoding products (`Sources/CKernels`), chosen once at
/// start-up from what the CPU supports (CPUID), or forced with `RLHF_DECODE_KERNEL=scalar|avx2|avx512`
/// (benchmarks compare paths on one machine; a path the CPU lacks falls back to the best it has).
public enum QuantizedKernelPath: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case scalar = 0, avx2 = 1, avx512 = 2

    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    /// Whether this CPU runs the path.
    public var isSupported: Bool { rlhf_qmv_supports(Int32(rawValue)) != 0 }

    /// The path products use.
    public static let current: QuantizedKernelPath = {
        let best = QuantizedKernelPath(rawValue: rlhf_qmv_best_isa()) ?? .scalar
        if let forced = ProcessInfo.processInfo.environment["RLHF_DECODE_KERNEL"],
            let path = allCases.first(where: { $0.description == forced }), path.isSupported
        {
            return path
        }
        return best
    }()
}

extension QuantizedWeights {
    /// Input rows up to which products stream the stored weights (each group of four rows reads
    /// them once); above it the weights are widened once into fp32 and go to sgemm (prefill).
    public static let streamedRowLimit = 16

    /// Weight bytes that justify one more worker in a product (decoding's matrices are small).
    nonisolated(unsafe) public static var bytesPerWorker: Int =
        ProcessInfo.processInfo.environment["RLHF_DECODE_BYTES_PER_WORKER"].flatMap { Int($0) } ?? 1 << 20

    /// y (=|+=) x · Wᵀ with W this copy dequantized: x (rows, inputs) with row stride `xStride`,
    /// y (rows, outputs) with row stride `yStride`. Parallel over output rows.
    public func multiply(
        x: UnsafePointer<Float>, rows: Int, xStride: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
        accumulate: Bool, path: QuantizedKernelPath = .current
    ) {
        guard rows > 0 else { return }
        if rows > Self.streamedRowLimit {
            let widened = UnsafeMutablePointer<Float>.allocate(capacity: outputs * inputs)
            defer { widened.deallocate() }
            dequantize(into: widened)
            BLAS.gemm(
                transposeB: true, m: rows, n: outputs, k: inputs, a: x, lda: xStride, b: widened,
                ldb: inputs, beta: accumulate ? 1 : 0, c: y, ldc: yStride)
            return
        }
        precondition(path.isSupported, "QuantizedWeights.multiply: this CPU cannot run the \(path) kernels")
        let isa = path.rawValue, n = Int64(inputs), m = Int64(rows), add: Int32 = accumulate ? 1 : 0
        let xs = Int64(xStride), ys = Int64(yStride)
        // Blocks of 8 rows keep each worker's range aligned with the kernels' row blocks. A
        // worker is woken per `bytesPerWorker` of weights only: waking one costs tens of
        // microseconds on a busy machine, the time one core streams a few hundred KB.
        let blocks = (outputs + 7) / 8
        let cost = max(1, 8 * inputs * format.bytesPerWeight * 32_768 / max(1, Self.bytesPerWorker))
        switch format {
        case .int8:
            let w = storage.assumingMemoryBound(to: Int8.self)
            scales.withUnsafeBufferPointer { s in
                let s = s.baseAddress!
                Parallel.forRanges(blocks, costPerItem: cost) { range in
                    rlhf_qmv_int8(
                        isa, w, s, n, Int64(range.lowerBound * 8), Int64(min(outputs, range.upperBound * 8)),
                        x, m, xs, y, ys, add)
                }
            }
        case .bf16:
            let w = storage.assumingMemoryBound(to: UInt16.self)
            Parallel.forRanges(blocks, costPerItem: cost) { range in
                rlhf_qmv_bf16(
                    isa, w, n, Int64(range.lowerBound * 8), Int64(min(outputs, range.upperBound * 8)),
                    x, m, xs, y, ys, add)
            }
        }
    }
}
