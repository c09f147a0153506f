import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The fluid env's sub-interval step (``FluidQueueing/subinterval``, the fast path: flat
/// rings, skipped passes, short cuts) against a plain transcription of the model it
/// implements (``ReferenceSubintervalQueue``), step by step on random scenarios, loads,
/// arrival profiles and decisions. The transcription's queue is pooled, the router
/// ``QueuedDispatch/rebalanced``; the pinning router's split of the backlog is checked by
/// `FluidPinnedRouterTests`.
///
/// The comparison is exact (`==` on every double), not within a tolerance: the two perform
/// the same floating-point operations in the same order, so any change that alters a result,
/// even by reordering a sum, fails here. A speed-up that means to change results must change
/// the reference with it and say so.
@Suite struct FluidQueueingReferenceTests {
    /// Random decisions with a bias to stay (so both long runs and frequent loads occur).
    func decisions(_ sc: ServingScenario, count: Int, seed: UInt64) -> [[Int]] {
        var g = SeededGenerator(seed: seed)
        var a = sc.initialVariants
        return (0..<count).map { _ in
            if g.nextUnit() < 0.4 { a = sc.randomAssignment(using: &g) }
            // Now and then a choice no device can hold (ignored by both).
            if g.nextUnit() < 0.1 { a[Int(g.next() % UInt64(a.count))] = Int(g.next() % UInt64(sc.variants.count)) }
            return a
        }
    }

    /// Random counts with an uneven arrival profile inside each interval (raw arrival times
    /// bunched in a random part of it), so the sub-bins differ.
    func arrivals(_ sc: ServingScenario, intervals T: Int, mean: Double, seed: UInt64) -> ScenarioArrivals {
        let base = ScenarioFixtures.randomArrivals(intervals: T, streams: sc.streams.count, mean: mean, seed: seed)
        var g = SeededGenerator(seed: seed &+ 99)
        let width = sc.decisionInterval * 1e6
        var times: [Int64] = []
        for t in 0..<T {
            let centre = g.nextUnit(), spread = 0.05 + 0.6 * g.nextUnit()
            for _ in 0..<(5 + Int(g.next() % 40)) {
                let x = min(0.999, max(0, centre + spread * (g.nextUnit() - 0.5)))
                times.append(Int64((Double(t) + x) * width))
            }
        }
        return ScenarioArrivals(intervals: T, streams: sc.streams.count, counts: base.counts, arrivalTimes: times.sorted())
    }

    /// Steps the env and the reference side by side; every queue figure of every step and
    /// every backlog bucket of the observation must be equal.
    func expectSame(_ model: ServingModel, _ actions: [[Int]], _ label: String) throws {
        var env = FluidServingEnv(model: model, seed: 3)
        _ = try env.reset(seed: 3)
        var reference = ReferenceSubintervalQueue(model: model, start: env.start)
        for (t, a) in actions.enumerated() {
            let r = try env.step(a)
            let want = reference.step(a)
            let got = r.info
            let pairs: [(String, Double, Double)] = [
                ("arrived", got.arrived, want.arrived), ("served", got.served, want.served),
                ("servedOnTime", got.servedOnTime, want.servedOnTime), ("accuracyServed", got.accuracyServed, want.accuracyServed),
                ("dropped", got.dropped, want.dropped), ("queued", got.queued, want.queued),
                ("latenessPenalty", got.latenessPenalty, want.latenessPenalty), ("dropPenalty", got.dropPenalty, want.dropPenalty),
                ("cost", got.cost, want.cost),
            ]
            for (name, x, y) in pairs where x != y {
                Issue.record("\(label) step \(t): \(name) \(x) (env) != \(y) (reference)")
            }
            #expect(got.switches == want.switches && got.infeasibleChoices == want.infeasibleChoices, "\(label) step \(t)")
            for s in 0..<model.streamCount {
                let b = env.backlog(stream: s)
                #expect([b.0, b.1, b.2, b.3] == reference.backlog(stream: s), "\(label) step \(t) stream \(s) backlog")
            }
            if r.truncated { break }
        }
    }

