import SwitchGymCore

/// How a decision interval's queries are generated from the scenario's arrivals.
public enum DiscreteEventArrivalMode: String, Sendable, Equatable, Codable {
    /// Rate scale <= 1: each real arrival is kept with probability `scale` (Bernoulli thinning).
    case thinning
    /// Rate scale > 1: a non-homogeneous Poisson process whose rate in each fine bin is the
    /// scaled count of real arrivals in that bin.
    case finePoisson
    /// No arrival times (a series built from counts): a Poisson process per interval whose
    /// rate per stream is the interval's count (so the fluid and the DES see the same means).
    case intervalPoisson

    /// The mode the discrete-event fidelity generates `arrivals`' queries in, and its rate
    /// scale (fluid counts over real arrivals; 1 without arrival times).
    public static func of(_ arrivals: ScenarioArrivals) -> (mode: DiscreteEventArrivalMode, scale: Double) {
        guard !arrivals.arrivalTimes.isEmpty else { return (.intervalPoisson, 1) }
        let scale = arrivals.counts.reduce(0, +) / Double(arrivals.arrivalTimes.count)
        return (scale <= 1 + 1e-12 ? .thinning : .finePoisson, scale)
    }
}

/// Precomputed, immutable tables of the discrete-event fidelity of one scenario over one
/// arrival series, shared by every copy of a ``DiscreteEventServingEnv``.
///
/// The tables live in manually allocated memory so the event loop reads them through plain
/// pointers (no bounds checks, no reference counting); they are freed with the model.
public final class DiscreteEventModel: @unchecked Sendable {
    /// The fluid model of the same scenario and arrivals (action space, observation layout,
    /// feasibility, scales).
    public let serving: ServingModel
    public let config: DiscreteEventConfig
    /// How queries are generated.
    public let arrivalMode: DiscreteEventArrivalMode
    /// The rate scale (fluid counts over real arrivals).
    public let scale: Double
    /// Fine bins per decision interval (``DiscreteEventArrivalMode/finePoisson``).
    public let binsPerInterval: Int
    let t: Tables
    private let allocations: [UnsafeMutableRawPointer]

    /// Pointers into the model's tables (non-owning; valid while the model lives).
    struct Tables {
        var D: Int, S: Int, V: Int, T: Int
        /// Largest device concurrency, slots per device.
        var C: Int
        /// Largest profiled batch over variants, row width of `latency`.
        var B: Int
        /// Most profiled sizes of a variant, row width of `profSize` / `profLatency`.
        var P: Int
        /// Most increments of a lateness penalty (`dropAfter`), row width of `penCum` minus 1.
        var K: Int
        var interval: Double, invInterval: Double
        var episodeLength: Int
        var binsPerInterval: Int
        var binWidth: Double
        var scale: Double
        var mode: DiscreteEventArrivalMode
        /// `1 / throughput` (s/query) of variant `v` for stream `s`, `.infinity` if it cannot serve it.
        var invMu: UnsafeMutablePointer<Double>
        /// `latency[v * (B + 1) + n]`: seconds for a batch of `n` (interpolated).
        var latency: UnsafeMutablePointer<Double>
        var profSize: UnsafeMutablePointer<Int>, profLatency: UnsafeMutablePointer<Double>, profCount: UnsafeMutablePointer<Int>
        var maxBatch: UnsafeMutablePointer<Int>
        var accuracy: UnsafeMutablePointer<Double>
        /// Per variant, GB over all its GPUs (its host-RAM copy's size too); per device, GB over
        /// all its GPUs (``deviceMemory``).
        var memory: UnsafeMutablePointer<Double>
        var loadRAM: UnsafeMutablePointer<Double>, loadDisk: UnsafeMutablePointer<Double>
        var costPerInterval: UnsafeMutablePointer<Double>
        var canHold: UnsafeMutablePointer<Bool>
        var concurrency: UnsafeMutablePointer<Int>
        var hostRAM: UnsafeMutablePointer<Double>
        var deviceMemory: UnsafeMutablePointer<Double>
        /// Per stream: deadline and drop window (`dropAfter × interval`) in seconds.
        var deadline: UnsafeMutablePointer<Double>, dropWindow: UnsafeMutablePointer<Double>
        var dropK: UnsafeMutablePointer<Int>
        /// Per stream: the deadline in whole intervals (the fluid model's due offset).
        var dueIntervals: UnsafeMutablePointer<Int>
        /// `penCum[s * (K + 1) + k]`: weight × cumulative lateness penalty after `k` intervals late.
        var penCum: UnsafeMutablePointer<Double>
        /// weight × drop penalty.
        var dropPen: UnsafeMutablePointer<Double>
        /// Cumulative stream shares (the last is 1).
        var cumShare: UnsafeMutablePointer<Double>
        /// Fluid counts `[t * S + s]`.
        var counts: UnsafeMutablePointer<Double>
        /// Thinning: index of the first arrival of interval `t` (`T + 1` entries).
        var intervalFirst: UnsafeMutablePointer<Int>
        /// Fine Poisson: real arrivals per fine bin (`T × binsPerInterval`).
        var fineCounts: UnsafeMutablePointer<Int32>
        /// Thinning: the trace's arrival times, µs (empty otherwise).
        var arrivalTimes: UnsafePointer<Int64>
        /// Streams selected by origin: thinning reads each arrival's stream from
        /// `arrivalStreams`; the Poisson modes draw it from the interval's own mix.
        var byOrigin: Bool
        /// Thinning by origin: each trace arrival's stream (empty otherwise).
        var arrivalStreams: UnsafePointer<UInt8>
        /// Token-level (LLM) serving, see ``TokenTables``.
        var tok: TokenTables
    }

