import SwitchGymCore

/// What happened in one decision interval of a serving env, in serving terms.
public struct ServingStepInfo: Sendable, Equatable, Codable {
    /// The interval just simulated (0-based in the episode); -1 after reset.
    public var interval = -1
    /// Queries that arrived.
    public var arrived = 0.0
    /// Queries answered (on time or late).
    public var served = 0.0
    /// Of ``served``, those answered by their deadline (goodput × interval).
    public var servedOnTime = 0.0
    /// Queries dropped after waiting too long.
    public var dropped = 0.0
    /// Queries still queued after the interval.
    public var queued = 0.0
    /// `Σ accuracy × answered`.
    public var accuracyServed = 0.0
    /// Cost of the variants held or loading.
    public var cost = 0.0
    /// Devices whose variant changed (a load started).
    public var switches = 0
    /// Devices asked to hold a variant they cannot (the choice was ignored).
    public var infeasibleChoices = 0
    /// SLO lateness penalty (stream-weighted) and drop penalty.
    public var latenessPenalty = 0.0, dropPenalty = 0.0
    /// Reward parts: `+served`, `+accuracy`, `−cost`, `−slo` terms; they sum to the reward.
    public var servedTerm = 0.0, accuracyTerm = 0.0, costTerm = 0.0, sloTerm = 0.0

    public init() {}

    public var reward: Double { servedTerm + accuracyTerm + costTerm + sloTerm }
}

/// Totals over an episode (or a whole evaluation), and the metrics users compare policies by.
public struct ServingMetrics: Sendable, Equatable, Codable {
    public var intervals = 0
    public var seconds = 0.0
    public var arrived = 0.0, served = 0.0, servedOnTime = 0.0, dropped = 0.0, queued = 0.0
    public var accuracyServed = 0.0, cost = 0.0
    public var switches = 0
    public var latenessPenalty = 0.0, dropPenalty = 0.0
    /// Sum of rewards (the utility).
    public var utility = 0.0

    public init() {}

    /// Adds one interval.
    public mutating func add(_ i: ServingStepInfo, seconds dt: Double) {
        intervals += 1
        seconds += dt
        arrived += i.arrived; served += i.served; servedOnTime += i.servedOnTime; dropped += i.dropped
        queued = i.queued
        accuracyServed += i.accuracyServed; cost += i.cost; switches += i.switches
        latenessPenalty += i.latenessPenalty; dropPenalty += i.dropPenalty
        utility += i.reward
    }

    /// Queries answered by their deadline per second.
    public var goodput: Double { seconds > 0 ? servedOnTime / seconds : 0 }
    /// Share of arrivals answered by their deadline.
    public var sloAttainment: Double { arrived > 0 ? servedOnTime / arrived : 1 }
    /// Mean accuracy of the answers.
    public var meanAccuracy: Double { served > 0 ? accuracyServed / served : 0 }
}

/// The serving scenario at **fluid** fidelity: per-interval arrival counts (fractional),
/// devices that serve at their variant's throughput under each stream's SLO, loads that idle a
/// device for the load delay, FIFO queues per stream served earliest-deadline first (per
/// interval, each batch of queries from the variants' pools in variant order; in sub-bins,
/// spread over the devices as the router spreads it: devices holding one variant serve at one
/// rate, so only how many devices hold each variant, and since when, matters), SLO lateness
/// penalties per interval late, drops after `drop_after` intervals. How queueing inside an
/// interval is charged is the model's ``FluidQueueing``: by default
/// (``FluidQueueing/subinterval``, `FluidServingEnv+Subintervals.swift`) in sub-bins with
/// deadlines in seconds, as the discrete-event fidelity charges it; with
/// ``FluidQueueing/interval``, on time anywhere in the interval the deadline falls in (the model
/// described here and reduced to ``EmploymentSearch``).
///
/// Action: ``MultiDiscrete``, one choice per device, the variant it should hold
/// (``ServingModel/actionLayout``: grows linearly with the fleet). A device switches iff its
/// choice differs from its variant, and loads for the variant's load delay; a choice the mask
/// forbids (memory, device kind) keeps the device's variant. Observation:
/// ``FamilyObservationLayout``, as the reduced ``EmploymentSearch``'s (per device a one-hot
/// variant and the pending load in intervals; per stream the mean arrivals over the history
/// windows, the backlog by lateness, the optional next-interval forecast, all over the mean
/// arrivals per interval; the elapsed fraction). Reward: ``ServingRewardWeights``. Episodes end
/// truncated after ``ServingModel/episodeLength`` intervals. A step costs
/// O(devices + queued batches × variants) and allocates nothing.
///
/// Invariants (checked by ``checkInvariants()``; asserted in debug builds every step):
/// arrived = served + dropped + queued; no device holds a variant it cannot; time only advances.
public struct FluidServingEnv: VectorizableEnv, Sendable {
    public typealias Info = ServingStepInfo