    /// Random scenarios (deadlines below and above the interval, loads shorter and longer
    /// than it, every penalty kind) at light load, capacity and overload (drops, lateness).
    @Test(arguments: 0..<16)
    func fastPathMatchesTheReferenceOnRandomScenarios(seed: Int) throws {
        let sc = ScenarioFixtures.randomScenario(seed: UInt64(seed) + 500)
        let capacity = sc.variants.indices.map { sc.capacityPerInterval(variant: $0, stream: 0) }.max()! * Double(sc.fleet.count)
        for load in [0.3, 1.0, 2.5] {
            let a = arrivals(sc, intervals: 60, mean: capacity * load / Double(sc.streams.count), seed: UInt64(seed))
            let model = try ServingModel(scenario: sc, arrivals: a, queueing: .subinterval, subBins: seed % 4 == 3 ? 7 : 10, dispatch: .rebalanced)
            try expectSame(model, decisions(sc, count: 60, seed: UInt64(seed) + 11), "seed \(seed) load \(load)")
        }
    }

    /// The shipped vision zoo over the default trace (its own arrival profile), random start.
    @Test(arguments: [1500.0, 6000.0])
    func fastPathMatchesTheReferenceOnTheVisionZoo(rate: Double) throws {
        let (sc, arrivals) = try DESFixtures.vision(meanRate: rate, episode: 120)
        let model = try ServingModel(scenario: sc, arrivals: arrivals, randomStart: true, dispatch: .rebalanced)
        try expectSame(model, decisions(sc, count: 120, seed: 7), "vision-zoo \(rate) q/s")
    }

    /// The shipped LLM zoo (per-interval token-work rates, 70B loads from disk and host RAM,
    /// engine restarts that send running requests back to the queue) at and over capacity.
    @Test(arguments: [1.0, 1.5])
    func fastPathMatchesTheReferenceOnTheLLMZoo(load: Double) throws {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        sc.episodeIntervals = 120
        sc.targetMeanRate = load * FidelityGapStudy.capacityRate(scenario: sc, arrivals: try sc.loadArrivals())
        let model = try ServingModel(scenario: sc, arrivals: try sc.loadArrivals(), randomStart: true, dispatch: .rebalanced)
        try expectSame(model, decisions(sc, count: 120, seed: 5), "llm-zoo load \(load)")
    }

    /// The same with first-token deadlines (`ttft_deadline_ms`) on both streams: tight on chat,
    /// loose on batch, so parts straddle the first-token limit as well as the deadline.
    @Test(arguments: [0.5, 1.5])
    func fastPathMatchesTheReferenceWithFirstTokenDeadlines(load: Double) throws {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        sc.episodeIntervals = 120
        sc.streams[0].ttftDeadlineMs = 400
        sc.streams[1].ttftDeadlineMs = 20_000
        sc.targetMeanRate = load * FidelityGapStudy.capacityRate(scenario: sc, arrivals: try sc.loadArrivals())
        let model = try ServingModel(scenario: sc, arrivals: try sc.loadArrivals(), randomStart: true, dispatch: .rebalanced)
        try expectSame(model, decisions(sc, count: 120, seed: 9), "llm-zoo ttft load \(load)")
    }
}

/// A plain transcription of the sub-interval queue (``FluidServingEnv`` with
/// ``FluidQueueing/subinterval``; the model is documented on `stepSubintervals`), written for
/// clarity: per stream an array of cohorts, pools per variant and sub-bin as nested arrays,
/// every quantity computed where the model defines it, no short cuts. It returns the queue
/// figures of a step (arrivals, service, lateness, drops, queued) and the decision figures
/// (switches, infeasible choices, cost); reward terms are the env's `finish`, not pinned here.
///
/// Switches as the discrete-event fidelity charges them: loads through a least-recently-used
/// host-RAM cache per device, a fixed-cost variant's device loading once its last batch ends,
/// and an LLM variant's device losing the queries it was still running (back to the queue).
struct ReferenceSubintervalQueue {
    /// Queries that arrived together: their mean deadline, how many are left of how many, the
    /// seconds their arrivals spread over (0 for work a switch sent back), and the deadline of
    /// the last of them (each is due its deadline after its own arrival).
    struct Cohort {
        var due: Double, amount: Double, total: Double, span: Double, lastDue: Double
        init(due: Double, amount: Double, span: Double) {
            self.due = due
            self.amount = amount
            total = amount
            self.span = span
            lastDue = due + 0.5 * span
        }
        /// The deadline of the next query served when `left` are left: the fraction of the
        /// cohort still to come, `left / total`, of its spread before the last one's.
        func due(left: Double) -> Double {
            if span == 0 || left <= 0 { return lastDue }
            return left >= total ? lastDue - span : lastDue - span * (left / total)
        }
    }
    /// Queries of one variant and stream still running at the interval's end.
    struct Running { var amount = 0.0, dueSum = 0.0, onTime = 0.0, lateBeyond = 0.0 }

