import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// The fluid env's sub-interval step (``FluidQueueing/subinterval``, the fast path: flat
/// rings, skipped passes, short cuts) against a plain transcription of the model it
/// implements (``ReferenceSubintervalQueue``), step by step on random scenarios, loads,
/// arrival profiles and decisions.
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
            let model = try ServingModel(scenario: sc, arrivals: a, queueing: .subinterval, subBins: seed % 4 == 3 ? 7 : 10)
            try expectSame(model, decisions(sc, count: 60, seed: UInt64(seed) + 11), "seed \(seed) load \(load)")
        }
    }

    /// The shipped vision zoo over the default trace (its own arrival profile), random start.
    @Test(arguments: [1500.0, 6000.0])
    func fastPathMatchesTheReferenceOnTheVisionZoo(rate: Double) throws {
        let (sc, arrivals) = try DESFixtures.vision(meanRate: rate, episode: 120)
        let model = try ServingModel(scenario: sc, arrivals: arrivals, randomStart: true)
        try expectSame(model, decisions(sc, count: 120, seed: 7), "vision-zoo \(rate) q/s")
    }
}

/// A plain transcription of the sub-interval queue (``FluidServingEnv`` with
/// ``FluidQueueing/subinterval``; the model is documented on `stepSubintervals`), written for
/// clarity: per stream an array of cohorts, pools per variant and sub-bin as nested arrays,
/// every quantity computed where the model defines it, no short cuts. It returns the queue
/// figures of a step (arrivals, service, lateness, drops, queued) and the decision figures
/// (switches, infeasible choices, cost); reward terms are the env's `finish`, not pinned here.
struct ReferenceSubintervalQueue {
    struct Cohort { var due: Double; var amount: Double }

    let model: ServingModel
    let start: Int
    var time = 0
    var variants: [Int]
    var pending: [Double]
    var queues: [[Cohort]]

    init(model: ServingModel, start: Int) {
        self.model = model
        self.start = start
        variants = model.initialVariants
        pending = [Double](repeating: 0, count: model.deviceCount)
        queues = [[Cohort]](repeating: [], count: model.streamCount)
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
        // Decisions: a device switching starts loading; the load takes the interval's start.
        var loading = [Double](repeating: 0, count: D)
        for d in 0..<D {
            var v = choices[d]
            if !m.canHold(device: d, variant: v) { info.infeasibleChoices += 1; v = variants[d] }
            if v != variants[d] { info.switches += 1; variants[d] = v; pending[d] = m.hireSteps[v] }
            loading[d] = min(pending[d], 1)
            pending[d] = max(0, pending[d] - 1)
            info.cost += m.costPerInterval[v]
        }
        // Device-sub-bins of service per variant: every device holding it, less the part of
        // each sub-bin a load takes.
        var pools = [[Double]](repeating: [Double](repeating: 0, count: K), count: V)
        var holding = [Double](repeating: 0, count: V)
        for d in 0..<D {
            let v = variants[d], w = loading[d]
            holding[v] += 1
            if w == 0 { continue }
            let end = min(K - 1, Int(w * Double(K)))
            for k in 0..<end { pools[v][k] -= 1 }
            pools[v][end] -= 1 - min(1, max(0, Double(end + 1) - w * Double(K)))
        }
        for v in 0..<V { for k in 0..<K { pools[v][k] += holding[v] } }

        let I = m.interval, delta = I / Double(K)
        let T0 = Double(time) * I, T1 = T0 + I
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
                    queues[s].append(Cohort(due: tk + 0.5 * delta + m.deadlineSeconds[s], amount: a))
                    info.arrived += a
                }
            }
            var pool = (0..<V).map { pools[$0][k] }
            if !pool.contains(where: { $0 > 0 }) { continue }
            // Earliest deadline first: the next cohort of each stream some pool can serve.
            var next = (0..<S).map { s in
                (0..<V).contains { pool[$0] > 0 && m.capacity[$0 * S + s] > 0 } ? 0 : queues[s].count
            }
            while true {
                var best = -1
                for s in 0..<S where next[s] < queues[s].count {
                    if best < 0 || queues[s][next[s]].due < queues[best][next[best]].due { best = s }
                }
                if best < 0 { break }
                let s = best, due = queues[s][next[s]].due
                var left = queues[s][next[s]].amount
                for v in 0..<V where pool[v] > 0 && left > 0 {
                    let r = m.capacity[v * S + s] * (1 / Double(K))
                    if r <= 0 { continue }
                    let before = pool[v]
                    let take = min(before * r, left)
                    let after = before * r <= left ? 0 : before - left / r
                    pool[v] = after
                    left -= take
                    info.served += take
                    info.accuracyServed += m.accuracy[v] * take
                    // The variant's devices start this part between x0 and x1; what finishes
                    // by the deadline is on time, the rest late by whole intervals.
                    let n = holding[v], latency = m.serviceLatency[v * S + s]
                    let x0 = tk + delta * (1 - before / n), x1 = tk + delta * (1 - after / n)
                    let limit = due - latency
                    let share = x1 <= limit ? 1 : x0 >= limit ? 0 : (limit - x0) / (x1 - x0)
                    info.servedOnTime += take * share
                    if share < 1 {
                        let finish = 0.5 * (max(x0, limit) + x1) + latency
                        info.latenessPenalty += take * (1 - share) * (penalty(s, intervalsLate(due, at: finish, cap: m.dropAfter[s]))
                                                                      - penalty(s, intervalsLate(due, at: T0, cap: m.dropAfter[s])))
                    }
                }
                queues[s][next[s]].amount = left
                next[s] = left > 0 ? queues[s].count : next[s] + 1
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
