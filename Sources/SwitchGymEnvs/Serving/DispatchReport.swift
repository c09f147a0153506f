import SwitchGymCore

/// Dispatch among the variants loaded in one interval, under an average accuracy target a*:
/// the LP lower bound on mean latency (``AccuracyLatencyBound``), and R-JIQ, POP and
/// join-shortest-queue simulated at the interval's arrival rate (``DispatchSimulator``).
///
/// Each device is one server whose service rate is its variant's throughput under the
/// scenario's first stream's deadline (a batched device approximated as a fast server) and
/// whose accuracy is its variant's; devices holding the same variant form one class. Latencies
/// are in milliseconds; `nil` where the outcome is infeasible (no arrivals, overload, or a*
/// out of reach).
public struct IntervalDispatch: Sendable, Equatable {
    public var interval: Int
    public var arrivalRate: Double
    /// "ok", "idle", "overloaded" or "accuracy-unreachable".
    public var status: String
    public var lpBoundMs: Double?
    public var rjiqMs: Double?, popMs: Double?, jsqMs: Double?
    public var rjiqAccuracy: Double?, popAccuracy: Double?, jsqAccuracy: Double?
}

public enum DispatchReport {
    /// The default accuracy target: the share-weighted minimum accuracy of the streams, or the
    /// mean accuracy of the zoo when no stream sets one. `shares` (the replayed trace's mix,
    /// ``ScenarioArrivals/shares``) replaces the configured shares, which are 0 when the
    /// streams select their requests by origin.
    public static func defaultTarget(_ sc: ServingScenario, shares: [Double]? = nil) -> Double {
        let w = shares ?? sc.streams.map(\.share)
        let t = zip(w, sc.streams).reduce(0) { $0 + $1.0 * $1.1.minAccuracy }
        return t > 0 ? t : sc.variants.reduce(0) { $0 + $1.accuracy } / Double(sc.variants.count)
    }

    /// The report for `run` (its assignments give the variants held per interval).
    public static func report(model m: ServingModel, run: ServingRun, accuracyTarget: Double? = nil,
                              jobsPerInterval: Int = 2000, seed: UInt64 = 0) -> [IntervalDispatch] {
        let sc = m.scenario
        let target = accuracyTarget ?? defaultTarget(sc, shares: m.arrivals.shares)
        var out: [IntervalDispatch] = []
        out.reserveCapacity(run.assignments.count)
        for (t, held) in run.assignments.enumerated() {
            var counts: [Int: Int] = [:]
            for v in held { counts[v, default: 0] += 1 }
            let variants = counts.keys.sorted()
            let classes = variants.compactMap { v -> ServerClass? in
                let mu = m.serviceRate(interval: t, variant: v, stream: 0) / sc.decisionInterval
                return mu > 0 ? ServerClass(serviceRate: mu, accuracy: sc.variants[v].accuracy, count: counts[v]!) : nil
            }
            let arrived = (0..<m.streamCount).reduce(0.0) { $0 + m.arrivals(interval: t, stream: $1) }
            let lambda = arrived / sc.decisionInterval
            var r = IntervalDispatch(interval: t, arrivalRate: lambda, status: "ok")
            guard lambda > 0, !classes.isEmpty else { r.status = "idle"; out.append(r); continue }
            switch AccuracyLatencyBound.solve(classes: classes, arrivalRate: lambda, accuracyTarget: target) {
            case .overloaded: r.status = "overloaded"
            case .accuracyUnreachable: r.status = "accuracy-unreachable"
            case .feasible(let s): r.lpBoundMs = s.meanLatency * 1000
            }
            if r.status == "ok" {
                let n = jobsPerInterval
                var sim = DispatchSimulator(classes: classes)
                let arrivals = DispatchArrivals.poisson(rate: lambda, count: n)
                if var p = RJIQPolicy(classes: classes, arrivalRate: lambda, accuracyTarget: target) {
                    let res = sim.run(policy: &p, arrivals: arrivals, seed: seed &+ UInt64(t), warmupJobs: n / 10)
                    r.rjiqMs = res.meanLatency * 1000; r.rjiqAccuracy = res.meanAccuracy
                }
                if var p = POPPolicy(classes: classes, accuracyTarget: target) {
                    let res = sim.run(policy: &p, arrivals: arrivals, seed: seed &+ UInt64(t), warmupJobs: n / 10)
                    r.popMs = res.meanLatency * 1000; r.popAccuracy = res.meanAccuracy
                }
                var jsq = JoinShortestQueuePolicy()
                let res = sim.run(policy: &jsq, arrivals: arrivals, seed: seed &+ UInt64(t), warmupJobs: n / 10)
                r.jsqMs = res.meanLatency * 1000; r.jsqAccuracy = res.meanAccuracy
            }
            out.append(r)
        }
        return out
    }
}
