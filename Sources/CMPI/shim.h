// Thin shim over the distribution's MPI (Debian: libopenmpi-dev). MPI's handles
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros that Swift cannot import, so the few
// calls data-parallel training makes are wrapped here. Every function returns MPI's error code.
#include <mpi.h>

static inline int rlhf_mpi_init(int *provided) {
    int ready = 0;
    MPI_Initialized(&ready);
    if (ready) { *provided = MPI_THREAD_SERIALIZED; return MPI_SUCCESS; }
    // Serialized: the training loop may resume on another thread between calls, never two at once.
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
}
static inline int rlhf_mpi_finalize(void) {
    int done = 0;
    MPI_Finalized(&done);
    return done ? MPI_SUCCESS : MPI_Finalize();
}
static inline int rlhf_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
static inline int rlhf_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }
static inline int rlhf_mpi_allreduce_sum_float(float *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int rlhf_mpi_allreduce_sum_double(double *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static inline int rlhf_mpi_broadcast_float(float *buffer, int count, int root) {
    return MPI_Bcast(buffer, count, MPI_FLOAT, root, MPI_COMM_WORLD);
}
static inline int rlhf_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static inline int rlhf_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
