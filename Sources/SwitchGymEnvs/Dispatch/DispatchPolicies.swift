import SwitchGymCore

// MARK: - Shared helpers (allocation-free scans over a class's servers)

@inline(__always)
private func idleCount(_ q: UnsafeBufferPointer<Int>, _ servers: Range<Int>) -> Int {
    var k = 0
    for s in servers where q[s] == 0 { k += 1 }
    return k
}

/// A uniformly random idle server in `servers`, given that `idle > 0` of them are idle.
@inline(__always)
private func randomIdle(_ q: UnsafeBufferPointer<Int>, _ servers: Range<Int>, idle: Int, _ g: inout SeededGenerator) -> Int {
    var pick = Int.random(in: 0..<idle, using: &g)
    for s in servers where q[s] == 0 {
        if pick == 0 { return s }
        pick -= 1
    }
    return servers.lowerBound  // unreachable when `idle` is right
}

/// The server in `servers` with the fewest jobs, ties broken uniformly at random
/// (reservoir sampling over the tied servers).
@inline(__always)
private func shortestQueue(_ q: UnsafeBufferPointer<Int>, _ servers: Range<Int>, _ g: inout SeededGenerator) -> Int {
    var best = servers.lowerBound, bestLength = Int.max, ties = 0
    for s in servers {
        let l = q[s]
        if l < bestLength {
            best = s
            bestLength = l
            ties = 1
        } else if l == bestLength {
            ties += 1
            if Int.random(in: 0..<ties, using: &g) == 0 { best = s }
        }
    }
    return best
}

/// Index drawn from cumulative weights `cdf` (last entry 1).
@inline(__always)
private func drawIndex(_ cdf: [Double], _ g: inout SeededGenerator) -> Int {
    let u = g.nextUnit()
    for i in 0..<cdf.count where u < cdf[i] { return i }
    return cdf.count - 1
}

private func cumulative(_ weights: [Double]) -> [Double] {
    let total = weights.reduce(0, +)
    precondition(total > 0, "weights must have a positive sum")
    var acc = 0.0
    var cdf = weights.map { w -> Double in
        acc += w / total
        return acc
    }
    cdf[cdf.count - 1] = 1
    return cdf
}

// MARK: - R-JIQ

/// Randomized Join-the-Idle-Queue (R-JIQ), after Choudhury, Joshi and Wang 2024 (see
/// ``AccuracyLatencyBound``): knows the arrival rate λ, solves the LP for class fractions
/// `f_i`, and on each arrival
///
/// 1. draws a class `i` with probability `f_i`, independently of the state;
/// 2. joins a uniformly random idle server of that class, or, if none is idle, the shortest
///    queue in that class (ties at random).
///
/// Because the class draw ignores the state, the expected accuracy of every query is
/// `Σ a_i f_i >= a*`: the target holds on average whatever the load. Each class then sees a
/// Poisson stream of rate `λ f_i` and load `λ f_i / (n_i μ_i) <= ρ̄`; with JIQ inside a class
/// the probability of waiting vanishes as `n_i` grows at fixed load, so the mean latency tends
/// to the LP's `Σ f_i / μ_i` — the LP bound when `ρ̄ = 1` (asymptotic optimality). In a finite
/// system the cap `ρ̄ < 1` keeps classes the LP fills to capacity stable. (The class-then-idle
/// structure is this package's reading of the paper's abstract, whose full text we did not
/// have.)
public struct RJIQPolicy: DispatchPolicy, Sendable {
    /// Class fractions `f_i` in use.
    public let fractions: [Double]
    private let cdf: [Double]

    /// Routes with explicit class fractions (non-negative, positive sum; normalised).
    public init(fractions: [Double]) {
        precondition(fractions.allSatisfy { $0 >= 0 && $0.isFinite }, "fractions must be non-negative")
        let total = fractions.reduce(0, +)
        self.fractions = fractions.map { $0 / total }
        cdf = cumulative(fractions)
    }

