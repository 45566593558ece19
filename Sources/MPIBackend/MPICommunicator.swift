import CMPI
import Foundation
import TensorCore
import Training

/// Data parallelism over MPI: one process per rank, started by `mpirun -np N rlhf …`.
///
/// `MPICommunicator.launched()` tells whether this process was started by an MPI launcher (Open
/// MPI's or MPICH's environment); only then is MPI initialised, so a plain `rlhf` run never
/// touches it. Each rank gets an equal share of the node's cores for its kernels and BLAS calls.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Ranks on this machine (cores are divided among them).
    public let localSize: Int

    /// True when an MPI launcher started this process with more than one rank.
    public static func launched(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        let size = environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"] ?? environment["PMIX_SIZE"]
        return (size.flatMap { Int($0) } ?? 1) > 1
    }

    /// Initialises MPI (once per process) and sets `Parallel.threadCount` to this rank's share
    /// of the cores (unless `RLHF_THREADS` says otherwise).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var provided: Int32 = 0
        try Self.check(rlhf_mpi_init(&provided), "MPI_Init_thread")
        guard provided >= MPI_THREAD_SERIALIZED else {
            throw DataParallelError(
                "this MPI library gives thread level \(provided); serialized (\(MPI_THREAD_SERIALIZED)) is needed"
            )
        }
        var r: Int32 = 0, s: Int32 = 0
        try Self.check(rlhf_mpi_rank(&r), "MPI_Comm_rank")
        try Self.check(rlhf_mpi_size(&s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
        localSize = max(
            1, Int(environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? environment["MPI_LOCALNRANKS"] ?? "") ?? 1)
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        Parallel.threadCount =
            Int(environment["RLHF_THREADS"] ?? "").map { max(1, $0) } ?? max(1, cores / localSize)
    }

    /// Ends MPI; call once, after the last collective, on every rank.
    public func finalize() { _ = rlhf_mpi_finalize() }

    /// Stops every rank (a rank that failed cannot leave the others waiting in a collective).
    public func abort(code: Int32) -> Never {
        _ = rlhf_mpi_abort(code)
        exit(code)
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        Self.chunks(buffer.count) { lo, n in
            Self.must(rlhf_mpi_allreduce_sum_float(buffer.baseAddress! + lo, n), "MPI_Allreduce")
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        Self.chunks(buffer.count) { lo, n in
            Self.must(rlhf_mpi_allreduce_sum_double(buffer.baseAddress! + lo, n), "MPI_Allreduce")
        }
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
        Self.chunks(buffer.count) { lo, n in
            Self.must(rlhf_mpi_broadcast_float(buffer.baseAddress! + lo, n, Int32(root)), "MPI_Bcast")
        }
    }

    public func barrier() { Self.must(rlhf_mpi_barrier(), "MPI_Barrier") }

    /// MPI counts are 32-bit: larger buffers go in pieces.
    static func chunks(_ count: Int, _ body: (Int, Int32) -> Void) {
        var lo = 0
        while lo < count {
            let n = min(count - lo, Int(Int32.max))
            body(lo, Int32(n))
            lo += n
        }
    }

    static func check(_ code: Int32, _ call: String) throws {
        guard code == MPI_SUCCESS else { throw DataParallelError("\(call) failed with MPI error \(code)") }
    }

    /// Collectives fail only when the MPI job itself is broken (MPI's default handler aborts
    /// the job before returning); then no rank can continue.
    static func must(_ code: Int32, _ call: String) {
        guard code == MPI_SUCCESS else {
            FileHandle.standardError.write(Data("error: \(call) failed with MPI error \(code)\n".utf8))
            _ = rlhf_mpi_abort(code)
            exit(code)
        }
    }
}