    let model: ServingModel
    let start: Int
    var time = 0
    var variants: [Int]
    var pending: [Double]
    var queues: [[Cohort]]
    /// Per device: the part of the last interval its load took, and its host cache (variants
    /// in least- to most-recently-used order).
    var lastLoading: [Double]
    var cache: [[Int]]
    /// Per variant: when the last batch its devices started ends; per variant and stream, what
    /// was running at the last interval's end.
    var busyEnd: [Double]
    var running: [[Running]]

    init(model: ServingModel, start: Int) {
        self.model = model
        self.start = start
        variants = model.initialVariants
        pending = [Double](repeating: 0, count: model.deviceCount)
        queues = [[Cohort]](repeating: [], count: model.streamCount)
        lastLoading = [Double](repeating: 0, count: model.deviceCount)
        cache = model.initialVariants.enumerated().map { d, v in model.memoryGB[v] <= model.hostRAMGB[d] ? [v] : [] }
        busyEnd = [Double](repeating: 0, count: model.variantCount)
        running = [[Running]](repeating: [Running](repeating: Running(), count: model.streamCount), count: model.variantCount)
    }

    /// Loads variant `v` on device `d`: from host RAM when cached (it becomes the most recently
    /// used), else from disk, caching it (evicting the least recently used until it fits, unless
    /// it is larger than the whole cache). Returns the load's seconds.
    mutating func load(_ v: Int, device d: Int) -> Double {
        let m = model
        if let i = cache[d].firstIndex(of: v) {
            cache[d].remove(at: i)
            cache[d].append(v)
            return m.loadSecondsRAM[v]
        }
        if m.memoryGB[v] <= m.hostRAMGB[d] {
            var used = cache[d].reduce(0.0) { $0 + m.memoryGB[$1] }
            while used + m.memoryGB[v] > m.hostRAMGB[d] + 1e-9, !cache[d].isEmpty {
                used -= m.memoryGB[cache[d].removeFirst()]
            }
            cache[d].append(v)
        }
        return m.loadSecondsDisk[v]
    }

    /// Whole intervals a query due at `due` is late at `t` (rounded up), at most `cap`.
    func intervalsLate(_ due: Double, at t: Double, cap: Int) -> Int {
        guard t > due else { return 0 }
        let y = (t - due) * (1 / model.interval)
        var k = Int(y)
        if Double(k) < y { k += 1 }
        return min(k, cap)
    }

    /// Weight × penalty of stream `s` after `k` intervals late.
    func penalty(_ s: Int, _ k: Int) -> Double { model.penaltyCumulative[s * (model.maxLate + 1) + k] }

