import Foundation

/// The machine's read bandwidth, for the memory-bandwidth floor of batch-1 decoding (which reads
/// every weight once per token): a plain parallel sum over an array of a given size, read again
/// and again as decoding reads the same weights each token.
public enum MemoryBandwidth {
    /// GB/s (10⁹ bytes) of the fastest of `repeats` reads of a `bytes`-sized array on
    /// `Parallel.threadCount` workers, and the median.
    public static func read(bytes: Int, repeats: Int = 15) -> (best: Double, median: Double) {
        let chunks = max(1, bytes / 64)  // 16 floats per step
        let buffer = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: chunks)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD16(repeating: 1), count: chunks)
        var seconds: [Double] = []
        var total: Float = 0
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { sums.deallocate() }
        for _ in 0..<repeats + 1 {
            let start = DispatchTime.now().uptimeNanoseconds
            Parallel.forRanges(chunks, costPerItem: 1 << 20) { range in
                // Four accumulators: the adds do not serialise on one register.
                var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
                var i = range.lowerBound
                while i + 4 <= range.upperBound {
                    a += buffer[i]
                    b += buffer[i + 1]
                    c += buffer[i + 2]
                    d += buffer[i + 3]
                    i += 4
                }
                while i < range.upperBound {
                    a += buffer[i]
                    i += 1
                }
                sums[range.lowerBound * 63 / chunks] = (a + b + c + d).sum()
            }
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            total += sums[0]
        }
        seconds.removeFirst()  // the first read also faults the pages in
        precondition(total.isFinite)
        seconds.sort()
        let gb = Double(chunks * 64) / 1e9
        return (gb / seconds[0], gb / seconds[seconds.count / 2])
    }
}
