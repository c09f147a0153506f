import SwitchGymCore

/// What happened in one decision interval of a ``DiscreteEventServingEnv``.
public struct DiscreteEventStepInfo: Sendable, Equatable, Codable {
    /// The interval in the fluid fidelity's terms (whole queries, as `Double`), so the two
    /// fidelities report and are rewarded alike.
    public var serving = ServingStepInfo()
    /// Exact counts: arrived, answered (on time or late), answered by the deadline, dropped,
    /// and queued after the interval (waiting on a device, in a central queue, or running).
    public var arrived = 0, served = 0, servedOnTime = 0, dropped = 0, queued = 0
    /// Queries answered by their deadline or by the end of the interval they are due in by
    /// the fluid model's coarser rule (arrival interval plus the deadline in whole intervals),
    /// whichever is later: on time as leniently as the fluid counts it, to separate the gap the
    /// SLO granularity makes from the capacity lost. ``servedOnTime`` <= this <= ``served``.
    public var servedInDueInterval = 0
    /// Of ``queued``, queries in running batches.
    public var inFlight = 0
    /// Of ``queued``, queries no device's variant can answer (central queues).
    public var centralQueued = 0
    /// Latency percentiles of the queries that started their batch in this interval, ms
    /// (from a log-scale histogram with 1.6% bins; 0 when none).
    public var latencyP50Ms = 0.0, latencyP99Ms = 0.0
    /// Batches started, and their mean size.
    public var batches = 0
    public var meanBatchSize = 0.0
    /// Loads started from the host RAM cache and from disk.
    public var loadsFromRAM = 0, loadsFromDisk = 0
    /// Token-level (LLM) serving: preemptions, requests rejected because they can never fit,
    /// and the mean time to first token and time per output token of the requests answered,
    /// ms (0 when none). ``batches`` counts engine steps there.
    public var preemptions = 0, rejected = 0
    public var meanTTFTMs = 0.0, meanTPOTMs = 0.0

    public init() {}

    /// The reward (the fluid terms' sum).
    public var reward: Double { serving.reward }
}

/// Totals of a ``DiscreteEventServingEnv`` since its last reset.
public struct DiscreteEventMetrics: Sendable, Equatable, Codable {
    /// The fluid fidelity's metrics (utility, goodput, SLO attainment, mean accuracy, ...).
    public var serving = ServingMetrics()
    /// Exact counts (``queued`` after the last interval).
    public var arrived = 0, served = 0, servedOnTime = 0, dropped = 0, queued = 0
    /// Answered on time by the deadline or the fluid's due interval (see ``DiscreteEventStepInfo/servedInDueInterval``).
    public var servedInDueInterval = 0
    public var batches = 0, batchQueries = 0, loadsFromRAM = 0, loadsFromDisk = 0
    /// Token-level serving: preemptions, rejected requests, mean TTFT and TPOT (ms).
    public var preemptions = 0, rejected = 0
    public var meanTTFTMs = 0.0, meanTPOTMs = 0.0
    /// Latency percentiles over the episode, ms (filled by
    /// ``DiscreteEventServingEnv/episodeMetrics()``, 0 in ``DiscreteEventServingEnv/totals``,
    /// which the env updates every step without scanning the histogram).
    public var latencyP50Ms = 0.0, latencyP99Ms = 0.0

    public init() {}
}

/// Owns a ``DiscreteEventEngine``'s buffers (freed in `deinit`); the env copies it on write.
final class DiscreteEventStorage: @unchecked Sendable {
    var engine: DiscreteEventEngine

    init(engine: DiscreteEventEngine) { self.engine = engine }

    deinit { engine.free() }
}

