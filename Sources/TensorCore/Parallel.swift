import Dispatch
import Foundation

/// Parallel loops over the machine's cores.
///
/// Work is split into at most `threadCount` contiguous chunks (one `concurrentPerform` call),
/// so the per-call overhead is a few microseconds whatever the loop length. Chunk boundaries
/// depend only on `count` and `threadCount`, so results are reproducible for a fixed thread count.
public enum Parallel {
    /// Worker count used by every kernel; defaults to the number of active cores.
    nonisolated(unsafe) public static var threadCount: Int = max(
        1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body` on disjoint ranges covering `0..<count`, in parallel when the loop is worth
    /// splitting (`count * costPerItem` above a small threshold). `body` must only write state
    /// that belongs to its range.
    public static func forRanges(_ count: Int, costPerItem: Int = 1024, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers =
            isWorker
            ? 1
            : min(
                threadCount, count,
                max(
                    1,
                    count.multipliedReportingOverflow(by: costPerItem).overflow
                        ? count : (count * costPerItem) / 32_768))
        if workers <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = count * w / workers
                let hi = count * (w + 1) / workers
                guard lo < hi else { return }
                // Mark the thread so nested loops and BLAS calls run serially inside it.
                let outer = workerDepth.value
                workerDepth.value = outer + 1
                box.value(lo..<hi)
                workerDepth.value = outer
            }
        }
    }

    /// True on a thread that is running the body of a parallel loop.
    public static var isWorker: Bool { workerDepth.value > 0 }

    /// Calls `body(i)` for every `i` in `0..<count`, items spread over the workers.
    public static func forEach(_ count: Int, costPerItem: Int = 1024, _ body: (Int) -> Void) {
        forRanges(count, costPerItem: costPerItem) { range in
            for i in range { body(i) }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`.
// @unchecked: used only for closures whose callers guarantee that each worker writes a disjoint
// part of memory (see `Parallel.forRanges`); the closure never outlives the call.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Per-thread nesting depth of parallel loops (a pthread key: Swift has no thread-local
/// storage attribute on Linux).
final class ThreadDepth: @unchecked Sendable {
    // @unchecked: the key is created once and only read afterwards; the values are per thread.
    private var key = pthread_key_t()

    init() { pthread_key_create(&key, nil) }

    var value: Int {
        get { Int(bitPattern: pthread_getspecific(key)) }
        set { pthread_setspecific(key, UnsafeRawPointer(bitPattern: newValue)) }
    }
}

let workerDepth = ThreadDepth()
