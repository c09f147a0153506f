#include "CAllocationCounter.h"

#include <errno.h>   // also defines __GLIBC__ on glibc
#include <stddef.h>

#if defined(__linux__) && defined(__GLIBC__)

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

// Thread-local so parallel tests do not see each other's allocations.
// initial-exec TLS: reading it never allocates (no lazy TLS block).
static __thread int counting __attribute__((tls_model("initial-exec")));
static __thread long allocations __attribute__((tls_model("initial-exec")));

#define COUNT() do { if (counting) allocations += 1; } while (0)

void *malloc(size_t size) { COUNT(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { COUNT(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { COUNT(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size) {
    COUNT();
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *result = p;
    return 0;
}

int switchgym_allocation_counting_supported(void) { return 1; }
void switchgym_allocation_counting_start(void) { allocations = 0; counting = 1; }
long switchgym_allocation_counting_stop(void) { counting = 0; return allocations; }

#else

int switchgym_allocation_counting_supported(void) { return 0; }
void switchgym_allocation_counting_start(void) {}
long switchgym_allocation_counting_stop(void) { return -1; }

#endif
