import Foundation
import SwitchGymCore

/// The fidelity gap table of issue 11: for one scenario at several loads (relative to the
/// fleet's capacity), each policy's decisions, made once on the fluid env, replayed on the
/// fluid and on the discrete-event fidelity (``FidelityComparison``), with utility, goodput and
/// SLO attainment side by side and the gap `(fluid − discrete-event) / |discrete-event|`.
public struct FidelityGapStudy: Sendable, Equatable, Codable {
    /// The metrics compared, one fidelity.
    public struct Metrics: Sendable, Equatable, Codable {
        public var utility: Double
        /// Queries answered by their deadline per second.
        public var goodput: Double
        /// Share of arrivals answered by their deadline.
        public var sloAttainment: Double
        /// Where the utility comes from, over the run: queries answered (on time or late),
        /// dropped and still queued at the end, `Σ accuracy × answered`, the variants' cost, and
        /// the SLO penalties (stream-weighted) for lateness and for drops. With the scenario's
        /// weights `w`: utility = `w.served·served + w.accuracy·accuracyServed − w.cost·cost −
        /// w.slo·(latenessPenalty + dropPenalty)`.
        public var served: Double, dropped: Double, queued: Double, accuracyServed: Double, cost: Double
        public var latenessPenalty: Double, dropPenalty: Double

        public init(_ m: ServingMetrics) {
            utility = m.utility
            goodput = m.goodput
            sloAttainment = m.sloAttainment
            served = m.served
            dropped = m.dropped
            queued = m.queued
            accuracyServed = m.accuracyServed
            cost = m.cost
            latenessPenalty = m.latenessPenalty
            dropPenalty = m.dropPenalty
        }
    }

    /// One scenario, load and policy.
    public struct Point: Sendable, Equatable, Codable {
        public var scenario: String
        /// Mean arrival rate over the fleet's capacity (``FidelityGapStudy/capacityRate(scenario:arrivals:)``).
        public var load: Double
        /// The mean arrival rate it stands for, queries/s.
        public var rate: Double
        public var policy: String
        public var intervals: Int
        public var fluid: Metrics
        public var discreteEvent: Metrics
        /// `(fluid − discrete-event) / |discrete-event|` of the utility, goodput and SLO attainment.
        public var utilityGap: Double
        public var goodputGap: Double
        public var sloAttainmentGap: Double

        public init(scenario: String, load: Double, rate: Double, policy: String, comparison c: FidelityComparison) {
            self.scenario = scenario
            self.load = load
            self.rate = rate
            self.policy = policy
            intervals = c.intervals.count
            fluid = Metrics(c.fluid)
            discreteEvent = Metrics(c.discreteEvent.serving)
            func gap(_ f: Double, _ d: Double) -> Double { (f - d) / max(abs(d), 1e-12) }
            utilityGap = gap(fluid.utility, discreteEvent.utility)
            goodputGap = gap(fluid.goodput, discreteEvent.goodput)
            sloAttainmentGap = gap(fluid.sloAttainment, discreteEvent.sloAttainment)
        }
    }

    /// How the fluid env queued (``FluidQueueing``).
    public var queueing: FluidQueueing
    public var points: [Point]

    public init(queueing: FluidQueueing, points: [Point]) {
        self.queueing = queueing
        self.points = points
    }

    /// A policy whose decisions are replayed: its name and, for a fluid model, its assignment
    /// per interval (a variant per device).
    public typealias Policy = (name: String, decide: (ServingModel) throws -> [[Int]])

