import Foundation
import SwitchGymCore

/// The immutable, precomputed tables of a scenario over one arrival series, shared by every
/// copy of a ``FluidServingEnv`` (a class, so copying an env copies a reference).
public final class ServingModel: Sendable {
    public let scenario: ServingScenario
    public let arrivals: ScenarioArrivals
    /// Variants, streams, devices, intervals.
    public let variantCount: Int, streamCount: Int, deviceCount: Int, intervalCount: Int
    /// `capacity[v * S + s]`: queries of stream `s` one device with variant `v` answers per
    /// interval on average over the series (``ServingScenario/servingRates(arrivals:)``).
    let capacity: [Double]
    /// `serviceRates[t * rateStride + v * S + s]`: queries of stream `s` one device with variant
    /// `v` answers in interval `t`: the interval's token work for LLM variants (``TokenWork``),
    /// the latency table's for the others. One row per interval when the scenario has LLM
    /// variants (`rateStride == V × S`), else a single row (`rateStride == 0`, the same table
    /// as ``capacity``).
    let serviceRates: [Double]
    /// Entries between two intervals' rows of ``serviceRates`` and ``serviceLatency``.
    let rateStride: Int
    /// Per interval and stream, the token work of the arrivals (`nil` without LLM variants).
    let tokenWork: TokenWork?
    /// Load delay of each variant in intervals (the scenario's `load_from`): what interval
    /// queueing, the reduction to ``EmploymentSearch``, the baselines and the bounds charge.
    let hireSteps: [Double]
    /// Sub-interval queueing loads through each device's host-RAM cache as the
    /// discrete-event fidelity does (``HostRAMCache``): per variant its weights' gigabytes and
    /// its load delay in seconds from host RAM (an LLM variant's `wake_s` when it has one) and
    /// from disk; per device its host RAM in gigabytes.
    let memoryGB: [Double], loadSecondsRAM: [Double], loadSecondsDisk: [Double], hostRAMGB: [Double]
    /// Per variant: whether a switch loses the work in flight on the device (an LLM variant's
    /// engine restarts: its running requests go back to the queue, their progress lost) rather
    /// than draining it (a fixed-cost variant's running batches finish before the load starts).
    let restartsOnSwitch: [Bool]
    /// Cost of holding each variant for one interval (on all the GPUs it occupies).
    let costPerInterval: [Double]
    let accuracy: [Double]
    /// `canHold[d * V + v]`: the action mask (one row of ``ActionLayout/maskWidth`` entries).
    let canHold: [Bool]
    /// The device classes.
    public let classes: FleetClasses
    let deadlineSteps: [Int]
    let dropAfter: [Int]
    let weight: [Double]
    let dropPenalty: [Double]
    /// `penaltyIncrement[s * maxLate + x - 1]`: `p_s(x) − p_s(x − 1)` for `x = 1 ... dropAfter_s`.
    let penaltyIncrement: [Double]
    let maxLate: Int
    /// Cohort slots per stream of the env's queues (``CohortRing``) under this model's
    /// queueing: a cohort lives until it is served or dropped, at most its deadline and drop
    /// window past the interval it arrives in (`deadline + dropAfter + 2` intervals; with
    /// sub-interval queueing one cohort per sub-bin of them and one per interval for the work
    /// a switch loses, plus two).
    let queueCapacity: [Int]
    /// `prefix[t * S + s]`: arrivals of stream `s` in intervals `0 ..< t`.
    let prefix: [Double]
    /// `counts[t * S + s]`: arrivals of stream `s` in interval `t` (a copy of the series').
    let counts: [Double]
    /// The scenario's reward weights, decision interval, history windows and forecast flag,
    /// hoisted so the step does not touch the scenario struct.
    let weights: ServingRewardWeights
    let interval: Double
    let windows: [Int]
    let forecast: Bool
    /// The forecast feature's values: the next interval's arrivals, exact (an oracle
    /// forecast) or times a mean-one log-normal error of relative size
    /// ``ServingScenario/forecastNoise``, fixed per interval and stream (reproducible, the
    /// same in every copy of the env).
    public let forecastCounts: [Double]
    let initialVariants: [Int]
    /// Streams by deadline (ties: stream order), the order ``estimateInterval`` serves them.
    let streamOrder: [Int]
    /// Per stream, the highest accuracy among the variants that can answer it.
    let bestAccuracy: [Double]
    /// Mean arrivals per interval and stream: the observation's scale.
    public let billScale: Double
    /// How the observation is scaled: the bill scale and the episode length its elapsed
    /// fraction divides by. Derived from this model's trace and episode unless given at init
    /// (a trained policy's frozen normalisation, ``normalized(_:)``).
    public let normalization: ObservationNormalization
    public let episodeLength: Int
    public let randomStart: Bool
    /// Training only: each episode's arrivals scaled by a factor drawn at reset
    /// (``LoadAugmentation``); `nil` replays the trace as it is.
    public let loadAugmentation: LoadAugmentation?
    public let observationDimension: Int
    /// The action codec: one choice per device, its variant (`devices × Discrete(variants)`).
    public let actionLayout: ActionLayout
    /// The observation layout (shared with the reduced ``EmploymentSearch``).
    public let observationLayout: FamilyObservationLayout

