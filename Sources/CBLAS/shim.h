// OpenBLAS from Debian's libopenblas-dev: cblas.h lives in /usr/include/x86_64-linux-gnu.
#include <cblas.h>
// Sets the number of threads OpenBLAS uses for one call (OpenBLAS extension).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
