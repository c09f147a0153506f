import SwitchGymCore
import SwitchGymEnvs

/// The switching baselines every evaluation compares a trained policy with. Each runs on the
/// same ``FluidServingEnv`` and trace as the agent and sees only what has happened so far
/// (arrivals of past intervals), except the hindsight oracle, which sees the whole trace.
///
/// All planning baselines score a joint action with ``ServingModel/estimateInterval``: one
/// interval's reward at given arrivals with no backlog, losing the load time of the devices
/// that switch.
public enum ServingBaselines {
    /// The names `eval --baselines all` runs, in report order.
    public static let allNames = ["static-best", "reactive", "infaas", "forecast-ewma", "forecast-holt-winters",
                                  "forecast-rls", "mccall", "oracle"]

    /// Runs baseline `name` over `model`'s whole series (see ``allNames``, or
    /// `static:VARIANT`).
    /// - Throws: ``EnvError/Code/invalidArgument`` naming the known baselines.
    public static func run(_ name: String, model: ServingModel) throws -> ServingRun {
        let sc = model.scenario
        switch name {
        case "static-best": return ServingEvaluation.bestStatic(model: model)
        case "reactive": return reactive(model: model)
        case "infaas": return infaas(model: model)
        case "forecast-ewma": return forecastProactive(model: model, forecaster: .ewma)
        case "forecast-holt-winters": return forecastProactive(model: model, forecaster: .holtWinters)
        case "forecast-rls": return forecastProactive(model: model, forecaster: .rls)
        case "mccall": return mccall(model: model)
        case "oracle": return oracle(model: model).run
        default:
            if name.hasPrefix("static:"), let v = sc.variants.firstIndex(where: { "static:\($0.name)" == name }) {
                return ServingEvaluation.replay(name: name, model: model, actions: [ServingEvaluation.staticAction(sc, variant: v)])
            }
            throw EnvError(.invalidArgument, "unknown baseline '\(name)'; known: \(allNames.joined(separator: ", ")), static:VARIANT (\(sc.variants.map(\.name).joined(separator: ", "))).")
        }
    }

    /// Arrivals per stream of the interval before the current one (0 at the start).
    static func lastArrivals(_ env: FluidServingEnv, into out: inout [Double]) {
        let m = env.model
        let t = env.start + env.time - 1
        for s in 0..<m.streamCount { out[s] = t >= 0 ? m.arrivals(interval: t, stream: s) : 0 }
    }

    static func feasibleActions(_ m: ServingModel) -> [Int] {
        (0..<m.jointActionCount).filter { m.isFeasible(jointAction: $0) }
    }

    /// **Reactive, SlackFit-like**: every interval, at the arrival rate just observed, the most
    /// accurate assignment whose capacity covers it (the best estimated reward without any
    /// switching penalty); when none covers it, the one serving the most. Reacts, never plans.
    public static func reactive(model m: ServingModel) -> ServingRun {
        let actions = feasibleActions(m)
        var rates = [Double](repeating: 0, count: m.streamCount)
        return ServingEvaluation.run(name: "reactive", model: m) { env, _, _ in
            lastArrivals(env, into: &rates)
            var best = actions[0], bestKey = (false, -Double.infinity)
            rates.withUnsafeBufferPointer { r in
                for a in actions {
                    let e = m.estimateInterval(current: nil, action: a, arrivals: r)
                    let key = (e.unserved <= 1e-9, e.reward)
                    if key.0 && !bestKey.0 || key.0 == bestKey.0 && key.1 > bestKey.1 { best = a; bestKey = key }
                }
            }
            return best
        }
    }

    /// **INFaaS-like**: per stream, the cheapest variant meeting its deadline and minimum
    /// accuracy (ties: the faster); devices are given to streams in proportion to the load
    /// just observed (with 10% headroom), the most loaded stream first; spare devices keep
    /// their variant.
    public static func infaas(model m: ServingModel) -> ServingRun {
        let sc = m.scenario
        let S = m.streamCount
        var pick = [Int](repeating: 0, count: S)
        for s in 0..<S {
            let ok = sc.variants.indices.filter { sc.throughput(variant: $0, stream: s) > 0 }
            pick[s] = ok.min { a, b in
                let ca = sc.variants[a].costPerSecond, cb = sc.variants[b].costPerSecond
                return ca != cb ? ca < cb : sc.throughput(variant: a, stream: s) > sc.throughput(variant: b, stream: s)
            }!
        }
        var rates = [Double](repeating: 0, count: S)
        return ServingEvaluation.run(name: "infaas", model: m) { env, _, _ in
            lastArrivals(env, into: &rates)
            var assignment = env.variants
            var free = Array(sc.fleet.indices)
            let order = (0..<S).sorted { rates[$0] > rates[$1] }
            // Devices needed per stream, then hand them out (at least one to a loaded stream).
            for s in order where rates[s] > 0 {
                let cap = m.capacity(variant: pick[s], stream: s)
                var need = max(1, Int((rates[s] * 1.1 / cap).rounded(.up)))
                // Prefer devices already holding the variant (no load).
                free.sort { (env.variants[$0] == pick[s] ? 0 : 1, $0) < (env.variants[$1] == pick[s] ? 0 : 1, $1) }
                var i = 0
                while need > 0 && i < free.count {
                    let d = free[i]
                    if sc.fleet[d].canHold(sc.variants[pick[s]]) {
                        assignment[d] = pick[s]
                        free.remove(at: i)
                        need -= 1
                    } else {
                        i += 1
                    }
                }
            }
            return sc.encode(variants: assignment)
        }
    }