    // MARK: Sub-interval queueing (``FluidQueueing/subinterval``)

    /// How the fluid env charges queueing inside an interval.
    public let queueing: FluidQueueing
    /// What the router does with queued queries when devices switch (sub-interval queueing; the
    /// discrete-event fidelity's ``DiscreteEventConfig/queuedDispatch``, the same values): with
    /// ``QueuedDispatch/pinned`` a decision that switches devices leaves the backlog on the
    /// devices that keep their variant (``FluidServingEnv/pinBacklog()``); with
    /// ``QueuedDispatch/rebalanced`` the queue stays pooled, any variant serving a stream takes
    /// its next cohort.
    public let dispatch: QueuedDispatch
    /// Cohort slots per stream without pinned pieces (what a state saved before pinning holds).
    let baseQueueCapacity: [Int]
    /// Sub-bins per decision interval (sub-interval queueing).
    public let subBins: Int
    /// `subCounts[(t * subBins + k) * S + s]`: arrivals of stream `s` in sub-bin `k` of
    /// interval `t`: the interval's count spread by the trace's own arrival profile within
    /// the interval (uniform when the series has no arrival times). Empty in interval mode.
    let subCounts: [Double]
    /// Per stream: deadline and drop window (`drop_after × interval`) in seconds.
    let deadlineSeconds: [Double], dropWindowSeconds: [Double]
    /// `serviceLatency[t * rateStride + v * S + s]`: seconds a query of stream `s` rides in the
    /// batch of variant `v` that sets its rate in interval `t` (`L(b)` of the best `b / L(b)` with
    /// `2·L(b) <= deadline` from the latency table; for an LLM variant the cycle of the full batch
    /// at the interval's mean lengths, ``LLMStepModel/batchLatency(prompt:output:)``: the
    /// latency at saturation; the sub-interval step charges an LLM variant's queries at the
    /// latency of its devices' occupancy, ``latencyBase``).
    let serviceLatency: [Double]
    /// For an LLM variant, the latency at the batch's occupancy (sub-interval queueing):
    /// `L(n) = latencyBase[i] + latencyPerSequence[i] · n` for `1 <= n <= latencyMaxBatch[i]`,
    /// `i = t * rateStride + v * S + s`, at interval `t`'s mean lengths
    /// (``LLMStepModel/latencyLine(prompt:output:)``; `L(latencyMaxBatch)` is ``serviceLatency``).
    /// A fixed-cost variant's line is flat at ``serviceLatency`` (`perSequence = 0`,
    /// `maxBatch = 1`): its latency does not follow occupancy.
    let latencyBase: [Double], latencyPerSequence: [Double], latencyMaxBatch: [Double]
    /// Per variant, the step model's `b0` and `b2` in seconds (0 for a fixed-cost variant, which
    /// is then charged at its latency alone): a request's first step at occupancy `n` is
    /// `B = b0 + b1·p + b2·(n − 1)` (``OutputLengthSpread/firstStep(perSequence:running:meanOutput:stepBase:stepPerSequence:)``),
    /// each further output token `(L − B)/(ō − 1)`. With ``outputSpread`` and the interval's mean output
    /// (``TokenWork/meanOutput``, `outputMeans`), the sub-interval step charges an LLM part's
    /// on-time share over its requests' output lengths (``OutputLengthSpread``).
    let outputStepBase: [Double], outputStepPerSequence: [Double]
    /// Each stream's spread of output lengths (no entries without LLM variants or with interval
    /// queueing, which does not read it).
    let outputSpread: OutputLengthSpread
    /// Per stream with a first-token deadline (`ttft_deadline_ms`), seconds from it to the
    /// end-to-end deadline (`deadline − ttft_deadline`): an LLM variant's request is on time only
    /// if its first token also comes by `due − ttftLead[s]`; `-infinity` without one.
    let ttftLead: [Double]
    /// `outputMeans[t * S + s]`: the mean output tokens of interval `t`'s requests of stream `s`
    /// (``TokenWork/meanOutput``; one unused entry without LLM variants).
    let outputMeans: [Double]
    /// `penaltyCumulative[s * (maxLate + 1) + k]`: weight × the penalty after `k` intervals late.
    let penaltyCumulative: [Double]

