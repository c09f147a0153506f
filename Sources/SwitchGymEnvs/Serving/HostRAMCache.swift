/// The host-RAM cache of variant weights a device loads through, one rule for both
/// fidelities (the discrete-event engine and the fluid sub-interval step): a load reads the
/// weights from host RAM when the device's cache holds them (refreshing their place in the
/// least-recently-used order), else from disk, caching them and evicting the least recently
/// used variants until they fit. A variant larger than the whole cache is not cached. The
/// initial variant of a device counts as cached (it was loaded from disk once).
///
/// The state is per device: a stamp per variant (`0`: not cached; larger: used more
/// recently), the gigabytes cached, and one clock that orders the stamps.
enum HostRAMCache {
    /// Loads variant `v` through the cache of one device; returns whether it came from host RAM.
    /// - Parameters:
    ///   - stamps: the device's `V` stamps; `cachedGB`: its cached gigabytes;
    ///     `capacityGB`: its host RAM; `memory`: the `V` variants' sizes; `clock`: the stamps' clock.
    @inline(__always)
    static func load(_ v: Int, variants V: Int, memory: UnsafePointer<Double>, capacityGB: Double,
                     stamps: UnsafeMutablePointer<UInt64>, cachedGB: inout Double, clock: inout UInt64) -> Bool {
        if stamps[v] != 0 {
            clock += 1
            stamps[v] = clock
            return true
        }
        insert(v, variants: V, memory: memory, capacityGB: capacityGB, stamps: stamps, cachedGB: &cachedGB, clock: &clock)
        return false
    }

    /// Caches variant `v` on one device (a disk load, or the initial variant), evicting least
    /// recently used variants until it fits; refreshes its stamp when it is cached already.
    static func insert(_ v: Int, variants V: Int, memory: UnsafePointer<Double>, capacityGB: Double,
                       stamps: UnsafeMutablePointer<UInt64>, cachedGB: inout Double, clock: inout UInt64) {
        let size = memory[v]
        clock += 1
        guard size <= capacityGB, stamps[v] == 0 else {
            if stamps[v] != 0 { stamps[v] = clock }
            return
        }
        while cachedGB + size > capacityGB + 1e-9 {
            var lru = -1
            var oldest = UInt64.max
            for w in 0..<V where stamps[w] != 0 && stamps[w] < oldest {
                oldest = stamps[w]
                lru = w
            }
            guard lru >= 0 else { break }
            stamps[lru] = 0
            cachedGB -= memory[lru]
        }
        stamps[v] = clock
        cachedGB += size
    }
}