    /// The fleet's capacity for the scenario's stream mix, queries/s: the rate at which the
    /// fleet is exactly busy when each query of stream `s` is answered by the variant with the
    /// highest rate for `s` on each device, devices time-shared between streams
    /// (`1 / Σ_s share_s / Σ_d μ_best(d, s)`), at the rates both fidelities serve at
    /// (``ServingScenario/servingRates(arrivals:)``: the step model's at the streams' mean
    /// lengths for LLM variants). Exact for a fleet of one device class; an estimate otherwise
    /// (it ignores which class is relatively better at which stream).
    public static func capacityRate(scenario sc: ServingScenario, arrivals: ScenarioArrivals) -> Double {
        let S = sc.streams.count
        var perStream = [Double](repeating: 0, count: S)
        for t in 0..<arrivals.intervals { for s in 0..<S { perStream[s] += arrivals.counts[t * S + s] } }
        let total = perStream.reduce(0, +)
        let rates = sc.servingRates(arrivals: arrivals)
        var work = 0.0
        for s in 0..<S {
            let share = total > 0 ? perStream[s] / total : 1 / Double(S)
            var fleet = 0.0
            for d in sc.fleet.indices {
                var best = 0.0
                for v in sc.variants.indices where sc.fleet[d].canHold(sc.variants[v]) {
                    best = max(best, rates[v * S + s])
                }
                fleet += best
            }
            if share > 0 { work += fleet > 0 ? share / fleet : .infinity }
        }
        return work > 0 ? 1 / work : 0
    }

    /// Runs every policy at every load on `scenario` (its own trace, or `trace`).
    ///
    /// Each load sets the scenario's mean rate to `load ×` ``capacityRate(scenario:arrivals:)``
    /// (measured on the trace at the scenario's own rate); the whole series is one episode
    /// (as ``ServingEvaluation/model(scenario:arrivals:)``); each policy decides on the fluid
    /// model of that load, and its first `intervals` decisions (all when `nil`) are replayed.
    /// - Throws: the scenario's errors, or a policy's.
    public static func run(scenario: ServingScenario, trace: String? = nil, loads: [Double], policies: [Policy],
                           queueing: FluidQueueing = .subinterval, intervals: Int? = nil,
                           config: DiscreteEventConfig = DiscreteEventConfig()) throws -> FidelityGapStudy {
        var sc = scenario
        sc.episodeIntervals = nil
        let capacity = capacityRate(scenario: sc, arrivals: try sc.loadArrivals(overridePath: trace))
        var points: [Point] = []
        for load in loads {
            precondition(load > 0, "FidelityGapStudy: loads must be positive")
            var at = sc
            at.targetMeanRate = load * capacity
            let model = try ServingModel(scenario: at, arrivals: try at.loadArrivals(overridePath: trace), queueing: queueing,
                                         dispatch: config.queuedDispatch)
            let des = try DiscreteEventModel(serving: model, config: config)
            for p in policies {
                let actions = Array(try p.decide(model).prefix(intervals ?? model.episodeLength))
                let c = FidelityComparison.run(model: des, assignments: actions)
                points.append(Point(scenario: sc.name, load: load, rate: load * capacity, policy: p.name, comparison: c))
            }
        }
        return FidelityGapStudy(queueing: queueing, points: points)
    }

    /// The table as Markdown: one row per point, gaps in percent.
    public var markdown: String {
        func f(_ x: Double, _ d: Int) -> String { String(format: "%.\(d)f", x) }
        func pct(_ x: Double) -> String { (x >= 0 ? "+" : "") + f(100 * x, 1) + "%" }
        var lines = ["| scenario | load | q/s | policy | utility fluid | utility DES | gap | goodput fluid | goodput DES | gap | SLO fluid | SLO DES | gap |",
                     "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for p in points {
            lines.append("| \(p.scenario) | \(f(p.load, 2)) | \(f(p.rate, 1)) | \(p.policy) | \(f(p.fluid.utility, 0)) | \(f(p.discreteEvent.utility, 0)) | \(pct(p.utilityGap)) | "
                         + "\(f(p.fluid.goodput, 1)) | \(f(p.discreteEvent.goodput, 1)) | \(pct(p.goodputGap)) | "
                         + "\(f(p.fluid.sloAttainment, 4)) | \(f(p.discreteEvent.sloAttainment, 4)) | \(pct(p.sloAttainmentGap)) |")
        }
        return lines.joined(separator: "\n")
    }
}