    /// Precomputes the tables of `scenario` over `arrivals`.
    /// - Throws: ``ScenarioError`` if the scenario is inconsistent or the arrivals do not
    ///   have one column per stream.
    /// Multiplies the reward the env returns from `step` (not the metrics or the info): 1
    /// for evaluation, ``trainingRewardScale`` for training so rewards are about 1 per
    /// interval's worth of queries.
    public let rewardScale: Double

    /// `1 / (mean arrivals per interval)`: a reward scale that makes one interval's served
    /// queries worth about 1, whatever the trace's rate.
    public var trainingRewardScale: Double { 1 / (billScale * Double(streamCount)) }

    /// ``trainingRewardScale`` of a model over `arrivals`, without building the model.
    public static func trainingRewardScale(arrivals: ScenarioArrivals) -> Double {
        let T = max(arrivals.intervals, 1), S = max(arrivals.streams, 1)
        let scale = max(arrivals.counts.reduce(0, +) / Double(T * S), 1e-9)
        return 1 / (scale * Double(S))
    }

    /// - Parameter queueing: how the fluid env charges queueing inside an interval
    ///   (``FluidQueueing``); `subBins` sub-bins per interval for ``FluidQueueing/subinterval``.
    /// - Parameter loadAugmentation: for training, each episode's arrivals scaled by a factor
    ///   drawn at reset (the observation's scale stays this trace's).
    public init(scenario sc: ServingScenario, arrivals: ScenarioArrivals, randomStart: Bool = false,
                rewardScale: Double = 1, normalization frozen: ObservationNormalization? = nil,
                queueing: FluidQueueing = .subinterval, subBins: Int = 10, loadAugmentation: LoadAugmentation? = nil,
                dispatch: QueuedDispatch = .pinned) throws {
        self.rewardScale = rewardScale
        self.dispatch = dispatch
        if let m = loadAugmentation?.violation {
            throw ScenarioError(file: sc.sourcePath, key: "training.load_scale", message: m)
        }
        self.loadAugmentation = loadAugmentation
        precondition(subBins >= 1, "ServingModel: subBins must be at least 1")
        try sc.validate()
        guard arrivals.streams == sc.streams.count, arrivals.intervals >= 1 else {
            throw ScenarioError(file: sc.sourcePath, key: "streams",
                                message: "the arrival series has \(arrivals.streams) streams and \(arrivals.intervals) intervals; expected \(sc.streams.count) streams and >= 1 interval")
        }
        scenario = sc
        self.arrivals = arrivals
        let V = sc.variants.count, S = sc.streams.count, D = sc.fleet.count, T = arrivals.intervals
        variantCount = V; streamCount = S; deviceCount = D; intervalCount = T
        let table = sc.capacityTable(arrivals: arrivals)
        capacity = table.average
        tokenWork = table.work
        rateStride = table.perInterval == nil ? 0 : V * S
        serviceRates = table.perInterval ?? table.average
        let cap = table.average, llm = sc.variants.map(\.llm), work = table.work, rows = table.perInterval == nil ? 1 : T
        hireSteps = (0..<V).map { sc.loadSeconds(variant: $0) / sc.decisionInterval }
        memoryGB = sc.variants.map(\.totalMemoryGB)
        loadSecondsRAM = sc.variants.map { $0.llm?.wakeSeconds ?? $0.loadSecondsRAM }
        loadSecondsDisk = sc.variants.map(\.loadSecondsDisk)
        hostRAMGB = sc.fleet.map(\.hostRAMGB)
        restartsOnSwitch = sc.variants.map { $0.llm != nil }
        costPerInterval = sc.variants.map { $0.heldCostPerSecond * sc.decisionInterval }
        accuracy = sc.variants.map(\.accuracy)
        canHold = sc.actionMask
        classes = sc.classes
        actionLayout = ActionLayout(repeating: V, count: D)
        let deadlines = (0..<S).map { sc.deadlineIntervals(stream: $0) }
        let drops = sc.streams.map(\.dropAfterIntervals)
        deadlineSteps = deadlines
        dropAfter = drops
        weight = sc.streams.map(\.weight)
        dropPenalty = sc.streams.map(\.dropPenalty)
        let m = drops.max() ?? 1
        maxLate = m
        var inc = [Double](repeating: 0, count: S * m)
        for s in 0..<S { for x in 1...m { inc[s * m + x - 1] = sc.streams[s].penalty.increment(x) } }
        penaltyIncrement = inc
        let caps = (0..<S).map { deadlines[$0] + drops[$0] + 2 }
        var p = [Double](repeating: 0, count: (T + 1) * S)
        for t in 0..<T { for s in 0..<S { p[(t + 1) * S + s] = p[t * S + s] + arrivals.counts[t * S + s] } }
        prefix = p
        counts = arrivals.counts
        weights = sc.weights
        interval = sc.decisionInterval
        windows = sc.historyWindows
        forecast = sc.forecast
        if sc.forecastNoise > 0 {
            var g = SeededGenerator(seed: 0x5EED_F0CA)
            let sigma = (log(1 + sc.forecastNoise * sc.forecastNoise)).squareRoot()
            forecastCounts = arrivals.counts.map { c in
                c * exp(sigma * Sample.normal(using: &g) - sigma * sigma / 2)
            }
        } else {
            forecastCounts = arrivals.counts
        }
        initialVariants = sc.initialVariants
        bestAccuracy = (0..<S).map { s in (0..<V).filter { cap[$0 * S + s] > 0 }.map { sc.variants[$0].accuracy }.max() ?? 0 }
        streamOrder = (0..<S).sorted { deadlines[$0] != deadlines[$1] ? deadlines[$0] < deadlines[$1] : $0 < $1 }
        let sum = arrivals.counts.reduce(0, +)
        episodeLength = sc.episodeIntervals.map { min($0, T) } ?? T
        normalization = frozen ?? ObservationNormalization(billScale: max(sum / Double(T * S), 1e-9), episodeIntervals: episodeLength)
        billScale = normalization.billScale
        self.randomStart = randomStart
        observationLayout = sc.observationLayout
        observationDimension = observationLayout.dimension
        self.queueing = queueing
        let K = queueing == .subinterval ? subBins : 1
        self.subBins = K
        subCounts = queueing == .subinterval ? Self.subIntervalCounts(arrivals, interval: sc.decisionInterval, bins: K) : []
        deadlineSeconds = sc.streams.map { $0.deadlineMs / 1000 }
        dropWindowSeconds = sc.streams.map { Double($0.dropAfterIntervals) * sc.decisionInterval }
        var lat = [Double](repeating: 0, count: rows * V * S)
        var base = lat, slope = lat, most = [Double](repeating: 1, count: rows * V * S)
        for v in 0..<V {
            for s in 0..<S where cap[v * S + s] > 0 {
                if let m = llm[v], let work {
                    for t in 0..<rows {
                        let i = (t * V + v) * S + s, p = work.meanPrompt[t * S + s], o = work.meanOutput[t * S + s]
                        lat[i] = m.batchLatency(prompt: p, output: o)
                        let line = m.latencyLine(prompt: p, output: o)
                        base[i] = line.base
                        slope[i] = line.perSequence
                        most[i] = Double(line.maxBatch)
                    }
                    continue
                }
                let x = sc.variants[v], limit = sc.streams[s].deadlineMs
                var best = 0.0
                for (b, l) in zip(x.batchSizes, x.latencyMs) where 2 * l <= limit && l > 0 && Double(b) * 1000 / l > best {
                    best = Double(b) * 1000 / l
                    for t in 0..<rows { lat[(t * V + v) * S + s] = l / 1000; base[(t * V + v) * S + s] = l / 1000 }
                }
            }
        }
        serviceLatency = lat
        outputStepBase = llm.map { ($0?.stepBaseUs ?? 0) * 1e-6 }
        outputStepPerSequence = llm.map { ($0?.decodeUsPerToken ?? 0) * 1e-6 }
        if let work, queueing == .subinterval {
            outputSpread = OutputLengthSpread(outputs: work.poolOutput, start: work.poolStart)
        } else {
            outputSpread = OutputLengthSpread(outputs: [], start: [Int](repeating: 0, count: S + 1))
        }
        outputMeans = work?.meanOutput ?? [1]
        ttftLead = sc.streams.map { st in st.ttftDeadlineMs.map { (st.deadlineMs - $0) / 1000 } ?? -.infinity }
        latencyBase = base
        latencyPerSequence = slope
        latencyMaxBatch = most
        var cum = [Double](repeating: 0, count: S * (m + 1))
        for s in 0..<S {
            for k in 0...m { cum[s * (m + 1) + k] = sc.streams[s].weight * sc.streams[s].penalty.cumulative(min(k, drops[s])) }
        }
        penaltyCumulative = cum
        // Sub-interval queueing: one cohort per sub-bin, and one more per interval for the work
        // a switch sends back to the queue.
        let ringSlots = queueing == .subinterval ? caps.map { $0 * (K + 1) + 2 } : caps
        baseQueueCapacity = ringSlots
        // Pinned, a cohort splits into at most one pooled piece and one per variant serving
        // its stream (``FluidServingEnv/pinBacklog()``).
        queueCapacity = queueing == .subinterval && dispatch == .pinned
            ? (0..<S).map { s in ringSlots[s] * (1 + (0..<V).filter { cap[$0 * S + s] > 0 }.count) }
            : ringSlots
    }