    /// The forecasters ``forecastProactive(model:forecaster:horizon:quantile:)`` can use.
    public enum ForecasterKind: String, Sendable, CaseIterable {
        case ewma, holtWinters = "holt-winters", rls
    }

    /// One forecaster per stream behind one interface (value types, no existentials).
    struct StreamForecaster {
        var ewma: EWMAForecaster?
        var hw: HoltWintersForecaster?
        var rls: RLSForecaster?

        init(_ kind: ForecasterKind, period: Int) {
            switch kind {
            case .ewma: ewma = EWMAForecaster(alpha: 0.3)
            case .holtWinters: hw = HoltWintersForecaster(alpha: 0.3, beta: 0.05, gamma: 0.1, period: max(2, period))
            case .rls: rls = RLSForecaster(order: 4, forgetting: 0.99)
            }
        }

        mutating func observe(_ x: Double) {
            ewma?.observe(x); hw?.observe(x); rls?.observe(x)
        }

        func forecast(_ h: Int) -> Double {
            max(0, ewma?.forecast(horizon: h) ?? hw?.forecast(horizon: h) ?? rls?.forecast(horizon: h) ?? 0)
        }
    }

    /// **Forecast-proactive**: forecasts each stream's arrivals over the next `horizon`
    /// intervals, inflates them by the `quantile` of recent one-step errors (headroom), and
    /// chooses the joint action maximising the estimated reward over the horizon, net of the
    /// load time lost by switching now.
    public static func forecastProactive(model m: ServingModel, forecaster kind: ForecasterKind,
                                         horizon: Int = 4, quantile: Double = 0.8) -> ServingRun {
        let S = m.streamCount
        let actions = feasibleActions(m)
        // Holt-Winters' season: one day if the trace is longer than two, else one hour.
        let perHour = Int((3600 / m.scenario.decisionInterval).rounded())
        let period = m.intervalCount > 2 * 24 * perHour ? 24 * perHour : max(2, min(perHour, m.intervalCount / 3))
        var forecasters = (0..<S).map { _ in StreamForecaster(kind, period: period) }
        var errors = (0..<S).map { _ in ForecastErrorWindow(capacity: 64) }
        var previous = [Double](repeating: 0, count: S)
        var rates = [Double](repeating: 0, count: S)
        var path = [Double](repeating: 0, count: horizon * S)
        var current = [Int](repeating: 0, count: m.deviceCount)
        return ServingEvaluation.run(name: "forecast-\(kind.rawValue)", model: m) { env, _, _ in
            lastArrivals(env, into: &rates)
            if env.time > 0 {
                for s in 0..<S {
                    errors[s].record(forecast: previous[s], actual: rates[s])
                    forecasters[s].observe(rates[s])
                }
            }
            for s in 0..<S {
                previous[s] = forecasters[s].forecast(1)
                let lift = env.time > 8 ? max(0, errors[s].errorQuantile(quantile)) : 0
                for h in 0..<horizon { path[h * S + s] = forecasters[s].forecast(h + 1) + lift }
            }
            for d in 0..<m.deviceCount { current[d] = env.variants[d] }
            var best = m.jointAction(of: env.variants), bestValue = -Double.infinity
            current.withUnsafeBufferPointer { cur in
                path.withUnsafeBufferPointer { p in
                    for a in actions {
                        var value = 0.0
                        for h in 0..<horizon {
                            let row = UnsafeBufferPointer(rebasing: p[(h * S)..<((h + 1) * S)])
                            value += m.estimateInterval(current: h == 0 ? cur : nil, action: a, arrivals: row).reward
                        }
                        if value > bestValue { best = a; bestValue = value }
                    }
                }
            }
            return best
        }
    }

