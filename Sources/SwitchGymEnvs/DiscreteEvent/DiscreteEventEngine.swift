import Foundation
import SwitchGymCore

// MARK: - Counters

/// Integer and real counts of one interval (or of an episode).
struct DiscreteEventCounters {
    var arrived = 0, served = 0, onTime = 0, inDue = 0, dropped = 0
    var switches = 0, infeasible = 0, batches = 0, batchQueries = 0, loadsRAM = 0, loadsDisk = 0
    var accuracy = 0.0, lateness = 0.0, dropPenalty = 0.0, cost = 0.0

    mutating func add(_ o: DiscreteEventCounters) {
        arrived += o.arrived; served += o.served; onTime += o.onTime; inDue += o.inDue; dropped += o.dropped
        switches += o.switches; infeasible += o.infeasible; batches += o.batches; batchQueries += o.batchQueries
        loadsRAM += o.loadsRAM; loadsDisk += o.loadsDisk
        accuracy += o.accuracy; lateness += o.lateness; dropPenalty += o.dropPenalty; cost += o.cost
    }
}

/// A batch running on a device; its outcome is fixed when it starts and counted when it ends.
struct RunningBatch {
    var finish = 0.0, start = 0.0
    var accuracy = 0.0, penalty = 0.0
    var base = 0.0, observed = 0.0, theta = 0.0, colocLoad = 0.0, ewmaN = 0.0, ewmaLoad = 0.0
    var n = 0, onTime = 0, inDue = 0, colocN = 0, colocQ = 0, variant = 0
}

// MARK: - Engine

/// The event loop of the discrete-event fidelity: per-query arrivals, join-shortest-expected-
/// wait dispatch, deadline-aware dynamic batching, loads with a host-RAM cache, co-location
/// interference, lateness and drops.
///
/// Time is in seconds since the episode start; interval `k` is `[k·I, (k+1)·I)`. Devices only
/// interact through dispatch (at arrivals) and re-dispatch (at decisions), so between two
/// arrivals each device is advanced on its own (per-device time stepping: completions, load
/// ends and batch starts in time order); the global clock (arrivals, interval ends) and every
/// device's clock only move forward.
///
/// All state lives in manually allocated buffers (fixed-size ones in one arena, growable
/// query rings separately) so the loop neither allocates nor pays for reference counting or
/// copy-on-write; ``clone()`` deep-copies and ``free()`` releases them (the owning
/// `DiscreteEventStorage` class calls it in `deinit`).
struct DiscreteEventEngine {
    let t: DiscreteEventModel.Tables
    let interference: InterferenceModel
    let ewmaAlpha: Double
    let recordBatches: Bool

    // Clock and episode.
    var now = 0.0
    var scanTime = 0.0
    var time = 0
    var start = 0
    var arrivalRNG = FastRandom(seed: 0)
    var noiseRNG = FastRandom(seed: 1)
    var stamp: UInt64 = 1

    /// The fixed-size buffers, in one allocation of `arenaWords` 8-byte words.
    private var arena: UnsafeMutableRawPointer
    private let arenaWords: Int
    // Devices [D] (queued: [D + 1], the last the central queue).
    var variant: UnsafeMutablePointer<Int>
    var loadEnd: UnsafeMutablePointer<Double>, wake: UnsafeMutablePointer<Double>
    var nextEvent: UnsafeMutablePointer<Double>, nextFinish: UnsafeMutablePointer<Double>
    var devClock: UnsafeMutablePointer<Double>
    var nRunning: UnsafeMutablePointer<Int>, queued: UnsafeMutablePointer<Int>
    var switched: UnsafeMutablePointer<Int>
    var ewmaN: UnsafeMutablePointer<Double>, ewmaLoad: UnsafeMutablePointer<Double>
    var cacheStamp: UnsafeMutablePointer<UInt64>, cacheGB: UnsafeMutablePointer<Double>
    // Rings of arrival times per (device or central queue, stream): [(D + 1) × S].
    var ringBuf: UnsafeMutablePointer<UnsafeMutablePointer<Double>>
    var ringMask: UnsafeMutablePointer<Int>, ringHead: UnsafeMutablePointer<Int>, ringCount: UnsafeMutablePointer<Int>
    // Re-dispatch scratch per stream.
    var scratchBuf: UnsafeMutablePointer<UnsafeMutablePointer<Double>>
    var scratchCap: UnsafeMutablePointer<Int>, scratchCount: UnsafeMutablePointer<Int>, mergeIndex: UnsafeMutablePointer<Int>
    // Observation: realized arrivals prefix [(L + 1) × S], backlog by lateness [S × 4].
    var prefix: UnsafeMutablePointer<Double>, backlog: UnsafeMutablePointer<Double>
    // Latency histograms (interval, episode).
    var hist: UnsafeMutablePointer<Int>, histTotal: UnsafeMutablePointer<Int>
    /// Running batches [D × C].
    var slots: UnsafeMutablePointer<RunningBatch>
    /// The interval's arrivals, sorted by time.
    var arrTime: UnsafeMutablePointer<Double>, arrStream: UnsafeMutablePointer<Int32>
    var arrCap = 0, arrCount = 0
    var tempBuf: UnsafeMutablePointer<Double>, tempCap = 0