    /// Per interval, stream and sub-bin, the interval's count spread by where in the interval
    /// the trace's own arrivals fall (binned as ``ScenarioArrivals`` bins them; per stream when
    /// the streams select by origin); uniform without arrival times.
    static func subIntervalCounts(_ a: ScenarioArrivals, interval: Double, bins K: Int) -> [Double] {
        let T = a.intervals, S = a.streams
        let byOrigin = !a.arrivalStreams.isEmpty
        let P = byOrigin ? S : 1
        var hist = [Double](repeating: 0, count: T * K * P)
        let width = interval * 1e6, fine = width / Double(K)
        for (i, x) in a.arrivalTimes.enumerated() {
            let t = min(T - 1, max(0, Int(Double(x) / width)))
            let k = min(K - 1, max(0, Int((Double(x) - Double(t) * width) / fine)))
            let p = byOrigin ? min(P - 1, Int(a.arrivalStreams[i])) : 0
            hist[(t * K + k) * P + p] += 1
        }
        var out = [Double](repeating: 0, count: T * K * S)
        for t in 0..<T {
            for s in 0..<S {
                let c = a.counts[t * S + s]
                guard c > 0 else { continue }
                let p = byOrigin ? s : 0
                var total = 0.0
                for k in 0..<K { total += hist[(t * K + k) * P + p] }
                for k in 0..<K {
                    out[(t * K + k) * S + s] = total > 0 ? c * hist[(t * K + k) * P + p] / total : c / Double(K)
                }
            }
        }
        return out
    }