    mutating func step(_ choices: [Int]) -> ServingStepInfo {
        let m = model
        let V = m.variantCount, S = m.streamCount, D = m.deviceCount, K = m.subBins
        var info = ServingStepInfo()
        let I = m.interval, delta = I / Double(K)
        let T0 = Double(time) * I, T1 = T0 + I
        // Decisions: a device switching starts loading; the load takes the interval's start
        // (after its running batches under a fixed-cost variant). Devices that served at the
        // last interval's end, per variant, and those of them that leave an LLM variant.
        var loading = [Double](repeating: 0, count: D)
        var serving = [Double](repeating: 0, count: V), leaving = [Double](repeating: 0, count: V)
        for d in 0..<D {
            var v = choices[d]
            if !m.canHold(device: d, variant: v) { info.infeasibleChoices += 1; v = variants[d] }
            let u = variants[d], busy = lastLoading[d] < 1
            if busy { serving[u] += 1 }
            if v != u {
                info.switches += 1
                variants[d] = v
                var seconds = load(v, device: d)
                if busy && m.restartsOnSwitch[u] { leaving[u] += 1 }
                if busy && !m.restartsOnSwitch[u] { seconds += max(0, busyEnd[u] - T0) }
                pending[d] = seconds * (1 / I)
            }
            loading[d] = min(pending[d], 1)
            lastLoading[d] = loading[d]
            pending[d] = max(0, pending[d] - 1)
            info.cost += m.costPerInterval[v]
        }
        // The queries still running on devices that left an LLM variant go back to the front
        // of their queue at their mean deadline; their service is taken back.
        for s in 0..<S {
            var amount = 0.0, dueSum = 0.0
            for v in 0..<V where m.restartsOnSwitch[v] && leaving[v] > 0 && serving[v] > 0 && running[v][s].amount > 0 {
                let share = leaving[v] / serving[v], r = running[v][s]
                amount += share * r.amount
                dueSum += share * r.dueSum
                info.accuracyServed -= m.accuracy[v] * (share * r.amount)
                info.servedOnTime -= share * r.onTime
                info.latenessPenalty -= share * r.lateBeyond
            }
            if amount > 0 {
                info.served -= amount
                queues[s].insert(Cohort(due: min(dueSum / amount, queues[s].first?.due ?? .infinity), amount: amount, span: 0),
                                 at: 0)
            }
        }
        busyEnd = [Double](repeating: 0, count: V)
        running = [[Running]](repeating: [Running](repeating: Running(), count: S), count: V)
        // Device-sub-bins of service per variant: every device holding it, less the part of
        // each sub-bin a load takes.
        var pools = [[Double]](repeating: [Double](repeating: 0, count: K), count: V)
        var taken = pools, ends = pools
        var holding = [Double](repeating: 0, count: V)
        for d in 0..<D {
            let v = variants[d], w = loading[d]
            holding[v] += 1
            if w == 0 { continue }
            let end = min(K - 1, Int(w * Double(K)))
            ends[v][end] += 1
            taken[v][end] += 1 - min(1, max(0, Double(end + 1) - w * Double(K)))
        }
        for v in 0..<V {
            for k in 0..<K {
                // Devices loading through all of sub-bin k: those whose load ends after it.
                let through = ends[v][(k + 1)...].reduce(0, +)
                pools[v][k] = (holding[v] - through) - taken[v][k]
            }
        }

        for k in 0...K {
            let tk = k == K ? T1 : T0 + Double(k) * delta
            // Cohorts past their drop window leave, charged the full penalty.
            for s in 0..<S {
                while let c = queues[s].first, c.due + m.dropWindowSeconds[s] < tk {
                    info.dropped += c.amount
                    info.dropPenalty += c.amount * m.weight[s] * m.dropPenalty[s]
                    info.latenessPenalty += c.amount * (penalty(s, m.dropAfter[s]) - penalty(s, intervalsLate(c.due, at: T0, cap: m.dropAfter[s])))
                    queues[s].removeFirst()
                }
            }
            if k == K { break }
            for s in 0..<S {
                let a = m.subCounts[((start + time) * K + k) * S + s]
                if a > 0 {
                    queues[s].append(Cohort(due: tk + 0.5 * delta + m.deadlineSeconds[s], amount: a, span: delta))
                    info.arrived += a
                }
            }
            var pool = (0..<V).map { pools[$0][k] }
            if !pool.contains(where: { $0 > 0 }) { continue }
            // Earliest deadline first, or first come first served across streams when only LLM
            // variants serve in the sub-bin: the next cohort of each stream some pool can serve.
            let firstCome = !(0..<V).contains { pool[$0] > 0 && !m.restartsOnSwitch[$0] }
            func key(_ s: Int, _ c: Cohort) -> Double { firstCome ? c.due - m.deadlineSeconds[s] : c.due }
            var next = (0..<S).map { s in
                (0..<V).contains { pool[$0] > 0 && m.serviceRate(interval: start + time, variant: $0, stream: s) > 0 } ? 0 : queues[s].count
            }
            // The sub-bin's service: which variant serves how much of which cohort. Charging
            // waits until the sub-bin is served: an LLM variant's latency depends on it.
            var parts: [(s: Int, v: Int, due: Double, take: Double, before: Double, after: Double, due0: Double, due1: Double)] = []
            var servedHere = [[Double]](repeating: [Double](repeating: 0, count: S), count: V)
            while true {
                var best = -1
                for s in 0..<S where next[s] < queues[s].count {
                    if best < 0 || key(s, queues[s][next[s]]) < key(best, queues[best][next[best]]) { best = s }
                }
                if best < 0 { break }
                let s = best, cohort = queues[s][next[s]], due = cohort.due
                var left = cohort.amount
                // Without LLM variants, a cohort that several held variants serve goes to the
                // devices that come free first, whatever their variant (the router's shortest
                // wait): the variants whose pools stand earliest in the sub-bin serve it
                // together, segment by segment (``WaterFillSegment``), the queries of a segment
                // starting over the same span on each.
                let holders = (0..<V).filter { holding[$0] > 0 && m.serviceRate(interval: start + time, variant: $0, stream: s) > 0 }
                if !m.isTokenLevel && holders.count > 1 {
                    let rates = (0..<V).map { m.serviceRate(interval: start + time, variant: $0, stream: s) * (1 / Double(K)) }
                    for _ in 0...(2 * holders.count) where left > 0 {
                        let seg = WaterFillSegment.next(variants: holders, count: holders.count, rates: rates, streams: 1, stream: 0,
                                                        held: holding, tenured: holding, pool: pool, tenure: pool)
                        guard seg.start < 1 else { break }
                        let last = left <= seg.rate * (seg.end - seg.start)
                        let dx = last ? left / seg.rate : seg.end - seg.start
                        let exhausts = !last && seg.end >= 1
                        let take = last ? left : seg.rate * dx
                        let due0 = cohort.due(left: left), due1 = cohort.due(left: left - take)
                        let share = 1 - seg.start - WaterFillSegment.tolerance
                        for v in holders where WaterFillSegment.isLevel(pool: pool[v], devices: holding[v], share: share) {
                            let before = pool[v], after = exhausts ? 0 : max(before - holding[v] * dx, 0)
                            let part = rates[v] * (before - after)
                            pool[v] = after
                            info.served += part
                            info.accuracyServed += m.accuracy[v] * part
                            parts.append((s, v, due, part, before, after, due0, due1))
                        }
                        left = last ? 0 : left - take
                    }
                }
                for v in 0..<V where pool[v] > 0 && left > 0 && (m.isTokenLevel || holders.count < 2) {
                    let r = m.serviceRate(interval: start + time, variant: v, stream: s) * (1 / Double(K))
                    if r <= 0 { continue }
                    let before = pool[v]
                    let take = min(before * r, left)
                    let after = before * r <= left ? 0 : before - left / r
                    pool[v] = after
                    // The part's first and last query, each due the deadline after its arrival
                    // (a fixed-cost variant's; an LLM variant's part keeps the cohort's due time).
                    let own = !m.restartsOnSwitch[v]
                    let due0 = own ? cohort.due(left: left) : due
                    left -= take
                    let due1 = own ? cohort.due(left: left) : due
                    info.served += take
                    info.accuracyServed += m.accuracy[v] * take
                    parts.append((s, v, due, take, before, after, due0, due1))
                    servedHere[v][s] += take
                }
                queues[s][next[s]].amount = left
                next[s] = left > 0 ? queues[s].count : next[s] + 1
            }
            // Each LLM variant's devices run `n` sequences by Little's law on the step model:
            // per device, stream `s` arrives at `λ_s` = its service over the pool's device-seconds
            // and takes `L_s(n) = base + perSequence · n`, so `n = Σ λ_s L_s(n)`, i.e.
            // `n = Σ λ_s base_s / (1 − Σ λ_s perSequence_s)`, within [1, the stream's max batch].
            // A fixed-cost variant's latency is its table's. An LLM variant's requests take
            // `B + (L − B)·(o − 1)/(ō − 1)` for `o` output tokens (`B` one step with its own
            // prefill), so a part's on-time share is taken over the stream's output lengths
            // (`spread` = (ō − 1)/(ō·(L − B))).
            func occupancyLatency(_ v: Int, _ s: Int) -> (latency: Double, spread: Double, first: Double) {
                let row = m.rateRow(start + time)
                guard m.scenario.variants[v].llm != nil else { return (m.serviceLatency[row + v * S + s], 0, 0) }
                var load = 0.0, slope = 0.0
                for u in 0..<S {
                    let lambda = servedHere[v][u] * (1 / (pools[v][k] * delta))
                    load += lambda * m.latencyBase[row + v * S + u]
                    slope += lambda * m.latencyPerSequence[row + v * S + u]
                }
                let n = slope < 1 ? load / (1 - slope) : Double.infinity
                let running = min(max(n, 1), m.latencyMaxBatch[row + v * S + s])
                let latency = m.latencyBase[row + v * S + s] + m.latencyPerSequence[row + v * S + s] * running
                let mean = m.outputMeans[(start + time) * S + s]
                // One step whatever the output: the request's prefill among the others' decodes.
                let step = m.outputStepBase[v] + (m.latencyPerSequence[row + v * S + s] - (mean - 1) * m.outputStepPerSequence[v])
                    + m.outputStepPerSequence[v] * (running - 1)
                guard mean > 1 else { return (latency, 0, step) }
                return (latency, latency > step ? (mean - 1) / (mean * (latency - step)) : 0, step)
            }
            // The mean over `z` in [low, high] of the output lengths' CDF (over their mean).
            func lengthsShare(_ s: Int, high: Double, low: Double) -> Double { m.outputSpread.share(stream: s, high: high, low: low) }
            for (s, v, due, take, before, after, due0, due1) in parts {
                // The variant's devices start this part between x0 and x1; what finishes by its
                // deadline is on time, the rest late by whole intervals. An LLM part's queries
                // share the cohort's due time; a fixed-cost part's are each due their deadline
                // after their own arrival (due0 for its first, due1 for its last).
                let n = holding[v], (latency, spread, first) = occupancyLatency(v, s)
                let x0 = tk + delta * (1 - before / n), x1 = tk + delta * (1 - after / n)
                let arriving = due1 != due0, limit = due - latency
                if spread > 0 {
                    // An LLM part: on time over its requests' output lengths, and with a
                    // first-token deadline only for the starts by `xt` (one finishing in time whose
                    // first token is late costs one interval's increment); the late rest at its mean
                    // finish, at least one interval late; what is still running at T1 (started
                    // after T1 − latency) recorded with its own on-time shares.
                    let increment = penalty(s, min(1, m.dropAfter[s])) - penalty(s, 0)
                    // A first token at least one step after the cohort's nominal arrival.
                    let latestFirst = due - m.ttftLead[s] - first
                    let xt = latestFirst >= due - m.deadlineSeconds[s] ? latestFirst : -Double.infinity
                    func inTime(_ a: Double, _ b: Double) -> Double {
                        lengthsShare(s, high: 1 + (limit - a) * spread, low: 1 + (limit - b) * spread)
                    }
                    // Of the starts in [a, b], the share on time end to end and for the first token.
                    func onTimeShare(_ a: Double, _ b: Double) -> Double {
                        if xt >= b { return inTime(a, b) }
                        return xt > a ? inTime(a, xt) * ((xt - a) / (b - a)) : 0
                    }
                    let share = inTime(x0, x1), both = onTimeShare(x0, x1)
                    if xt < x1 { info.latenessPenalty += take * max(0, share - both) * increment }
                    info.servedOnTime += take * both
                    var beyond = 0.0
                    if share < 1 {
                        let finish = max(0.5 * (x0 + x1) + latency, due)
                        let late = max(intervalsLate(due, at: finish, cap: m.dropAfter[s]), min(1, m.dropAfter[s]))
                        info.latenessPenalty += take * (1 - share) * (penalty(s, late) - penalty(s, intervalsLate(due, at: T0, cap: m.dropAfter[s])))
                        beyond = penalty(s, late) - penalty(s, intervalsLate(due, at: T1, cap: m.dropAfter[s]))
                    }
                    if x1 > T1 - latency {
                        let from = max(x0, T1 - latency)
                        let amount = take * (x1 - from) / (x1 - x0)
                        let inTimeAmount = amount * inTime(from, x1)
                        let onTime = amount * onTimeShare(from, x1)
                        running[v][s].amount += amount
                        running[v][s].dueSum += amount * due
                        running[v][s].onTime += onTime
                        running[v][s].lateBeyond += (amount - inTimeAmount) * beyond + max(0, inTimeAmount - onTime) * increment
                    }
                    continue
                }
                // One latency for every query of the part: the share whose slack is not
                // negative is on time (none when the latency alone outlasts a still arriving
                // cohort's deadline); the late share at its middle (u along the part).
                let reachable = !arriving || latency <= m.deadlineSeconds[s]
                let g0 = reachable ? due0 - latency - x0 : -Double.infinity
                let g1 = reachable ? due1 - latency - x1 : -Double.infinity
                let share: Double
                if g0 >= 0 && g1 >= 0 { share = 1 } else if g0 >= 0 { share = g0 / (g0 - g1) } else if g1 >= 0 { share = g1 / (g1 - g0) } else { share = 0 }
                info.servedOnTime += take * share
                var owed = 0.0, lateDue = due
                if share < 1 {
                    let u = share <= 0 ? 0.5 : g0 >= 0 ? 1 - 0.5 * (1 - share) : 0.5 * (1 - share)
                    let finish = x0 + u * (x1 - x0) + latency
                    lateDue = due0 + u * (due1 - due0)
                    owed = penalty(s, intervalsLate(lateDue, at: finish, cap: m.dropAfter[s]))
                    info.latenessPenalty += take * (1 - share) * (owed - penalty(s, intervalsLate(due, at: T0, cap: m.dropAfter[s])))
                }
                if !m.restartsOnSwitch[v] {
                    busyEnd[v] = max(busyEnd[v], x1 + latency)
                } else if x1 > T1 - latency {
                    // Started after T1 − latency: still running at the interval's end.
                    let from = max(x0, T1 - latency)
                    let u = (from - x0) / (x1 - x0)
                    let amount = take * (x1 - from) / (x1 - x0)
                    let gu = g0 + u * (g1 - g0)
                    let onShare: Double
                    if gu >= 0 && g1 >= 0 { onShare = 1 } else if gu >= 0 { onShare = gu / (gu - g1) } else if g1 >= 0 { onShare = g1 / (g1 - gu) } else { onShare = 0 }
                    let onTime = amount * onShare
                    let beyond = share < 1 ? owed - penalty(s, intervalsLate(lateDue, at: T1, cap: m.dropAfter[s])) : 0
                    running[v][s].amount += amount
                    running[v][s].dueSum += amount * due
                    running[v][s].onTime += onTime
                    running[v][s].lateBeyond += (amount - onTime) * beyond
                }
            }
            for s in 0..<S { while let c = queues[s].first, c.amount <= 0 { queues[s].removeFirst() } }
        }
        // What stays queued past its deadline is charged the intervals late so far.
        for s in 0..<S {
            for c in queues[s] {
                if c.due < T1 {
                    info.latenessPenalty += c.amount * (penalty(s, intervalsLate(c.due, at: T1, cap: m.dropAfter[s]))
                                                        - penalty(s, intervalsLate(c.due, at: T0, cap: m.dropAfter[s])))
                }
                info.queued += c.amount
            }
        }
        time += 1
        return info
    }

    /// Stream `s`'s queued queries by lateness at the end of the next interval.
    func backlog(stream s: Int) -> [Double] {
        var buckets = [0.0, 0.0, 0.0, 0.0]
        let x = Double(time + 1) * model.interval
        for c in queues[s] {
            buckets[FamilyObservationLayout.backlogBucket(lateness: intervalsLate(c.due, at: x, cap: .max))] += c.amount
        }
        return buckets
    }
}