    /// The bins of ``hist`` in use this interval (`histLo > histHi` when empty).
    var histLo = LatencyHistogram.bins, histHi = -1
    var c = DiscreteEventCounters()
    var total = DiscreteEventCounters()
    var batchLog: [BatchObservation] = []

    init(model m: DiscreteEventModel) {
        t = m.t
        interference = m.config.interference
        ewmaAlpha = m.config.ewmaAlpha
        recordBatches = m.config.recordBatches
        let D = t.D, S = t.S, V = t.V, R = (D + 1) * S, L = t.episodeLength
        arenaWords = Self.arenaLayout(D: D, S: S, V: V, L: L)
        arena = UnsafeMutableRawPointer.allocate(byteCount: arenaWords * 8, alignment: 16)
        arena.initializeMemory(as: UInt64.self, repeating: 0, count: arenaWords)
        // Placeholders (never dereferenced), replaced by bind().
        let ph = arena
        variant = .init(OpaquePointer(ph)); loadEnd = .init(OpaquePointer(ph)); wake = .init(OpaquePointer(ph))
        nextEvent = .init(OpaquePointer(ph)); nextFinish = .init(OpaquePointer(ph)); devClock = .init(OpaquePointer(ph))
        nRunning = .init(OpaquePointer(ph)); queued = .init(OpaquePointer(ph)); switched = .init(OpaquePointer(ph))
        ewmaN = .init(OpaquePointer(ph)); ewmaLoad = .init(OpaquePointer(ph)); cacheStamp = .init(OpaquePointer(ph))
        cacheGB = .init(OpaquePointer(ph)); ringMask = .init(OpaquePointer(ph)); ringHead = .init(OpaquePointer(ph))
        ringCount = .init(OpaquePointer(ph)); scratchCap = .init(OpaquePointer(ph)); scratchCount = .init(OpaquePointer(ph))
        mergeIndex = .init(OpaquePointer(ph)); prefix = .init(OpaquePointer(ph)); backlog = .init(OpaquePointer(ph))
        hist = .init(OpaquePointer(ph)); histTotal = .init(OpaquePointer(ph))
        ringBuf = .allocate(capacity: R)
        scratchBuf = .allocate(capacity: S)
        slots = .allocate(capacity: D * t.C)
        slots.initialize(repeating: RunningBatch(), count: D * t.C)
        arrCap = 1024
        arrTime = .allocate(capacity: arrCap); arrStream = .allocate(capacity: arrCap)
        tempCap = 256
        tempBuf = .allocate(capacity: tempCap)
        bind()
        for r in 0..<R {
            ringBuf[r] = .allocate(capacity: 64)
            ringMask[r] = 63
        }
        for s in 0..<S {
            scratchBuf[s] = .allocate(capacity: 64)
            scratchCap[s] = 64
        }
    }

    /// Words of the arena for these sizes (must match ``bind()``).
    private static func arenaLayout(D: Int, S: Int, V: Int, L: Int) -> Int {
        let R = (D + 1) * S
        return 11 * D + (D + 1) + D * V + 3 * R + 3 * S + 4 * S + (L + 1) * S + 2 * LatencyHistogram.bins
    }

