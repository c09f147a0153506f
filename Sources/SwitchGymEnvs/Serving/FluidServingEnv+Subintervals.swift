import SwitchGymCore

// The fluid step with queueing inside the interval (``FluidQueueing/subinterval``).

extension FluidServingEnv {
    /// Simulates one interval with ``FluidQueueing/subinterval`` queueing.
    ///
    /// The interval is split into `K` sub-bins (``ServingModel/subBins``). In each sub-bin:
    /// 1. queued cohorts more than their drop window past their deadline are dropped (the
    ///    discrete-event fidelity drops them when a batch would start);
    /// 2. the sub-bin's arrivals of each stream (the trace's own profile inside the interval)
    ///    join the stream's queue as one cohort due `deadline` seconds after the sub-bin's
    ///    midpoint;
    /// 3. the devices' service in the sub-bin (devices still loading serve from the moment
    ///    their load ends) is spent on the queue earliest deadline first, as the discrete-event
    ///    fidelity serves it, each cohort from the variants' pools in variant order
    ///    (``ServingModel/serviceRate(variant:stream:)``, the cost hook both modes share).
    ///    Each variant's devices work through the sub-bin in time: the queries served while a
    ///    variant's pool goes from `p0` to `p1` start at `t + δ·(1 − p0/n)` to `t + δ·(1 − p1/n)`
    ///    (`n` devices hold it) and finish one batch latency later (the batch that sets the SLO
    ///    throughput); the part finishing by the deadline is on time, the rest is charged the
    ///    stream's increments for every whole interval late (rounded up), as the discrete-event
    ///    fidelity charges them.
    /// At the interval's end, queued cohorts past their drop window are dropped and the others
    /// past their deadline charged for the intervals late so far.
    /// - Complexity: O(devices + K × (variants × streams + queued cohorts × variants)); no allocation.
    mutating func stepSubintervals(choices: UnsafePointer<Int>) -> Transition {
        let m = model
        let V = m.variantCount, S = m.streamCount, K = m.subBins, M = m.maxLate + 1
        var info = ServingStepInfo()
        info.interval = time
        applyDecisions(choices: choices, subBins: true, into: &info)
        let I = m.interval, delta = I / Double(K), invI = 1 / I
        let T0 = Double(time) * I, T1 = T0 + I
        let row = start + time
        // Model tables, hoisted (one retain each; reads only).
        let rate = m.capacity, lat = m.serviceLatency, cum = m.penaltyCumulative, accuracy = m.accuracy
        let deadline = m.deadlineSeconds, window = m.dropWindowSeconds, dropK = m.dropAfter
        let counts = m.subCounts, cap = m.subRingCapacity, off = m.subRingOffset
        let weight = m.weight, dropPenalty = m.dropPenalty
        let invK = 1 / Double(K), loadScale = loadScale
        var arrived = 0.0, served = 0.0, onTime = 0.0, accuracyServed = 0.0
        var lateness = 0.0, dropped = 0.0, dropCost = 0.0, queued = 0.0

        subDue.withUnsafeMutableBufferPointer { due in
            subAmount.withUnsafeMutableBufferPointer { amount in
                subHead.withUnsafeMutableBufferPointer { head in
                    subCount.withUnsafeMutableBufferPointer { count in
                        cursor.withUnsafeMutableBufferPointer { cur in
                            binPool.withUnsafeMutableBufferPointer { pool in
                                subPool.withUnsafeBufferPointer { subPool in
                                    heldCount.withUnsafeBufferPointer { held in
        // Sub-bins 0 ..< K, then k == K: the interval's end (drops and lateness only).
        for k in 0...K {
            let tk = k == K ? T1 : T0 + Double(k) * delta
            // Drops: head cohorts past their drop window (queues are in deadline order).
            for s in 0..<S {
                while count[s] > 0 {
                    let slot = off[s] + head[s]
                    let d = due[slot]
                    if d + window[s] >= tk { break }
                    let a = amount[slot]
                    dropped += a
                    dropCost += a * weight[s] * dropPenalty[s]
                    lateness += a * (cum[s * M + dropK[s]] - cum[s * M + Self.intervalsLate(d, tk: T0, invI: invI, cap: dropK[s])])
                    head[s] = head[s] + 1 == cap[s] ? 0 : head[s] + 1
                    count[s] -= 1
                }
            }
            if k == K { break }
            // The sub-bin's arrivals.
            let arrivals = (row * K + k) * S
            for s in 0..<S {
                let a = counts[arrivals + s] * loadScale
                if a > 0 {
                    precondition(count[s] < cap[s], "FluidServingEnv: a sub-interval queue overflowed")
                    var slot = head[s] + count[s]
                    if slot >= cap[s] { slot -= cap[s] }
                    due[off[s] + slot] = tk + 0.5 * delta + deadline[s]
                    amount[off[s] + slot] = a
                    count[s] += 1
                    arrived += a
                }
            }
            // The sub-bin's service per variant; streams no pool can serve are skipped.
            var any = false
            for v in 0..<V {
                pool[v] = subPool[v * K + k]
                if pool[v] > 0 { any = true }
            }
            if !any { continue }
            for s in 0..<S {
                cur[s] = count[s]
                for v in 0..<V where pool[v] > 0 && rate[v * S + s] > 0 { cur[s] = 0; break }
            }
            // Earliest deadline first across streams (ties: stream order).
            while true {
                var best = -1, bestDue = Double.infinity
                for s in 0..<S where cur[s] < count[s] {
                    var i = head[s] + cur[s]
                    if i >= cap[s] { i -= cap[s] }
                    let d = due[off[s] + i]
                    if d < bestDue { best = s; bestDue = d }
                }
                if best < 0 { break }
                let s = best
                var i = head[s] + cur[s]
                if i >= cap[s] { i -= cap[s] }
                let slot = off[s] + i
                var left = amount[slot]
                let charged = cum[s * M + Self.intervalsLate(bestDue, tk: T0, invI: invI, cap: dropK[s])]
                for v in 0..<V where pool[v] > 0 && left > 0 {
                    let r = rate[v * S + s] * invK
                    guard r > 0 else { continue }
                    let before = pool[v]
                    let can = before * r
                    let take: Double, after: Double
                    if can <= left { take = can; after = 0 } else { take = left; after = before - left / r }
                    pool[v] = after
                    left -= take
                    served += take
                    accuracyServed += accuracy[v] * take
                    // Start times of this part, and the latest start that finishes on time.
                    let n = held[v]
                    let x0 = tk + delta * (1 - before / n), x1 = tk + delta * (1 - after / n)
                    let limit = bestDue - lat[v * S + s]
                    let share = x1 <= limit ? 1 : x0 >= limit ? 0 : (limit - x0) / (x1 - x0)
                    onTime += take * share
                    if share < 1 {
                        let finish = 0.5 * (max(x0, limit) + x1) + lat[v * S + s]
                        lateness += take * (1 - share) * (cum[s * M + Self.intervalsLate(bestDue, tk: finish, invI: invI, cap: dropK[s])] - charged)
                    }
                }
                amount[slot] = left
                // A cohort left unserved means no pool can serve its stream any more.
                cur[s] = left > 0 ? count[s] : cur[s] + 1
            }
            // Served cohorts leave the queues (they are a prefix of each, in deadline order).
            for s in 0..<S {
                while count[s] > 0 && amount[off[s] + head[s]] <= 0 {
                    head[s] = head[s] + 1 == cap[s] ? 0 : head[s] + 1
                    count[s] -= 1
                }
            }
        }
        // End of the interval: lateness of what stays queued past its deadline.
        for s in 0..<S {
            var i = head[s]
            for _ in 0..<count[s] {
                let slot = off[s] + i
                let d = due[slot], a = amount[slot]
                if d < T1 { lateness += a * (cum[s * M + Self.intervalsLate(d, tk: T1, invI: invI, cap: dropK[s])] - cum[s * M + Self.intervalsLate(d, tk: T0, invI: invI, cap: dropK[s])]) }
                queued += a
                i = i + 1 == cap[s] ? 0 : i + 1
            }
        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        info.arrived = arrived
        info.served = served
        info.servedOnTime = onTime
        info.accuracyServed = accuracyServed
        info.latenessPenalty = lateness
        info.dropped = dropped
        info.dropPenalty = dropCost
        info.queued = queued
        return finish(&info)
    }

    /// Whole intervals (rounded up, `invI` = 1 / interval) a query due at `due` is late at
    /// `tk`, capped at `cap` (its stream's drop-after); 0 when not late.
    @inline(__always)
    static func intervalsLate(_ due: Double, tk: Double, invI: Double, cap: Int) -> Int {
        guard tk > due else { return 0 }
        let y = (tk - due) * invI
        var k = Int(y)
        if Double(k) < y { k += 1 }
        return min(k, cap)
    }

    /// Stream `s`'s queued queries by lateness at the end of the next interval (sub-interval
    /// queueing; ``FamilyObservationLayout/backlogBucket(lateness:)``).
    @inline(__always)
    func subintervalBacklog(stream s: Int) -> (Double, Double, Double, Double) {
        var buckets = (0.0, 0.0, 0.0, 0.0)
        let m = model
        let cap = m.subRingCapacity[s], off = m.subRingOffset[s], invI = 1 / m.interval
        let x = Double(time + 1) * m.interval
        var i = subHead[s]
        for _ in 0..<subCount[s] {
            let slot = off + i
            let a = subAmount[slot], d = subDue[slot]
            var late = 0
            if x > d {
                let y = (x - d) * invI
                late = Int(y)
                if Double(late) < y { late += 1 }
            }
            switch FamilyObservationLayout.backlogBucket(lateness: late) {
            case 0: buckets.0 += a
            case 1: buckets.1 += a
            case 2: buckets.2 += a
            default: buckets.3 += a
            }
            i = i + 1 == cap ? 0 : i + 1
        }
        return buckets
    }
}
