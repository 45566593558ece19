// Thin shim over the distribution's OpenBLAS (Debian: libopenblas-dev).
#include <cblas.h>
// Thread control for OpenBLAS; declared here because the Debian cblas.h may not expose it.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
