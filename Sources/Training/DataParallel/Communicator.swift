import Foundation
import NN
import TensorCore

/// The processes (ranks) that train one model together by data parallelism.
///
/// Every rank holds the whole model and takes its share of each global batch; after backward
/// the gradients are summed over the ranks (`allReduceSum`), so every rank applies the same
/// optimizer step to the same weights and the ranks stay identical without exchanging weights.
/// Collectives are called by every rank in the same order, from one thread at a time.
public protocol Communicator: AnyObject {
    /// This process's index, `0..<size`; rank 0 writes checkpoints, metrics and progress.
    var rank: Int { get }
    var size: Int { get }
    /// Element-wise sum over all ranks, in place: every rank ends with the same sums.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>)
    /// Rank `root`'s buffer copied into every rank's.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int)
    /// Returns when every rank has called it.
    func barrier()
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Sums a few counters over the ranks.
    public func allReduceSum(_ values: [Double]) -> [Double] {
        guard size > 1 else { return values }
        var out = values
        out.withUnsafeMutableBufferPointer { allReduceSum($0) }
        return out
    }

    /// Sums every parameter's gradient over the ranks (one collective per tensor, in place).
    public func allReduceGradients(_ parameters: [Parameter]) {
        guard size > 1 else { return }
        for p in parameters { p.grad.withUnsafeMutableBufferPointer { allReduceSum($0) } }
    }

    /// Copies rank 0's weights to every rank (start of training: identical replicas even if the
    /// ranks' initialisations had differed).
    public func broadcastParameters(_ parameters: [Parameter]) {
        guard size > 1 else { return }
        for p in parameters { p.value.withUnsafeMutableBufferPointer { broadcast($0, root: 0) } }
    }

    /// The part of a global batch of `count` rows that this rank trains on: contiguous, sizes
    /// differing by at most one, in rank order (so the ranks together cover the batch once).
    public func share(of count: Int) -> Range<Int> {
        (count * rank / size)..<(count * (rank + 1) / size)
    }

    /// This rank's rows of a global batch (the whole batch alone), nil when it holds none.
    public func share(of batch: SequenceBatch) -> SequenceBatch? {
        guard size > 1 else { return batch }
        let rows = share(of: batch.batchSize)
        return rows.isEmpty ? nil : batch.rows(Array(rows))
    }
}

/// One process alone: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {}
    public func barrier() {}
}

/// A data-parallel run that cannot work as configured (said before any rank trains).
public struct DataParallelError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "data parallelism: \(reason)" }
}
