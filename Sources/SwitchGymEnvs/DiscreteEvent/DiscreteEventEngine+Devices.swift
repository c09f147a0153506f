import Foundation
import SwitchGymCore

// Dispatch, per-device time stepping, deadline-aware batching with interference, the end-of-interval scan.

extension DiscreteEventEngine {
    // MARK: - Dispatch

    /// Sends a query of stream `s` (arrived at `a`) at time `x` to the device with the shortest
    /// expected wait among those whose variant (held or loading) can answer it: queued queries
    /// over the variant's throughput for `s`, plus the rest of a load, or of the running batch
    /// when every slot is busy; ties go to the lowest device index. No such device: the
    /// stream's central queue.
    @inline(__always)
    mutating func dispatch(stream s: Int, arrival a: Double, at x: Double) {
        let D = t.D, S = t.S
        var best = -1
        var bestWait = Double.infinity
        for d in 0..<D {
            let im = t.invMu[variant[d] * S + s]
            if im == .infinity { continue }
            var w = Double(queued[d]) * im
            if loadEnd[d] > x {
                w += loadEnd[d] - x
            } else if nRunning[d] >= t.concurrency[d] {
                w += nextFinish[d] - x
            }
            if w < bestWait { bestWait = w; best = d }
        }
        if best < 0 {
            ringPush(D * S + s, a)
            queued[D] += 1
            return
        }
        ringPush(best * S + s, a)
        queued[best] += 1
        if t.tok.any && t.tok.isLLM[variant[best]] {
            if x >= loadEnd[best] {
                devClock[best] = x
                if tb.stepEnd[best] == .infinity { planStep(best, at: x) } else { cutStep(best, at: x) }
                nextEvent[best] = min(min(nextFinish[best], wake[best]), tb.stepEnd[best])
            }
        } else if nRunning[best] < t.concurrency[best] && x >= loadEnd[best] {
            devClock[best] = x
            startBatches(best, at: x)
            nextEvent[best] = min(nextFinish[best], wake[best])
        }
    }

    // MARK: - Devices

    /// Processes device `d`'s events (batch ends, load end) up to time `x`, starting batches
    /// whenever a slot frees up.
    mutating func advance(_ d: Int, to x: Double) {
        while nextEvent[d] <= x {
            let e = nextEvent[d]
            assert(e >= devClock[d], "DiscreteEventEngine: device \(d)'s clock went back from \(devClock[d]) to \(e)")
            devClock[d] = e
            if nextFinish[d] <= e { completeBatches(d, at: e) }
            if tb.stepEnd[d] <= e { finishStep(d, at: e) }
            if wake[d] <= e { wake[d] = .infinity }
            if e >= loadEnd[d] {
                if t.tok.any && t.tok.isLLM[variant[d]] {
                    if tb.stepEnd[d] == .infinity { planStep(d, at: e) }
                } else {
                    startBatches(d, at: e)
                }
            }
            nextEvent[d] = min(min(nextFinish[d], wake[d]), tb.stepEnd[d])
        }
    }

    /// Counts the batches of device `d` that end by `e` and frees their slots.
    mutating func completeBatches(_ d: Int, at e: Double) {
        let base = d * t.C
        var k = 0
        var next = Double.infinity
        while k < nRunning[d] {
            let b = slots[base + k]
            if b.finish <= e {
                c.served += b.n
                c.onTime += b.onTime
                c.inDue += b.inDue
                c.accuracy += Double(b.n) * b.accuracy
                c.lateness += b.penalty
                if recordBatches { record(b, device: d) }
                nRunning[d] -= 1
                slots[base + k] = slots[base + nRunning[d]]
            } else {
                next = min(next, b.finish)
                k += 1
            }
        }
        nextFinish[d] = next
    }

    mutating func record(_ b: RunningBatch, device d: Int) {
        batchLog.append(BatchObservation(
            startTime: b.start, device: d, variant: b.variant, batchSize: b.n, colocatedBatches: b.colocN,
            colocatedQueries: b.colocQ, colocatedLoad: b.colocLoad, ewmaColocatedBatches: b.ewmaN,
            ewmaColocatedLoad: b.ewmaLoad, baseLatencyMs: b.base * 1000, observedLatencyMs: b.observed * 1000,
            theta: b.theta))
    }