    public let model: ServingModel
    public let observationSpace: Box
    public let actionSpace: MultiDiscrete

    var generator: SeededGenerator
    var isReady = false
    /// Interval index within the episode.
    public internal(set) var time = 0
    /// First interval of the episode in the series.
    public internal(set) var start = 0
    /// The factor this episode's arrivals are scaled by: drawn at reset with the model's
    /// ``ServingModel/loadAugmentation`` (training), else 1.
    public internal(set) var loadScale = 1.0
    /// Variant held (or loading) per device.
    public internal(set) var variants: [Int]
    /// Intervals of load left per device.
    public internal(set) var pending: [Double]
    /// Device-intervals of service left per variant in the current interval.
    private var pool: [Double]
    /// The queues: per stream its cohorts in deadline order (one per interval with
    /// ``FluidQueueing/interval`` queueing, due at an interval index; one per sub-bin with
    /// ``FluidQueueing/subinterval``, due in seconds since the episode start).
    var queues: CohortRing
    /// Per stream, the cohorts the current earliest-deadline-first pass has visited.
    var cursor: [Int]
    /// Scratch of the sub-interval step (empty with interval queueing).
    var bins: SubBinScratch
    /// What sub-interval queueing carries across intervals for switches (host-RAM caches,
    /// drains, work in flight); unused with interval queueing.
    var carry: SwitchCarry
    /// The last interval's details.
    public internal(set) var last = ServingStepInfo()
    /// Totals since the last reset.
    public internal(set) var totals = ServingMetrics()

    /// An env over `model`; `seed` seeds resets without a seed (random episode starts).
    public init(model: ServingModel, seed: UInt64 = 0) {
        self.model = model
        observationSpace = model.observationSpace
        actionSpace = MultiDiscrete([Int](repeating: model.variantCount, count: model.deviceCount))
        generator = SeededGenerator(seed: seed)
        variants = model.scenario.initialVariants
        pending = [Double](repeating: 0, count: model.deviceCount)
        pool = [Double](repeating: 0, count: model.variantCount)
        queues = CohortRing(capacities: model.queueCapacity)
        // Separate buffers (no shared storage), so no step pays a copy-on-write.
        cursor = [Int](repeating: 0, count: model.streamCount)
        bins = SubBinScratch(model: model)
        carry = SwitchCarry(model: model)
    }

    /// Convenience: the model of `scenario` over `arrivals`.
    public init(scenario: ServingScenario, arrivals: ScenarioArrivals, randomStart: Bool = false, seed: UInt64 = 0,
                queueing: FluidQueueing = .subinterval) throws {
        self.init(model: try ServingModel(scenario: scenario, arrivals: arrivals, randomStart: randomStart, queueing: queueing), seed: seed)
    }

    public var observationDimension: Int { model.observationDimension }

    public var actionLayout: ActionLayout { model.actionLayout }

    public var familyLayout: FamilyObservationLayout? { model.observationLayout }

    public mutating func reset(seed: UInt64?, options: NoResetOptions?) throws -> ResetResult<[Float], ServingStepInfo> {
        resetState(seed: seed)
        return ResetResult(observation: currentObservation(), info: last)
    }

