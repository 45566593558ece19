import Foundation

/// Ranks that are threads of one process, for tests and for checking that data-parallel
/// training equals single-process training without launching MPI. `LocalGroup(size:)` makes the
/// shared state; `communicator(rank:)` is what each rank's thread uses.
///
/// Sums are taken in rank order whatever the threads' timing, so results are reproducible. Each
/// rank reduces its own slice of the buffer across all ranks and writes it back into every rank's
/// buffer (a reduce-scatter and all-gather in one pass over shared memory).
public final class LocalGroup: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`; buffers are published between
    // barriers and each rank writes only its own slice of them.
    public let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    fileprivate var floatBuffers: [UnsafeMutableBufferPointer<Float>?]
    fileprivate var doubleBuffers: [UnsafeMutableBufferPointer<Double>?]

    public init(size: Int) {
        precondition(size >= 1, "LocalGroup: size \(size)")
        self.size = size
        floatBuffers = Array(repeating: nil, count: size)
        doubleBuffers = Array(repeating: nil, count: size)
    }

    public func communicator(rank: Int) -> any Communicator {
        precondition((0..<size).contains(rank), "LocalGroup: rank \(rank) of \(size)")
        return Member(group: self, rank: rank)
    }

    func wait() {
        condition.lock()
        let mine = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        condition.unlock()
    }

    func publish<T>(
        _ b: UnsafeMutableBufferPointer<T>, rank: Int,
        into slots: ReferenceWritableKeyPath<LocalGroup, [UnsafeMutableBufferPointer<T>?]>
    ) {
        condition.lock(); self[keyPath: slots][rank] = b; condition.unlock()
    }

    func published<T>(_ slots: KeyPath<LocalGroup, [UnsafeMutableBufferPointer<T>?]>)
        -> [UnsafeMutableBufferPointer<T>]
    {
        condition.lock(); defer { condition.unlock() }
        return self[keyPath: slots].map { $0! }
    }

    func reduce<T: FloatingPoint>(_ buffers: [UnsafeMutableBufferPointer<T>], rank: Int) {
        let n = buffers[0].count
        precondition(
            buffers.allSatisfy { $0.count == n },
            "LocalGroup.allReduceSum: ranks passed buffers of different sizes")
        for i in (n * rank / size)..<(n * (rank + 1) / size) {
            var sum = buffers[0][i]
            for r in 1..<size { sum += buffers[r][i] }
            for r in 0..<size { buffers[r][i] = sum }
        }
    }

    private final class Member: Communicator {
        let group: LocalGroup
        let rank: Int
        var size: Int { group.size }

        init(group: LocalGroup, rank: Int) {
            self.group = group
            self.rank = rank
        }

        func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) { allReduce(buffer, \.floatBuffers) }
        func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) { allReduce(buffer, \.doubleBuffers) }

        private func allReduce<T: FloatingPoint>(
            _ buffer: UnsafeMutableBufferPointer<T>,
            _ slots: ReferenceWritableKeyPath<LocalGroup, [UnsafeMutableBufferPointer<T>?]>
        ) {
            guard size > 1 else { return }
            group.publish(buffer, rank: rank, into: slots)
            group.wait()
            group.reduce(group.published(slots), rank: rank)
            group.wait()
        }

        func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
            guard size > 1 else { return }
            group.publish(buffer, rank: rank, into: \.floatBuffers)
            group.wait()
            if rank != root {
                let src = group.published(\.floatBuffers)[root]
                precondition(src.count == buffer.count, "LocalGroup.broadcast: buffers of different sizes")
                buffer.baseAddress!.update(from: src.baseAddress!, count: buffer.count)
            }
            group.wait()
        }

        func barrier() { group.wait() }
    }
}