    /// Solves the LP at rate `arrivalRate` with utilisation cap `utilizationCap` and routes
    /// with its fractions; `nil` when the LP is infeasible (overload or unreachable target).
    public init?(classes: [ServerClass], arrivalRate: Double, accuracyTarget: Double, utilizationCap: Double = 0.95) {
        guard let s = AccuracyLatencyBound.solve(
            classes: classes, arrivalRate: arrivalRate, accuracyTarget: accuracyTarget,
            utilizationCap: utilizationCap).solution
        else { return nil }
        self.init(fractions: s.fractions)
    }

    public mutating func choose(
        queueLengths q: UnsafeBufferPointer<Int>, system: DispatchSystem, generator g: inout SeededGenerator
    ) -> Int {
        precondition(cdf.count == system.classCount, "fractions do not match the system's classes")
        let servers = system.servers(ofClass: drawIndex(cdf, &g))
        let idle = idleCount(q, servers)
        return idle > 0 ? randomIdle(q, servers, idle: idle, &g) : shortestQueue(q, servers, &g)
    }
}

// MARK: - POP

/// Prioritize Ordered Pairs (POP), after Choudhury, Joshi and Wang 2024: near-optimal latency
/// under the accuracy target without knowing the arrival rate.
///
/// Formulation (derived here from the paper's abstract: "ordered pairs of servers" used in
/// water-filling to solve the LP iteratively). Every routing meeting `a*` decomposes into
/// *pairs* `(u, v)` of an accurate class (`a_u >= a*`) and a faster, less accurate class
/// (`a_v < a*`, `μ_v > μ_u`) mixed with probability `p_uv = (a* − a_v) / (a_u − a_v)` on `u`, so
/// the pair's mean accuracy is exactly `a*`, plus singletons `(u, u)` with `a_u >= a*`. A pair's
/// cost is its mean service time `p/μ_u + (1 − p)/μ_v`; pairs are ordered by cost (the cheapest
/// is the LP optimum at light load). On each arrival POP
///
/// 1. water-fills: takes the first pair in cost order with an idle server in *both* classes,
///    draws the role (`u` with probability `p`), and joins a random idle server of that class;
/// 2. otherwise (no pair fully idle) picks the pair with the smallest estimated response
///    `p (1 + q_u)/μ_u + (1 − p)(1 + q_v)/μ_v` (`q_c` the shortest queue in class `c`), draws the
///    role, and joins the shortest queue of that class.
///
/// As load grows the cheapest pairs' classes fill and arrivals overflow to the next pairs, the
/// LP's water-filling without λ. The role is drawn after the pair is chosen and independently
/// of the state, so each query's expected accuracy is `>= a*` at any load.
public struct POPPolicy: DispatchPolicy, Sendable {
    /// One ordered pair: accurate class `u`, fast class `v` (equal for a singleton), the
    /// probability `p` of serving on `u`, and the pair's mean service time in seconds.
    public struct Pair: Sendable, Equatable {
        /// Class index with accuracy `>= a*`.
        public var accurate: Int
        /// Faster class index with accuracy `< a*` (equal to `accurate` for a singleton).
        public var fast: Int
        /// Probability `p` of serving on `accurate`; the pair's mean accuracy is `a*` (or
        /// `a_u` for a singleton).
        public var probabilityAccurate: Double
        /// `p/μ_u + (1 − p)/μ_v`, seconds: the pair's priority key.
        public var meanServiceTime: Double
    }

    /// The pairs in priority (cost) order.
    public let pairs: [Pair]
    // The pairs as flat arrays for the per-query scan (no per-element copies of `Pair`).
    private let accurate: [Int]
    private let fast: [Int]
    private let probability: [Double]
    private var idle: [Int]
    private var shortest: [Int]