    /// Points every fixed-size buffer into the arena.
    private mutating func bind() {
        let D = t.D, S = t.S, V = t.V, R = (D + 1) * S, L = t.episodeLength
        var off = 0
        let a = arena
        func take<T>(_ n: Int, _: T.Type) -> UnsafeMutablePointer<T> {
            let p = (a + off * 8).bindMemory(to: T.self, capacity: n)
            off += n
            return p
        }
        variant = take(D, Int.self); loadEnd = take(D, Double.self); wake = take(D, Double.self)
        nextEvent = take(D, Double.self); nextFinish = take(D, Double.self); devClock = take(D, Double.self)
        nRunning = take(D, Int.self); switched = take(D, Int.self)
        ewmaN = take(D, Double.self); ewmaLoad = take(D, Double.self); cacheGB = take(D, Double.self)
        queued = take(D + 1, Int.self)
        cacheStamp = take(D * V, UInt64.self)
        ringMask = take(R, Int.self); ringHead = take(R, Int.self); ringCount = take(R, Int.self)
        scratchCap = take(S, Int.self); scratchCount = take(S, Int.self); mergeIndex = take(S, Int.self)
        backlog = take(4 * S, Double.self)
        prefix = take((L + 1) * S, Double.self)
        hist = take(LatencyHistogram.bins, Int.self); histTotal = take(LatencyHistogram.bins, Int.self)
        precondition(off == arenaWords, "DiscreteEventEngine: arena layout mismatch")
    }

    /// A deep copy (the copy-on-write of ``DiscreteEventServingEnv``).
    func clone() -> DiscreteEventEngine {
        var e = self
        e.arena = UnsafeMutableRawPointer.allocate(byteCount: arenaWords * 8, alignment: 16)
        e.arena.copyMemory(from: arena, byteCount: arenaWords * 8)
        e.bind()
        let R = (t.D + 1) * t.S
        e.ringBuf = .allocate(capacity: R)
        for r in 0..<R {
            let cap = ringMask[r] + 1
            e.ringBuf[r] = .allocate(capacity: cap)
            e.ringBuf[r].initialize(from: ringBuf[r], count: cap)
        }
        e.scratchBuf = .allocate(capacity: t.S)
        for s in 0..<t.S { e.scratchBuf[s] = .allocate(capacity: scratchCap[s]) }
        e.slots = .allocate(capacity: t.D * t.C)
        e.slots.initialize(from: slots, count: t.D * t.C)
        e.arrTime = .allocate(capacity: arrCap); e.arrStream = .allocate(capacity: arrCap)
        e.tempBuf = .allocate(capacity: tempCap)
        return e
    }

    /// Releases every buffer.
    func free() {
        for r in 0..<((t.D + 1) * t.S) { ringBuf[r].deallocate() }
        for s in 0..<t.S { scratchBuf[s].deallocate() }
        ringBuf.deallocate(); scratchBuf.deallocate()
        slots.deallocate(); arrTime.deallocate(); arrStream.deallocate(); tempBuf.deallocate()
        arena.deallocate()
    }

    // MARK: - Episode

    /// Starts an episode at interval `start` with the arrival generator seeded by `seed`.
    mutating func reset(start: Int, seed: UInt64, initialVariants: [Int]) {
        self.start = start
        now = 0; scanTime = 0; time = 0; stamp = 1
        arrivalRNG = FastRandom(seed: seed)
        noiseRNG = FastRandom(seed: seed ^ 0x5DEE_CE66_D1CE_F00D)
        let D = t.D, S = t.S, V = t.V
        for d in 0..<D {
            let v = initialVariants[d]
            variant[d] = v
            loadEnd[d] = 0; wake[d] = .infinity; nextEvent[d] = .infinity; nextFinish[d] = .infinity
            devClock[d] = 0; nRunning[d] = 0; switched[d] = 0; ewmaN[d] = 0; ewmaLoad[d] = 0
            cacheGB[d] = 0
            for w in 0..<V { cacheStamp[d * V + w] = 0 }
            // The initial variant was loaded from disk once, so the host cache holds it.
            insertCache(d, v)
        }
        for d in 0...D { queued[d] = 0 }
        for r in 0..<((D + 1) * S) { ringHead[r] = 0; ringCount[r] = 0 }
        for i in 0..<((t.episodeLength + 1) * S) { prefix[i] = 0 }
        for i in 0..<(4 * S) { backlog[i] = 0 }
        for i in 0..<LatencyHistogram.bins { hist[i] = 0; histTotal[i] = 0 }
        c = DiscreteEventCounters()
        total = DiscreteEventCounters()
        histLo = LatencyHistogram.bins; histHi = -1
        batchLog.removeAll(keepingCapacity: true)
    }

