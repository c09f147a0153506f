import Foundation
import SwitchGymCore

/// The same fixed action sequence replayed on the fluid and the discrete-event fidelity of one
/// scenario, with the gap per interval and in total (STYLE.md 5: equivalence checks between
/// implementations, here with a measured rather than a zero tolerance).
///
/// The fluid model is an optimistic bound in most respects: it serves at the SLO throughput
/// from the first instant of an interval, counts as on time whatever is answered within the
/// interval its deadline falls in (a 50 ms query answered 1.5 s late is on time if both fall
/// in one 2 s interval), and never wastes capacity on batching, dispatch imbalance or arrival
/// noise. The discrete-event run pays all of these. (That describes ``FluidQueueing/interval``;
/// the default ``FluidQueueing/subinterval`` charges queueing and deadlines inside the interval.)
public struct FidelityComparison: Sendable, Equatable, Codable {
    /// One interval of both runs.
    public struct Interval: Sendable, Equatable, Codable {
        public var interval: Int
        public var fluid: ServingStepInfo
        public var discreteEvent: ServingStepInfo
        /// Discrete-event reward minus fluid reward.
        public var rewardGap: Double { discreteEvent.reward - fluid.reward }
        /// Share of the interval's arrivals answered on time (in the same interval), each run.
        public var fluidSLO: Double { fluid.arrived > 0 ? fluid.servedOnTime / fluid.arrived : 1 }
        public var discreteEventSLO: Double { discreteEvent.arrived > 0 ? discreteEvent.servedOnTime / discreteEvent.arrived : 1 }
    }

    /// Per interval.
    public var intervals: [Interval]
    /// Totals of the fluid run.
    public var fluid: ServingMetrics
    /// Totals of the discrete-event run.
    public var discreteEvent: DiscreteEventMetrics

    /// Discrete-event minus fluid utility (sum of rewards).
    public var utilityGap: Double { discreteEvent.serving.utility - fluid.utility }
    /// ``utilityGap`` over the fluid utility's magnitude.
    public var relativeUtilityGap: Double { utilityGap / max(abs(fluid.utility), 1e-12) }
    /// Discrete-event minus fluid goodput (queries/s answered on time).
    public var goodputGap: Double { discreteEvent.serving.goodput - fluid.goodput }
    /// ``goodputGap`` over the fluid goodput.
    public var relativeGoodputGap: Double { goodputGap / max(fluid.goodput, 1e-12) }
    /// Discrete-event minus fluid SLO attainment (share of arrivals answered on time).
    public var sloAttainmentGap: Double { discreteEvent.serving.sloAttainment - fluid.sloAttainment }
    /// Discrete-event minus fluid mean accuracy of the answers.
    public var accuracyGap: Double { discreteEvent.serving.meanAccuracy - fluid.meanAccuracy }

    /// Replays `assignments` (a variant per device, one per interval; at most an episode) on
    /// both fidelities of `model`, both reset with `seed` (so a random start is the same interval).
    public static func run(model: DiscreteEventModel, assignments actions: [[Int]], seed: UInt64 = 0) -> FidelityComparison {
        var fluid = FluidServingEnv(model: model.serving, seed: seed)
        var des = DiscreteEventServingEnv(model: model, seed: seed)
        fluid.resetState(seed: seed)
        des.resetState(seed: seed)
        var rows: [Interval] = []
        rows.reserveCapacity(min(actions.count, model.serving.episodeLength))
        for (k, a) in actions.enumerated() {
            let f = a.withUnsafeBufferPointer { fluid.step(choices: $0.baseAddress!) }
            _ = a.withUnsafeBufferPointer { des.step(choices: $0.baseAddress!) }
            rows.append(Interval(interval: k, fluid: fluid.last, discreteEvent: des.last.serving))
            if f.truncated { break }
        }
        return FidelityComparison(intervals: rows, fluid: fluid.totals, discreteEvent: des.episodeMetrics())
    }

    /// Replays one assignment held for `intervals` intervals (a static policy).
    public static func run(model: DiscreteEventModel, staticAssignment a: [Int], intervals: Int, seed: UInt64 = 0) -> FidelityComparison {
        run(model: model, assignments: [[Int]](repeating: a, count: intervals), seed: seed)
    }

    /// A one-paragraph report of the totals.
    public var summary: String {
        func f(_ x: Double, _ d: Int = 4) -> String { String(format: "%.\(d)f", x) }
        let a = fluid, b = discreteEvent.serving
        return """
        intervals \(intervals.count): utility fluid \(f(a.utility, 1)) des \(f(b.utility, 1)) (des − fluid \(f(100 * relativeUtilityGap, 2))% of fluid); \
        goodput fluid \(f(a.goodput, 1)) des \(f(b.goodput, 1)) q/s (des − fluid \(f(100 * relativeGoodputGap, 2))% of fluid); \
        SLO attainment fluid \(f(a.sloAttainment)) des \(f(b.sloAttainment)) \
        (des counting the fluid's due interval as on time \(f(Double(discreteEvent.servedInDueInterval) / max(b.arrived, 1)))); \
        accuracy fluid \(f(a.meanAccuracy)) des \(f(b.meanAccuracy)); \
        dropped fluid \(f(a.dropped, 0)) des \(discreteEvent.dropped); \
        des latency p50 \(f(discreteEvent.latencyP50Ms, 2)) ms p99 \(f(discreteEvent.latencyP99Ms, 2)) ms
        """
    }
}
