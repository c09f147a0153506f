#ifndef SWITCHGYM_CHDF5_SHIM_H
#define SWITCHGYM_CHDF5_SHIM_H
// Not API: the C surface of HDF5 for SwitchGymIO only.
// HDF5 exposes its property-list and type constants as macros that expand to
// function calls or globals initialised by H5open(); Swift cannot import them,
// so each gets a prefixed static inline shim.
#include <hdf5.h>

static inline hid_t CHDF5_P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t CHDF5_S_ALL(void) { return H5S_ALL; }
static inline hsize_t CHDF5_S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline hid_t CHDF5_P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t CHDF5_P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t CHDF5_P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t CHDF5_P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
static inline hid_t CHDF5_T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t CHDF5_T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t CHDF5_T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t CHDF5_T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t CHDF5_T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t CHDF5_T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t CHDF5_T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t CHDF5_T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t CHDF5_T_C_S1(void) { return H5T_C_S1; }
static inline size_t CHDF5_T_VARIABLE(void) { return H5T_VARIABLE; }
static inline unsigned CHDF5_F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned CHDF5_F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned CHDF5_F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned CHDF5_F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned CHDF5_Z_FLAG_REVERSE(void) { return H5Z_FLAG_REVERSE; }
static inline unsigned CHDF5_Z_FLAG_OPTIONAL(void) { return H5Z_FLAG_OPTIONAL; }
static inline unsigned CHDF5_Z_FLAG_MANDATORY(void) { return H5Z_FLAG_MANDATORY; }
static inline int CHDF5_Z_CLASS_T_VERS(void) { return H5Z_CLASS_T_VERS; }

static inline void CHDF5_clear_errors(void) { H5Eclear2(H5E_DEFAULT); }
/// H5Eset_auto2 takes a function pointer; silencing HDF5's own stderr printer
/// needs NULLs that are awkward to spell in Swift.
static inline herr_t CHDF5_silence_errors(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/// Registers a filter class; the struct is built here so that Swift does not
/// depend on the layout of H5Z_class2_t.
/// Registers a filter. HDF5 keeps the class's name pointer (it does not copy the
/// string) and encodes it into every pipeline message, so the name must be static
/// storage: it is fixed here rather than passed from Swift.
static inline herr_t CHDF5_register_filter(H5Z_filter_t id, H5Z_func_t fn) {
    static H5Z_class2_t cls;
    static const char name[] = "zstd (SwitchGym, libzstd)";
    cls.version = H5Z_CLASS_T_VERS;
    cls.id = id;
    cls.encoder_present = 1;
    cls.decoder_present = 1;
    cls.name = name;
    cls.can_apply = NULL;
    cls.set_local = NULL;
    cls.filter = fn;
    return H5Zregister(&cls);
}

/// Walks the error stack and copies the innermost message into buf.
typedef struct { char *buf; size_t cap; int found; } CHDF5_err_ctx;
static inline herr_t CHDF5_err_walk_cb(unsigned n, const H5E_error2_t *e, void *client) {
    CHDF5_err_ctx *ctx = (CHDF5_err_ctx *)client;
    if (e && e->desc && ctx->cap > 0) {
        // keep the last (innermost) description, prefixed by its function
        snprintf(ctx->buf, ctx->cap, "%s: %s", e->func_name ? e->func_name : "?", e->desc);
        ctx->found = 1;
    }
    return 0;
}
static inline int CHDF5_last_error_message(char *buf, size_t cap) {
    CHDF5_err_ctx ctx = { buf, cap, 0 };
    if (cap > 0) buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, CHDF5_err_walk_cb, &ctx);
    H5Eclear2(H5E_DEFAULT);
    return ctx.found;
}
#endif
