import SwitchGymCore

// The router of sub-interval queueing: where queued queries wait when devices switch
// (``ServingModel/dispatch``, the discrete-event fidelity's ``QueuedDispatch``).

extension FluidServingEnv {
    /// With ``QueuedDispatch/pinned``, at a decision that switches devices, pins each stream's
    /// backlog to the devices that keep their variant, as the discrete-event router leaves it:
    /// a query waits on the device it was sent to on arrival, and only a switching device's
    /// queue goes back to dispatch.
    ///
    /// The fluid queue does not know which device a query was sent to, so the backlog is spread
    /// as that router spreads it: it sends each query to the device with the shortest expected
    /// wait (the queries queued there times the query's service time on the device's variant),
    /// which fills the devices' waits level. Per stream, fewest serving variants first (so a
    /// stream only some variants answer is placed before the others come to those devices), the
    /// stream's pooled backlog `B_s` is water-filled over the variants `u` that answer it: each of
    /// `u`'s `n_u` devices (before the decision) starts at the wait `W0_u = P_u / (n_u·r_us)`
    /// (`P_u` the queries already placed on `u`, pinned pieces included; `r_us` a device's rate in
    /// the interval) and takes `n_u·r_us·(W − W0_u)` up to the common level `W`; its share is
    /// `x_us = n_u·r_us·max(0, W − W0_u) / B_s`. (Splitting by rates alone, `n_u·r_us / Σ n·r`,
    /// ignores the other streams' work already on a device; on reactive's decisions it left
    /// llm-zoo at −22.8 / −48.2% (loads 1, 1.5) and llm-code at −6.2% (1.5) where this gives
    /// −19.6 / −39.5% and −3.4%: README, "The fluid step pins the backlog".) A pooled cohort of
    /// the stream then splits into one piece per variant `u`, `x_us·(1 − l_u/n_u)` of it pinned
    /// to `u` (only `u`'s devices serve it, ``CohortRing/pinned``; `l_u` of the devices switch
    /// away), and the switching devices' `Σ_u x_us·l_u/n_u`, which stays pooled (re-dispatched:
    /// any variant serving the stream takes it). A piece already pinned to `v` keeps the share
    /// `(n_v − l_v) / n_v` and the rest becomes pooled. A piece is a thinned copy of its cohort:
    /// the same deadlines and arrival spread, its queries and arrivals scaled by its share, so
    /// each of its queries is due as in the cohort (``CohortRing/Slots/memberDue(slot:left:)``).
    /// The pieces of one cohort are merged per target (at most one pooled and one per variant
    /// serving the stream, which bounds the ring, ``ServingModel/queueCapacity``), pinned ones
    /// first in variant order, so a cohort's pinned pieces are served before its pooled one.
    /// New arrivals join pooled; with no device switching nothing moves. Until the next decision
    /// that switches devices, only the devices that kept a variant (``SwitchCarry/tenured``)
    /// serve the pieces pinned to it: a device switching to the variant had an empty queue, so
    /// the router sends it the queries that arrive after, and those it serves alongside the
    /// tenured devices as they come free (``stepSubintervals(choices:)``).
    /// - Complexity: O(queued cohorts + variants² × streams + streams²); no allocation.
    mutating func pinBacklog() {
        let m = model
        let V = m.variantCount, S = m.streamCount
        let row = m.rateRow(start + time)
        var anyGone = false
        for v in 0..<V where bins.leavingAll[v] > 0 { anyGone = true }
        guard anyGone else { return }
        m.serviceRates.withUnsafeBufferPointer { allRates in
            let rates = allRates.baseAddress! + row
            bins.withPinScratch { before, gone, rows, sums, shares, placed, order in
                queues.withSlots { q in
                    Self.spreadBacklog(q, streams: S, variants: V, rates: rates, devices: before,
                                       shares: shares, placed: placed, order: order)
                    for s in 0..<S where q.count[s] > 0 {
                        let share = shares + s &* V
                        let n = q.count[s]
                        // Nothing moves in a queue without pooled cohorts whose pins all keep their devices.
                        var moves = false
                        for i in 0..<n {
                            let p = q.pinned[q.slot(s, i)]
                            if p < 0 || gone[p] > 0 { moves = true; break }
                        }
                        guard moves else { continue }
                        // The variants a pooled cohort leaves pieces on, and each piece's part
                        // (`placed` and `order` are free once the shares are known).
                        let targets = order, part = placed
                        var nt = 0
                        for u in 0..<V where share[u] > 0 && before[u] > gone[u] {
                            targets[nt] = u
                            part[nt] = share[u] * (1 - Double(gone[u]) / Double(before[u]))
                            nt &+= 1
                        }
                        // The stream's slots, oldest first: due, queries, last due, spread, arrivals, pin.
                        for i in 0..<n {
                            let slot = q.slot(s, i), r = rows + 6 &* i
                            r[0] = q.due[slot]; r[1] = q.amount[slot]; r[2] = q.lastDue[slot]
                            r[3] = q.span[slot]; r[4] = q.total[slot]; r[5] = Double(q.pinned[slot])
                        }
                        q.head[s] = 0
                        q.count[s] = 0
                        // The switching devices' part of a pooled cohort.
                        var leaving = 0.0, placedShare = 0.0
                        for u in 0..<V where share[u] > 0 {
                            leaving += share[u] * (Double(gone[u]) / Double(before[u]))
                            placedShare += share[u]
                        }
                        var i = 0
                        while i < n {
                            let due = rows[6 &* i], last = rows[6 &* i &+ 2], spread = rows[6 &* i &+ 3]
                            var pooled = 0.0, pooledTotal = 0.0
                            var j = i
                            // The pieces of one cohort are adjacent and share its deadlines and spread.
                            while j < n && rows[6 &* j] == due && rows[6 &* j &+ 2] == last && rows[6 &* j &+ 3] == spread {
                                let r = rows + 6 &* j
                                let a = r[1], t = r[4], p = Int(r[5])
                                if p < 0 {
                                    if placedShare > 0 {
                                        for k in 0..<nt {
                                            let u = targets[k], f = part[k]
                                            sums[2 &* u] += a * f
                                            sums[2 &* u &+ 1] += t * f
                                        }
                                        pooled += a * leaving
                                        pooledTotal += t * leaving
                                    } else {
                                        pooled += a
                                        pooledTotal += t
                                    }
                                } else {
                                    let keep = before[p] > 0 ? Double(before[p] - gone[p]) / Double(before[p]) : 0
                                    sums[2 &* p] += a * keep
                                    sums[2 &* p &+ 1] += t * keep
                                    pooled += a * (1 - keep)
                                    pooledTotal += t * (1 - keep)
                                }
                                j &+= 1
                            }
                            for u in 0..<V where sums[2 &* u &+ 1] > 0 {
                                if sums[2 &* u] > 0 {
                                    q.appendPiece(s, due: due, amount: sums[2 &* u], lastDue: last, span: spread,
                                                  total: sums[2 &* u &+ 1], pinned: u)
                                }
                                sums[2 &* u] = 0
                                sums[2 &* u &+ 1] = 0
                            }
                            if pooled > 0 {
                                q.appendPiece(s, due: due, amount: pooled, lastDue: last, span: spread, total: pooledTotal, pinned: -1)
                            }
                            i = j
                        }
                    }
                }
            }
        }
    }

