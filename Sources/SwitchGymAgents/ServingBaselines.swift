import SwitchGymCore
import SwitchGymEnvs

/// The switching baselines every evaluation compares a trained policy with. Each runs on the
/// same ``FluidServingEnv`` and trace as the agent and sees only what has happened so far
/// (arrivals of past intervals), except static-best and the hindsight oracle, which see the
/// whole trace.
///
/// None enumerates joint assignments. The planning baselines score **configurations** (how
/// many devices of each class hold each variant; ``FleetConfigurations``) with the
/// one-interval estimate, enumerating them when there are at most ``exhaustiveLimit`` (every
/// shipped 3- and 4-GPU zoo) and otherwise climbing from the held configuration by moving
/// blocks of devices between variants; the chosen configuration is realised by keeping as
/// many devices as possible on their variant (``FleetConfigurations/arrange(_:current:into:)``).
/// Cost per decision grows with classes × variants², not with the number of assignments.
public enum ServingBaselines {
    /// The names `eval --baselines all` runs, in report order.
    public static let allNames = ["static-best", "reactive", "infaas", "forecast-ewma", "forecast-holt-winters",
                                  "forecast-rls", "mccall", "oracle"]

    /// Configurations are enumerated up to this many; beyond, the searches are local.
    public static let exhaustiveLimit = 4096
    /// The hindsight oracle's dynamic programme is exact over every configuration up to this
    /// many (its cost grows with their square); beyond, it plans over a candidate set.
    public static let oracleConfigurationLimit = 400

