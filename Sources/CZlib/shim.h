#ifndef SWITCHGYM_CZLIB_SHIM_H
#define SWITCHGYM_CZLIB_SHIM_H
// Not API: the C surface of zlib for SwitchGymIO only.
#include <zlib.h>
/// inflateInit2 is a macro over inflateInit2_ that passes the version and struct size.
static inline int CZlib_inflateInit2(z_streamp strm, int windowBits) { return inflateInit2(strm, windowBits); }
static inline int CZlib_deflateInit2(z_streamp strm, int level, int windowBits) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
#endif
