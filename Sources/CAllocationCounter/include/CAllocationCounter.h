#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

/// Per-thread allocation counting (not API; wrapped by SwitchGymTestSupport).
///
/// On Linux with glibc this target defines `malloc`, `calloc`, `realloc`,
/// `posix_memalign`, `aligned_alloc` and `memalign`, forwarding to glibc's
/// `__libc_*` entry points; while counting is enabled on a thread, each call
/// made on that thread increments the thread's counter. Elsewhere counting is
/// unsupported and `switchgym_allocation_counting_supported` returns 0.

/// 1 if allocations can be counted on this platform.
int switchgym_allocation_counting_supported(void);
/// Resets this thread's counter to zero and starts counting.
void switchgym_allocation_counting_start(void);
/// Stops counting on this thread and returns the number of allocations since start.
long switchgym_allocation_counting_stop(void);

#endif