    public mutating func step(_ action: [Int]) throws -> StepResult<[Float], ServingStepInfo> {
        guard isReady else { throw EnvError.stepBeforeReset("FluidServingEnv(\(model.scenario.name))") }
        guard actionSpace.contains(action) else {
            throw EnvError(.invalidAction, "FluidServingEnv: action \(action.count > 16 ? "of \(action.count) choices" : "\(action)") is not in \(model.actionLayout) (one variant index per device).")
        }
        let t = action.withUnsafeBufferPointer { step(choices: $0.baseAddress!) }
        return StepResult(observation: currentObservation(), reward: t.reward, terminated: t.terminated,
                          truncated: t.truncated, info: last)
    }

    public mutating func close() { isReady = false }

    public mutating func resetState(seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
        time = 0
        start = 0
        let len = model.episodeLength
        if model.randomStart && len < model.intervalCount {
            start = Int.random(in: 0...(model.intervalCount - len), using: &generator)
        }
        loadScale = model.loadAugmentation.map { $0.draw(using: &generator) } ?? 1
        for d in 0..<model.deviceCount {
            variants[d] = model.initialVariants[d]
            pending[d] = 0
        }
        queues.removeAll()
        for d in bins.loadFraction.indices { bins.loadFraction[d] = 0 }
        carry.reset(model: model)
        last = ServingStepInfo()
        totals = ServingMetrics()
        isReady = true
    }

    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        model.writeActionMask(into: destination)
    }

    /// Simulates one interval; `choices[d]` is the variant device `d` should hold.
    public mutating func step(choices: UnsafePointer<Int>) -> Transition {
        switch model.queueing {
        case .interval: return stepInterval(choices: choices)
        case .subinterval: return stepSubintervals(choices: choices)
        }
    }

    /// Applies the decisions (shared by both queueing modes): a device whose (feasible) choice
    /// differs from its variant starts loading it; the time it serves this interval joins its
    /// variant's pool: without `subBins` as device-intervals (`pool[v]`), with `subBins` as the
    /// sub-bins it serves in (`subPool[v * K + k]`, device-sub-bins; the load takes the
    /// interval's start).
    ///
    /// A load takes the variant's ``ServingModel/hireSteps`` (the scenario's `load_from`), except
    /// with `subBins`, where it is charged as the discrete-event fidelity charges it: from host
    /// RAM or disk through the device's cache (``HostRAMCache``), and for a device that served
    /// at the last interval's end under a fixed-cost variant, only once its running batches end
    /// (``SwitchCarry/busyEnd``); such devices leaving an LLM variant are counted
    /// (``SwitchCarry/leaving``) for ``requeueLostWork()``.
    @inline(__always)
    mutating func applyDecisions(choices: UnsafePointer<Int>, subBins: Bool, into info: inout ServingStepInfo) {
        let m = model
        let V = m.variantCount, D = m.deviceCount, K = m.subBins
        let T0 = Double(time) * m.interval, invI = 1 / m.interval
        for v in 0..<V { pool[v] = 0 }
        // One uniqueness check per array per step, not per device (no copy-on-write checks
        // or bounds checks in the O(devices) loop).
        var switches = 0, infeasible = 0, cost = 0.0
        var clock = carry.clock, anyLeaving = false
        if subBins { for v in 0..<V { carry.serving[v] = 0; carry.leaving[v] = 0 } }
        // With a pinning router, each variant's devices before the decision and those leaving it.
        let pins = subBins && m.dispatch == .pinned
        if pins { for v in 0..<V { bins.heldBefore[v] = 0; bins.leavingAll[v] = 0 } }
        // With `subBins`, each device also counts towards its variant's holders and, when it
        // loads, marks the sub-bin its load ends in (`ends`) and the part of that sub-bin the
        // load takes (`sub`, summed in device order); the devices loading through a whole
        // sub-bin are those whose load ends after it (one backward pass per variant below):
        // O(devices + variants × K), in the decision's own pass over the devices (a second pass
        // cost a branch per device that mispredicts under random switching; here whether a
        // device loads follows whether it just switched, which the predictor has seen).
        let fK = Double(K)
        variants.withUnsafeMutableBufferPointer { held in
            pending.withUnsafeMutableBufferPointer { wait in
                pool.withUnsafeMutableBufferPointer { time in
                  bins.loadFraction.withUnsafeMutableBufferPointer { loading in
                    m.canHold.withUnsafeBufferPointer { fits in
                        m.hireSteps.withUnsafeBufferPointer { hire in
                            m.costPerInterval.withUnsafeBufferPointer { price in
                              carry.withDecisionPointers(model: m) { c in
                               bins.heldBefore.withUnsafeMutableBufferPointer { before in
                               bins.leavingAll.withUnsafeMutableBufferPointer { gone in
                               bins.subPool.withUnsafeMutableBufferPointer { sub in
                               bins.loadEnds.withUnsafeMutableBufferPointer { ends in
                               bins.holders.withUnsafeMutableBufferPointer { holders in
                                if subBins {
                                    for i in 0..<(V * K) { sub[i] = 0; ends[i] = 0 }
                                    for v in 0..<V { holders[v] = 0 }
                                }
                                for d in 0..<D {
                                    var v = choices[d]
                                    if !fits[d * V + v] {
                                        infeasible += 1
                                        v = held[d]
                                    }
                                    if pins {
                                        before[held[d]] &+= 1
                                        gone[held[d]] &+= v != held[d] ? 1 : 0
                                    }
                                    // Served at the last interval's end (its load, if any, was over).
                                    let busy = subBins && loading[d] < 1
                                    if busy { c.serving[held[d]] += 1 }
                                    if v != held[d] {
                                        switches += 1
                                        if subBins {
                                            let u = held[d]
                                            var seconds = HostRAMCache.load(v, variants: V, memory: c.memory, capacityGB: c.hostRAM[d],
                                                                            stamps: c.stamps + d * V, cachedGB: &c.cachedGB[d], clock: &clock)
                                                ? c.ramSeconds[v] : c.diskSeconds[v]
                                            if busy {
                                                if c.restarts[u] { c.leaving[u] += 1; anyLeaving = true } else { seconds += max(0, c.busyEnd[u] - T0) }
                                            }
                                            wait[d] = seconds * invI
                                        } else {
                                            wait[d] = hire[v]
                                        }
                                        held[d] = v
                                    }
                                    let w = min(wait[d], 1)
                                    wait[d] = max(0, wait[d] - 1)
                                    cost += price[v]
                                    if !subBins {
                                        time[v] += 1 - w
                                    } else {
                                        loading[d] = w
                                        holders[v] &+= 1
                                        if w > 0 {
                                            let j0 = min(K - 1, Int(w * fK))
                                            ends[v &* K &+ j0] &+= 1
                                            sub[v &* K &+ j0] += 1 - min(1, max(0, Double(j0 &+ 1) - w * fK))
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
        }
        if subBins {
            // Devices not loading serve in every sub-bin; a loading one from the sub-bin its
            // load ends in (the load takes the interval's start): the devices loading through
            // sub-bin k are those whose load ends after it.
            bins.subPool.withUnsafeMutableBufferPointer { sub in
                bins.loadEnds.withUnsafeBufferPointer { ends in
                    bins.heldCount.withUnsafeMutableBufferPointer { count in
                        for v in 0..<V {
                            count[v] = Double(bins.holders[v])
                            var through = 0
                            for k in stride(from: K - 1, through: 0, by: -1) {
                                sub[v * K + k] = (count[v] - Double(through)) - sub[v * K + k]
                                through &+= ends[v * K + k]
                            }
                        }
                    }
                }
            }
        }
        // The devices that keep their variant hold the backlog the decision pins
        // (``pinBacklog()``); the devices switching in serve what arrives after it.
        // (Without pins every device holding a variant counts as tenured.)
        if pins && switches > 0 {
            for v in 0..<V { carry.tenured[v] = Double(bins.heldBefore[v] - bins.leavingAll[v]) }
        } else if subBins && !pins {
            for v in 0..<V { carry.tenured[v] = bins.heldCount[v] }
        }
        carry.clock = clock
        carry.anyLeaving = anyLeaving
        info.switches = switches
        info.infeasibleChoices = infeasible
        info.cost = cost
    }

    /// Simulates one interval with ``FluidQueueing/interval`` queueing.
    mutating func stepInterval(choices: UnsafePointer<Int>) -> Transition {
        let m = model
        let V = m.variantCount, S = m.streamCount
        var info = ServingStepInfo()
        info.interval = time
        applyDecisions(choices: choices, subBins: false, into: &info)
        let row = start + time, now = Double(time)
        let counts = m.counts, deadline = m.deadlineSteps, rate = m.serviceRates, rateRow = m.rateRow(row), accuracy = m.accuracy
        let weight = m.weight, increment = m.penaltyIncrement, dropAfter = m.dropAfter, dropPenalty = m.dropPenalty
        let maxLate = m.maxLate
        queues.withSlots { q in
            cursor.withUnsafeMutableBufferPointer { cur in
                pool.withUnsafeMutableBufferPointer { pool in
        // Arrivals join their stream's queue, due `deadline` intervals later.
        for s in 0..<S {
            let a = counts[row * S + s] * loadScale
            if a > 0 {
                q.append(s, due: Double(time + deadline[s]), amount: a)
                info.arrived += a
            }
            cur[s] = 0
        }
        // Serve queued queries earliest deadline first (ties: stream order), each batch of
        // queries from the variants' pools in variant order; then charge lateness and drop what
        // waited too long.
        while let (s, bestDue) = q.earliest(streams: S, cursor: cur) {
            let slot = q.slot(s, cur[s])
            cur[s] += 1
            var amount = q.amount[slot]
            for v in 0..<V where pool[v] > 0 && amount > 0 {
                let rate = rate[rateRow + v * S + s]
                guard rate > 0 else { continue }
                let can = pool[v] * rate
                let served: Double
                if can <= amount {
                    served = can
                    pool[v] = 0
                } else {
                    served = amount
                    pool[v] -= served / rate
                }
                amount -= served
                info.served += served
                info.accuracyServed += accuracy[v] * served
                if bestDue >= now { info.servedOnTime += served }
            }
            q.amount[slot] = amount
        }
        for s in 0..<S {
            // Lateness in queue order (the same order as the EDF pass within a stream).
            var kept = 0
            for k in 0..<q.count[s] {
                let slot = q.slot(s, k)
                let amount = q.amount[slot]
                if amount <= 0 { continue }
                let dueAt = q.due[slot], due = Int(dueAt)
                if due <= time {
                    let late = time - due + 1
                    info.latenessPenalty += amount * weight[s] * increment[s * maxLate + late - 1]
                    if late >= dropAfter[s] {
                        info.dropped += amount
                        info.dropPenalty += amount * weight[s] * dropPenalty[s]
                        continue
                    }
                }
                info.queued += amount
                let to = q.slot(s, kept)
                q.due[to] = dueAt
                q.amount[to] = amount
                kept += 1
            }
            q.count[s] = kept
        }
                }
            }
        }
        return finish(&info)
    }

    /// Completes an interval's info (reward terms), records it and advances the clock.
    @inline(__always)
    mutating func finish(_ info: inout ServingStepInfo) -> Transition {
        let m = model
        let w = m.weights
        info.servedTerm = w.served * info.served
        info.accuracyTerm = w.accuracy * info.accuracyServed
        info.costTerm = -w.cost * info.cost
        info.sloTerm = -w.slo * (info.latenessPenalty + info.dropPenalty)
        last = info
        totals.add(info, seconds: m.interval)
        time += 1
        assert(invariantViolation() == nil, invariantViolation() ?? "")
        return Transition(reward: info.reward * m.rewardScale, terminated: false, truncated: time >= m.episodeLength)
    }

    /// A description of the first broken invariant, or `nil`.
    public func invariantViolation() -> String? {
        let balance = totals.served + totals.dropped + totals.queued
        if abs(totals.arrived - balance) > 1e-7 * max(1, totals.arrived) {
            return "arrived \(totals.arrived) != served \(totals.served) + dropped \(totals.dropped) + queued \(totals.queued)"
        }
        for d in 0..<model.deviceCount where !model.canHold[d * model.variantCount + variants[d]] {
            let dev = model.scenario.fleet[d], v = model.scenario.variants[variants[d]]
            return "device \(dev.name) (\(dev.gpus) x \(dev.memoryGB) GB, \(dev.kind)) holds \(v.name) (\(v.gpus) x \(v.memoryGB) GB, \(v.hardware))"
        }
        if time < 0 || time > model.episodeLength || totals.intervals != time { return "clock at \(time) after \(totals.intervals) intervals" }
        if model.queueing == .subinterval {
            // The devices the pinned backlog waits on are devices holding the variant.
            for v in 0..<model.variantCount {
                var holding = 0
                for d in 0..<variants.count where variants[d] == v { holding += 1 }
                if carry.tenured[v] < 0 || carry.tenured[v] > Double(holding) {
                    return "\(carry.tenured[v]) devices tenured on \(model.scenario.variants[v].name), which \(holding) hold"
                }
            }
        }
        return nil
    }

    /// Throws ``EnvError`` if an invariant is broken (see the type's documentation).
    public func checkInvariants() throws {
        if let v = invariantViolation() { throw EnvError(.invalidArgument, "FluidServingEnv invariant: \(v)") }
    }

    /// Stream `s`'s queued queries by lateness at the end of the next interval
    /// (``FamilyObservationLayout/backlogBucket(lateness:)``).
    @inline(__always)
    func backlog(stream s: Int) -> (Double, Double, Double, Double) {
        if model.queueing == .subinterval { return subintervalBacklog(stream: s) }
        var buckets = (0.0, 0.0, 0.0, 0.0)
        let now = time
        queues.forEach(stream: s) { due, a in
            switch FamilyObservationLayout.backlogBucket(lateness: now - Int(due) + 1) {
            case 0: buckets.0 += a
            case 1: buckets.1 += a
            case 2: buckets.2 += a
            default: buckets.3 += a
            }
        }
        return buckets
    }

    /// What a serving core would report now (``ServingTelemetry``): the interval about to
    /// start, the queries of each stream that arrived in the one that ended, its backlog and
    /// forecast, and each device's variant and load time left. A ``ServingObserver`` turns it
    /// into exactly this env's observation.
    public func telemetry() -> ServingTelemetry {
        let m = model, S = m.streamCount, now = start + time
        let streams = (0..<S).map { s in
            let b = backlog(stream: s)
            return ServingTelemetry.Stream(arrivals: time > 0 ? m.counts[(now - 1) * S + s] * loadScale : 0, backlog: [b.0, b.1, b.2, b.3],
                                           forecast: m.forecast ? (now < m.intervalCount ? m.forecastCounts[now * S + s] * loadScale : 0) : nil)
        }
        let devices = (0..<m.deviceCount).map { d in
            ServingTelemetry.Device(variant: m.scenario.variants[variants[d]].name, pendingS: pending[d] * m.interval)
        }
        return ServingTelemetry(interval: now, streams: streams, devices: devices)
    }

    public func writeObservation(into out: UnsafeMutablePointer<Float>) {
        let m = model, layout = m.observationLayout
        let S = m.streamCount
        variants.withUnsafeBufferPointer { held in
            pending.withUnsafeBufferPointer { wait in
                layout.writeWorkers(into: out, job: { held[$0] }, pending: { wait[$0] })
            }
        }
        let now = start + time
        for s in 0..<S {
            let buckets = backlog(stream: s)
            layout.writeStream(s, scale: m.billScale, windowMean: { i in
                let window = m.windows[i]
                let lo = max(start, now - window)
                let sum = lo < now ? m.prefix[now * S + s] - m.prefix[lo * S + s] : 0
                return sum * loadScale / Double(window)
            }, backlog: buckets, forecast: now < m.intervalCount ? m.forecastCounts[now * S + s] * loadScale : 0, into: out)
        }
        layout.writeElapsed(step: time, episodeLength: m.normalization.episodeIntervals, into: out)
    }
}