    /// Runs baseline `name` over `model`'s whole series (see ``allNames``, or
    /// `static:VARIANT`).
    /// - Throws: ``EnvError/Code/invalidArgument`` naming the known baselines.
    public static func run(_ name: String, model: ServingModel) throws -> ServingRun {
        let sc = model.scenario
        switch name {
        case "static-best": return staticBest(model: model)
        case "reactive": return reactive(model: model)
        case "infaas": return infaas(model: model)
        case "forecast-ewma": return forecastProactive(model: model, forecaster: .ewma)
        case "forecast-holt-winters": return forecastProactive(model: model, forecaster: .holtWinters)
        case "forecast-rls": return forecastProactive(model: model, forecaster: .rls)
        case "mccall": return mccall(model: model)
        case "oracle": return oracle(model: model).run
        default:
            if name.hasPrefix("static:"), let v = sc.variants.firstIndex(where: { "static:\($0.name)" == name }) {
                return ServingEvaluation.replay(name: name, model: model, assignments: [sc.staticAssignment(variant: v)])
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

    /// Writes the arrangement of `counts` from the env's current variants into `out`.
    static func realise(_ space: FleetConfigurations, _ counts: [Int], env: FluidServingEnv, into out: UnsafeMutableBufferPointer<Int>) {
        counts.withUnsafeBufferPointer { c in
            env.variants.withUnsafeBufferPointer { cur in space.arrange(c, current: cur, into: out) }
        }
    }

    /// The utility of holding `assignment` throughout (a fast replay: totals only).
    public static func staticUtility(model: ServingModel, assignment: [Int]) -> Double {
        var env = FluidServingEnv(model: model, seed: 0)
        env.resetState(seed: 0)
        assignment.withUnsafeBufferPointer { a in
            while !env.step(choices: a.baseAddress!).truncated {}
        }
        return env.totals.utility
    }

    // MARK: - Static

    /// **Static-best**: the best constant assignment in hindsight (every configuration
    /// replayed when there are few; otherwise a local search over configurations by replayed
    /// utility from three starts: the initial assignment, the best `static:VARIANT`, and the
    /// reactive rule's choice at the trace's mean rate; the best of the three), and its run.
    /// On large fleets it is a local optimum, not a proven best.
    public static func staticBest(model m: ServingModel) -> ServingRun {
        let space = FleetConfigurations(model: m)
        let initial = m.scenario.initialVariants
        let utility: (UnsafeBufferPointer<Int>) -> Double = { c in
            staticUtility(model: m, assignment: space.arrange(Array(c), current: initial))
        }
        var starts = [space.configuration(of: initial)]
        if space.count > exhaustiveLimit {
            var mean = [Double](repeating: 0, count: m.streamCount)
            for t in 0..<m.intervalCount { for s in 0..<m.streamCount { mean[s] += m.arrivals(interval: t, stream: s) / Double(m.intervalCount) } }
            starts.append(mean.withUnsafeBufferPointer { r in
                space.maximize(from: starts[0], exhaustiveLimit: exhaustiveLimit) { c in
                    let e = space.estimate(c, held: nil, arrivals: r)
                    return RankedScore(e.unserved <= 1e-9, e.reward)
                }.configuration
            })
            let statics = m.scenario.variants.indices.map { space.configuration(of: m.scenario.staticAssignment(variant: $0)) }
            starts.append(statics.max { a, b in
                a.withUnsafeBufferPointer(utility) < b.withUnsafeBufferPointer(utility)
            }!)
        }
        var best: (configuration: [Int], key: Double)?
        for start in starts {
            let found = space.maximize(from: start, exhaustiveLimit: exhaustiveLimit, maxRounds: 64, objective: utility)
            if best == nil || found.key > best!.key { best = found }
        }
        return ServingEvaluation.replay(name: "static-best", model: m, assignments: [space.arrange(best!.configuration, current: initial)])
    }

    // MARK: - Reactive and INFaaS

    /// **Reactive, SlackFit-like**: every interval, at the arrival rate just observed, the most
    /// accurate configuration whose capacity covers it (the best estimated reward without any
    /// switching penalty); when none covers it, the one serving the most. Reacts, never plans.
    public static func reactive(model m: ServingModel) -> ServingRun {
        let space = FleetConfigurations(model: m)
        var rates = [Double](repeating: 0, count: m.streamCount)
        return ServingEvaluation.run(name: "reactive", model: m) { env, _, _, out in
            lastArrivals(env, into: &rates)
            let held = space.configuration(of: env.variants)
            let best = rates.withUnsafeBufferPointer { r in
                space.maximize(from: held, exhaustiveLimit: exhaustiveLimit) { c in
                    let e = space.estimate(c, held: nil, arrivals: r)
                    return RankedScore(e.unserved <= 1e-9, e.reward)
                }.configuration
            }
            realise(space, best, env: env, into: out)
        }
    }

    /// **INFaaS-like**: per stream, the cheapest variant meeting its deadline and minimum
    /// accuracy (ties: the faster); devices are given to streams in proportion to the load
    /// just observed (with 10% headroom), the most loaded stream first; spare devices keep
    /// their variant. A per-device rule: linear in the fleet.
    public static func infaas(model m: ServingModel) -> ServingRun {
        let sc = m.scenario
        let S = m.streamCount
        var pick = [Int](repeating: -1, count: S)
        for s in 0..<S {
            let ok = sc.variants.indices.filter { sc.throughput(variant: $0, stream: s) > 0 }
            pick[s] = ok.min { a, b in
                let ca = sc.variants[a].heldCostPerSecond, cb = sc.variants[b].heldCostPerSecond
                return ca != cb ? ca < cb : sc.throughput(variant: a, stream: s) > sc.throughput(variant: b, stream: s)
            } ?? -1
        }
        var rates = [Double](repeating: 0, count: S)
        var taken = [Bool](repeating: false, count: m.deviceCount)
        return ServingEvaluation.run(name: "infaas", model: m) { env, _, _, out in
            lastArrivals(env, into: &rates)
            for d in 0..<m.deviceCount { taken[d] = false }
            let order = (0..<S).sorted { rates[$0] > rates[$1] }
            // Devices needed per stream, then hand them out (at least one to a loaded stream),
            // devices already holding the variant first (no load), then in device order.
            for s in order where rates[s] > 0 && pick[s] >= 0 {
                let v = pick[s]
                let cap = m.capacity(variant: v, stream: s)
                var need = max(1, Int(min((rates[s] * 1.1 / cap).rounded(.up), Double(m.deviceCount))))
                for pass in 0..<2 where need > 0 {
                    for d in 0..<m.deviceCount where need > 0 && !taken[d] && m.canHold(device: d, variant: v)
                        && (pass == 1 || env.variants[d] == v) {
                        out[d] = v
                        taken[d] = true
                        need -= 1
                    }
                }
            }
        }
    }

    // MARK: - Forecast-proactive

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
    /// chooses the configuration maximising the estimated reward over the horizon, net of the
    /// load time lost by switching now.
    public static func forecastProactive(model m: ServingModel, forecaster kind: ForecasterKind,
                                         horizon: Int = 4, quantile: Double = 0.8) -> ServingRun {
        let S = m.streamCount
        let space = FleetConfigurations(model: m)
        // Holt-Winters' season: one day if the trace is longer than two, else one hour.
        let perHour = Int((3600 / m.scenario.decisionInterval).rounded())
        let period = m.intervalCount > 2 * 24 * perHour ? 24 * perHour : max(2, min(perHour, m.intervalCount / 3))
        var forecasters = (0..<S).map { _ in StreamForecaster(kind, period: period) }
        var errors = (0..<S).map { _ in ForecastErrorWindow(capacity: 64) }
        var previous = [Double](repeating: 0, count: S)
        var rates = [Double](repeating: 0, count: S)
        var path = [Double](repeating: 0, count: horizon * S)
        return ServingEvaluation.run(name: "forecast-\(kind.rawValue)", model: m) { env, _, _, out in
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
            let held = space.configuration(of: env.variants)
            let best = held.withUnsafeBufferPointer { cur in
                path.withUnsafeBufferPointer { p in
                    space.maximize(from: held, exhaustiveLimit: exhaustiveLimit) { c in
                        var value = 0.0
                        for h in 0..<horizon {
                            let row = UnsafeBufferPointer(rebasing: p[(h * S)..<((h + 1) * S)])
                            value += space.estimate(c, held: h == 0 ? cur : nil, arrivals: row).reward
                        }
                        return value
                    }.configuration
                }
            }
            realise(space, best, env: env, into: out)
        }
    }

    // MARK: - McCall

    /// **McCall reservation-utility**: the held configuration and the best few alternatives
    /// are valued under the forecast distribution (the EWMA forecast times the empirical
    /// ratios of actual to forecast arrivals at 5 quantiles); the policy switches only when the
    /// expected discounted gain of the best offer, net of the load time lost, exceeds the
    /// reservation value from value iteration (``McCallSwitchingPolicy``). The alternatives
    /// are every configuration when there are few, else the held configuration's neighbours
    /// (one block of devices moved) and the best configuration at the mean forecast.
    public static func mccall(model m: ServingModel, discount: Double = 0.9, offers k: Int = 6) -> ServingRun {
        let S = m.streamCount
        let space = FleetConfigurations(model: m)
        let everything: [[Int]]? = space.count <= 512 ? space.all() : nil
        var forecasters = (0..<S).map { _ in EWMAForecaster(alpha: 0.3) }
        var ratios: [Double] = []
        var policy = McCallSwitchingPolicy(discount: discount)
        var rates = [Double](repeating: 0, count: S)
        var scenario = [Double](repeating: 0, count: S)
        var previous = 0.0
        let qs = [0.1, 0.3, 0.5, 0.7, 0.9]
        return ServingEvaluation.run(name: "mccall", model: m) { env, _, _, out in
            lastArrivals(env, into: &rates)
            let total = rates.reduce(0, +)
            if env.time > 0 {
                if previous > 0 { ratios.append(total / previous); if ratios.count > 64 { ratios.removeFirst() } }
                for s in 0..<S { forecasters[s].observe(rates[s]) }
            }
            previous = forecasters.reduce(0) { $0 + $1.forecast(horizon: 1) }
            let sorted = ratios.sorted()
            let multipliers = sorted.isEmpty ? [1.0] : qs.map { sorted[min(sorted.count - 1, Int($0 * Double(sorted.count)))] }
            func distribution(_ c: [Int]) -> DiscreteDistribution {
                let values = multipliers.map { mult -> Double in
                    for s in 0..<S { scenario[s] = forecasters[s].forecast(horizon: 1) * mult }
                    return scenario.withUnsafeBufferPointer { r in c.withUnsafeBufferPointer { space.estimate($0, held: nil, arrivals: r).reward } }
                }
                return DiscreteDistribution(values: values, probabilities: [Double](repeating: 1 / Double(values.count), count: values.count))
            }
            let held = space.configuration(of: env.variants)
            var pool: [[Int]]
            if let everything {
                pool = everything.filter { $0 != held }
            } else {
                pool = neighbours(space, held)
                for s in 0..<S { scenario[s] = forecasters[s].forecast(horizon: 1) }
                let best = scenario.withUnsafeBufferPointer { r in
                    space.maximize(from: held, exhaustiveLimit: 0) { c in space.estimate(c, held: nil, arrivals: r).reward }.configuration
                }
                if best != held && !pool.contains(best) { pool.append(best) }
            }
            var candidates = pool.map { ($0, distribution($0)) }
            candidates.sort { $0.1.mean > $1.1.mean }
            let chosen = Array(candidates.prefix(k))
            let offers = chosen.enumerated().map { i, c in
                McCallOffer(configuration: i + 1, rewards: c.1, switchCost: 0,
                            delay: held.withUnsafeBufferPointer { a in c.0.withUnsafeBufferPointer { space.switchDelay(from: a, to: $0) } },
                            pendingReward: 0)
            }
            let pick = policy.decide(current: McCallHeld(configuration: 0, rewards: distribution(held)), offers: offers)
            if pick > 0 { realise(space, chosen[pick - 1].0, env: env, into: out) }
        }
    }

    /// The configurations one move from `c`: `2^j` devices of one class from one variant to another.
    static func neighbours(_ space: FleetConfigurations, _ c: [Int]) -> [[Int]] {
        let V = space.model.variantCount
        var out: [[Int]] = []
        for k in 0..<space.classes.count {
            for u in space.allowed[k] where c[k * V + u] > 0 {
                for v in space.allowed[k] where v != u {
                    var n = 1
                    while n <= c[k * V + u] {
                        var x = c
                        x[k * V + u] -= n
                        x[k * V + v] += n
                        out.append(x)
                        n *= 2
                    }
                }
            }
        }
        return out
    }

    // MARK: - Hindsight oracle

    /// **Hindsight oracle**: dynamic programming over the whole series with the relaxed
    /// per-interval rewards (``ServingModel/estimateInterval(current:assignment:arrivals:relaxed:)``
    /// with `relaxed`: unserved queries credited as answered later, only unavoidable lateness
    /// charged) and the load delays of each switch, counting the old configuration as serving
    /// while a switch is pending (``SwitchingModel/PendingEarnings/previousConfiguration``).
    ///
    /// Over every configuration (at most ``oracleConfigurationLimit``) every term is
    /// optimistic, so the plan's value is an upper bound on any policy's utility in the fluid
    /// env (the *oracle bound*); the plan replayed in the env is the oracle policy. On larger
    /// fleets the plan is found over a candidate set (each interval's best configuration and
    /// the initial one) and the bound is ``switchFreeBound(model:)``, valid but looser.
    public static func oracle(model m: ServingModel) -> (bound: Double, run: ServingRun) {
        let space = FleetConfigurations(model: m)
        let plan = oraclePlan(model: m, space: space, relaxed: false)
        var assignments: [[Int]] = []
        assignments.reserveCapacity(plan.count)
        var current = m.scenario.initialVariants
        for c in plan {
            current = space.arrange(c, current: current)
            assignments.append(current)
        }
        return (oracleBound(model: m), ServingEvaluation.replay(name: "oracle", model: m, assignments: assignments))
    }

    /// How ``oracleBound(model:)`` is computed for `model`'s fleet, in words.
    public static func oracleBoundMethod(model m: ServingModel) -> String {
        let n = FleetConfigurations(model: m).count
        let relaxed = n <= oracleConfigurationLimit ? "hindsight DP over \(n) configurations" : "switch-free LP relaxation, \(n == .max ? "too many" : "\(n)") configurations"
        return CapacityPriceBound.isComputable(model: m)
            ? "the lower of the capacity-price bound and the \(relaxed)" : relaxed
    }

    /// The oracle bound alone: the lower of two valid upper bounds, the
    /// ``CapacityPriceBound`` (device by device load times, priced queues) and the relaxed
    /// plan's value when the fleet has at most ``oracleConfigurationLimit`` configurations,
    /// else ``switchFreeBound(model:)``.
    public static func oracleBound(model m: ServingModel) -> Double {
        min(relaxedBound(model: m), CapacityPriceBound(model: m)?.bound ?? .infinity)
    }

    /// The configuration DP's relaxed value (unserved queries credited as answered later, the
    /// old configuration serving while a switch is pending), or ``switchFreeBound(model:)``
    /// beyond ``oracleConfigurationLimit`` configurations.
    public static func relaxedBound(model m: ServingModel) -> Double {
        let space = FleetConfigurations(model: m)
        guard space.count <= oracleConfigurationLimit else { return switchFreeBound(model: m) }
        let configs = space.all()
        return solve(model: m, space: space, configurations: configs, relaxed: true).totalReward
    }

    /// The configurations of the DP plan over relaxed (bound) or plain one-interval estimates.
    static func oraclePlan(model m: ServingModel, space: FleetConfigurations, relaxed: Bool) -> [[Int]] {
        let configs: [[Int]]
        if space.count <= oracleConfigurationLimit {
            configs = space.all()
        } else {
            configs = candidateConfigurations(model: m, space: space)
        }
        let plan = solve(model: m, space: space, configurations: configs, relaxed: relaxed)
        return plan.configurations.map { configs[$0] }
    }

    /// The initial configuration and each interval's best configuration by the plain estimate
    /// (local search, warm-started from the previous interval's), the most frequent
    /// ``oracleConfigurationLimit`` of them.
    static func candidateConfigurations(model m: ServingModel, space: FleetConfigurations) -> [[Int]] {
        let initial = space.configuration(of: m.scenario.initialVariants)
        var frequency: [[Int]: Int] = [:]
        var row = [Double](repeating: 0, count: m.streamCount)
        var current = initial
        for t in 0..<m.intervalCount {
            for s in 0..<m.streamCount { row[s] = m.arrivals(interval: t, stream: s) }
            current = row.withUnsafeBufferPointer { r in
                space.maximize(from: current, exhaustiveLimit: 0) { c in space.estimate(c, held: nil, arrivals: r, interval: t).reward }.configuration
            }
            frequency[current, default: 0] += 1
        }
        frequency[initial] = nil   // always a candidate, first
        let ranked = frequency.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }
        return [initial] + ranked.prefix(oracleConfigurationLimit - 1).map(\.key)
    }

    /// The DP over `configurations` (index 0 need not be the initial one).
    static func solve(model m: ServingModel, space: FleetConfigurations, configurations configs: [[Int]], relaxed: Bool) -> HindsightPlan {
        let T = m.intervalCount, C = configs.count
        var rewards = [Double](repeating: 0, count: T * C)
        var row = [Double](repeating: 0, count: m.streamCount)
        for t in 0..<T {
            for s in 0..<m.streamCount { row[s] = m.arrivals(interval: t, stream: s) }
            row.withUnsafeBufferPointer { r in
                for (i, c) in configs.enumerated() {
                    rewards[t * C + i] = c.withUnsafeBufferPointer { space.estimate($0, held: nil, arrivals: r, interval: t, relaxed: relaxed).reward }
                }
            }
        }
        var delay = [Double](repeating: 0, count: C * C)
        for a in 0..<C {
            for b in 0..<C where a != b {
                delay[a * C + b] = configs[a].withUnsafeBufferPointer { x in configs[b].withUnsafeBufferPointer { space.switchDelay(from: x, to: $0) } }
            }
        }
        let switching = SwitchingModel(configurationCount: C, delay: delay, cost: [Double](repeating: 0, count: C * C),
                                       pending: relaxed ? .previousConfiguration : .nothing)
        let initial = space.configuration(of: m.scenario.initialVariants)
        let start = configs.firstIndex(of: initial) ?? 0
        return HindsightOracle(rewards: rewards, intervalCount: T, configurationCount: C, switching: switching)
            .solve(initialConfiguration: start)
    }

    /// An upper bound on any policy's utility that needs no enumeration: per interval, the
    /// linear-programming relaxation of the best relaxed one-interval estimate (fractional
    /// devices per class and variant, queries of each stream split over the variants by
    /// capacity), summed; switching is free in it. Valid on any fleet (every assignment and
    /// its serving order is a feasible point of each LP), but looser than the DP bound, which
    /// charges load times.
    /// - Complexity: one LP of `classes × variants + streams × variants` variables per interval.
    public static func switchFreeBound(model m: ServingModel) -> Double {
        let space = FleetConfigurations(model: m)
        let sc = m.scenario
        let V = m.variantCount, S = m.streamCount, K = space.classes.count
        let w = sc.weights
        // Variables: x[k, v] for allowed pairs, then y[s, v] where v serves s.
        var xIndex: [(k: Int, v: Int)] = []
        for k in 0..<K { for v in space.allowed[k] { xIndex.append((k, v)) } }
        var yIndex: [(s: Int, v: Int)] = []
        for s in 0..<S { for v in 0..<V where m.capacity(variant: v, stream: s) > 0 { yIndex.append((s, v)) } }
        let n = xIndex.count + yIndex.count
        let bestAccuracy = (0..<S).map { s in (0..<V).filter { m.capacity(variant: $0, stream: s) > 0 }.map { sc.variants[$0].accuracy }.max() ?? 0 }
        let duePenalty = (0..<S).map { s in
            sc.deadlineIntervals(stream: s) == 0 ? sc.streams[s].weight * sc.streams[s].penalty.increment(1) : 0
        }
        // Minimise -(variable part of the objective).
        var objective = [Double](repeating: 0, count: n)
        for (i, p) in xIndex.enumerated() { objective[i] = w.cost * m.costPerInterval(variant: p.v) }
        for (i, p) in yIndex.enumerated() {
            objective[xIndex.count + i] = -(w.accuracy * (sc.variants[p.v].accuracy - bestAccuracy[p.s]) + w.slo * duePenalty[p.s])
        }
        var eqRows: [[Double]] = [], eqBounds: [Double] = []
        for k in 0..<K {
            var r = [Double](repeating: 0, count: n)
            for (i, p) in xIndex.enumerated() where p.k == k { r[i] = 1 }
            eqRows.append(r)
            eqBounds.append(Double(space.classes.sizes[k]))
        }
        // Device time per query at interval t's rates (they differ between intervals only for
        // LLM variants, whose cost follows the interval's token work).
        func capacityRows(_ t: Int) -> [[Double]] {
            (0..<V).map { v in
                var r = [Double](repeating: 0, count: n)
                for (i, p) in xIndex.enumerated() where p.v == v { r[i] = -1 }
                for (i, p) in yIndex.enumerated() where p.v == v {
                    r[xIndex.count + i] = 1 / m.serviceRate(interval: t, variant: v, stream: p.s)
                }
                return r
            }
        }
        let fixedRows = capacityRows(0)
        var total = 0.0
        for t in 0..<m.intervalCount {
            var arrived = 0.0, constant = 0.0
            var upper = m.isTokenLevel ? capacityRows(t) : fixedRows
            var bounds = [Double](repeating: 0, count: V)
            for s in 0..<S {
                let a = m.arrivals(interval: t, stream: s)
                arrived += a
                constant += w.accuracy * bestAccuracy[s] * a - w.slo * duePenalty[s] * a
                var r = [Double](repeating: 0, count: n)
                for (i, p) in yIndex.enumerated() where p.s == s { r[xIndex.count + i] = 1 }
                upper.append(r)
                bounds.append(a)
            }
            constant += w.served * arrived
            let lp = LinearProgram(objective: objective, upperRows: upper, upperBounds: bounds,
                                   equalityRows: eqRows, equalityBounds: eqBounds)
            let solution = lp.solve()
            if solution.status == .optimal {
                total += constant - solution.objective
            } else {
                // Everything served at the best accuracy at the least cost: cruder, still valid.
                var cheapest = 0.0
                for k in 0..<K {
                    let c = space.allowed[k].map { m.costPerInterval(variant: $0) }.min() ?? 0
                    cheapest += Double(space.classes.sizes[k]) * c
                }
                total += constant + (0..<S).reduce(0.0) { $0 + w.slo * duePenalty[$1] * m.arrivals(interval: t, stream: $1) }
                    - w.cost * cheapest
            }
        }
        return total
    }
}