    /// This model with the observation scaled by `frozen` (a trained policy's normalisation)
    /// instead of by its own trace and episode; everything else is the same.
    public func normalized(_ frozen: ObservationNormalization) throws -> ServingModel {
        try ServingModel(scenario: scenario, arrivals: arrivals, randomStart: randomStart, rewardScale: rewardScale,
                         normalization: frozen, queueing: queueing, subBins: subBins, loadAugmentation: loadAugmentation,
                         dispatch: dispatch)
    }

    /// The observation space (``FamilyObservationLayout/space``, as the reduced ``EmploymentSearch``'s).
    public var observationSpace: Box { observationLayout.space }

    /// Whether device `d` can hold variant `v`.
    @inline(__always)
    public func canHold(device d: Int, variant v: Int) -> Bool { canHold[d * variantCount + v] }

    /// Writes the action mask: per device, the variants it can hold (memory, device kind).
    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        canHold.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: $0.count) }
    }

    /// Queries of stream `s` one device holding variant `v` answers per interval, on average
    /// over the series (the time-average of ``serviceRate(interval:variant:stream:)`` for an LLM
    /// variant: its step model at the stream's mean lengths).
    @inline(__always)
    public func capacity(variant v: Int, stream s: Int) -> Double { capacity[v * streamCount + s] }

    /// The cost hook both queueing modes serve with: queries of stream `s` that one device
    /// holding variant `v` answers per interval of service in interval `t` of the series (0 when
    /// it cannot answer them): the latency table's for a fixed-cost variant, the step model's at
    /// the interval's token work for an LLM variant (``TokenWork``). The steps read the flat
    /// table ``serviceRates`` from row ``rateRow(_:)``.
    @inline(__always)
    public func serviceRate(interval t: Int, variant v: Int, stream s: Int) -> Double {
        serviceRates[rateRow(t) + v * streamCount + s]
    }

    /// Whether the scenario has LLM variants, whose rates follow each interval's token work.
    public var isTokenLevel: Bool { tokenWork != nil }

    /// Where interval `t`'s row of ``serviceRates`` and ``serviceLatency`` starts.
    @inline(__always)
    func rateRow(_ t: Int) -> Int { t * rateStride }

    /// Mean prompt and output tokens of interval `t`'s requests of stream `s` (``TokenWork``);
    /// `nil` when the scenario has no LLM variant.
    public func meanTokens(interval t: Int, stream s: Int) -> (prompt: Double, output: Double)? {
        tokenWork.map { ($0.meanPrompt[t * streamCount + s], $0.meanOutput[t * streamCount + s]) }
    }

    /// This model over `bootstrap`'s resample of its arrivals, drawn from `seed`
    /// (``BlockBootstrap/resample(_:interval:using:)``): for training, with this model's
    /// observation normalisation, episode length, reward scale, queueing and load augmentation,
    /// and random episode starts.
    public func resampled(_ bootstrap: BlockBootstrap, seed: UInt64) throws -> ServingModel {
        if let m = bootstrap.violation { throw ScenarioError(file: scenario.sourcePath, key: "training.block_bootstrap", message: m) }
        var generator = SeededGenerator.substream(seed: seed, index: BlockBootstrap.substream)
        var sc = scenario
        sc.episodeIntervals = episodeLength
        return try ServingModel(scenario: sc, arrivals: bootstrap.resample(arrivals, interval: interval, using: &generator),
                                randomStart: true, rewardScale: rewardScale, normalization: normalization, queueing: queueing,
                                subBins: subBins, loadAugmentation: loadAugmentation, dispatch: dispatch)
    }

    /// This model with the fluid queueing `queueing` (everything else the same).
    public func withQueueing(_ queueing: FluidQueueing, subBins: Int = 10) throws -> ServingModel {
        try ServingModel(scenario: scenario, arrivals: arrivals, randomStart: randomStart, rewardScale: rewardScale,
                         normalization: normalization, queueing: queueing, subBins: subBins, loadAugmentation: loadAugmentation,
                         dispatch: dispatch)
    }

    /// This model with the router `dispatch` (everything else the same).
    public func withDispatch(_ dispatch: QueuedDispatch) throws -> ServingModel {
        if dispatch == self.dispatch { return self }
        return try ServingModel(scenario: scenario, arrivals: arrivals, randomStart: randomStart, rewardScale: rewardScale,
                                normalization: normalization, queueing: queueing, subBins: subBins, loadAugmentation: loadAugmentation,
                                dispatch: dispatch)
    }

    /// Whether every device of `assignment` can hold its variant.
    public func isFeasible(assignment: UnsafeBufferPointer<Int>) -> Bool {
        for d in 0..<deviceCount where !canHold[d * variantCount + assignment[d]] { return false }
        return true
    }

    /// Load delay of each variant, in intervals.
    @inline(__always)
    public func hireSteps(variant v: Int) -> Double { hireSteps[v] }

    /// Cost of holding variant `v` for one interval.
    @inline(__always)
    public func costPerInterval(variant v: Int) -> Double { costPerInterval[v] }

    /// Arrivals of stream `s` in interval `t`.
    @inline(__always)
    public func arrivals(interval t: Int, stream s: Int) -> Double { arrivals.counts[t * streamCount + s] }
}