    /// Starts batches on device `d` at `x` while it has a free slot and queued queries.
    @inline(__always)
    mutating func startBatches(_ d: Int, at x: Double) {
        let cap = t.concurrency[d]
        while nRunning[d] < cap && queued[d] > 0 {
            purge(d, at: x)
            if queued[d] == 0 { break }
            startBatch(d, at: x)
        }
    }

    /// Drops the queries of device `d` (heads of its rings; `d == D` is the central queue)
    /// that waited more than their stream's drop window past their deadline.
    @inline(__always)
    mutating func purge(_ d: Int, at x: Double) {
        let S = t.S
        for s in 0..<S {
            let r = d * S + s
            while ringCount[r] > 0 {
                let a = ringBuf[r][ringHead[r]], due = a + t.deadline[s]
                if due + t.dropWindow[s] >= x { break }
                _ = ringPop(r)
                queued[d] -= 1
                drop(stream: s, arrival: a, due: due)
            }
        }
    }

    /// Drops a query of stream `s` that arrived at `arrival` and is due at `due`: the rest of
    /// its lateness increments and the drop penalty.
    @inline(__always)
    mutating func drop(stream s: Int, arrival: Double, due: Double) {
        if recordBatches { dropLog.append(DroppedRequestObservation(arrival: arrival, stream: s)) }
        let row = t.penCum + s * (t.K + 1)
        c.lateness += row[t.dropK[s]] - row[intervalsLate(stream: s, due: due, at: scanTime)]
        c.dropPenalty += t.dropPen[s]
        c.dropped += 1
    }

    /// Whole intervals (rounded up) a query due at `due` is late at `x`, capped at its stream's
    /// drop-after; 0 when not late.
    @inline(__always)
    mutating func intervalsLate(stream s: Int, due: Double, at x: Double) -> Int {
        guard x > due else { return 0 }
        let y = (x - due) * t.invInterval
        var k = Int(y)
        if Double(k) < y { k += 1 }
        return min(k, t.dropK[s])
    }

    /// Forms and starts one batch on device `d` at `x` (deadline-aware dynamic batching).
    ///
    /// Rule: the queries are taken earliest deadline first across the device's streams; the
    /// batch size is the largest profiled size whose profiled latency still lets the earliest-
    /// deadline query meet its deadline; when none can (that query is already late or about to
    /// be), the largest profiled size, to drain the backlog at the highest throughput. The
    /// batch takes `min(size, queued)` queries and runs for the (interpolated) latency of that
    /// many, inflated by co-location interference (which the batcher does not foresee).
    @inline(__always)
    mutating func startBatch(_ d: Int, at x: Double) {
        let S = t.S
        let v = variant[d]
        let r0 = d * S
        var earliest = Double.infinity
        for s in 0..<S where ringCount[r0 + s] > 0 {
            earliest = min(earliest, ringBuf[r0 + s][ringHead[r0 + s]] + t.deadline[s])
        }
        let slack = earliest - x
        var size = t.maxBatch[v]
        var i = t.profCount[v] - 1
        while i >= 0 {
            if t.profLatency[v * t.P + i] <= slack { size = t.profSize[v * t.P + i]; break }
            i -= 1
        }
        let n = min(size, queued[d])
        let base = t.latency[v * (t.B + 1) + n]
        let slotBase = d * t.C
        let colocN = nRunning[d]
        var colocQ = 0
        for k in 0..<colocN { colocQ += slots[slotBase + k].n }
        var observed = base
        var theta = 0.0
        let colocLoad = Double(colocQ) / Double(t.maxBatch[v])
        if colocN > 0 || recordBatches {
            theta = interference.theta(at: Double(start) * t.interval + x)
            observed *= 1 + theta * colocLoad
        }
        if interference.noise > 0 {
            let u1 = 1 - noiseRNG.nextUnit(), u2 = noiseRNG.nextUnit()
            let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            let sigma = interference.noise
            observed *= exp(sigma * z - sigma * sigma / 2)
        }
        let a = ewmaAlpha
        ewmaN[d] = a * Double(colocN) + (1 - a) * ewmaN[d]
        ewmaLoad[d] = a * colocLoad + (1 - a) * ewmaLoad[d]
        let f = x + observed
        var onTime = 0, inDue = 0
        var penalty = 0.0
        if S == 1 {
            let r = r0
            for _ in 0..<n {
                let q = ringPop(r)
                let due = q + t.deadline[0]
                recordLatency(f - q)
                if f <= max(due, dueIntervalEnd(stream: 0, arrival: q)) { inDue += 1 }
                if f <= due { onTime += 1 } else { penalty += latePenalty(stream: 0, due: due, finish: f) }
            }
        } else {
            for _ in 0..<n {
                var bs = -1
                var bestDue = Double.infinity
                for s in 0..<S where ringCount[r0 + s] > 0 {
                    let due = ringBuf[r0 + s][ringHead[r0 + s]] + t.deadline[s]
                    if due < bestDue { bestDue = due; bs = s }
                }
                let q = ringPop(r0 + bs)
                recordLatency(f - q)
                if f <= max(bestDue, dueIntervalEnd(stream: bs, arrival: q)) { inDue += 1 }
                if f <= bestDue { onTime += 1 } else { penalty += latePenalty(stream: bs, due: bestDue, finish: f) }
            }
        }
        queued[d] -= n
        slots[slotBase + colocN] = RunningBatch(
            finish: f, start: x, accuracy: t.accuracy[v], penalty: penalty, base: base, observed: observed,
            theta: theta, colocLoad: colocLoad, ewmaN: ewmaN[d], ewmaLoad: ewmaLoad[d],
            n: n, onTime: onTime, inDue: inDue, colocN: colocN, colocQ: colocQ, variant: v)
        nRunning[d] = colocN + 1
        nextFinish[d] = min(nextFinish[d], f)
        c.batches += 1
        c.batchQueries += n
    }

