import Foundation
import MPIBackend
import Training

/// How `rlhf pretrain` and `rlhf sft` start: alone, or as one rank of `mpirun -np N rlhf …`.
enum DataParallelLaunch {
    /// Runs `body` with the process's communicator. Under an MPI launcher a rank that fails
    /// aborts the whole job, since the others would wait for it in the next collective forever.
    static func run(_ body: (any Communicator) throws -> Void) throws {
        guard MPICommunicator.launched() else { return try body(SingleProcess()) }
        let mpi = try MPICommunicator()
        do {
            try body(mpi)
            mpi.finalize()
        } catch {
            FileHandle.standardError.write(Data("error (rank \(mpi.rank) of \(mpi.size)): \(error)\n".utf8))
            mpi.abort(code: 1)
        }
    }
}
