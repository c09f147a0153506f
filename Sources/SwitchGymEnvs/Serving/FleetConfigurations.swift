/// The fleet's **configurations**: how many devices of each class hold each variant. This is
/// what the baselines and the hindsight oracle search over instead of joint assignments.
///
/// Why counts are enough: a variant serves at the same rate on every device that can hold it
/// and the envs serve each stream from the variants' pools (``FluidServingEnv``), so an
/// interval's outcome depends on how many devices hold each variant and how many of them are
/// loading, not on which device holds what. A configuration is realised from the current
/// assignment by ``arrange(_:current:into:)``, which keeps every device on its variant while
/// the configuration still wants that many (the fewest switches, hence the least load time);
/// any assignment with the same counts switches at least as many devices to each variant. So
/// the best configuration, arranged, scores as well as the best assignment under
/// ``ServingModel/estimateInterval(current:assignment:arrivals:relaxed:)`` (tests compare
/// both with a brute force over every assignment on small fleets).
///
/// Sizes: a configuration is a `classes × variants` row of counts. There are
/// `Π_k C(n_k + a_k − 1, a_k − 1)` of them (`a_k` variants fit class `k`): a few dozen for the
/// shipped 3- and 4-GPU zoos, far too many for 64 devices. ``maximize(from:exhaustiveLimit:objective:)``
/// enumerates them when they are few and otherwise climbs from a start by moving blocks of
/// devices of one class from one variant to another, so its cost grows with classes and
/// variants, never with the number of assignments.
public struct FleetConfigurations: Sendable {
    /// The model whose estimates score configurations.
    public let model: ServingModel
    /// The fleet's classes.
    public let classes: FleetClasses
    /// Per class, the variants its devices can hold.
    public let allowed: [[Int]]
    /// Entries in a configuration row: `classes × variants`.
    public var width: Int { classes.count * model.variantCount }

    public init(model: ServingModel) {
        self.model = model
        classes = model.classes
        let V = model.variantCount
        allowed = (0..<model.classes.count).map { k in (0..<V).filter { model.classes.canHold(class: k, variant: $0) } }
    }

    /// The number of configurations, saturating at `Int.max` (it never traps).
    public var count: Int {
        var total = 1
        for k in 0..<classes.count {
            let c = Self.binomial(classes.sizes[k] + allowed[k].count - 1, allowed[k].count - 1)
            let (p, o) = total.multipliedReportingOverflow(by: c)
            if o { return .max }
            total = p
        }
        return total
    }

    /// `C(n, r)`, saturating at `Int.max`.
    static func binomial(_ n: Int, _ r: Int) -> Int {
        let r = min(r, n - r)
        guard r > 0 else { return r == 0 ? 1 : 0 }
        var c = 1
        for i in 1...r {
            // c * (n - r + i) / i stays an integer at each step.
            let (p, o) = c.multipliedReportingOverflow(by: n - r + i)
            if o { return .max }
            c = p / i
        }
        return c
    }

    /// The configuration of an assignment.
    public func configuration(of assignment: UnsafeBufferPointer<Int>) -> [Int] { classes.counts(of: assignment) }

    /// The configuration of an assignment.
    public func configuration(of assignment: [Int]) -> [Int] {
        assignment.withUnsafeBufferPointer { classes.counts(of: $0) }
    }

    /// Writes an assignment with the counts of `counts` that keeps as many devices of
    /// `current` on their variant as the counts allow; the other devices of each class take
    /// the variants still wanted, in variant order, in device order.
    public func arrange(_ counts: UnsafeBufferPointer<Int>, current: UnsafeBufferPointer<Int>,
                        into out: UnsafeMutableBufferPointer<Int>) {
        let V = model.variantCount
        withUnsafeTemporaryAllocation(of: Int.self, capacity: counts.count) { left in
            _ = left.initialize(from: counts)
            for d in 0..<model.deviceCount {
                let k = classes.classOf[d], v = current[d]
                if left[k * V + v] > 0 {
                    left[k * V + v] -= 1
                    out[d] = v
                } else {
                    out[d] = -1
                }
            }
            for d in 0..<model.deviceCount where out[d] < 0 {
                let k = classes.classOf[d]
                var v = 0
                while v < V && left[k * V + v] == 0 { v += 1 }
                precondition(v < V, "FleetConfigurations.arrange: the counts do not match the fleet's classes")
                left[k * V + v] -= 1
                out[d] = v
            }
        }
    }

    /// ``arrange(_:current:into:)`` returning an array.
    public func arrange(_ counts: [Int], current: [Int]) -> [Int] {
        var out = [Int](repeating: 0, count: model.deviceCount)
        counts.withUnsafeBufferPointer { c in
            current.withUnsafeBufferPointer { cur in out.withUnsafeMutableBufferPointer { arrange(c, current: cur, into: $0) } }
        }
        return out
    }

    /// Fills `pool` (one entry per variant: device-intervals available to serve) and returns
    /// the holding cost for configuration `counts` reached from configuration `held` (when
    /// given): the devices that must switch to a variant (`counts − held`, where positive)
    /// lose its load time, as ``ServingModel/estimateInterval(current:assignment:arrivals:relaxed:)``
    /// charges the arranged assignment.
    @inline(__always)
    public func pool(_ counts: UnsafeBufferPointer<Int>, held: UnsafeBufferPointer<Int>?,
                     into pool: UnsafeMutableBufferPointer<Double>) -> Double {
        let V = model.variantCount
        for v in 0..<V { pool[v] = 0 }
        var cost = 0.0
        for k in 0..<classes.count {
            for v in 0..<V {
                let n = counts[k * V + v]
                guard n > 0 else { continue }
                var time = Double(n)
                if let held {
                    let switching = n - held[k * V + v]
                    if switching > 0 { time -= Double(switching) * min(model.hireSteps(variant: v), 1) }
                }
                pool[v] += time
                cost += Double(n) * model.costPerInterval(variant: v)
            }
        }
        return cost
    }