    /// Precomputes the tables of `serving`'s scenario and arrivals.
    /// - Throws: ``ScenarioError`` when the requests it would hold at once exceed
    ///   ``ScenarioBounds/maxDiscreteEventRequests`` (``ServingScenario/checkDiscreteEventRequests(_:wholeTrace:)``).
    public init(serving: ServingModel, config: DiscreteEventConfig = DiscreteEventConfig()) throws {
        try serving.scenario.checkDiscreteEventRequests(serving.arrivals)
        self.serving = serving
        self.config = config
        let sc = serving.scenario, arrivals = serving.arrivals
        let D = sc.fleet.count, S = sc.streams.count, V = sc.variants.count, T = arrivals.intervals
        let I = sc.decisionInterval
        let (mode, scale) = DiscreteEventArrivalMode.of(arrivals)
        self.scale = scale
        arrivalMode = mode
        let requested = config.fineBinSeconds ?? I / 10
        let bins = max(1, Int((I / max(requested, 1e-9)).rounded()))
        binsPerInterval = bins

        let B = sc.variants.map { $0.batchSizes.last ?? 1 }.max() ?? 1
        let P = sc.variants.map(\.batchSizes.count).max() ?? 1
        let K = sc.streams.map(\.dropAfterIntervals).max() ?? 1
        let C = sc.fleet.map(\.concurrency).max() ?? 1

        var invMu = [Double](repeating: .infinity, count: V * S)
        for v in 0..<V { for s in 0..<S {
            let mu = sc.throughput(variant: v, stream: s)
            if mu > 0 { invMu[v * S + s] = 1 / mu }
        } }
        var latency = [Double](repeating: 0, count: V * (B + 1))
        var profSize = [Int](repeating: 0, count: V * P), profLatency = [Double](repeating: 0, count: V * P)
        for v in 0..<V {
            let variant = sc.variants[v]
            for n in 1...B { latency[v * (B + 1) + n] = variant.latency(batch: n) / 1000 }
            latency[v * (B + 1)] = 0
            for (i, b) in variant.batchSizes.enumerated() {
                profSize[v * P + i] = b
                profLatency[v * P + i] = variant.latencyMs[i] / 1000
            }
        }
        var penCum = [Double](repeating: 0, count: S * (K + 1))
        for s in 0..<S {
            let st = sc.streams[s]
            for k in 0...K { penCum[s * (K + 1) + k] = st.weight * st.penalty.cumulative(min(k, st.dropAfterIntervals)) }
        }
        var cum = [Double](), acc = 0.0
        for st in sc.streams { acc += st.share; cum.append(acc) }
        cum[S - 1] = 1
        var canHold = [Bool](repeating: false, count: D * V)
        for d in 0..<D { for v in 0..<V { canHold[d * V + v] = sc.fleet[d].canHold(sc.variants[v]) } }

        // Arrival indexes, binned as ScenarioArrivals bins them.
        var first = [Int](repeating: 0, count: T + 1)
        var fine = [Int32](repeating: 0, count: mode == .finePoisson ? T * bins : 0)
        if mode != .intervalPoisson {
            let width = I * 1e6, fineWidth = width / Double(bins)
            var next = 0
            for (i, a) in arrivals.arrivalTimes.enumerated() {
                let k = min(T - 1, max(0, Int(Double(a) / width)))
                while next <= k { first[next] = i; next += 1 }
                if mode == .finePoisson {
                    let j = min(bins - 1, max(0, Int((Double(a) - Double(k) * width) / fineWidth)))
                    fine[k * bins + j] += 1
                }
            }
            while next <= T { first[next] = arrivals.arrivalTimes.count; next += 1 }
        }

        var allocs: [UnsafeMutableRawPointer] = []
        func table<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
            a.withUnsafeBufferPointer { b in if let base = b.baseAddress { p.initialize(from: base, count: b.count) } }
            allocs.append(UnsafeMutableRawPointer(p))
            return p
        }
        let tokenPlan = TokenPlan(scenario: sc, arrivals: arrivals)
        // Token-level variants: dispatch weighs queues by the step model's capacity.
        for v in 0..<V where sc.variants[v].llm != nil {
            for s in 0..<S {
                let rps = tokenPlan.capacity[v * S + s]
                invMu[v * S + s] = rps > 0 ? 1 / rps : .infinity
            }
        }
        let tokenTables = tokenPlan.tables(&allocs)
        t = Tables(
            D: D, S: S, V: V, T: T, C: C, B: B, P: P, K: K, interval: I, invInterval: 1 / I,
            episodeLength: serving.episodeLength, binsPerInterval: bins, binWidth: I / Double(bins),
            scale: scale, mode: mode,
            invMu: table(invMu), latency: table(latency), profSize: table(profSize), profLatency: table(profLatency),
            profCount: table(sc.variants.map(\.batchSizes.count)),
            maxBatch: table(sc.variants.map { $0.batchSizes.last ?? 1 }),
            accuracy: table(sc.variants.map(\.accuracy)), memory: table(sc.variants.map(\.totalMemoryGB)),
            loadRAM: table(sc.variants.map(\.loadSecondsRAM)), loadDisk: table(sc.variants.map(\.loadSecondsDisk)),
            costPerInterval: table(sc.variants.map { $0.heldCostPerSecond * I }), canHold: table(canHold),
            concurrency: table(sc.fleet.map(\.concurrency)), hostRAM: table(sc.fleet.map(\.hostRAMGB)),
            deviceMemory: table(sc.fleet.map(\.totalMemoryGB)),
            deadline: table(sc.streams.map { $0.deadlineMs / 1000 }),
            dropWindow: table(sc.streams.map { Double($0.dropAfterIntervals) * I }),
            dropK: table(sc.streams.map(\.dropAfterIntervals)),
            dueIntervals: table(sc.streams.indices.map { sc.deadlineIntervals(stream: $0) }), penCum: table(penCum),
            dropPen: table(sc.streams.map { $0.weight * $0.dropPenalty }), cumShare: table(cum),
            counts: table(arrivals.counts), intervalFirst: table(first), fineCounts: table(fine),
            arrivalTimes: UnsafePointer(table(mode == .thinning ? arrivals.arrivalTimes : [])),
            byOrigin: !arrivals.arrivalStreams.isEmpty,
            arrivalStreams: UnsafePointer(table(mode == .thinning ? arrivals.arrivalStreams : [])),
            tok: tokenTables)
        allocations = allocs
    }

    /// Convenience: the fluid model and the DES tables of `scenario` over `arrivals`.
    /// - Throws: ``ScenarioError`` if the scenario is inconsistent.
    public convenience init(scenario: ServingScenario, arrivals: ScenarioArrivals, randomStart: Bool = false,
                            config: DiscreteEventConfig = DiscreteEventConfig()) throws {
        try self.init(serving: try ServingModel(scenario: scenario, arrivals: arrivals, randomStart: randomStart), config: config)
    }

    deinit {
        for p in allocations { p.deallocate() }
    }

    /// The scenario.
    public var scenario: ServingScenario { serving.scenario }
}
