import Foundation
import SwitchGymCore

// MARK: - Counters

/// Integer and real counts of one interval (or of an episode).
struct DiscreteEventCounters {
    var arrived = 0, served = 0, onTime = 0, inDue = 0, dropped = 0
    var switches = 0, infeasible = 0, batches = 0, batchQueries = 0, loadsRAM = 0, loadsDisk = 0
    var accuracy = 0.0, lateness = 0.0, dropPenalty = 0.0, cost = 0.0
    /// Token-level serving: preemptions, rejected requests (they never fit), requests answered,
    /// their summed TTFT and time per output token (seconds) over those with 2+ output tokens.
    var preemptions = 0, rejected = 0, tokenRequests = 0, tpotRequests = 0
    var ttftSum = 0.0, tpotSum = 0.0

    mutating func add(_ o: DiscreteEventCounters) {
        preemptions += o.preemptions; rejected += o.rejected; tokenRequests += o.tokenRequests
        tpotRequests += o.tpotRequests; ttftSum += o.ttftSum; tpotSum += o.tpotSum
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
    let interference: CoLocationInterference
    let ewmaAlpha: Double
    let recordBatches: Bool
    /// Every device's waiting queries are dispatched again at a decision where any device
    /// switches (``QueuedDispatch/rebalanced``), not only a switching device's.
    let rebalance: Bool

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
    /// Token-level serving state (``TokenBuffers``).
    var tb: TokenBuffers
    /// The queue ``nextWaiting(_:v:at:)`` peeked at.
    var waitingRing = 0
    /// Time of the last preemption in the episode (-1 when none).
    var lastPreemption = -1.0
    /// Requests served by token-level variants in the last interval (when recording batches).
    var tokenLog: [TokenRequestObservation] = []
    /// Requests dropped in the last interval (when recording batches).
    var dropLog: [DroppedRequestObservation] = []

    init(model m: DiscreteEventModel) {
        t = m.t
        interference = m.config.interference
        ewmaAlpha = m.config.ewmaAlpha
        recordBatches = m.config.recordBatches
        rebalance = m.config.queuedDispatch == .rebalanced
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
        tb = TokenBuffers(D: D, R: t.tok.R)
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
        e.tb = tb.clone()
        return e
    }

    /// Releases every buffer.
    func free() {
        for r in 0..<((t.D + 1) * t.S) { ringBuf[r].deallocate() }
        for s in 0..<t.S { scratchBuf[s].deallocate() }
        ringBuf.deallocate(); scratchBuf.deallocate()
        slots.deallocate(); arrTime.deallocate(); arrStream.deallocate(); tempBuf.deallocate()
        tb.free()
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
        tokenLog.removeAll(keepingCapacity: true)
        dropLog.removeAll(keepingCapacity: true)
        tb.reset()
        lastPreemption = -1
    }

    /// Simulates interval `time` with joint action `action`; the counts land in ``c``.
    mutating func simulateInterval(choices: UnsafePointer<Int>) {
        let I = t.interval
        let T0 = Double(time) * I, T1 = Double(time + 1) * I
        c = DiscreteEventCounters()
        if histLo <= histHi { for i in histLo...histHi { hist[i] = 0 } }
        histLo = LatencyHistogram.bins; histHi = -1
        if recordBatches {
            batchLog.removeAll(keepingCapacity: true); tokenLog.removeAll(keepingCapacity: true)
            dropLog.removeAll(keepingCapacity: true)
        }
        decide(choices: choices, at: T0)
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

    // MARK: - Invariants

    /// Queries queued (on devices and centrally) or running.
    var queuedTotal: Int {
        var q = 0
        for d in 0...t.D { q += queued[d] }
        for d in 0..<t.D { for k in 0..<nRunning[d] { q += slots[d * t.C + k].n } }
        for d in 0..<t.D { q += tb.nRun[d] + tb.nPre[d] }
        return q
    }

    /// Queries in flight (running batches).
    var inFlight: Int {
        var q = 0
        for d in 0..<t.D { for k in 0..<nRunning[d] { q += slots[d * t.C + k].n } }
        for d in 0..<t.D { q += tb.nRun[d] }
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
            if t.tok.any {
                let v = variant[d]
                if tb.nRun[d] + tb.nPre[d] > 0 && !t.tok.isLLM[v] { return "device \(d) holds token-level requests under a fixed-cost variant" }
                if tb.nRun[d] > t.tok.maxRunning[v] { return "device \(d) runs \(tb.nRun[d]) sequences over max_running \(t.tok.maxRunning[v])" }
                var blocks = 0
                for k in 0..<tb.nRun[d] { blocks += Int(tb.run[d * t.tok.R + k].blocks) }
                if blocks != tb.used[d] || blocks > t.tok.kvBlocks[v] && t.tok.isLLM[v] {
                    return "device \(d) holds \(blocks) KV blocks (counted \(tb.used[d])) of \(t.tok.kvBlocks[v])"
                }
            }
        }
        if now != Double(time) * t.interval && time > 0 { return "clock at \(now) s after \(time) intervals" }
        return nil
    }
}