    /// Where the router would have sent each stream's pooled backlog (``pinBacklog()``):
    /// `shares[s * V + u]`, the part of stream `s`'s pooled queries on variant `u`'s devices
    /// (all zero for a stream with none queued or no device to take it), water-filled over the
    /// devices' expected waits, streams with the fewest serving variants first. `placed` and
    /// `order` are scratch (`V` and `S + V` entries).
    static func spreadBacklog(_ q: CohortRing.Slots, streams S: Int, variants V: Int, rates: UnsafePointer<Double>,
                              devices n: UnsafePointer<Int>, shares: UnsafeMutablePointer<Double>,
                              placed: UnsafeMutablePointer<Double>, order: UnsafeMutablePointer<Int>) {
        // The queries already pinned to each variant.
        for u in 0..<V { placed[u] = 0 }
        for s in 0..<S {
            for i in 0..<q.count[s] {
                let slot = q.slot(s, i), p = q.pinned[slot]
                if p >= 0 { placed[p] += q.amount[slot] }
            }
        }
        for i in 0..<(S &* V) { shares[i] = 0 }
        // Streams by how many variants (with devices) answer them, fewest first; ties in stream order.
        let streams = order, byWait = order + S
        for s in 0..<S { streams[s] = s }
        func servers(_ s: Int) -> Int {
            var c = 0
            for u in 0..<V where n[u] > 0 && rates[u &* S &+ s] > 0 { c &+= 1 }
            return c
        }
        for a in 0..<S {
            var best = a
            for b in (a &+ 1)..<max(a &+ 1, S) where servers(streams[b]) < servers(streams[best]) { best = b }
            if best != a { let x = streams[a]; streams[a] = streams[best]; streams[best] = x }
        }
        for k in 0..<S {
            let s = streams[k]
            var backlog = 0.0
            for i in 0..<q.count[s] {
                let slot = q.slot(s, i)
                if q.pinned[slot] < 0 { backlog += q.amount[slot] }
            }
            guard backlog > 0 else { continue }
            // The variants answering the stream, by the wait their devices start at.
            var m = 0
            for u in 0..<V where n[u] > 0 && rates[u &* S &+ s] > 0 {
                let w = placed[u] / (Double(n[u]) * rates[u &* S &+ s])
                var j = m
                while j > 0 && placed[byWait[j &- 1]] / (Double(n[byWait[j &- 1]]) * rates[byWait[j &- 1] &* S &+ s]) > w {
                    byWait[j] = byWait[j &- 1]
                    j &-= 1
                }
                byWait[j] = u
                m &+= 1
            }
            guard m > 0 else { continue }
            // The level: the first `c` variants take the backlog up to `level`, below the next one's start.
            var capacity = 0.0, filled = 0.0, level = 0.0, c = 0
            while c < m {
                let u = byWait[c], k = Double(n[u]) * rates[u &* S &+ s]
                capacity += k
                filled += placed[u]
                c &+= 1
                level = (backlog + filled) / capacity
                if c == m { break }
                let next = byWait[c]
                if level <= placed[next] / (Double(n[next]) * rates[next &* S &+ s]) { break }
            }
            let share = shares + s &* V
            for j in 0..<c {
                let u = byWait[j], k = Double(n[u]) * rates[u &* S &+ s]
                let x = max(0, k * level - placed[u])
                share[u] = x / backlog
                placed[u] += x
            }
        }
    }
}