    /// Simulates interval `time` with joint action `action`; the counts land in ``c``.
    mutating func simulateInterval(action: Int) {
        let I = t.interval
        let T0 = Double(time) * I, T1 = Double(time + 1) * I
        c = DiscreteEventCounters()
        if histLo <= histHi { for i in histLo...histHi { hist[i] = 0 } }
        histLo = LatencyHistogram.bins; histHi = -1
        if recordBatches { batchLog.removeAll(keepingCapacity: true) }
        decide(action: action, at: T0)
        generateArrivals(row: start + time, from: T0, to: T1)
        let D = t.D, S = t.S
        let pre = prefix + (time + 1) * S
        for s in 0..<S { pre[s] = pre[s - S] }
        for i in 0..<arrCount {
            let x = arrTime[i]
            let s = Int(arrStream[i])
            assert(x >= now, "DiscreteEventEngine: the clock went back from \(now) to \(x)")
            now = x
            for d in 0..<D where nextEvent[d] <= x { advance(d, to: x) }
            dispatch(stream: s, arrival: x, at: x)
            pre[s] += 1
        }
        c.arrived = arrCount
        now = T1
        for d in 0..<D where nextEvent[d] <= T1 { advance(d, to: T1) }
        scan(at: T1)
        for d in 0..<D { c.cost += t.costPerInterval[variant[d]] }
        if histLo <= histHi { for i in histLo...histHi { histTotal[i] += hist[i] } }
        total.add(c)
        time += 1
    }

    // MARK: - Decisions and loads

    /// Applies joint action `action` at `T0`: a device whose (feasible) choice differs from
    /// its variant starts loading it once its running batches end (from host RAM if cached,
    /// else from disk, caching it); its queued queries, and the central queue, are re-dispatched.
    private mutating func decide(action: Int, at T0: Double) {
        let D = t.D, V = t.V
        var x = action
        var any = false
        for d in 0..<D {
            let v = x % V
            x /= V
            switched[d] = 0
            if !t.canHold[d * V + v] { c.infeasible += 1; continue }
            if v == variant[d] { continue }
            c.switches += 1
            any = true
            switched[d] = 1
            var drain = T0
            let base = d * t.C
            for k in 0..<nRunning[d] { drain = max(drain, slots[base + k].finish) }
            let fromRAM = cacheStamp[d * V + v] != 0
            let seconds: Double
            if fromRAM {
                stamp += 1
                cacheStamp[d * V + v] = stamp
                c.loadsRAM += 1
                seconds = t.loadRAM[v]
            } else {
                insertCache(d, v)
                c.loadsDisk += 1
                seconds = t.loadDisk[v]
            }
            variant[d] = v
            loadEnd[d] = drain + seconds
            wake[d] = loadEnd[d]
            nextEvent[d] = min(nextFinish[d], wake[d])
        }
        if any { redispatch(at: T0) }
    }

    /// Caches variant `v` in device `d`'s host RAM, evicting least recently used variants
    /// until it fits (a variant larger than the whole cache is not cached).
    private mutating func insertCache(_ d: Int, _ v: Int) {
        let V = t.V
        let size = t.memory[v]
        stamp += 1
        guard size <= t.hostRAM[d], cacheStamp[d * V + v] == 0 else {
            if cacheStamp[d * V + v] != 0 { cacheStamp[d * V + v] = stamp }
            return
        }
        while cacheGB[d] + size > t.hostRAM[d] + 1e-9 {
            var lru = -1
            var oldest = UInt64.max
            for w in 0..<V where cacheStamp[d * V + w] != 0 && cacheStamp[d * V + w] < oldest {
                oldest = cacheStamp[d * V + w]
                lru = w
            }
            guard lru >= 0 else { break }
            cacheStamp[d * V + lru] = 0
            cacheGB[d] -= t.memory[lru]
        }
        cacheStamp[d * V + v] = stamp
        cacheGB[d] += size
    }

