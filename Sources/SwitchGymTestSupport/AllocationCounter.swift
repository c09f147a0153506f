import CAllocationCounter

/// Counts heap allocations (`malloc`, `calloc`, `realloc`, aligned variants) made by the
/// current thread, in the spirit of swift-nio's `mallocCountTotal`.
///
/// On Linux/glibc the `CAllocationCounter` target interposes the allocator for the whole
/// process and forwards every call to glibc's `__libc_*` functions; only calls made on a
/// thread between ``start()`` and ``stop()`` are counted, so tests running in parallel do
/// not disturb each other. Elsewhere ``isSupported`` is false.
public enum AllocationCounter {
    /// Whether allocations can be counted on this platform.
    public static var isSupported: Bool { switchgym_allocation_counting_supported() != 0 }

    /// Counts the allocations `body` makes on the current thread.
    /// - Returns: the count, or `nil` when counting is unsupported.
    /// - Note: `body` must not suspend (it must stay on the calling thread).
    public static func count(_ body: () throws -> Void) rethrows -> Int? {
        guard isSupported else { return nil }
        switchgym_allocation_counting_start()
        defer { _ = switchgym_allocation_counting_stop() }
        try body()
        return switchgym_allocation_counting_stop()
    }
}