extension CohortRing.Slots {
    /// Appends a piece of a cohort to stream `s`'s queue with every field given
    /// (``FluidServingEnv/pinBacklog()``).
    /// - Precondition: the ring has a free slot.
    @inline(__always)
    func appendPiece(_ s: Int, due d: Double, amount a: Double, lastDue last: Double, span w: Double, total t: Double, pinned p: Int) {
        precondition(count[s] < capacity[s], "FluidServingEnv: a queue of cohorts overflowed")
        let i = slot(s, count[s])
        due[i] = d
        amount[i] = a
        lastDue[i] = last
        span[i] = w
        total[i] = t
        pinned[i] = p
        count[s] &+= 1
    }
}

extension SubBinScratch {
    /// Runs `body` with the devices per variant before the decision and those leaving it, and
    /// ``FluidServingEnv/pinBacklog()``'s scratch.
    @inline(__always)
    mutating func withPinScratch<R>(_ body: (UnsafePointer<Int>, UnsafePointer<Int>, UnsafeMutablePointer<Double>,
                                             UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>,
                                             UnsafeMutablePointer<Int>) -> R) -> R {
        heldBefore.withUnsafeBufferPointer { b in
            leavingAll.withUnsafeBufferPointer { g in
                repinRows.withUnsafeMutableBufferPointer { rows in
                    repinSums.withUnsafeMutableBufferPointer { sums in
                        repinShares.withUnsafeMutableBufferPointer { shares in
                            repinPlaced.withUnsafeMutableBufferPointer { placed in
                                repinOrder.withUnsafeMutableBufferPointer { order in
                                    body(b.baseAddress!, g.baseAddress!, rows.baseAddress!, sums.baseAddress!, shares.baseAddress!,
                                         placed.baseAddress!, order.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
