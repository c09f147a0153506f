/*
 * switchgym_policy.h: a dependency-free C99 runtime for SwitchGym frozen policy files
 * (format version 1, docs/policy-format.md; `switchgym export --format safetensors`).
 *
 * Only libc and libm. Loading reads and verifies the whole file:
 *   1. the safetensors framing (8-byte little-endian header length, at most 100 MB, inside the
 *      file; a strict JSON header: bounded depth, no duplicate keys, valid UTF-8),
 *   2. `__metadata__`: format `switchgym.policy`, then the SHA-256 of the data section followed
 *      by the `policy` string's UTF-8 bytes (before anything else is trusted), format_version 1,
 *   3. the policy document (kind, network, observation layout, action) and its consistency,
 *   4. every tensor's dtype, shape and byte range against the document (inside the data
 *      section, no overlaps; unknown tensors are refused), finite weights,
 *   5. the self-test: every golden case must give its golden action.
 * Any failure returns a non-zero code and a one-line message in `err` (when `err_len > 0`);
 * malformed input never crashes the reader or makes it allocate more than the file's size
 * allows (plus the scratch buffers the document's sizes imply).
 *
 * Acting (`sg_policy_act`) allocates nothing: the scratch buffers live in the handle. There is
 * no global state: distinct handles may be used from distinct threads at once; one handle must
 * not be used by two threads at once (it owns its scratch). Loading and freeing are thread-safe.
 *
 * Numerics: float32 throughout (sums accumulated in float), and the Swift runtime's rational
 * tanh (relative error < 2e-6; `-DSG_LIBM_TANH` for libm's `tanhf`). The Swift runtime (BLAS)
 * and this one add in different orders, so the two can differ only where two scores tie to
 * about 1e-5. The cost of a decision is in runtime/c/README.md ("Latency").
 */
#ifndef SWITCHGYM_POLICY_H
#define SWITCHGYM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded, verified policy (opaque). */
typedef struct sg_policy sg_policy;

/** Return codes (0 is success). */
enum {
    SG_OK = 0,
    SG_ERR_ARGUMENT = 1,   /* a NULL pointer or a bad argument */
    SG_ERR_IO = 2,         /* the file cannot be opened or read */
    SG_ERR_FORMAT = 3,     /* malformed framing, JSON, document, or tensor table */
    SG_ERR_CHECKSUM = 4,   /* the sha256 does not match */
    SG_ERR_SELF_TEST = 5,  /* a golden case does not give its golden action */
    SG_ERR_NO_MEMORY = 6,  /* an allocation failed */
    SG_ERR_MASK = 7,       /* (act) a mask component allows no value */
    SG_ERR_INPUT = 8       /* (act) an observation entry is NaN or infinite */
};

/** The policy kinds of format version 1. */
typedef enum { SG_KIND_MLP = 1, SG_KIND_FAMILY = 2, SG_KIND_MOVES = 3 } sg_kind;

/** Largest header this runtime reads (bytes). */
#define SG_MAX_HEADER_BYTES ((uint64_t)100 * 1000 * 1000)

/**
 * Loads and verifies the policy file at `path` (read whole; files over 4 GiB are refused).
 * On success `*out` is a new handle (free it with sg_policy_free); otherwise `*out` is NULL and
 * `err` (if `err_len > 0`) holds a NUL-terminated message.
 */
int sg_policy_load_file(const char *path, sg_policy **out, char *err, size_t err_len);

/** As sg_policy_load_file, from `len` bytes in memory (copied; the caller keeps `bytes`). */
int sg_policy_load_memory(const void *bytes, size_t len, sg_policy **out, char *err, size_t err_len);

/** Frees a handle (NULL is fine). */
void sg_policy_free(sg_policy *p);

/** Floats per observation (`observation.dimension`). */
size_t sg_policy_observation_dimension(const sg_policy *p);
/** Bytes per mask (`action.mask_width`, the sum of the component sizes). */
size_t sg_policy_mask_width(const sg_policy *p);
/** Integers per action (`action.components.count`). */
size_t sg_policy_action_components(const sg_policy *p);
/** Values of action component `c` (`action.components[c]`), or 0 when `c` is out of range. */
int32_t sg_policy_component_size(const sg_policy *p, size_t c);
/** The kind. */
sg_kind sg_policy_kind(const sg_policy *p);
/** The kind's name: "mlp", "family" or "moves". */
const char *sg_policy_kind_name(const sg_policy *p);
/** The family beam width (1 for greedy and for the other kinds). */
int sg_policy_beam_width(const sg_policy *p);
/** The policy document (JSON, NUL-terminated, owned by the handle); `*len` gets its byte length if `len` is not NULL. */
const char *sg_policy_document(const sg_policy *p, size_t *len);

/**
 * One decision: `observation` has sg_policy_observation_dimension floats; `mask` has
 * sg_policy_mask_width bytes (non-zero: allowed) or is NULL (everything allowed); `action`
 * receives sg_policy_action_components integers. Allocates nothing.
 * Returns SG_ERR_INPUT when an observation entry is not finite, SG_ERR_MASK (and a message
 * naming the component) when a mask component allows no value, SG_ERR_ARGUMENT on NULL pointers.
 */
int sg_policy_act(sg_policy *p, const float *observation, const uint8_t *mask, int32_t *action,
                  char *err, size_t err_len);

/** SHA-256 of `len` bytes (FIPS 180-4), for tests and tools. */
void sg_sha256(const void *data, size_t len, uint8_t digest[32]);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHGYM_POLICY_H */