    /// **McCall reservation-utility**: the current assignment and the best few alternatives
    /// are valued under the forecast distribution (the EWMA forecast times the empirical
    /// ratios of actual to forecast arrivals at 5 quantiles); the policy switches only when the
    /// expected discounted gain of the best offer, net of the load time lost, exceeds the
    /// reservation value from value iteration (``McCallSwitchingPolicy``).
    public static func mccall(model m: ServingModel, discount: Double = 0.9, offers k: Int = 6) -> ServingRun {
        let S = m.streamCount
        let actions = feasibleActions(m)
        var forecasters = (0..<S).map { _ in EWMAForecaster(alpha: 0.3) }
        var ratios: [Double] = []
        var policy = McCallSwitchingPolicy(discount: discount)
        var rates = [Double](repeating: 0, count: S)
        var scenario = [Double](repeating: 0, count: S)
        var previous = 0.0
        let qs = [0.1, 0.3, 0.5, 0.7, 0.9]
        return ServingEvaluation.run(name: "mccall", model: m) { env, _, _ in
            lastArrivals(env, into: &rates)
            let total = rates.reduce(0, +)
            if env.time > 0 {
                if previous > 0 { ratios.append(total / previous); if ratios.count > 64 { ratios.removeFirst() } }
                for s in 0..<S { forecasters[s].observe(rates[s]) }
            }
            previous = forecasters.reduce(0) { $0 + $1.forecast(horizon: 1) }
            let sorted = ratios.sorted()
            let multipliers = sorted.isEmpty ? [1.0] : qs.map { sorted[min(sorted.count - 1, Int($0 * Double(sorted.count)))] }
            func distribution(_ a: Int) -> DiscreteDistribution {
                let values = multipliers.map { mult -> Double in
                    for s in 0..<S { scenario[s] = forecasters[s].forecast(horizon: 1) * mult }
                    return scenario.withUnsafeBufferPointer { m.estimateInterval(current: nil, action: a, arrivals: $0).reward }
                }
                return DiscreteDistribution(values: values, probabilities: [Double](repeating: 1 / Double(values.count), count: values.count))
            }
            let held = m.jointAction(of: env.variants)
            let heldDist = distribution(held)
            var candidates = actions.filter { $0 != held }.map { ($0, distribution($0)) }
            candidates.sort { $0.1.mean > $1.1.mean }
            let offers = candidates.prefix(k).map { a, dist in
                McCallOffer(configuration: a, rewards: dist, switchCost: 0,
                            delay: m.switchDelay(from: held, to: a), pendingReward: 0)
            }
            return policy.decide(current: McCallHeld(configuration: held, rewards: heldDist), offers: Array(offers))
        }
    }

    /// **Hindsight oracle**: dynamic programming over the whole series with the relaxed
    /// per-interval rewards (``ServingModel/estimateInterval(current:action:arrivals:relaxed:)``
    /// with `relaxed`: unserved queries credited as answered later, only unavoidable lateness
    /// charged) and the load delays of each switch, counting the old assignment as serving
    /// while a switch is pending (``SwitchingModel/PendingEarnings/previousConfiguration``).
    /// Every term is optimistic, so the plan's value is an upper bound on any policy's utility
    /// in the fluid env (the *oracle bound*); the plan replayed in the env is the oracle policy.
    public static func oracle(model m: ServingModel) -> (bound: Double, run: ServingRun) {
        let plan = oraclePlan(model: m, relaxed: false)
        return (oracleBound(model: m), ServingEvaluation.replay(name: "oracle", model: m, actions: plan.configurations))
    }

    /// The oracle bound alone (the relaxed plan's value), without planning and replaying the
    /// oracle policy.
    public static func oracleBound(model m: ServingModel) -> Double {
        oraclePlan(model: m, relaxed: true).totalReward
    }

    /// The DP plan over relaxed (bound) or plain one-interval estimates.
    static func oraclePlan(model m: ServingModel, relaxed: Bool) -> HindsightPlan {
        let T = m.intervalCount, C = m.jointActionCount
        var rewards = [Double](repeating: -1e18, count: T * C)
        var row = [Double](repeating: 0, count: m.streamCount)
        let feasible = feasibleActions(m)
        for t in 0..<T {
            for s in 0..<m.streamCount { row[s] = m.arrivals(interval: t, stream: s) }
            row.withUnsafeBufferPointer { r in
                for c in feasible { rewards[t * C + c] = m.estimateInterval(current: nil, action: c, arrivals: r, relaxed: relaxed).reward }
            }
        }
        var delay = [Double](repeating: 0, count: C * C)
        for a in 0..<C { for b in 0..<C { delay[a * C + b] = m.switchDelay(from: a, to: b) } }
        let switching = SwitchingModel(configurationCount: C, delay: delay, cost: [Double](repeating: 0, count: C * C),
                                       pending: relaxed ? .previousConfiguration : .nothing)
        return HindsightOracle(rewards: rewards, intervalCount: T, configurationCount: C, switching: switching)
            .solve(initialConfiguration: m.jointAction(of: m.scenario.initialVariants))
    }
}
