#ifndef SWITCHGYM_CBLAS_SHIM_H
#define SWITCHGYM_CBLAS_SHIM_H
// Not API: the C surface of OpenBLAS for SwitchGymNN only.
#include <cblas.h>
static inline void CBLAS_set_num_threads(int n) { openblas_set_num_threads(n); }
static inline const char *CBLAS_core_name(void) { return openblas_get_corename(); }
#endif