/// The serving scenario at **discrete-event** fidelity: the decisions of ``FluidServingEnv``
/// (a joint action, one variant per device, every decision interval; the same observation
/// layout and action space, so a policy runs on both), simulated per query.
///
/// - **Arrivals**: the trace's arrival times scaled to the scenario's rate: thinned (rate
///   scale <= 1) or replayed as a non-homogeneous Poisson process over fine bins (> 1); each
///   query picks a stream by its share (``DiscreteEventArrivalMode``). Generated per interval
///   into a reused buffer, deterministically from the reset seed.
/// - **Loads**: a switch loads the new variant from the device's host RAM cache when it holds
///   it (``Device/hostRAMGB``, least recently used by memory size; the initial variant is
///   cached at reset), else from disk, caching it; the load starts when the device's running
///   batches end, and the device serves nothing until it completes. Its queued queries, and
///   the central queues, are re-dispatched at the decision.
/// - **Dispatch** on arrival: join the shortest expected wait (queued queries over the
///   variant's throughput for the stream, plus the rest of a load or of the running batch)
///   among the devices whose held or loading variant can answer the stream (throughput > 0:
///   deadline feasible and accurate enough); ties by device order; none: a central queue per
///   stream, re-dispatched when a variant changes.
/// - **Batching**: deadline-aware dynamic batching per device, earliest deadline first (see
///   `DiscreteEventEngine.startBatch`); up to ``Device/concurrency`` batches at once, each
///   slowed by co-located batches (``CoLocationInterference``).
/// - **Lateness**: a query answered after its deadline is late; each late query is charged
///   its stream's penalty increments per whole interval late (rounded up), as the fluid model
///   charges unanswered queries at the end of each interval; a query still waiting
///   ``SLOStream/dropAfterIntervals`` intervals past its deadline is dropped (with the
///   remaining increments and the drop penalty).
///
/// Observation: the fluid layout, filled from the simulation: the history windows average the
/// *realized* arrivals, the backlog bins count queued queries by whole intervals late (running
/// batches excluded), the optional forecast is the fluid count of the next interval, the pending
/// load is the seconds left over the interval. Cost: the variants held or loading per interval,
/// as in the fluid model.
///
/// Info: ``DiscreteEventStepInfo`` (the fluid ``ServingStepInfo`` plus exact counts and
/// latency percentiles). Invariants (``checkInvariants()``; asserted every step in debug
/// builds): arrived = served + dropped + queued exactly; every device holds a variant it can
/// hold and its host cache stays within ``Device/hostRAMGB``; the clock never goes back.
public struct DiscreteEventServingEnv: VectorizableEnv, Sendable {
    public typealias Info = DiscreteEventStepInfo

    public let model: DiscreteEventModel
    public let observationSpace: Box
    /// One choice per device, the variant it should hold (as ``FluidServingEnv``).
    public let actionSpace: MultiDiscrete

    private var storage: DiscreteEventStorage
    private var generator: SeededGenerator
    private var isReady = false
    /// First interval of the episode in the series.
    public private(set) var start = 0
    /// The last interval's details.
    public private(set) var last = DiscreteEventStepInfo()
    /// Totals since the last reset.
    public private(set) var totals = DiscreteEventMetrics()

    /// An env over `model`; `seed` seeds resets without a seed (random starts and arrivals).
    public init(model: DiscreteEventModel, seed: UInt64 = 0) {
        self.model = model
        observationSpace = model.serving.observationSpace
        actionSpace = MultiDiscrete([Int](repeating: model.serving.variantCount, count: model.serving.deviceCount))
        generator = SeededGenerator(seed: seed)
        storage = DiscreteEventStorage(engine: DiscreteEventEngine(model: model))
    }

    /// Convenience: the model of `scenario` over `arrivals`.
    /// - Throws: ``ScenarioError`` if the scenario is inconsistent.
    public init(scenario: ServingScenario, arrivals: ScenarioArrivals, randomStart: Bool = false,
                config: DiscreteEventConfig = DiscreteEventConfig(), seed: UInt64 = 0) throws {
        self.init(model: try DiscreteEventModel(scenario: scenario, arrivals: arrivals, randomStart: randomStart,
                                                config: config), seed: seed)
    }

    public var observationDimension: Int { model.serving.observationDimension }

    public var actionLayout: ActionLayout { model.serving.actionLayout }

    public var familyLayout: FamilyObservationLayout? { model.serving.observationLayout }

