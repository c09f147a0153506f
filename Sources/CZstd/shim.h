#ifndef SWITCHGYM_CZSTD_SHIM_H
#define SWITCHGYM_CZSTD_SHIM_H
// Not API: the C surface of libzstd for SwitchGymIO only.
#include <zstd.h>
static inline unsigned long long CZstd_CONTENTSIZE_UNKNOWN(void) { return ZSTD_CONTENTSIZE_UNKNOWN; }
static inline unsigned long long CZstd_CONTENTSIZE_ERROR(void) { return ZSTD_CONTENTSIZE_ERROR; }
#endif
