import SwitchGymCore

extension ServingScenario {
    /// The observation layout of this scenario's fleet (``FamilyObservationLayout``), the same
    /// for every trace: the serving envs and ``ServingObserver`` all use it.
    public var observationLayout: FamilyObservationLayout {
        let classes = self.classes
        return FamilyObservationLayout(workers: fleet.count, jobs: variants.count, streams: streams.count,
                                       historyWindows: historyWindows.count, forecast: forecast, workerClass: classes.classOf,
                                       classNames: classes.names, jobNames: variants.map(\.name))
    }

    /// The action mask, per device and variant: whether the device can hold the variant
    /// (memory, device kind). It does not change with the state.
    public var actionMask: [Bool] {
        var hold = [Bool](repeating: false, count: fleet.count * variants.count)
        for d in fleet.indices { for v in variants.indices { hold[d * variants.count + v] = fleet[d].canHold(variants[v]) } }
        return hold
    }
}

/// What a serving core observes in the interval that just ended, the input of a policy in
/// production (the serving daemon's `POST /v1/decide` body). ``ServingObserver`` turns it into
/// the policy's observation with the same layout code the envs use;
/// ``FluidServingEnv/telemetry()`` reports the simulator's state in this form.
public struct ServingTelemetry: Codable, Sendable, Equatable {
    /// The interval about to start (the core's counter; consecutive calls add one).
    public var interval: Int
    /// Per SLO stream, in the scenario's order.
    public var streams: [Stream]
    /// Per device, in the scenario's fleet order.
    public var devices: [Device]

    public struct Stream: Codable, Sendable, Equatable {
        /// Queries of the stream that arrived in the interval that just ended.
        public var arrivals: Double
        /// Queued queries by how late they will be at the end of the next interval: not yet
        /// late, 1, 2-3, 4+ intervals late (4 numbers).
        public var backlog: [Double]
        /// The core's forecast of the next interval's arrivals (scenarios with `forecast = true`).
        public var forecast: Double?
        /// Queries answered and dropped in the interval (for the daemon's metrics; optional).
        public var completed: Double?
        public var dropped: Double?

        public init(arrivals: Double, backlog: [Double], forecast: Double? = nil, completed: Double? = nil, dropped: Double? = nil) {
            self.arrivals = arrivals
            self.backlog = backlog
            self.forecast = forecast
            self.completed = completed
            self.dropped = dropped
        }
    }

    public struct Device: Codable, Sendable, Equatable {
        /// The variant the device holds, or is loading.
        public var variant: String
        /// Seconds until that variant serves (0 when it serves).
        public var pendingS: Double

        public init(variant: String, pendingS: Double) {
            self.variant = variant
            self.pendingS = pendingS
        }

        enum CodingKeys: String, CodingKey { case variant, pendingS = "pending_s" }
    }

    public init(interval: Int, streams: [Stream], devices: [Device]) {
        self.interval = interval
        self.streams = streams
        self.devices = devices
    }
}

/// Telemetry that does not fit the scenario, with the key that is wrong.
public struct TelemetryError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The key path, e.g. `streams[1].backlog`.
    public var key: String
    public var message: String
    public var description: String { "\(key): \(message)" }
}

/// Builds a serving policy's observation from telemetry, interval after interval, as the
/// serving envs build it from their state: the same ``FamilyObservationLayout`` writers, the
/// same history windows over the arrivals reported since the first interval it saw (a prefix sum
/// accumulated in the same order as the envs'), and the policy's frozen
/// ``ObservationNormalization``. Fed ``FluidServingEnv/telemetry()`` from the start of a series,
/// it writes the env's observation bit for bit (a test replays whole traces).
///
/// Telemetry must come every interval: an interval that does not follow the previous one
/// starts the history afresh (as an episode start does), and ``restarted`` says so.
public struct ServingObserver: Sendable {
    public let scenario: ServingScenario
    public let layout: FamilyObservationLayout
    /// How the observation is scaled: the serving policy's frozen normalisation. It may change
    /// between intervals (a new policy version) without touching the history.
    public var normalization: ObservationNormalization
    let windows: [Int]
    let variantIndex: [String: Int]
    let mask: [Bool]
    /// Prefix sums of arrivals per stream over the last `maxWindow + 1` intervals, at `t % (maxWindow + 1)`.
    var prefix: [Double]
    let slots: Int
    /// The first interval of the current history, and the last one observed.
    public private(set) var start: Int?
    public private(set) var last = 0
    /// Whether the last ``observe(_:into:)`` started the history afresh.
    public private(set) var restarted = false

