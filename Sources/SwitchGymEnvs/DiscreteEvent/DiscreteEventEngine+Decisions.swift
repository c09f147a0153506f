import Foundation
import SwitchGymCore

// Decisions, loads with the host-RAM cache, re-dispatch, and the query rings.

extension DiscreteEventEngine {
    // MARK: - Decisions and loads

    /// Applies `choices` (a variant per device) at `T0`: a device whose (feasible) choice differs from
    /// its variant starts loading it once its running batches end (from host RAM if cached,
    /// else from disk, caching it); its queued queries, and the central queue, are re-dispatched
    /// (``QueuedDispatch/pinned``), or every device's when any device switches
    /// (``QueuedDispatch/rebalanced``).
    mutating func decide(choices: UnsafePointer<Int>, at T0: Double) {
        let D = t.D, V = t.V
        var any = false
        for d in 0..<D {
            let v = choices[d]
            switched[d] = 0
            if !t.canHold[d * V + v] { c.infeasible += 1; continue }
            if v == variant[d] { continue }
            c.switches += 1
            any = true
            switched[d] = 1
            if t.tok.any { abortSequences(d) }
            var drain = T0
            let base = d * t.C
            for k in 0..<nRunning[d] { drain = max(drain, slots[base + k].finish) }
            let seconds: Double
            if HostRAMCache.load(v, variants: V, memory: t.memory, capacityGB: t.hostRAM[d], stamps: cacheStamp + d * V,
                                 cachedGB: &cacheGB[d], clock: &stamp) {
                c.loadsRAM += 1
                seconds = t.tok.any && t.tok.wake[v] >= 0 ? t.tok.wake[v] : t.loadRAM[v]
            } else {
                c.loadsDisk += 1
                seconds = t.loadDisk[v]
            }
            variant[d] = v
            loadEnd[d] = drain + seconds
            wake[d] = loadEnd[d]
            nextEvent[d] = min(min(nextFinish[d], wake[d]), tb.stepEnd[d])
        }
        if any {
            if rebalance { for d in 0..<D { switched[d] = 1 } }
            redispatch(at: T0)
        }
    }

    /// Caches variant `v` in device `d`'s host RAM (``HostRAMCache/insert(_:variants:memory:capacityGB:stamps:cachedGB:clock:)``).
    mutating func insertCache(_ d: Int, _ v: Int) {
        HostRAMCache.insert(v, variants: t.V, memory: t.memory, capacityGB: t.hostRAM[d], stamps: cacheStamp + d * t.V,
                            cachedGB: &cacheGB[d], clock: &stamp)
    }

    /// Whether device `d`'s host cache holds variant `v`.
    func isCached(device d: Int, variant v: Int) -> Bool { cacheStamp[d * t.V + v] != 0 }

    /// Re-dispatches, in arrival order, the queries queued on switched devices and in the
    /// central queue; then restores arrival order in every ring.
    mutating func redispatch(at T0: Double) {
        let D = t.D, S = t.S
        for s in 0..<S { scratchCount[s] = 0; mergeIndex[s] = 0 }
        for d in 0...D where d == D || switched[d] != 0 {
            for s in 0..<S {
                let r = d * S + s
                while ringCount[r] > 0 { scratchPush(s, ringPop(r)) }
            }
            queued[d] = 0
        }
        for s in 0..<S {
            var buffer = UnsafeMutableBufferPointer(start: scratchBuf[s], count: scratchCount[s])
            buffer.sort()
        }
        while true {
            var best = -1
            var bestTime = Double.infinity
            for s in 0..<S where mergeIndex[s] < scratchCount[s] && scratchBuf[s][mergeIndex[s]] < bestTime {
                bestTime = scratchBuf[s][mergeIndex[s]]
                best = s
            }
            if best < 0 { break }
            mergeIndex[best] += 1
            dispatch(stream: best, arrival: bestTime, at: T0)
        }
        for r in 0..<((D + 1) * S) { sortRing(r) }
    }

    // MARK: - Rings

    @inline(__always)
    mutating func ringPop(_ r: Int) -> Double {
        let h = ringHead[r]
        let a = ringBuf[r][h]
        ringHead[r] = (h + 1) & ringMask[r]
        ringCount[r] -= 1
        return a
    }

    @inline(__always)
    mutating func ringPush(_ r: Int, _ a: Double) {
        if ringCount[r] > ringMask[r] { growRing(r) }
        ringBuf[r][(ringHead[r] + ringCount[r]) & ringMask[r]] = a
        ringCount[r] += 1
    }

    /// Doubles ring `r`'s capacity, moving its queries to the start.
    mutating func growRing(_ r: Int) {
        let cap = ringMask[r] + 1, n = ringCount[r], h = ringHead[r]
        let p = UnsafeMutablePointer<Double>.allocate(capacity: cap * 2)
        for k in 0..<n { p[k] = ringBuf[r][(h + k) & ringMask[r]] }
        ringBuf[r].deallocate()
        ringBuf[r] = p
        ringMask[r] = cap * 2 - 1
        ringHead[r] = 0
    }

    /// Sorts ring `r` by arrival time if it is out of order.
    mutating func sortRing(_ r: Int) {
        let n = ringCount[r], h = ringHead[r], m = ringMask[r], b = ringBuf[r]
        var sorted = true
        var k = 1
        while k < n {
            if b[(h + k) & m] < b[(h + k - 1) & m] { sorted = false; break }
            k += 1
        }
        if sorted { return }
        if tempCap < n {
            tempBuf.deallocate()
            tempCap = max(n, tempCap * 2)
            tempBuf = .allocate(capacity: tempCap)
        }
        for k in 0..<n { tempBuf[k] = b[(h + k) & m] }
        var buffer = UnsafeMutableBufferPointer(start: tempBuf, count: n)
        buffer.sort()
        for k in 0..<n { b[k] = tempBuf[k] }
        ringHead[r] = 0
    }

    @inline(__always)
    mutating func scratchPush(_ s: Int, _ a: Double) {
        if scratchCount[s] == scratchCap[s] {
            let cap = scratchCap[s] * 2
            let p = UnsafeMutablePointer<Double>.allocate(capacity: cap)
            p.initialize(from: scratchBuf[s], count: scratchCount[s])
            scratchBuf[s].deallocate()
            scratchBuf[s] = p
            scratchCap[s] = cap
        }
        scratchBuf[s][scratchCount[s]] = a
        scratchCount[s] += 1
    }
}