    /// Builds the pair list; `nil` when no class reaches `accuracyTarget`.
    public init?(classes: [ServerClass], accuracyTarget a: Double) {
        var list: [Pair] = []
        for (u, cu) in classes.enumerated() where cu.accuracy >= a {
            list.append(Pair(accurate: u, fast: u, probabilityAccurate: 1, meanServiceTime: 1 / cu.serviceRate))
            for (v, cv) in classes.enumerated() where cv.accuracy < a && cv.serviceRate > cu.serviceRate {
                let p = (a - cv.accuracy) / (cu.accuracy - cv.accuracy)
                list.append(Pair(
                    accurate: u, fast: v, probabilityAccurate: p,
                    meanServiceTime: p / cu.serviceRate + (1 - p) / cv.serviceRate))
            }
        }
        guard !list.isEmpty else { return nil }
        pairs = list.enumerated().sorted {
            ($0.element.meanServiceTime, $0.offset) < ($1.element.meanServiceTime, $1.offset)
        }.map(\.element)
        accurate = pairs.map(\.accurate)
        fast = pairs.map(\.fast)
        probability = pairs.map(\.probabilityAccurate)
        idle = [Int](repeating: 0, count: classes.count)
        shortest = [Int](repeating: 0, count: classes.count)
    }

    public mutating func choose(
        queueLengths q: UnsafeBufferPointer<Int>, system: DispatchSystem, generator g: inout SeededGenerator
    ) -> Int {
        precondition(idle.count == system.classCount, "POP was built for a different set of classes")
        for c in 0..<system.classCount {
            var k = 0, best = Int.max
            for s in system.classStart[c]..<system.classStart[c + 1] {
                let l = q[s]
                if l == 0 { k += 1 }
                if l < best { best = l }
            }
            idle[c] = k
            shortest[c] = best
        }
        let n = accurate.count
        for k in 0..<n where idle[accurate[k]] > 0 && idle[fast[k]] > 0 {
            let c = g.nextUnit() < probability[k] ? accurate[k] : fast[k]
            return randomIdle(q, system.servers(ofClass: c), idle: idle[c], &g)
        }
        var chosen = 0, bestEstimate = Double.infinity
        for k in 0..<n {
            let p = probability[k], u = accurate[k], v = fast[k]
            let e = p * Double(1 + shortest[u]) / system.serverRate[system.classStart[u]]
                + (1 - p) * Double(1 + shortest[v]) / system.serverRate[system.classStart[v]]
            if e < bestEstimate {
                bestEstimate = e
                chosen = k
            }
        }
        let c = g.nextUnit() < probability[chosen] ? accurate[chosen] : fast[chosen]
        return shortestQueue(q, system.servers(ofClass: c), &g)
    }
}

// MARK: - Baselines

/// Baseline: a random server with probability proportional to its service rate (Bernoulli
/// splitting by capacity); ignores accuracy and state.
public struct RandomProportionalPolicy: DispatchPolicy, Sendable {
    private var cdf: [Double] = []
    private var rates: [Double] = []
    /// The policy; its table is built from the system on ``reset(system:)``.
    public init() {}
    public mutating func reset(system: DispatchSystem) {
        if rates != system.serverRate {
            rates = system.serverRate
            cdf = cumulative(rates)
        }
    }
    public mutating func choose(
        queueLengths q: UnsafeBufferPointer<Int>, system: DispatchSystem, generator g: inout SeededGenerator
    ) -> Int {
        if cdf.count != system.serverCount { reset(system: system) }
        return drawIndex(cdf, &g)
    }
}

/// Baseline: join the shortest queue over all servers (ties at random); ignores accuracy and
/// speed.
public struct JoinShortestQueuePolicy: DispatchPolicy, Sendable {
    /// The policy (stateless).
    public init() {}
    public mutating func choose(
        queueLengths q: UnsafeBufferPointer<Int>, system: DispatchSystem, generator g: inout SeededGenerator
    ) -> Int {
        shortestQueue(q, 0..<system.serverCount, &g)
    }
}

/// Baseline: every query to the most accurate class (shortest queue inside it, ties at random):
/// maximal accuracy, but only that class's capacity, so latency explodes under load.
public struct MostAccurateOnlyPolicy: DispatchPolicy, Sendable {
    /// The policy (stateless).
    public init() {}
    public mutating func choose(
        queueLengths q: UnsafeBufferPointer<Int>, system: DispatchSystem, generator g: inout SeededGenerator
    ) -> Int {
        var best = 0
        for c in 1..<system.classCount where system.classes[c].accuracy > system.classes[best].accuracy { best = c }
        return shortestQueue(q, system.servers(ofClass: best), &g)
    }
}