    /// The end of the interval a query arriving at `a` is due in the fluid model's terms
    /// (its arrival interval plus its deadline in whole intervals).
    @inline(__always)
    mutating func dueIntervalEnd(stream s: Int, arrival a: Double) -> Double {
        Double(Int(a * t.invInterval) + t.dueIntervals[s] + 1) * t.interval
    }

    @inline(__always)
    mutating func recordLatency(_ x: Double) {
        let b = LatencyHistogram.bin(seconds: x)
        hist[b] += 1
        if b < histLo { histLo = b }
        if b > histHi { histHi = b }
    }

    /// The lateness penalty still owed by a query due at `due` answered at `f`: the stream's
    /// increments for every whole interval late at `f`, minus those charged at the last scan.
    @inline(__always)
    mutating func latePenalty(stream s: Int, due: Double, finish f: Double) -> Double {
        let row = t.penCum + s * (t.K + 1)
        return row[intervalsLate(stream: s, due: due, at: f)] - row[intervalsLate(stream: s, due: due, at: scanTime)]
    }

    // MARK: - End of interval

    /// At the end of an interval: drops queued queries past their drop window, charges the
    /// lateness increments of late queued queries, and bins the backlog by lateness.
    mutating func scan(at x: Double) {
        let D = t.D, S = t.S
        for i in 0..<(4 * S) { backlog[i] = 0 }
        for d in 0...D {
            purge(d, at: x)
            for s in 0..<S {
                let r = d * S + s
                let n = ringCount[r], h = ringHead[r], m = ringMask[r], b = ringBuf[r]
                let row = t.penCum + s * (t.K + 1)
                for k in 0..<n {
                    let due = b[(h + k) & m] + t.deadline[s]
                    if due >= x { backlog[4 * s] += Double(n - k); break }
                    let late = intervalsLate(stream: s, due: due, at: x)
                    c.lateness += row[late] - row[intervalsLate(stream: s, due: due, at: scanTime)]
                    backlog[4 * s + FamilyObservationLayout.backlogBucket(lateness: late)] += 1
                }
            }
        }
        if t.tok.any { scanTokens(at: x) }
        scanTime = x
    }
}