    /// Intervals simulated in the episode.
    public var time: Int { storage.engine.time }
    /// The variant held (or loading) per device (allocates).
    public var variants: [Int] { (0..<model.serving.deviceCount).map { storage.engine.variant[$0] } }
    /// Seconds of load left on device `d` (0 when it serves).
    public func pendingLoadSeconds(device d: Int) -> Double {
        max(0, storage.engine.loadEnd[d] - storage.engine.now)
    }
    /// Whether device `d`'s host RAM cache holds variant `v` (a load of it is a RAM load).
    public func isCached(device d: Int, variant v: Int) -> Bool { storage.engine.isCached(device: d, variant: v) }
    /// The batches that finished in the last interval, when
    /// ``DiscreteEventConfig/recordBatches`` is set (the buffer is reused every interval:
    /// copy what you keep).
    public var batchLog: [BatchObservation] { storage.engine.batchLog }
    /// The requests token-level variants answered in the last interval, when
    /// ``DiscreteEventConfig/recordBatches`` is set (reused every interval).
    public var tokenLog: [TokenRequestObservation] { storage.engine.tokenLog }
    /// The requests dropped in the last interval, when ``DiscreteEventConfig/recordBatches`` is
    /// set (reused every interval).
    public var dropLog: [DroppedRequestObservation] { storage.engine.dropLog }
    /// The prompt and output tokens the engine gives a request of stream `s` arriving at
    /// `arrival` seconds (its pool entry; the fallback lengths when no variant is token-level).
    func requestLengths(stream s: Int, arrival: Double) -> (Int, Int) {
        let i = storage.engine.tokenIndex(stream: s, arrival: arrival)
        return (Int(storage.engine.t.tok.poolIn[i]), Int(storage.engine.t.tok.poolOut[i]))
    }
    /// Time of the episode's last KV preemption, seconds since its start (-1 when none).
    public var lastPreemptionTime: Double { storage.engine.lastPreemption }

    public mutating func reset(seed: UInt64?, options: NoResetOptions?) throws -> ResetResult<[Float], DiscreteEventStepInfo> {
        resetState(seed: seed)
        return ResetResult(observation: currentObservation(), info: last)
    }

    public mutating func step(_ action: [Int]) throws -> StepResult<[Float], DiscreteEventStepInfo> {
        guard isReady else { throw EnvError.stepBeforeReset("DiscreteEventServingEnv(\(model.scenario.name))") }
        guard actionSpace.contains(action) else {
            throw EnvError(.invalidAction, "DiscreteEventServingEnv: action \(action.count > 16 ? "of \(action.count) choices" : "\(action)") is not in \(model.serving.actionLayout) (one variant index per device).")
        }
        let t = action.withUnsafeBufferPointer { step(choices: $0.baseAddress!) }
        return StepResult(observation: currentObservation(), reward: t.reward, terminated: t.terminated,
                          truncated: t.truncated, info: last)
    }