    /// Whether device `d`'s host cache holds variant `v`.
    func isCached(device d: Int, variant v: Int) -> Bool { cacheStamp[d * t.V + v] != 0 }

    /// Re-dispatches, in arrival order, the queries queued on switched devices and in the
    /// central queue; then restores arrival order in every ring.
    private mutating func redispatch(at T0: Double) {
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
    private mutating func ringPop(_ r: Int) -> Double {
        let h = ringHead[r]
        let a = ringBuf[r][h]
        ringHead[r] = (h + 1) & ringMask[r]
        ringCount[r] -= 1
        return a
    }

    @inline(__always)
    private mutating func ringPush(_ r: Int, _ a: Double) {
        if ringCount[r] > ringMask[r] { growRing(r) }
        ringBuf[r][(ringHead[r] + ringCount[r]) & ringMask[r]] = a
        ringCount[r] += 1
    }

    /// Doubles ring `r`'s capacity, moving its queries to the start.
    private mutating func growRing(_ r: Int) {
        let cap = ringMask[r] + 1, n = ringCount[r], h = ringHead[r]
        let p = UnsafeMutablePointer<Double>.allocate(capacity: cap * 2)
        for k in 0..<n { p[k] = ringBuf[r][(h + k) & ringMask[r]] }
        ringBuf[r].deallocate()
        ringBuf[r] = p
        ringMask[r] = cap * 2 - 1
        ringHead[r] = 0
    }

    /// Sorts ring `r` by arrival time if it is out of order.
    private mutating func sortRing(_ r: Int) {
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
    private mutating func scratchPush(_ s: Int, _ a: Double) {
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

    // MARK: - Arrivals

    /// Fills the arrival buffer with interval `row`'s queries (episode times in `[T0, T1)`),
    /// sorted by time, each with its stream.
    private mutating func generateArrivals(row: Int, from T0: Double, to T1: Double) {
        arrCount = 0
        let S = t.S
        switch t.mode {
        case .thinning:
            let offset = Double(start) * t.interval
            let scale = t.scale
            let last = T1.nextDown
            for i in t.intervalFirst[row]..<t.intervalFirst[row + 1] where arrivalRNG.nextUnit() < scale {
                let x = min(max(Double(t.arrivalTimes[i]) * 1e-6 - offset, T0), last)
                emit(x, pickStream(arrivalRNG.nextUnit()))
            }
        case .finePoisson:
            let bins = t.binsPerInterval, w = t.binWidth, scale = t.scale
            for j in 0..<bins {
                let count = t.fineCounts[row * bins + j]
                if count == 0 { continue }
                let rate = Double(count) * scale / w
                let b0 = T0 + Double(j) * w
                let b1 = j == bins - 1 ? T1 : b0 + w
                var x = b0
                while true {
                    x += arrivalRNG.nextExponential() / rate
                    if x >= b1 { break }
                    emit(x, pickStream(arrivalRNG.nextUnit()))
                }
            }
        case .intervalPoisson:
            var sum = 0.0
            for s in 0..<S { sum += t.counts[row * S + s] }
            guard sum > 0 else { return }
            let rate = sum / t.interval
            var x = T0
            while true {
                x += arrivalRNG.nextExponential() / rate
                if x >= T1 { break }
                let target = arrivalRNG.nextUnit() * sum
                var s = 0
                var acc = t.counts[row * S]
                while s < S - 1 && target >= acc { s += 1; acc += t.counts[row * S + s] }
                emit(x, s)
            }
        }
    }

    @inline(__always)
    private mutating func pickStream(_ u: Double) -> Int {
        var s = 0
        while s < t.S - 1 && u >= t.cumShare[s] { s += 1 }
        return s
    }

    @inline(__always)
    private mutating func emit(_ x: Double, _ s: Int) {
        if arrCount == arrCap {
            let cap = arrCap * 2
            let nt = UnsafeMutablePointer<Double>.allocate(capacity: cap)
            let ns = UnsafeMutablePointer<Int32>.allocate(capacity: cap)
            nt.initialize(from: arrTime, count: arrCount); ns.initialize(from: arrStream, count: arrCount)
            arrTime.deallocate(); arrStream.deallocate()
            arrTime = nt; arrStream = ns; arrCap = cap
        }
        arrTime[arrCount] = x
        arrStream[arrCount] = Int32(truncatingIfNeeded: s)
        arrCount += 1
    }

    // MARK: - Dispatch

    /// Sends a query of stream `s` (arrived at `a`) at time `x` to the device with the shortest
    /// expected wait among those whose variant (held or loading) can answer it: queued queries
    /// over the variant's throughput for `s`, plus the rest of a load, or of the running batch
    /// when every slot is busy; ties go to the lowest device index. No such device: the
    /// stream's central queue.
    @inline(__always)
    private mutating func dispatch(stream s: Int, arrival a: Double, at x: Double) {
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
        if nRunning[best] < t.concurrency[best] && x >= loadEnd[best] {
            devClock[best] = x
            startBatches(best, at: x)
            nextEvent[best] = min(nextFinish[best], wake[best])
        }
    }

    // MARK: - Devices

    /// Processes device `d`'s events (batch ends, load end) up to time `x`, starting batches
    /// whenever a slot frees up.
    private mutating func advance(_ d: Int, to x: Double) {
        while nextEvent[d] <= x {
            let e = nextEvent[d]
            assert(e >= devClock[d], "DiscreteEventEngine: device \(d)'s clock went back from \(devClock[d]) to \(e)")
            devClock[d] = e
            if nextFinish[d] <= e { completeBatches(d, at: e) }
            if wake[d] <= e { wake[d] = .infinity }
            if e >= loadEnd[d] { startBatches(d, at: e) }
            nextEvent[d] = min(nextFinish[d], wake[d])
        }
    }

    /// Counts the batches of device `d` that end by `e` and frees their slots.
    private mutating func completeBatches(_ d: Int, at e: Double) {
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

    private mutating func record(_ b: RunningBatch, device d: Int) {
        batchLog.append(BatchObservation(
            startTime: b.start, device: d, variant: b.variant, batchSize: b.n, colocatedBatches: b.colocN,
            colocatedQueries: b.colocQ, colocatedLoad: b.colocLoad, ewmaColocatedBatches: b.ewmaN,
            ewmaColocatedLoad: b.ewmaLoad, baseLatencyMs: b.base * 1000, observedLatencyMs: b.observed * 1000,
            theta: b.theta))
    }

    /// Starts batches on device `d` at `x` while it has a free slot and queued queries.
    @inline(__always)
    private mutating func startBatches(_ d: Int, at x: Double) {
        let cap = t.concurrency[d]
        while nRunning[d] < cap && queued[d] > 0 {
            purge(d, at: x)
            if queued[d] == 0 { break }
            startBatch(d, at: x)
        }
    }

    /// Drops the queries of device `d` (heads of its rings) that waited more than their
    /// stream's drop window past their deadline.
    @inline(__always)
    private mutating func purge(_ d: Int, at x: Double) {
        let S = t.S
        for s in 0..<S {
            let r = d * S + s
            while ringCount[r] > 0 {
                let due = ringBuf[r][ringHead[r]] + t.deadline[s]
                if due + t.dropWindow[s] >= x { break }
                _ = ringPop(r)
                queued[d] -= 1
                drop(stream: s, due: due)
            }
        }
    }

    @inline(__always)
    private mutating func drop(stream s: Int, due: Double) {
        let row = t.penCum + s * (t.K + 1)
        c.lateness += row[t.dropK[s]] - row[intervalsLate(stream: s, due: due, at: scanTime)]
        c.dropPenalty += t.dropPen[s]
        c.dropped += 1
    }

    /// Whole intervals (rounded up) a query due at `due` is late at `x`, capped at its stream's
    /// drop-after; 0 when not late.
    @inline(__always)
    private mutating func intervalsLate(stream s: Int, due: Double, at x: Double) -> Int {
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
    private mutating func startBatch(_ d: Int, at x: Double) {
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
    private mutating func dueIntervalEnd(stream s: Int, arrival a: Double) -> Double {
        Double(Int(a * t.invInterval) + t.dueIntervals[s] + 1) * t.interval
    }

    @inline(__always)
    private mutating func recordLatency(_ x: Double) {
        let b = LatencyHistogram.bin(seconds: x)
        hist[b] += 1
        if b < histLo { histLo = b }
        if b > histHi { histHi = b }
    }

    /// The lateness penalty still owed by a query due at `due` answered at `f`: the stream's
    /// increments for every whole interval late at `f`, minus those charged at the last scan.
    @inline(__always)
    private mutating func latePenalty(stream s: Int, due: Double, finish f: Double) -> Double {
        let row = t.penCum + s * (t.K + 1)
        return row[intervalsLate(stream: s, due: due, at: f)] - row[intervalsLate(stream: s, due: due, at: scanTime)]
    }

    // MARK: - End of interval

    /// At the end of an interval: drops queued queries past their drop window, charges the
    /// lateness increments of late queued queries, and bins the backlog by lateness.
    private mutating func scan(at x: Double) {
        let D = t.D, S = t.S
        for i in 0..<(4 * S) { backlog[i] = 0 }
        for d in 0...D {
            for s in 0..<S {
                let r = d * S + s
                while ringCount[r] > 0 {
                    let due = ringBuf[r][ringHead[r]] + t.deadline[s]
                    if due + t.dropWindow[s] >= x { break }
                    _ = ringPop(r)
                    queued[d] -= 1
                    drop(stream: s, due: due)
                }
                let n = ringCount[r], h = ringHead[r], m = ringMask[r], b = ringBuf[r]
                let row = t.penCum + s * (t.K + 1)
                for k in 0..<n {
                    let due = b[(h + k) & m] + t.deadline[s]
                    if due >= x { backlog[4 * s] += Double(n - k); break }
                    let late = intervalsLate(stream: s, due: due, at: x)
                    c.lateness += row[late] - row[intervalsLate(stream: s, due: due, at: scanTime)]
                    backlog[4 * s + (late == 1 ? 1 : late <= 3 ? 2 : 3)] += 1
                }
            }
        }
        scanTime = x
    }

    // MARK: - Invariants

    /// Queries queued (on devices and centrally) or running.
    var queuedTotal: Int {
        var q = 0
        for d in 0...t.D { q += queued[d] }
        for d in 0..<t.D { for k in 0..<nRunning[d] { q += slots[d * t.C + k].n } }
        return q
    }

    /// Queries in flight (running batches).
    var inFlight: Int {
        var q = 0
        for d in 0..<t.D { for k in 0..<nRunning[d] { q += slots[d * t.C + k].n } }
        return q
    }

    /// A description of the first broken invariant, or `nil`.
    func invariantViolation() -> String? {
        let D = t.D, S = t.S, V = t.V
        let q = queuedTotal
        if total.arrived != total.served + total.dropped + q {
            return "arrived \(total.arrived) != served \(total.served) + dropped \(total.dropped) + queued \(q)"
        }
        for d in 0...D {
            var n = 0
            for s in 0..<S { n += ringCount[d * S + s] }
            if n != queued[d] { return "queue \(d) counts \(queued[d]) queries but its rings hold \(n)" }
        }
        for d in 0..<D {
            if t.memory[variant[d]] > t.deviceMemory[d] || !t.canHold[d * V + variant[d]] {
                return "device \(d) holds variant \(variant[d]) (\(t.memory[variant[d]]) GB) over its \(t.deviceMemory[d]) GB or of another kind"
            }
            var cached = 0.0
            for v in 0..<V where cacheStamp[d * V + v] != 0 { cached += t.memory[v] }
            if cached > t.hostRAM[d] + 1e-9 { return "device \(d)'s host cache holds \(cached) GB over its \(t.hostRAM[d]) GB" }
            if nRunning[d] > t.concurrency[d] { return "device \(d) runs \(nRunning[d]) batches over its concurrency \(t.concurrency[d])" }
            if devClock[d] > now { return "device \(d)'s clock \(devClock[d]) is past the global clock \(now)" }
        }
        if now != Double(time) * t.interval && time > 0 { return "clock at \(now) s after \(time) intervals" }
        return nil
    }
}
