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
    ///    midpoint on average: its queries arrive spread evenly over the sub-bin, are served in
    ///    arrival order, and each is due `deadline` after its own arrival
    ///    (``CohortRing/Slots/memberDue(slot:left:)``), which a fixed-cost variant's part is
    ///    charged by (``PartCharges``; an LLM variant's part keeps the cohort's one due time);
    /// 3. the devices' service in the sub-bin (devices still loading serve from the moment
    ///    their load ends) is spent on the queue in the order the discrete-event fidelity
    ///    serves it: earliest deadline first, or first come first served across streams in a
    ///    sub-bin where only LLM variants serve (their engines admit requests in arrival order;
    ///    a fixed-cost variant serving too keeps its deadline-aware order)
    ///    (``ServingModel/serviceRate(interval:variant:stream:)``, the cost hook both modes share).
    ///    With the pinning router a variant's devices form two groups: the tenured ones, which
    ///    hold the backlog pinned to it (``SwitchCarry/tenured``) and alone serve it, and those
    ///    that switched to it since (without pins every device is tenured). A pooled cohort goes
    ///    where the router's shortest wait sends it: without LLM variants, to the groups of
    ///    every variant serving its stream that come free first, alone until the next group
    ///    comes free, then together (``WaterFillSegment``); with LLM variants (whose parts are
    ///    recorded for charging after the sub-bin) from the variants in variant order, within
    ///    each to the group whose devices come free first, then to both (``GroupSegment``).
    ///    Each group of devices works through the sub-bin in time: the queries served while its
    ///    pool goes from `p0` to `p1` start at `t + δ·(1 − p0/n)` to `t + δ·(1 − p1/n)`
    ///    (`n` devices in the group) and finish one batch latency later; the part finishing by the
    ///    deadline is on time, the rest is charged the stream's increments for every whole
    ///    interval late (rounded up), as the discrete-event fidelity charges them (``PartCharges``).
    ///    A fixed-cost variant's batch latency is the batch that sets its SLO throughput. An LLM
    ///    variant's follows its devices' occupancy in the sub-bin: each stream's rate per device
    ///    (its queries served over the pool's device-seconds) gives the running sequences by
    ///    Little's law on the step model, `n = Σ λ_s · L_s(n)` with `L_s(n)` the stream's
    ///    ``ServingModel/latencyBase`` `+` ``ServingModel/latencyPerSequence`` `· n`
    ///    (``LLMStepModel/occupancy(rates:bases:slopes:maxBatch:)``), clamped to `[1, max batch]`;
    ///    the sub-bin's parts are recorded while the queue is served and charged at `L_s(n)`
    ///    afterwards. At saturation `n` is the full batch and `L_s(n)` the full batch's cycle
    ///    (``ServingModel/serviceLatency``); a lightly loaded device answers sooner. `L_s(n)` is
    ///    the latency at the stream's mean lengths; an LLM part's on-time share is taken over
    ///    its requests' output lengths (a request of `o` tokens takes one step plus `o − 1`
    ///    more, ``OutputLengthSpread``), so a cohort whose mean misses the deadline still has its
    ///    short requests on time, as the discrete-event fidelity answers them.
    /// At the interval's end, queued cohorts past their drop window are dropped and the others
    /// past their deadline charged for the intervals late so far.
    ///
    /// Switches cost what the discrete-event fidelity charges for them (``SwitchCarry``): a load
    /// reads from host RAM or disk through the device's cache; a device leaving a fixed-cost
    /// variant loads once the batches it started end (`x1 + latency` of the last part its
    /// variant served); a device leaving an LLM variant restarts its engine: its share of the
    /// queries its variant started in the last interval and still running at its end (start
    /// after `T1 − latency`) goes back to the queue and out of that interval's counts
    /// (``requeueLostWork()``), so their service is wasted.
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
        let invK = 1 / Double(K), loadScale = loadScale
        var arrived = 0.0, served = 0.0, onTime = 0.0, accuracyServed = 0.0
        var lateness = 0.0, dropped = 0.0, dropCost = 0.0, queued = 0.0
        // A pinning router leaves the backlog on the devices that keep their variant; then the
        // work in flight on devices that left an LLM variant goes back to the queues (pooled).
        if m.dispatch == .pinned { pinBacklog() }
        if carry.anyLeaving {
            let lost = requeueLostWork()
            served -= lost.served
            accuracyServed -= lost.accuracy
            onTime -= lost.onTime
            lateness -= lost.lateness
        }

        m.withSubintervalTables { t in
        // The model's tables, read through unchecked pointers (rates and latencies from this
        // interval's row: ``ServingModel/serviceRate(interval:variant:stream:)``).
        let rowOffset = m.rateRow(row)
        let rate = t.rate + rowOffset, lat = t.latency + rowOffset, cum = t.penalty, accuracy = t.accuracy, deadline = t.deadline
        let window = t.dropWindow, dropK = t.dropAfter, counts = t.counts, weight = t.weight, dropPenalty = t.dropPenalty
        queues.withSlots { q in
            cursor.withUnsafeMutableBufferPointer { cur in
            bins.withPointers { pool, subPool, held, binRate, serverList, servers, scratch in
            carry.withServicePointers(model: m) { busyEnd, inFlight, restarts, tenured in
        let occupancy = m.isTokenLevel
        let part = scratch.parts, binServed = scratch.served, binLatency = scratch.latency, binSpread = scratch.spread, binFirst = scratch.first
        let tenure = scratch.tenure, level = scratch.level, pins = m.dispatch == .pinned
        let lineBase = t.latencyBase + rowOffset, lineSlope = t.latencyPerSequence + rowOffset, lineMost = t.latencyMaxBatch + rowOffset
        let stepBase = t.outputStepBase, stepPerSequence = t.outputStepPerSequence
        let outputMean = t.outputMeans + (occupancy ? row &* S : 0)
        for v in 0..<V { busyEnd[v] = 0 }
        for i in 0..<(V &* S &* 4) { inFlight[i] = 0 }
        // Per sub-bin service rates, and per stream the variants held this interval that serve
        // it (variant order; a variant no device holds has no service to give).
        for s in 0..<S {
            var n = 0
            for v in 0..<V {
                let r = rate[v &* S &+ s] * invK
                binRate[v &* S &+ s] = r
                if r > 0 && held[v] > 0 { serverList[s &* V &+ n] = v; n &+= 1 }
            }
            servers[s] = n
        }
        // Sub-bins 0 ..< K, then k == K: the interval's end (drops and lateness only).
        for k in 0...K {
            let tk = k == K ? T1 : T0 + Double(k) * delta
            // Drops: head cohorts past their drop window (queues are in deadline order).
            for s in 0..<S {
                while q.count[s] > 0 {
                    let slot = q.offset[s] &+ q.head[s]
                    let d = q.due[slot]
                    if d + window[s] >= tk { break }
                    let a = q.amount[slot]
                    dropped += a
                    dropCost += a * weight[s] * dropPenalty[s]
                    lateness += a * (cum[s &* M &+ dropK[s]] - cum[s &* M &+ Self.intervalsLate(d, tk: T0, invI: invI, cap: dropK[s])])
                    q.removeFirst(s)
                }
            }
            if k == K { break }
            // The sub-bin's arrivals.
            let arrivals = (row &* K &+ k) &* S
            for s in 0..<S {
                let a = counts[arrivals &+ s] * loadScale
                if a > 0 {
                    q.append(s, due: tk + 0.5 * delta + deadline[s], amount: a, span: delta)
                    arrived += a
                }
            }
            // The sub-bin's service per variant; streams no pool can serve are skipped, and so
            // is the pass when no stream can be served.
            var any = false, fixedCost = false
            for v in 0..<V {
                pool[v] = subPool[v &* K &+ k]
                // Of it, the tenured devices' service (all of it when the queue is pooled).
                tenure[v] = pins ? min(tenured[v], pool[v]) : pool[v]
                let nT = pins ? tenured[v] : held[v]
                level[v] = (pool[v] - tenure[v]) * nT == tenure[v] * (held[v] - nT)
                if pool[v] > 0 { any = true; if !restarts[v] { fixedCost = true } }
            }
            if !any { continue }
            // LLM engines admit requests first come first served; with a fixed-cost variant
            // serving too, its deadline-aware batching (earliest deadline first) sets the order
            // (``CohortRing/Slots/earliest(streams:cursor:lead:)``).
            let order: UnsafePointer<Double>? = fixedCost ? nil : deadline
            var waiting = false
            for s in 0..<S {
                cur[s] = q.count[s]
                guard q.count[s] > 0 else { continue }
                for j in 0..<servers[s] where pool[serverList[s &* V &+ j]] > 0 {
                    cur[s] = 0
                    waiting = true
                    break
                }
            }
            if !waiting { continue }
            // Earliest deadline first across streams, or first come first served when only LLM
            // variants serve (`order`; ties: stream order). With LLM variants
            // (`occupancy`) the parts are recorded and charged once the sub-bin's service is
            // known, at the latency of the occupancy it gives each variant's devices.
            let tEnd = tk + delta
            var parts = 0
            while let (s, bestDue) = q.earliest(streams: S, cursor: cur, lead: order) {
                let slot = q.slot(s, cur[s])
                var left = q.amount[slot]
                // A piece pinned to a variant's devices is served by that variant alone
                // (``FluidServingEnv/pinBacklog()``); -1: by any serving its stream.
                let pin = q.pinned[slot]
                // The penalty already charged at the interval's start, computed once needed.
                var charged = 0.0, hasCharged = false
                let waterFill = pin < 0 && !occupancy && servers[s] > 1
                if waterFill {
                    // A pooled cohort, fixed-cost variants: the router sends each query to the
                    // device with the shortest wait, whatever its variant, so the cohort goes to
                    // the groups of devices (every variant serving the stream, tenured or new to
                    // it) that come free first, alone until the next group comes free, then
                    // together (``WaterFillSegment``); the queries of one segment start over the
                    // same span of the sub-bin on each of its groups.
                    let stream = serverList + s &* V
                    var segments = 0
                    while left > 0 && segments <= 2 &* servers[s] {
                        segments &+= 1
                        let seg = WaterFillSegment.next(variants: stream, count: servers[s], rates: binRate, streams: S, stream: s,
                                                        held: held, tenured: pins ? UnsafePointer(tenured) : UnsafePointer(held),
                                                        pool: pool, tenure: tenure)
                        guard seg.start < 1 else { break }
                        let last = left <= seg.rate * (seg.end - seg.start)
                        let dx = last ? left / seg.rate : seg.end - seg.start
                        let exhausts = !last && seg.end >= 1
                        // The segment's queries: its first and last query's deadlines.
                        let segmentLeft = left, segmentTake = last ? left : seg.rate * dx
                        let due0 = q.memberDue(slot: slot, left: segmentLeft)
                        let due1 = q.memberDue(slot: slot, left: segmentLeft - segmentTake)
                        let share = 1 - seg.start - WaterFillSegment.tolerance
                        for j in 0..<servers[s] {
                            let v = stream[j]
                            let nT = pins ? tenured[v] : held[v], nF = held[v] - nT
                            let pT = tenure[v], pF = pool[v] - pT
                            let inF = WaterFillSegment.isLevel(pool: pF, devices: nF, share: share)
                            let inT = WaterFillSegment.isLevel(pool: pT, devices: nT, share: share)
                            guard inF || inT else { continue }
                            // Each group at the start serves `dx` of the sub-bin on each device.
                            let aF = inF ? (exhausts ? 0 : max(pF - nF * dx, 0)) : pF
                            let aT = inT ? (exhausts ? 0 : max(pT - nT * dx, 0)) : pT
                            let n = (inF ? nF : 0) + (inT ? nT : 0)
                            let before = (inF ? pF : 0) + (inT ? pT : 0), after = (inF ? aF : 0) + (inT ? aT : 0)
                            let take = binRate[v &* S &+ s] * (before - after)
                            pool[v] = aF + aT
                            tenure[v] = aT
                            // (For ``GroupSegment`` on a stream this variant alone serves.)
                            level[v] = inF && inT
                            served += take
                            accuracyServed += accuracy[v] * take
                            PartCharges.chargeFixedCost(take: take, before: before, after: after, held: n, tk: tk, tEnd: tEnd, delta: delta, T1: T1,
                                                        due: bestDue, firstDue: due0, lastDue: due1, deadline: deadline[s], latency: lat[v &* S &+ s],
                                                        T0: T0, invI: invI, penalties: cum + s &* M, cap: dropK[s], busyEnd: &busyEnd[v],
                                                        onTime: &onTime, lateness: &lateness, charged: &charged, hasCharged: &hasCharged)
                        }
                        left = last ? 0 : left - segmentTake
                    }
                }
                for j in 0..<servers[s] where left > 0 && !waterFill {
                    let v = serverList[s &* V &+ j]
                    guard pool[v] > 0 && (pin < 0 || pin == v) else { continue }
                    let r = binRate[v &* S &+ s]
                    // Two groups of `v`'s devices: the tenured ones (``SwitchCarry/tenured``),
                    // which hold the backlog pinned to `v`, and those that switched to it since,
                    // whose queues held nothing then. A pinned piece is served by the tenured
                    // devices alone. A pooled cohort goes where the router would send it, to the
                    // shortest wait: the group whose devices come free first serves it alone
                    // until the other group's devices come free too, then both together (each
                    // group works through the sub-bin in time over its own devices, so at one
                    // position in the sub-bin they serve as one pool). Without pins every
                    // device is tenured.
                    let nT = pins ? tenured[v] : held[v], nF = held[v] - nT
                    var segments = 0
                    while left > 0 && segments < 2 {
                        segments &+= 1
                        let pF = pool[v] - tenure[v], pT = tenure[v]
                        let seg = GroupSegment.next(pooled: pin < 0, newPool: pF, tenuredPool: pT, newDevices: nF, tenuredDevices: nT,
                                                    level: level[v])
                        let group = seg.group, n = seg.devices, before = seg.before, most = seg.most
                        guard before > 0 else { break }
                        let can = most * r
                        let take: Double, after: Double
                        if can <= left { take = can; after = before - most } else { take = left; after = before - left / r }
                        switch group {
                        case 0: pool[v] = pT + after
                        case 1:
                            pool[v] = pool[v] - before + after
                            tenure[v] = after
                        default:
                            pool[v] = after
                            tenure[v] = after * (nT / n)
                        }
                        // One group alone leaves the other behind, unless it served until they met.
                        level[v] = seg.untilLevel ? can <= left : group == 2
                        let leftBefore = left
                        left -= take
                        served += take
                        accuracyServed += accuracy[v] * take
                        if occupancy {
                            // Recorded; its deadlines are derived from the slot when it is charged.
                            let p = part + parts &* PartCharges.recordSize
                            p[0] = Double((s &* V &+ v) &* 3 &+ group); p[1] = Double(slot); p[2] = take
                            p[3] = before; p[4] = after; p[5] = leftBefore
                            parts &+= 1
                            binServed[v &* S &+ s] += take
                            continue
                        }
                        // The deadlines of the part's first and last query: for a fixed-cost variant
                        // each query is due its stream's deadline after its own arrival inside the
                        // cohort's sub-bin; an LLM variant's part keeps the cohort's one due time (its
                        // start times leave out the wait for a running slot, which per-query deadlines
                        // would expose: README, "Each query due after its own arrival").
                        let own = !restarts[v]
                        let due0 = own ? q.memberDue(slot: slot, left: leftBefore) : bestDue
                        let due1 = own ? q.memberDue(slot: slot, left: left) : bestDue
                        // Without LLM variants the part is charged at once (the variant is fixed-cost: an
                        // LLM variant makes the model token-level).
                        PartCharges.chargeFixedCost(take: take, before: before, after: after, held: n, tk: tk, tEnd: tEnd, delta: delta, T1: T1,
                                                    due: bestDue, firstDue: due0, lastDue: due1, deadline: deadline[s], latency: lat[v &* S &+ s],
                                                    T0: T0, invI: invI, penalties: cum + s &* M, cap: dropK[s], busyEnd: &busyEnd[v],
                                                    onTime: &onTime, lateness: &lateness, charged: &charged, hasCharged: &hasCharged)
                    }
                }
                q.amount[slot] = left
                // A pooled cohort left unserved means no pool can serve its stream any more; a
                // pinned one, that its variant's pool is spent: the stream's later cohorts wait
                // unless another of its pools has service left.
                if left > 0 {
                    var open = false
                    if pin >= 0 {
                        for j in 0..<servers[s] where pool[serverList[s &* V &+ j]] > 0 { open = true; break }
                    }
                    cur[s] = open ? cur[s] &+ 1 : q.count[s]
                } else {
                    cur[s] &+= 1
                }
            }
            if occupancy && parts > 0 {
                // Per variant, the occupancy its devices run at (Little's law on the step model,
                // ``LLMStepModel/occupancy(rates:bases:slopes:maxBatch:)``: per device each
                // stream's rate is its service over the pool's device-seconds) and each stream's
                // latency there; the sums are cleared for the next sub-bin.
                // Only the variants and streams served in the sub-bin have parts to charge.
                for v in 0..<V {
                    let vs = v &* S
                    var any = false
                    for s in 0..<S where binServed[vs &+ s] > 0 { any = true }
                    guard any else { continue }
                    let perSecond = 1 / (subPool[v &* K &+ k] * delta)
                    var load = 0.0, slope = 0.0
                    for s in 0..<S {
                        let l = binServed[vs &+ s] * perSecond
                        load += l * lineBase[vs &+ s]
                        slope += l * lineSlope[vs &+ s]
                    }
                    let n = slope < 1 ? load / (1 - slope) : Double.infinity
                    let b0 = stepBase[v], b2 = stepPerSequence[v]
                    for s in 0..<S where binServed[vs &+ s] > 0 {
                        let running = min(max(n, 1), lineMost[vs &+ s])
                        let latency = lineBase[vs &+ s] + lineSlope[vs &+ s] * running
                        let first = OutputLengthSpread.firstStep(perSequence: lineSlope[vs &+ s], running: running, meanOutput: outputMean[s],
                                                                 stepBase: b0, stepPerSequence: b2)
                        binLatency[vs &+ s] = latency
                        binFirst[vs &+ s] = first
                        binSpread[vs &+ s] = OutputLengthSpread.spread(latency: latency, first: first, meanOutput: outputMean[s], stepBase: b0)
                        binServed[vs &+ s] = 0
                    }
                }
                let charge = PartCharges(tk: tk, tEnd: tEnd, delta: delta, T0: T0, T1: T1, invI: invI, S: S, M: M, cum: cum, dropK: dropK,
                                         restarts: restarts, busyEnd: busyEnd, inFlight: inFlight,
                                         spreadTable: t.spreadTable, spreadOffset: t.spreadOffset, spreadTop: t.spreadTop, ttftLead: t.ttftLead, deadline: deadline)
                for i in 0..<parts {
                    let p = part + i &* PartCharges.recordSize
                    // The part as the service loop recorded it: its stream, variant and group of
                    // devices, its cohort's slot and the queries the cohort had left before it.
                    let code = Int(p[0]), group = code % 3, s = code / 3 / V, v = code / 3 % V
                    let slot = Int(p[1]), take = p[2], leftBefore = p[5]
                    let nT = pins ? tenured[v] : held[v], nF = held[v] - nT
                    let n = group == 0 ? nF : group == 1 ? nT : nF + nT
                    let due = q.due[slot], own = !restarts[v]
                    let due0 = own ? q.memberDue(slot: slot, left: leftBefore) : due
                    let due1 = own ? q.memberDue(slot: slot, left: leftBefore - take) : due
                    var charged = 0.0, hasCharged = false
                    charge.part(stream: s, variant: v, due: due, firstDue: due0, lastDue: due1, take: take, before: p[3], after: p[4],
                                latency: binLatency[v &* S &+ s], spread: binSpread[v &* S &+ s], first: binFirst[v &* S &+ s], held: n,
                                onTime: &onTime, lateness: &lateness, charged: &charged, hasCharged: &hasCharged)
                }
            }
            // Served cohorts leave the queues (they are a prefix of each, in deadline order).
            for s in 0..<S {
                while q.count[s] > 0 && q.amount[q.offset[s] &+ q.head[s]] <= 0 { q.removeFirst(s) }
            }
        }
        // End of the interval: lateness of what stays queued past its deadline.
        for s in 0..<S {
            for i in 0..<q.count[s] {
                let slot = q.slot(s, i)
                let d = q.due[slot], a = q.amount[slot]
                if d < T1 { lateness += a * (cum[s &* M &+ Self.intervalsLate(d, tk: T1, invI: invI, cap: dropK[s])] - cum[s &* M &+ Self.intervalsLate(d, tk: T0, invI: invI, cap: dropK[s])]) }
                queued += a
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
        let invI = 1 / model.interval
        let x = Double(time + 1) * model.interval
        queues.forEach(stream: s) { d, a in
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
        }
        return buckets
    }
}

/// The next segment of a pooled cohort's service on every device that serves its stream, as
/// the router's shortest expected wait spreads it over fixed-cost variants
/// (``FluidServingEnv/stepSubintervals(choices:)``). Each variant serving the stream has two
/// groups of devices, the tenured ones and those new to it (``GroupSegment``; without pins all
/// are tenured), each working through the sub-bin in time: a group with `p` of its `n`
/// device-sub-bins left stands at `1 − p/n` of the sub-bin. The groups that stand earliest serve
/// the cohort together from `start` until the next group's point `end` (1 when none is left),
/// at `rate` queries per unit of the sub-bin (`Σ n · r`, `r` a device's queries per sub-bin).
struct WaterFillSegment: Equatable {
    var start: Double, end: Double, rate: Double

    /// Positions this close count as one: groups that served together stay level despite rounding.
    static let tolerance = 1e-9

    /// Whether a group of `devices` with `pool` left serves in a segment whose groups have
    /// `share` (`1 − start − tolerance`) of the sub-bin left: it stands no later than the start
    /// (`1 − pool/devices <= start + tolerance`, without a division).
    @inline(__always)
    static func isLevel(pool: Double, devices: Double, share: Double) -> Bool {
        devices > 0 && pool > 0 && pool >= devices * share
    }

    /// The next segment over the `count` variants `variants` serving stream `s`: `rates[v·S + s]`
    /// per device-sub-bin, `held[v]` devices of which `tenured[v]` tenured, `pool[v]`
    /// device-sub-bins left of which `tenure[v]` the tenured ones'. `start` is infinity when no
    /// group has service left. Positions are compared as fractions `p/n` cross-multiplied: two
    /// divisions per segment.
    @inline(__always)
    static func next(variants: UnsafePointer<Int>, count: Int, rates: UnsafePointer<Double>, streams S: Int, stream s: Int,
                     held: UnsafePointer<Double>, tenured: UnsafePointer<Double>,
                     pool: UnsafePointer<Double>, tenure: UnsafePointer<Double>) -> WaterFillSegment {
        // The most left per device (`p/n` as the pair `p`, `n`): the earliest group.
        var bestP = 0.0, bestN = 1.0
        for j in 0..<count {
            let v = variants[j]
            let nT = tenured[v], nF = held[v] - nT, pT = tenure[v], pF = pool[v] - pT
            if nF > 0 && pF * bestN > bestP * nF { bestP = pF; bestN = nF }
            if nT > 0 && pT * bestN > bestP * nT { bestP = pT; bestN = nT }
        }
        guard bestP > 0 else { return WaterFillSegment(start: .infinity, end: 1, rate: 0) }
        let start = 1 - bestP / bestN, share = 1 - start - tolerance
        // The rate of the groups at the start, and the most left per device of the others.
        var rate = 0.0, nextP = 0.0, nextN = 1.0
        for j in 0..<count {
            let v = variants[j]
            let nT = tenured[v], nF = held[v] - nT, pT = tenure[v], pF = pool[v] - pT
            let r = rates[v &* S &+ s]
            if isLevel(pool: pF, devices: nF, share: share) { rate += nF * r } else if nF > 0 && pF * nextN > nextP * nF { nextP = pF; nextN = nF }
            if isLevel(pool: pT, devices: nT, share: share) { rate += nT * r } else if nT > 0 && pT * nextN > nextP * nT { nextP = pT; nextN = nT }
        }
        return WaterFillSegment(start: start, end: 1 - nextP / nextN, rate: rate)
    }
}

/// The next segment of a cohort's service on one variant under the pinning router
/// (``FluidServingEnv/stepSubintervals(choices:)``): the variant's devices form two groups, the
/// tenured ones (``SwitchCarry/tenured``) and those new to it, each working through the sub-bin
/// in time over its own devices (a group with `p` of its `n` device-sub-bins left stands at
/// `1 − p/n` of the sub-bin). A pinned piece is served by the tenured devices alone. A pooled
/// cohort goes to the group that stands earlier, alone until the other's point (`untilLevel`),
/// then to both as one pool; when the tenured devices have nothing left, to the new ones.
struct GroupSegment: Equatable {
    /// 0: the devices new to the variant alone, 1: the tenured alone, 2: both.
    var group: Int
    /// The group's devices and device-sub-bins left, and the most it serves in this segment.
    var devices: Double, before: Double, most: Double
    /// Alone until the other group's devices come free too.
    var untilLevel: Bool

    /// `level`: the two groups stand at the same point (kept per variant by the step, so that
    /// rounding does not split a joint segment).
    @inline(__always)
    static func next(pooled: Bool, newPool pF: Double, tenuredPool pT: Double, newDevices nF: Double, tenuredDevices nT: Double,
                     level: Bool) -> GroupSegment {
        guard pooled && pF > 0 && nF > 0 else { return GroupSegment(group: 1, devices: nT, before: pT, most: pT, untilLevel: false) }
        if pT <= 0 { return GroupSegment(group: 0, devices: nF, before: pF, most: pF, untilLevel: false) }
        // Sub-bins left per device, scaled: positive when the new devices come free first.
        let lead = level ? 0 : pF * nT - pT * nF
        if lead > 0 { return GroupSegment(group: 0, devices: nF, before: pF, most: lead / nT, untilLevel: true) }
        if lead < 0 { return GroupSegment(group: 1, devices: nT, before: pT, most: -lead / nF, untilLevel: true) }
        return GroupSegment(group: 2, devices: nF + nT, before: pF + pT, most: pF + pT, untilLevel: false)
    }
}

/// What the sub-interval step charges one part of a sub-bin's service: the queries `take` of
/// stream `s` (due at `due` on average) that variant `v`'s pool serves while it goes from
/// `before` to `after` device-sub-bins (``FluidServingEnv/stepSubintervals(choices:)``), started
/// between `x0 = tk + δ·(1 − before/n)` and `x1 = tk + δ·(1 − after/n)` (`n` devices hold `v`)
/// and finishing `latency` later. A cohort's queries are served in the order they arrived; for
/// a fixed-cost variant each is due its stream's deadline after its own arrival: the part's
/// first query is due `firstDue`, its last `lastDue` (``CohortRing/Slots/memberDue(slot:left:)``),
/// and start and deadline move linearly in between, so the slack of the part's queries
/// (deadline − latency − start) is linear along it, from `g0` to `g1`. A query cannot start
/// before it arrives, so none is on time whose batch alone outlasts the deadline (work a switch
/// sent back arrived long before: `firstDue == lastDue`). An LLM variant's part keeps the
/// cohort's one due time (`firstDue == lastDue == due`). The part finishing by its deadline is
/// on time, the rest is charged its whole intervals late at its mean start and deadline; parts
/// that may still run at the interval's end are recorded first (a fixed-cost variant's
/// `busyEnd`, an LLM variant's `inFlight`, ``SwitchCarry``).
struct PartCharges {
    /// Doubles per part the step records for charging after its sub-bin: its stream, variant
    /// and group of devices (`(s·V + v)·3 + g`; `g` 0 the devices new to the variant, 1 the
    /// tenured, 2 both), its cohort's slot, its queries, the group's pool before and after, and
    /// the queries the cohort had left before it (its deadlines follow from the slot).
    static let recordSize = 6

    let tk: Double, tEnd: Double, delta: Double, T0: Double, T1: Double, invI: Double
    let S: Int, M: Int
    let cum: UnsafePointer<Double>, dropK: UnsafePointer<Int>, restarts: UnsafePointer<Bool>
    let busyEnd: UnsafeMutablePointer<Double>, inFlight: UnsafeMutablePointer<Double>
    /// ``OutputLengthSpread``'s tables (``ServingModel/outputSpread``).
    let spreadTable: UnsafePointer<Double>, spreadOffset: UnsafePointer<Int>, spreadTop: UnsafePointer<Double>
    /// Per stream, how long before its deadline its first token is due (``ServingModel/ttftLead``),
    /// and its deadline in seconds.
    let ttftLead: UnsafePointer<Double>, deadline: UnsafePointer<Double>

    /// The latest start on time of a part's query due at `due` (deadline − latency `L`), or
    /// `-infinity` when no query of the part can be on time: a cohort's batch that alone outlasts
    /// its stream's deadline `D` (a query starts no earlier than it arrives). Work a switch sent
    /// back (`firstDue == lastDue`) arrived long before and has no such bound. (Two calls rather
    /// than one returning a pair: a tuple's type metadata is allocated on first use in debug
    /// builds, which the no-allocation checks would count.)
    @inline(__always)
    static func limit(_ due: Double, firstDue due0: Double, lastDue due1: Double, latency L: Double, deadline D: Double) -> Double {
        due1 == due0 || L <= D ? due - L : -Double.infinity
    }

    /// The share of a part whose slack goes linearly from `g0` to `g1` that is not negative.
    @inline(__always)
    static func onTimeShare(_ g0: Double, _ g1: Double) -> Double {
        if g0 >= 0 && g1 >= 0 { return 1 }
        if g0 >= 0 { return g0 / (g0 - g1) }
        if g1 >= 0 { return g1 / (g1 - g0) }
        return 0
    }

    /// Where along a part (0 its first query, 1 its last) the middle of its late share lies,
    /// its slack going from `g0` to `g1` (`share` of it on time, ``onTimeShare(_:_:)``): the
    /// late queries' mean start and deadline are the part's there.
    @inline(__always)
    static func lateMiddle(g0: Double, share: Double) -> Double {
        if share <= 0 { return 0.5 }
        // Late at the end (slack falling) or at the start (slack rising).
        return g0 >= 0 ? 1 - 0.5 * (1 - share) : 0.5 * (1 - share)
    }

    /// Charges one part to `onTime` and `lateness`; `charged` caches the cohort's penalty at the
    /// interval's start (computed once needed, `hasCharged`). `spread` is, for an LLM variant,
    /// `1 / (A·ō)`: `A` the seconds one more output token takes at the sub-bin's occupancy and
    /// `ō` the interval's mean output of the stream; the part's on-time share is then taken over
    /// its requests' output lengths (``OutputLengthSpread``), `first` its time to the first
    /// token. 0 charges the part at its latency `L` alone (fixed-cost variants).
    @inline(__always)
    func part(stream s: Int, variant v: Int, due bestDue: Double, firstDue due0: Double, lastDue due1: Double,
              take: Double, before: Double, after: Double, latency L: Double, spread c: Double, first B: Double, held n: Double,
              onTime: inout Double, lateness: inout Double, charged: inout Double, hasCharged: inout Bool) {
        if c > 0 {
            // An LLM variant's part: its queries share the cohort's due time.
            lengthsPart(stream: s, variant: v, due: bestDue, take: take, before: before, after: after, latency: L, spread: c,
                        first: B, held: n, onTime: &onTime, lateness: &lateness, charged: &charged, hasCharged: &hasCharged)
            return
        }
        if tEnd + L > T1 {
            let x1 = tk + delta * (1 - after / n)
            if !restarts[v] {
                // A fixed-cost variant's devices are busy until this part's last batch ends.
                busyEnd[v] = max(busyEnd[v], x1 + L)
            } else if x1 > T1 - L {
                // An LLM variant: the part started after `T1 − L` is still running at `T1`.
                let x0 = tk + delta * (1 - before / n)
                let limit0 = Self.limit(due0, firstDue: due0, lastDue: due1, latency: L, deadline: deadline[s])
                let limit1 = Self.limit(due1, firstDue: due0, lastDue: due1, latency: L, deadline: deadline[s])
                let g0 = limit0 - x0, g1 = limit1 - x1
                let share = Self.onTimeShare(g0, g1)
                onTime += take * share
                // Lateness per late query charged for finishing after the interval's end.
                var beyond = 0.0
                if share < 1 {
                    let u = Self.lateMiddle(g0: g0, share: share)
                    let finish = x0 + u * (x1 - x0) + L, lateDue = due0 + u * (due1 - due0)
                    if !hasCharged {
                        charged = cum[s &* M &+ FluidServingEnv.intervalsLate(bestDue, tk: T0, invI: invI, cap: dropK[s])]
                        hasCharged = true
                    }
                    let owed = cum[s &* M &+ FluidServingEnv.intervalsLate(lateDue, tk: finish, invI: invI, cap: dropK[s])]
                    lateness += take * (1 - share) * (owed - charged)
                    beyond = owed - cum[s &* M &+ FluidServingEnv.intervalsLate(lateDue, tk: T1, invI: invI, cap: dropK[s])]
                }
                let from = max(x0, T1 - L), span = x1 - x0
                let u = (from - x0) / span
                let running = take * (x1 - from) / span
                let runningOnTime = running * Self.onTimeShare(g0 + u * (g1 - g0), g1)
                let i = (v &* S &+ s) &* 4
                inFlight[i] += running
                inFlight[i &+ 1] += running * bestDue
                inFlight[i &+ 2] += runningOnTime
                inFlight[i &+ 3] += (running - runningOnTime) * beyond
                return
            }
        }
        Self.chargeStarts(take: take, before: before, after: after, held: n, tk: tk, tEnd: tEnd, delta: delta,
                          due: bestDue, firstDue: due0, lastDue: due1, deadline: deadline[s], latency: L, T0: T0, invI: invI,
                          penalties: cum + s &* M,
                          cap: dropK[s], onTime: &onTime, lateness: &lateness, charged: &charged, hasCharged: &hasCharged)
    }

    /// An LLM variant's part, on time over its requests' output lengths: a request started at
    /// `x` with `o` output tokens finishes by its deadline when `o / ō <= z(x) = 1 + (limit − x)·c`
    /// (`limit = due − L`, `L` the latency at the mean lengths), so the part's share is the mean
    /// of the lengths' CDF over its starts (``OutputLengthSpread/share(high:low:table:top:)``).
    /// With a first-token deadline (``ServingModel/ttftLead``) a request is on time only if it
    /// also starts by `xt = due − lead − B` (`B` its first step; none when `xt` is before the
    /// cohort's arrival, `due − deadline`: its first token takes at least `B`); one finishing in time whose
    /// first token came late is charged one interval's increment, as the discrete-event fidelity
    /// charges it. The late rest is charged whole intervals late at its mean finish, at least
    /// one; what started after `T1 − L` is still running at the interval's end
    /// (``SwitchCarry/inFlight``), with the share of it on time likewise.
    @inline(__always)
    func lengthsPart(stream s: Int, variant v: Int, due bestDue: Double, take: Double, before: Double, after: Double,
                     latency L: Double, spread c: Double, first B: Double, held n: Double, onTime: inout Double, lateness: inout Double,
                     charged: inout Double, hasCharged: inout Bool) {
        let limit = bestDue - L
        let x0 = tk + delta * (1 - before / n), x1 = tk + delta * (1 - after / n)
        let table = spreadTable + spreadOffset[s], top = spreadTop[s]
        // In time end to end, and of those with their first token in time too.
        let share = OutputLengthSpread.share(high: 1 + (limit - x0) * c, low: 1 + (limit - x1) * c, table: table, top: top)
        // The latest start whose first token is in time; a request cannot start before it
        // arrives (the cohort's nominal arrival, `due − deadline`), so when even a start then
        // misses, none of the part is.
        let latestFirst = bestDue - ttftLead[s] - B
        let xt = latestFirst >= bestDue - deadline[s] ? latestFirst : -Double.infinity
        var both = share, firstIncrement = 0.0
        if xt < x1 {
            firstIncrement = cum[s &* M &+ min(1, dropK[s])] - cum[s &* M]
            both = xt > x0
                ? OutputLengthSpread.share(high: 1 + (limit - x0) * c, low: 1 + (limit - xt) * c, table: table, top: top) * ((xt - x0) / (x1 - x0))
                : 0
            lateness += take * max(0, share - both) * firstIncrement
        }
        onTime += take * both
        var beyond = 0.0
        if share < 1 {
            let finish = max(0.5 * (x0 + x1) + L, bestDue)
            let late = max(FluidServingEnv.intervalsLate(bestDue, tk: finish, invI: invI, cap: dropK[s]), min(1, dropK[s]))
            if !hasCharged {
                charged = cum[s &* M &+ FluidServingEnv.intervalsLate(bestDue, tk: T0, invI: invI, cap: dropK[s])]
                hasCharged = true
            }
            let owed = cum[s &* M &+ late]
            lateness += take * (1 - share) * (owed - charged)
            beyond = owed - cum[s &* M &+ FluidServingEnv.intervalsLate(bestDue, tk: T1, invI: invI, cap: dropK[s])]
        }
        guard x1 > T1 - L else { return }
        // Started after `T1 − L`: still running at `T1`.
        let from = max(x0, T1 - L)
        let running = take * (x1 - from) / (x1 - x0)
        let runningInTime = running * OutputLengthSpread.share(high: 1 + (limit - from) * c, low: 1 + (limit - x1) * c,
                                                               table: table, top: top)
        var runningOnTime = runningInTime
        if xt < x1 {
            runningOnTime = xt > from
                ? running * (OutputLengthSpread.share(high: 1 + (limit - from) * c, low: 1 + (limit - xt) * c, table: table, top: top)
                    * ((xt - from) / (x1 - from)))
                : 0
        }
        let i = (v &* S &+ s) &* 4
        inFlight[i] += running
        inFlight[i &+ 1] += running * bestDue
        inFlight[i &+ 2] += runningOnTime
        inFlight[i &+ 3] += (running - runningInTime) * beyond + max(0, runningInTime - runningOnTime) * firstIncrement
    }

    /// Charges a fixed-cost variant's part at once, as ``part(stream:variant:due:firstDue:lastDue:take:before:after:latency:spread:first:held:onTime:lateness:charged:hasCharged:)``
    /// does, in the fused pass of the scenarios without LLM variants (their hot loop; 27% slower
    /// through ``part(stream:variant:due:firstDue:lastDue:take:before:after:latency:spread:first:held:onTime:lateness:charged:hasCharged:)``):
    /// the variant's devices are busy until the part's last batch ends (`busyEnd`, when that is
    /// after the interval's end `T1`), and ``chargeStarts(take:before:after:held:tk:tEnd:delta:due:firstDue:lastDue:deadline:latency:T0:invI:penalties:cap:onTime:lateness:charged:hasCharged:)``
    /// charges its on-time share and lateness.
    @inline(__always)
    static func chargeFixedCost(take: Double, before: Double, after: Double, held n: Double, tk: Double, tEnd: Double, delta: Double,
                                T1: Double, due bestDue: Double, firstDue due0: Double, lastDue due1: Double, deadline D: Double,
                                latency L: Double, T0: Double, invI: Double, penalties: UnsafePointer<Double>, cap: Int,
                                busyEnd: inout Double, onTime: inout Double, lateness: inout Double,
                                charged: inout Double, hasCharged: inout Bool) {
        if tEnd + L > T1 {
            let x1 = tk + delta * (1 - after / n)
            busyEnd = max(busyEnd, x1 + L)
        }
        chargeStarts(take: take, before: before, after: after, held: n, tk: tk, tEnd: tEnd, delta: delta, due: bestDue,
                     firstDue: due0, lastDue: due1, deadline: D, latency: L, T0: T0, invI: invI, penalties: penalties, cap: cap,
                     onTime: &onTime, lateness: &lateness, charged: &charged, hasCharged: &hasCharged)
    }

    /// The on-time share of a part served from `before` to `after` device-sub-bins (`n`
    /// devices), its first and last query due at `firstDue` and `lastDue` (the latest start on
    /// time of each, ``limit(_:firstDue:lastDue:latency:deadline:)``), and the lateness of the rest
    /// (`penalties`: the stream's cumulative penalty by whole intervals late, capped at `cap`).
    /// The fixed-cost scenarios' fused pass calls it directly.
    @inline(__always)
    static func chargeStarts(take: Double, before: Double, after: Double, held n: Double, tk: Double, tEnd: Double, delta: Double,
                             due bestDue: Double, firstDue due0: Double, lastDue due1: Double, deadline D: Double,
                             latency L: Double, T0: Double, invI: Double,
                             penalties: UnsafePointer<Double>, cap: Int, onTime: inout Double, lateness: inout Double,
                             charged: inout Double, hasCharged: inout Bool) {
        let limit0 = limit(due0, firstDue: due0, lastDue: due1, latency: L, deadline: D)
        let limit1 = limit(due1, firstDue: due0, lastDue: due1, latency: L, deadline: D)
        // Every start is at most `tEnd` (rounding is monotonic), and a part's deadlines do not
        // fall along it (`limit0 <= limit1`): when its last start meets the first deadline, it
        // is all on time.
        if after >= 0 && tEnd <= limit0 { onTime += take; return }
        let x1 = tk + delta * (1 - after / n)
        if x1 <= limit0 { onTime += take; return }
        let x0 = tk + delta * (1 - before / n)
        let g0 = limit0 - x0, g1 = limit1 - x1
        let share = onTimeShare(g0, g1)
        onTime += take * share
        if share < 1 {
            let u = lateMiddle(g0: g0, share: share)
            let finish = x0 + u * (x1 - x0) + L, lateDue = due0 + u * (due1 - due0)
            if !hasCharged {
                charged = penalties[FluidServingEnv.intervalsLate(bestDue, tk: T0, invI: invI, cap: cap)]
                hasCharged = true
            }
            lateness += take * (1 - share) * (penalties[FluidServingEnv.intervalsLate(lateDue, tk: finish, invI: invI, cap: cap)] - charged)
        }
    }
}

extension SwitchCarry {
    /// Runs `body` with unchecked access to ``busyEnd``, ``inFlight``, the model's
    /// ``ServingModel/restartsOnSwitch`` and ``tenured``, which the sub-interval step records
    /// and reads.
    @inline(__always)
    mutating func withServicePointers<R>(
        model m: ServingModel,
        _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafePointer<Bool>, UnsafePointer<Double>) -> R
    ) -> R {
        busyEnd.withUnsafeMutableBufferPointer { busy in
            inFlight.withUnsafeMutableBufferPointer { f in
                tenured.withUnsafeBufferPointer { ten in
                    m.restartsOnSwitch.withUnsafeBufferPointer { r in body(busy.baseAddress!, f.baseAddress!, r.baseAddress!, ten.baseAddress!) }
                }
            }
        }
    }
}

/// Scratch of the sub-interval step: device-sub-bins of service per variant and sub-bin
/// (`subPool[v * K + k]`), devices holding each variant, per device the part of the interval
/// its load takes, the pools left in the current sub-bin, the service rates per sub-bin
/// (`binRate[v * S + s]`), and per stream the variants that can serve it
/// (`serverList[s * V + j]`, `j < servers[s]`, in variant order). Empty with interval queueing.
///
/// With LLM variants (``ServingModel/isTokenLevel``), the sub-bin's parts of service recorded
/// for charging once the sub-bin is served (``PartCharges/recordSize`` doubles each; at most
/// two per queued cohort and three per variant),
/// per variant and stream the queries served in the sub-bin (`binServed[v * S + s]`) and the
/// latency at the occupancy they give (`binLatency[v * S + s]`).
struct SubBinScratch: Sendable {
    var subPool: [Double], heldCount: [Double], loadFraction: [Double], pool: [Double]
    /// Per variant and sub-bin, the devices whose load ends in that sub-bin (and so takes every
    /// sub-bin before it): ``FluidServingEnv/applyDecisions(choices:subBins:into:)`` sums them
    /// from the last sub-bin down, one pass per variant rather than one per loading device.
    var loadEnds: [Int]
    /// Per variant, the devices holding it (``heldCount``, counted in integers: the count is a
    /// chain of dependent additions per variant, one per device).
    var holders: [Int]
    /// Of `pool[v]`, what the devices of ``SwitchCarry/tenured`` have left in the current
    /// sub-bin (the only service a piece pinned to `v` may take).
    var tenurePool: [Double]
    /// Per variant, whether its two groups of devices are at the same point of the sub-bin
    /// (a pooled cohort is then served by both as one pool).
    var tenureLevel: [Bool]
    var binRate: [Double], serverList: [Int], servers: [Int]
    var parts: [Double], binServed: [Double], binLatency: [Double], binSpread: [Double], binFirst: [Double]
    /// With ``QueuedDispatch/pinned``: per variant the devices that held it before the
    /// decision and, of them, those that switch away (``FluidServingEnv/applyDecisions(choices:subBins:into:)``),
    /// and the scratch of ``FluidServingEnv/pinBacklog()`` (a stream's slots, six doubles each,
    /// and per variant a piece's queries and arrivals).
    var heldBefore: [Int], leavingAll: [Int], repinRows: [Double], repinSums: [Double]
    /// ``FluidServingEnv/spreadBacklog(_:streams:variants:rates:devices:shares:placed:order:)``'s
    /// shares per stream and variant, queries placed per variant, and orders of streams and variants.
    var repinShares: [Double], repinPlaced: [Double], repinOrder: [Int]

    init(model m: ServingModel) {
        let sub = m.queueing == .subinterval
        let V = sub ? m.variantCount : 0, S = sub ? m.streamCount : 0
        subPool = [Double](repeating: 0, count: V * m.subBins)
        loadEnds = [Int](repeating: 0, count: V * m.subBins)
        holders = [Int](repeating: 0, count: V)
        heldCount = [Double](repeating: 0, count: V)
        loadFraction = [Double](repeating: 0, count: sub ? m.deviceCount : 0)
        pool = [Double](repeating: 0, count: V)
        tenurePool = [Double](repeating: 0, count: V)
        tenureLevel = [Bool](repeating: true, count: V)
        binRate = [Double](repeating: 0, count: V * S)
        serverList = [Int](repeating: 0, count: V * S)
        servers = [Int](repeating: 0, count: S)
        let occupancy = sub && m.isTokenLevel
        parts = [Double](repeating: 0, count: occupancy ? PartCharges.recordSize * (2 * m.queueCapacity.reduce(0, +) + 3 * V) : 1)
        // Two buffers (not one array assigned twice: the first step would copy the shared one).
        binServed = [Double](repeating: 0, count: occupancy ? V * S : 1)
        binLatency = [Double](repeating: 0, count: occupancy ? V * S : 1)
        binSpread = [Double](repeating: 0, count: occupancy ? V * S : 1)
        binFirst = [Double](repeating: 0, count: occupancy ? V * S : 1)
        let pins = sub && m.dispatch == .pinned
        // Never empty: ``FluidServingEnv/applyDecisions(choices:subBins:into:)`` takes their base
        // addresses in both queueing modes.
        heldBefore = [Int](repeating: 0, count: max(1, m.variantCount))
        leavingAll = [Int](repeating: 0, count: max(1, m.variantCount))
        repinRows = [Double](repeating: 0, count: pins ? max(1, 6 * (m.queueCapacity.max() ?? 0)) : 1)
        repinSums = [Double](repeating: 0, count: pins ? max(1, 2 * V) : 1)
        repinShares = [Double](repeating: 0, count: pins ? max(1, V * S) : 1)
        repinPlaced = [Double](repeating: 0, count: pins ? max(1, V) : 1)
        repinOrder = [Int](repeating: 0, count: pins ? max(1, S + V) : 1)
    }

    /// Runs `body` with unchecked access to the pools left in the sub-bin, the pools per
    /// variant and sub-bin, the devices holding each variant, the rates per sub-bin, the
    /// variants serving each stream, and the occupancy scratch (parts, service and latency per
    /// variant and stream).
    @inline(__always)
    mutating func withPointers<R>(
        _ body: (UnsafeMutablePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>,
                 UnsafeMutablePointer<Double>, UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>,
                 (parts: UnsafeMutablePointer<Double>, served: UnsafeMutablePointer<Double>, latency: UnsafeMutablePointer<Double>,
                  spread: UnsafeMutablePointer<Double>, first: UnsafeMutablePointer<Double>, tenure: UnsafeMutablePointer<Double>,
                  level: UnsafeMutablePointer<Bool>)) -> R
    ) -> R {
        pool.withUnsafeMutableBufferPointer { pool in
            subPool.withUnsafeBufferPointer { subPool in
                heldCount.withUnsafeBufferPointer { held in
                    binRate.withUnsafeMutableBufferPointer { rate in
                        serverList.withUnsafeMutableBufferPointer { list in
                            servers.withUnsafeMutableBufferPointer { n in
                                parts.withUnsafeMutableBufferPointer { parts in
                                    binServed.withUnsafeMutableBufferPointer { served in
                                        binLatency.withUnsafeMutableBufferPointer { latency in
                                            binSpread.withUnsafeMutableBufferPointer { spread in
                                                binFirst.withUnsafeMutableBufferPointer { first in
                                                  tenurePool.withUnsafeMutableBufferPointer { tenure in
                                                    tenureLevel.withUnsafeMutableBufferPointer { level in
                                                      body(pool.baseAddress!, subPool.baseAddress!, held.baseAddress!,
                                                           rate.baseAddress!, list.baseAddress!, n.baseAddress!,
                                                           (parts.baseAddress!, served.baseAddress!, latency.baseAddress!, spread.baseAddress!,
                                                            first.baseAddress!, tenure.baseAddress!, level.baseAddress!))
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
                }
            }
        }
    }
}

/// Unchecked read-only pointers to the model tables the sub-interval step reads (valid inside
/// ``ServingModel/withSubintervalTables(_:)``): no bounds checks and no reference counting
/// in the step.
struct SubintervalTables {
    let rate: UnsafePointer<Double>, latency: UnsafePointer<Double>, penalty: UnsafePointer<Double>
    let accuracy: UnsafePointer<Double>, deadline: UnsafePointer<Double>, dropWindow: UnsafePointer<Double>
    let dropAfter: UnsafePointer<Int>, counts: UnsafePointer<Double>, weight: UnsafePointer<Double>
    let dropPenalty: UnsafePointer<Double>
    let latencyBase: UnsafePointer<Double>, latencyPerSequence: UnsafePointer<Double>, latencyMaxBatch: UnsafePointer<Double>
    let outputStepBase: UnsafePointer<Double>, outputStepPerSequence: UnsafePointer<Double>, outputMeans: UnsafePointer<Double>
    let spreadTable: UnsafePointer<Double>, spreadOffset: UnsafePointer<Int>, spreadTop: UnsafePointer<Double>
    let ttftLead: UnsafePointer<Double>
}

extension ServingModel {
    /// Runs `body` with pointers to the sub-interval step's tables (``serviceRates``,
    /// ``serviceLatency``, ``penaltyCumulative``, ``accuracy``, ``deadlineSeconds``,
    /// ``dropWindowSeconds``, ``dropAfter``, ``subCounts``, ``weight``, ``dropPenalty``,
    /// ``latencyBase``, ``latencyPerSequence``, ``latencyMaxBatch``).
    @inline(__always)
    func withSubintervalTables<R>(_ body: (SubintervalTables) -> R) -> R {
        serviceRates.withUnsafeBufferPointer { rate in
            serviceLatency.withUnsafeBufferPointer { lat in
                penaltyCumulative.withUnsafeBufferPointer { cum in
                    accuracy.withUnsafeBufferPointer { acc in
                        deadlineSeconds.withUnsafeBufferPointer { dl in
                            dropWindowSeconds.withUnsafeBufferPointer { win in
                                dropAfter.withUnsafeBufferPointer { dk in
                                    subCounts.withUnsafeBufferPointer { counts in
                                        weight.withUnsafeBufferPointer { w in
                                            dropPenalty.withUnsafeBufferPointer { dp in
                                                latencyBase.withUnsafeBufferPointer { lb in
                                                    latencyPerSequence.withUnsafeBufferPointer { ls in
                                                        latencyMaxBatch.withUnsafeBufferPointer { lm in
                                                            withSpreadTables { ob, op, om, st, so, sm, tl in
                                                            body(SubintervalTables(
                                                                rate: rate.baseAddress!, latency: lat.baseAddress!, penalty: cum.baseAddress!,
                                                                accuracy: acc.baseAddress!, deadline: dl.baseAddress!, dropWindow: win.baseAddress!,
                                                                dropAfter: dk.baseAddress!, counts: counts.baseAddress!, weight: w.baseAddress!,
                                                                dropPenalty: dp.baseAddress!, latencyBase: lb.baseAddress!,
                                                                latencyPerSequence: ls.baseAddress!, latencyMaxBatch: lm.baseAddress!,
                                                                outputStepBase: ob, outputStepPerSequence: op, outputMeans: om,
                                                                spreadTable: st, spreadOffset: so, spreadTop: sm, ttftLead: tl))
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
                    }
                }
            }
        }
    }

    /// Runs `body` with pointers to the tables of the on-time share over output lengths
    /// (``outputStepBase``, ``outputStepPerSequence``, ``outputMeans``, and ``outputSpread``'s
    /// table, offsets and tops, and ``ttftLead``).
    @inline(__always)
    private func withSpreadTables<R>(
        _ body: (UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>,
                 UnsafePointer<Double>, UnsafePointer<Int>, UnsafePointer<Double>, UnsafePointer<Double>) -> R
    ) -> R {
        outputStepBase.withUnsafeBufferPointer { ob in
            outputStepPerSequence.withUnsafeBufferPointer { op in
                outputMeans.withUnsafeBufferPointer { om in
                    outputSpread.table.withUnsafeBufferPointer { st in
                        outputSpread.offset.withUnsafeBufferPointer { so in
                            outputSpread.top.withUnsafeBufferPointer { sm in
                                ttftLead.withUnsafeBufferPointer { tl in
                                    body(ob.baseAddress!, op.baseAddress!, om.baseAddress!, st.baseAddress!, so.baseAddress!, sm.baseAddress!,
                                         tl.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