    public mutating func close() { isReady = false }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = DiscreteEventStorage(engine: storage.engine.clone()) }
    }

    /// Starts an episode: the same random start as ``FluidServingEnv`` for the same seed, then
    /// a fresh arrival stream drawn from the env's generator.
    public mutating func resetState(seed: UInt64?) {
        makeUnique()
        if let seed { generator = SeededGenerator(seed: seed) }
        let m = model.serving
        start = 0
        let len = m.episodeLength
        if m.randomStart && len < m.intervalCount {
            start = Int.random(in: 0...(m.intervalCount - len), using: &generator)
        }
        storage.engine.reset(start: start, seed: generator.next(), initialVariants: m.scenario.initialVariants)
        last = DiscreteEventStepInfo()
        last.serving.interval = -1
        totals = DiscreteEventMetrics()
        isReady = true
    }

    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        model.serving.writeActionMask(into: destination)
    }

    /// Simulates one interval; `choices[d]` is the variant device `d` should hold.
    public mutating func step(choices: UnsafePointer<Int>) -> Transition {
        makeUnique()
        storage.engine.simulateInterval(choices: choices)
        let e = storage.engine.c
        let w = model.scenario.weights
        var info = DiscreteEventStepInfo()
        var s = ServingStepInfo()
        s.interval = storage.engine.time - 1
        s.arrived = Double(e.arrived); s.served = Double(e.served); s.servedOnTime = Double(e.onTime)
        s.dropped = Double(e.dropped)
        let queued = storage.engine.queuedTotal
        s.queued = Double(queued)
        s.accuracyServed = e.accuracy; s.cost = e.cost
        s.switches = e.switches; s.infeasibleChoices = e.infeasible
        s.latenessPenalty = e.lateness; s.dropPenalty = e.dropPenalty
        s.servedTerm = w.served * s.served
        s.accuracyTerm = w.accuracy * s.accuracyServed
        s.costTerm = -w.cost * s.cost
        s.sloTerm = -w.slo * (s.latenessPenalty + s.dropPenalty)
        info.serving = s
        info.arrived = e.arrived; info.served = e.served; info.servedOnTime = e.onTime; info.dropped = e.dropped
        info.queued = queued
        info.servedInDueInterval = e.inDue
        info.inFlight = storage.engine.inFlight
        info.centralQueued = storage.engine.queued[model.serving.deviceCount]
        info.batches = e.batches
        info.meanBatchSize = e.batches > 0 ? Double(e.batchQueries) / Double(e.batches) : 0
        info.loadsFromRAM = e.loadsRAM; info.loadsFromDisk = e.loadsDisk
        info.preemptions = e.preemptions; info.rejected = e.rejected
        info.meanTTFTMs = e.tokenRequests > 0 ? 1000 * e.ttftSum / Double(e.tokenRequests) : 0
        info.meanTPOTMs = e.tpotRequests > 0 ? 1000 * e.tpotSum / Double(e.tpotRequests) : 0
        let lo = storage.engine.histLo
        info.latencyP50Ms = LatencyHistogram.quantileMs(storage.engine.hist, total: e.batchQueries, q: 0.5, from: lo)
        info.latencyP99Ms = LatencyHistogram.quantileMs(storage.engine.hist, total: e.batchQueries, q: 0.99, from: lo)
        last = info
        totals.serving.add(s, seconds: model.scenario.decisionInterval)
        let tot = storage.engine.total
        totals.arrived = tot.arrived; totals.served = tot.served; totals.servedOnTime = tot.onTime
        totals.dropped = tot.dropped; totals.queued = queued
        totals.servedInDueInterval = tot.inDue
        totals.batches = tot.batches; totals.batchQueries = tot.batchQueries
        totals.loadsFromRAM = tot.loadsRAM; totals.loadsFromDisk = tot.loadsDisk
        totals.preemptions = tot.preemptions; totals.rejected = tot.rejected
        totals.meanTTFTMs = tot.tokenRequests > 0 ? 1000 * tot.ttftSum / Double(tot.tokenRequests) : 0
        totals.meanTPOTMs = tot.tpotRequests > 0 ? 1000 * tot.tpotSum / Double(tot.tpotRequests) : 0
        assert(storage.engine.invariantViolation() == nil, storage.engine.invariantViolation() ?? "")
        // The model's reward scale (1, or the training scale) applies to the returned reward only,
        // as in the fluid env.
        return Transition(reward: s.reward * model.serving.rewardScale, terminated: false, truncated: storage.engine.time >= model.serving.episodeLength)
    }

    /// ``totals`` with the episode's latency percentiles.
    public func episodeMetrics() -> DiscreteEventMetrics {
        var m = totals
        let e = storage.engine
        m.latencyP50Ms = LatencyHistogram.quantileMs(e.histTotal, total: e.total.batchQueries, q: 0.5)
        m.latencyP99Ms = LatencyHistogram.quantileMs(e.histTotal, total: e.total.batchQueries, q: 0.99)
        return m
    }

    /// A description of the first broken invariant, or `nil`.
    public func invariantViolation() -> String? {
        if let v = storage.engine.invariantViolation() { return v }
        if totals.serving.intervals != time { return "clock at interval \(time) after \(totals.serving.intervals) intervals" }
        return nil
    }

    /// Throws ``EnvError`` if an invariant is broken (see the type's documentation).
    public func checkInvariants() throws {
        if let v = invariantViolation() { throw EnvError(.invalidArgument, "DiscreteEventServingEnv invariant: \(v)") }
    }

    public func writeObservation(into out: UnsafeMutablePointer<Float>) {
        let m = model.serving, layout = m.observationLayout
        let e = storage.engine
        let S = m.streamCount
        layout.writeWorkers(into: out, job: { e.variant[$0] }, pending: { max(0, e.loadEnd[$0] - e.now) / m.scenario.decisionInterval })
        let time = e.time
        let now = start + time
        let windows = m.scenario.historyWindows
        for s in 0..<S {
            let b = e.backlog + 4 * s
            layout.writeStream(s, scale: m.billScale, windowMean: { i in
                let lo = max(0, time - windows[i])
                return (e.prefix[time * S + s] - e.prefix[lo * S + s]) / Double(windows[i])
            }, backlog: (b[0], b[1], b[2], b[3]), forecast: now < m.intervalCount ? m.forecastCounts[now * S + s] : 0, into: out)
        }
        layout.writeElapsed(step: time, episodeLength: m.normalization.episodeIntervals, into: out)
    }
}