extension ServingModel {
    /// A one-interval estimate used by planning baselines: the reward of holding
    /// `assignment` (a variant per device) for an interval with `arrivals[s]` new queries per
    /// stream and no backlog. Devices whose variant changes from `current` (when given) lose
    /// their load time. Streams are served in deadline order, each from the variants' pools in
    /// variant order (as the per-interval env serves); queries of a stream due this interval that stay
    /// unserved are charged one interval of lateness, and a stream due later is not charged
    /// (an optimistic estimate).
    ///
    /// With `relaxed`, the estimate becomes an upper bound on what the interval's arrivals can
    /// contribute to the env's utility under any queueing: queries left unserved are credited
    /// as if answered later by the most accurate variant able to answer their stream, and only
    /// the one lateness increment they cannot escape (deadline in this interval) is charged.
    /// Summed over a plan this bounds the env's utility for that plan (the hindsight oracle).
    ///
    /// Devices serve at interval `interval`'s rates (``serviceRate(interval:variant:stream:)``)
    /// when it is given, else at the series' average (``capacity(variant:stream:)``): the two
    /// differ only for LLM variants, whose cost follows the interval's token work. The bound
    /// needs the interval's own rates.
    /// - Returns: the estimated reward and the unserved queries.
    /// - Complexity: O(devices + variants × streams).
    public func estimateInterval(current: UnsafeBufferPointer<Int>?, assignment: UnsafeBufferPointer<Int>,
                                 arrivals: UnsafeBufferPointer<Double>, interval: Int? = nil,
                                 relaxed: Bool = false) -> (reward: Double, unserved: Double) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: variantCount) { pool in
            pool.initialize(repeating: 0)
            var cost = 0.0
            for d in 0..<deviceCount {
                let v = assignment[d]
                var t = 1.0
                if let current, current[d] != v { t = 1 - min(hireSteps[v], 1) }
                pool[v] += t
                cost += costPerInterval[v]
            }
            return estimateInterval(pool: pool, cost: cost, arrivals: arrivals, interval: interval, relaxed: relaxed)
        }
    }

    /// ``estimateInterval(current:assignment:arrivals:relaxed:)`` from the variants' pools:
    /// `pool[v]` device-intervals of variant `v` available to serve (devices holding it, less
    /// the load time of those that switch to it), `cost` the interval's holding cost. The pool
    /// is used up in place. Only counts matter here, which is what lets the baselines search
    /// over how many devices of each class hold each variant instead of over assignments.
    /// - Complexity: O(variants × streams).
    public func estimateInterval(pool: UnsafeMutableBufferPointer<Double>, cost: Double,
                                 arrivals: UnsafeBufferPointer<Double>, interval: Int? = nil,
                                 relaxed: Bool = false) -> (reward: Double, unserved: Double) {
        let V = variantCount, S = streamCount
        let rates = interval == nil ? capacity : serviceRates, base = interval.map(rateRow) ?? 0
        var served = 0.0, accuracyServed = 0.0, penalty = 0.0, unserved = 0.0
        for s in streamOrder {
            var amount = arrivals[s]
            for v in 0..<V where amount > 0 && pool[v] > 0 {
                let rate = rates[base + v * S + s]
                guard rate > 0 else { continue }
                let can = pool[v] * rate
                let take = min(can, amount)
                pool[v] = can <= amount ? 0 : pool[v] - take / rate
                amount -= take
                served += take
                accuracyServed += accuracy[v] * take
            }
            unserved += amount
            if deadlineSteps[s] == 0 { penalty += amount * weight[s] * penaltyIncrement[s * maxLate] }
            if relaxed && amount > 0 {
                served += amount
                accuracyServed += bestAccuracy[s] * amount
            }
        }
        let w = weights
        let reward = w.served * served + w.accuracy * accuracyServed - w.cost * cost - w.slo * penalty
        return (reward, unserved)
    }

    /// The load delay in intervals of switching from assignment `current` to `next`: the
    /// longest load among the devices that change.
    public func switchDelay(from current: UnsafeBufferPointer<Int>, to next: UnsafeBufferPointer<Int>) -> Double {
        var delay = 0.0
        for d in 0..<deviceCount where current[d] != next[d] { delay = max(delay, hireSteps[next[d]]) }
        return delay
    }
}