    public init(scenario: ServingScenario, normalization: ObservationNormalization) {
        self.scenario = scenario
        self.normalization = normalization
        layout = scenario.observationLayout
        windows = scenario.historyWindows
        var index = [String: Int]()
        for (v, variant) in scenario.variants.enumerated() { index[variant.name] = v }
        variantIndex = index
        mask = scenario.actionMask
        slots = (windows.max() ?? 0) + 1
        prefix = [Double](repeating: 0, count: slots * scenario.streams.count)
    }

    /// Floats per observation.
    public var dimension: Int { layout.dimension }

    /// Checks `t` against the scenario, then records its arrivals and writes the observation.
    /// - Throws: ``TelemetryError`` naming the key; the observer's history is unchanged then.
    public mutating func observe(_ t: ServingTelemetry, into out: UnsafeMutablePointer<Float>) throws {
        let S = scenario.streams.count, D = scenario.fleet.count, V = scenario.variants.count
        func bad(_ key: String, _ m: String) -> TelemetryError { TelemetryError(key: key, message: m) }
        guard t.interval >= 0 else { throw bad("interval", "\(t.interval); expected an interval counter >= 0") }
        guard t.streams.count == S else {
            throw bad("streams", "\(t.streams.count) entries; the scenario has \(S) streams (\(scenario.streams.map(\.name).joined(separator: ", ")))")
        }
        guard t.devices.count == D else { throw bad("devices", "\(t.devices.count) entries; the scenario's fleet has \(D) devices") }
        for (s, st) in t.streams.enumerated() {
            guard st.arrivals.isFinite, st.arrivals >= 0 else { throw bad("streams[\(s)].arrivals", "\(st.arrivals); expected a finite number >= 0") }
            guard st.backlog.count == 4, st.backlog.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw bad("streams[\(s)].backlog", "\(st.backlog); expected 4 finite numbers >= 0 (not late, 1, 2-3, 4+ intervals late)")
            }
            if layout.forecast {
                guard let f = st.forecast, f.isFinite, f >= 0 else {
                    throw bad("streams[\(s)].forecast", "\(st.forecast.map { "\($0)" } ?? "missing"); this scenario's policies read a forecast of the next interval's arrivals (a finite number >= 0)")
                }
            }
        }
        var held = [Int](repeating: 0, count: D)
        for (d, dev) in t.devices.enumerated() {
            guard let v = variantIndex[dev.variant] else {
                throw bad("devices[\(d)].variant", "'\(dev.variant)' is not a variant of the scenario (\(scenario.variants.map(\.name).joined(separator: ", ")))")
            }
            guard mask[d * V + v] else { throw bad("devices[\(d)].variant", "device \(scenario.fleet[d].name) cannot hold \(dev.variant)") }
            guard dev.pendingS.isFinite, dev.pendingS >= 0 else { throw bad("devices[\(d)].pending_s", "\(dev.pendingS); expected seconds >= 0") }
            held[d] = v
        }
        // History: consecutive intervals extend the prefix sums; anything else starts afresh.
        let now = t.interval
        if let first = start, now == last + 1, now > first {
            for s in 0..<S { prefix[(now % slots) * S + s] = prefix[((now - 1) % slots) * S + s] + t.streams[s].arrivals }
            restarted = false
        } else {
            restarted = start != nil
            start = now
            for s in 0..<S { prefix[(now % slots) * S + s] = 0 }
        }
        last = now
        let first = start!
        layout.writeWorkers(into: out, job: { held[$0] }, pending: { t.devices[$0].pendingS / scenario.decisionInterval })
        for s in 0..<S {
            let b = t.streams[s].backlog
            layout.writeStream(s, scale: normalization.billScale, windowMean: { i in
                let window = windows[i]
                let lo = max(first, now - window)
                let sum = lo < now ? prefix[(now % slots) * S + s] - prefix[(lo % slots) * S + s] : 0
                return sum / Double(window)
            }, backlog: (b[0], b[1], b[2], b[3]), forecast: t.streams[s].forecast ?? 0, into: out)
        }
        layout.writeElapsed(step: now - first, episodeLength: normalization.episodeIntervals, into: out)
    }

    /// ``observe(_:into:)`` into a new array.
    public mutating func observe(_ t: ServingTelemetry) throws -> [Float] {
        var out = [Float](repeating: 0, count: layout.dimension)
        try out.withUnsafeMutableBufferPointer { try observe(t, into: $0.baseAddress!) }
        return out
    }

    /// The action mask (``ServingScenario/actionMask``).
    public var actionMask: [Bool] { mask }
}