    /// The one-interval estimate of configuration `counts` (reached from `held` when given):
    /// the same value as the estimate of its arrangement (at interval `interval`'s rates when
    /// given, else the series' average ones).
    public func estimate(_ counts: UnsafeBufferPointer<Int>, held: UnsafeBufferPointer<Int>?,
                         arrivals: UnsafeBufferPointer<Double>, interval: Int? = nil,
                         relaxed: Bool = false) -> (reward: Double, unserved: Double) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: model.variantCount) { p in
            let cost = pool(counts, held: held, into: p)
            return model.estimateInterval(pool: p, cost: cost, arrivals: arrivals, interval: interval, relaxed: relaxed)
        }
    }

    /// The load delay in intervals of going from configuration `a` to `b`: the longest load of
    /// a variant that gains devices.
    public func switchDelay(from a: UnsafeBufferPointer<Int>, to b: UnsafeBufferPointer<Int>) -> Double {
        let V = model.variantCount
        var delay = 0.0
        for k in 0..<classes.count {
            for v in 0..<V where b[k * V + v] > a[k * V + v] { delay = max(delay, model.hireSteps(variant: v)) }
        }
        return delay
    }

    /// Calls `body` with every configuration, in a fixed order (per class, the compositions
    /// of its devices over its variants). Use only when ``count`` is small.
    public func forEach(_ body: (UnsafeBufferPointer<Int>) -> Void) {
        var row = [Int](repeating: 0, count: width)
        let V = model.variantCount
        func fill(_ k: Int) {
            if k == classes.count {
                row.withUnsafeBufferPointer { body($0) }
                return
            }
            let a = allowed[k]
            func compose(_ i: Int, _ left: Int) {
                if i == a.count - 1 {
                    row[k * V + a[i]] = left
                    fill(k + 1)
                    row[k * V + a[i]] = 0
                    return
                }
                for n in stride(from: left, through: 0, by: -1) {
                    row[k * V + a[i]] = n
                    compose(i + 1, left - n)
                }
                row[k * V + a[i]] = 0
            }
            compose(0, classes.sizes[k])
        }
        fill(0)
    }

    /// Every configuration (allocates `count` rows; use only when ``count`` is small).
    public func all() -> [[Int]] {
        var out: [[Int]] = []
        forEach { out.append(Array($0)) }
        return out
    }

    /// The configuration maximising `objective` (a `Comparable` key, so a rule may rank
    /// first by feasibility and then by reward): every configuration when there are at most
    /// `exhaustiveLimit`, the first best in ``forEach(_:)`` order; otherwise a local search
    /// from `start` that moves blocks of `2^j` devices of one class from one variant to another
    /// while the objective improves (best move per round, at most `maxRounds` rounds).
    /// - Complexity: exhaustive: `count` evaluations; local search: per round
    ///   `Σ_k a_k² · log2(n_k)` evaluations.
    public func maximize<Key: Comparable>(from start: [Int], exhaustiveLimit: Int = 4096, maxRounds: Int = 256,
                                          objective: (UnsafeBufferPointer<Int>) -> Key) -> (configuration: [Int], key: Key) {
        if count <= exhaustiveLimit {
            var best: [Int] = start, bestKey: Key?
            forEach { c in
                let key = objective(c)
                if bestKey == nil || key > bestKey! { bestKey = key; best = Array(c) }
            }
            return (best, bestKey!)
        }
        let V = model.variantCount
        var current = start
        var currentKey = current.withUnsafeBufferPointer { objective($0) }
        var trial = current
        for _ in 0..<maxRounds {
            var bestMove: (k: Int, from: Int, to: Int, n: Int)?
            var bestKey = currentKey
            for k in 0..<classes.count {
                for u in allowed[k] where current[k * V + u] > 0 {
                    for v in allowed[k] where v != u {
                        var n = 1
                        while n <= current[k * V + u] {
                            trial[k * V + u] -= n
                            trial[k * V + v] += n
                            let key = trial.withUnsafeBufferPointer { objective($0) }
                            trial[k * V + u] += n
                            trial[k * V + v] -= n
                            if key > bestKey { bestKey = key; bestMove = (k, u, v, n) }
                            n *= 2
                        }
                    }
                }
            }
            guard let m = bestMove else { break }
            current[m.k * V + m.from] -= m.n
            current[m.k * V + m.to] += m.n
            trial = current
            currentKey = bestKey
        }
        return (current, currentKey)
    }
}

/// A score that ranks first by a flag, then by a value (for rules such as "the best
/// configuration that covers the load, else the one serving most").
public struct RankedScore: Comparable, Sendable {
    public var first: Bool
    public var value: Double
    public init(_ first: Bool, _ value: Double) { self.first = first; self.value = value }
    public static func < (a: RankedScore, b: RankedScore) -> Bool {
        a.first != b.first ? !a.first : a.value < b.value
    }
}
