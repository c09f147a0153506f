// An upper bound on what any policy can earn in the fluid serving env, by Lagrangian
// relaxation of its serving capacity: each variant's device time at each interval gets a price,
// after which the devices and the queries decouple. Every price vector gives a valid bound; a
// projected subgradient method searches for a low one.

/// The *capacity-price bound*: an upper bound on the utility of every policy in
/// ``FluidServingEnv`` over the model's series (from interval 0 and the scenario's initial
/// variants, as ``ServingEvaluation/run(name:model:seed:policy:)`` runs it), that charges load
/// times device by device and queues across intervals.
///
/// **The relaxation.** Any run of the env is a feasible point of this linear program: each
/// device follows a trajectory of held variants (a switch to `v` costs `hire(v)` intervals
/// of serving, exactly as the env charges it), which gives device time `P[t][v]` per interval
/// and variant; the queries of stream `s` arriving at `t` are served at some `τ` in their
/// window (`t ... due + drop − 1`) by some variant `v`, using `1 / capacity(v, s)` device-intervals
/// each and earning `w_served + w_accuracy · accuracy(v) − w_slo · (lateness charged before τ)`,
/// or are never served and pay the lateness and drop penalties the env charges up to the end.
/// Moving the capacity constraints `Σ_s served[τ][v][s] / capacity(v, s) ≤ P[τ][v]` into the
/// objective with prices `μ[τ][v] ≥ 0` gives, for every `μ`,
///
///     utility ≤ Σ_devices max_trajectory Σ_t (μ[t][v_t] · serving fraction − w_cost · price(v_t))
///             + Σ_(t, s) arrivals · max(unserved value, max_(τ, v) value(τ, v) − μ[τ][v] / capacity(v, s))
///
/// (weak duality: the dropped term `Σ μ (P − used)` is non-negative). Devices of one class
/// that start on one variant solve one dynamic program over (variant, load time left); each
/// arrival batch picks its best option. Nothing enumerates assignments: the cost is
/// `O(intervals × (groups × loadStates × variants + streams × window × variants))` per price vector.
///
/// Unlike the configuration DP's bound, unserved queries are not credited as answered later
/// for free: answering them later uses device time that is priced. And loads cost what they
/// cost the env, device by device, so longer loads lower the bound.
public struct CapacityPriceBound: Sendable {
    /// The lowest bound found.
    public let bound: Double
    /// The bound at prices zero (every query answered at its best value whatever the fleet
    /// holds, the cheapest holding): the loosest, for reference.
    public let unpricedBound: Double
    /// Price vectors evaluated.
    public let iterations: Int

    /// The most value-table entries (intervals × load states × device groups) the search
    /// keeps; beyond it the bound is not computed (8 bytes each: 400 MB).
    public static let tableLimit = 50_000_000

    /// Whether the bound is computed for `m` (its value tables fit ``tableLimit``).
    public static func isComputable(model m: ServingModel) -> Bool {
        PricedProblem.tableSize(model: m).map { $0 <= tableLimit } ?? false
    }

    /// Searches prices for at most `iterations` steps (projected subgradient with Polyak
    /// steps towards an adaptive target level); every price vector tried is a valid bound and
    /// the lowest is kept. `nil` when the model's value tables would
    /// exceed ``tableLimit``.
    /// - Precondition: `iterations >= 1`.
    public init?(model m: ServingModel, iterations: Int = 300) {
        precondition(iterations >= 1, "CapacityPriceBound: iterations must be >= 1, got \(iterations)")
        guard Self.isComputable(model: m) else { return nil }
        var problem = PricedProblem(model: m)
        let n = problem.priceCount, V = problem.V
        // Prices beyond a device-interval's whole worth (the most queries it could answer,
        // each worth its value plus the penalties it spares) only push queries off the
        // variant: the search stays in that box.
        var worstUnserved = [Double](repeating: 0, count: problem.S)
        for b in problem.batches { worstUnserved[b.s] = min(worstUnserved[b.s], b.unserved) }
        var ceiling = [Double](repeating: 0, count: V)
        let rows = problem.inverseStride > 0 ? problem.T : 1
        for t in 0..<rows {
            for v in 0..<V {
                for s in 0..<problem.S {
                    let inv = problem.inverseCapacity[t * problem.inverseStride + s * V + v]
                    if inv > 0 { ceiling[v] = max(ceiling[v], (problem.servedValue[s * V + v] - worstUnserved[s]) / inv) }
                }
            }
        }
        var mu = [Double](repeating: 0, count: n)
        var gradient = [Double](repeating: 0, count: n)
        let first = problem.evaluate(prices: mu, gradient: &gradient)
        var best = first, done = 1
        // Polyak steps towards a target level below the best bound so far (Brännlund's
        // level method for subgradient search): the gap starts at 20% of the unpriced bound
        // and halves after 20 steps without a new best.
        var delta = max(0.2 * abs(first), 1e-9), stall = 0, value = first
        while done < iterations {
            var norm2 = 0.0
            for i in 0..<n { norm2 += gradient[i] * gradient[i] }
            guard norm2 > 0 else { break }   // a zero subgradient: these prices are optimal
            let step = (value - (best - delta)) / norm2
            for i in 0..<n { mu[i] = min(ceiling[i % V], max(0, mu[i] - step * gradient[i])) }
            value = problem.evaluate(prices: mu, gradient: &gradient)
            done += 1
            if value < best - 1e-12 * abs(best) {
                best = value
                stall = 0
            } else {
                stall += 1
                if stall >= 20 { delta *= 0.5; stall = 0 }
            }
        }
        bound = best
        unpricedBound = first
        self.iterations = done
    }
}

/// The decomposed Lagrangian of ``CapacityPriceBound`` for one model.
struct PricedProblem {
    let T: Int, V: Int, S: Int
    /// Device groups: how many devices, which variants they may hold, the initial variant.
    let groupCount: [Double]
    let groupAllowed: [[Bool]]
    let groupInitial: [Int]
    /// Load states: variant `v` has `K[v] >= 1` states after a switch to it, `k = 1 ... K[v]`
    /// (state `k`: `k` intervals since the switch began; `K[v]` is ready). `stateOffset[v]`
    /// indexes them in a flat row of `N` states.
    let K: [Int], stateOffset: [Int], N: Int
    /// Serving fraction in state `(v, k)`, flat; and of the interval a switch to `v` starts.
    let fraction: [Double], switchFraction: [Double]
    let holdCost: [Double]
    /// `inverseCapacity[t * inverseStride + s * V + v]`: `1 / capacity` of variant `v` for
    /// stream `s` in interval `t` (0 when `v` cannot serve `s`; one row for every interval
    /// unless LLM variants make the rates follow the intervals' token work);
    /// `servedValue[s * V + v]`: base value of a query served on time.
    let inverseCapacity: [Double], servedValue: [Double]
    let inverseStride: Int
    /// Per arrival batch (t, s) with arrivals: amount, due, last interval it can be served, the
    /// value of never being served; lateness before τ: `latePenalty[s][x]` for `x` late intervals.
    let batches: [(t: Int, s: Int, amount: Double, due: Int, last: Int, unserved: Double)]
    let latePenalty: [[Double]]
    var priceCount: Int { T * V }
    /// Scratch: value tables `(T + 1) × N` per group, the device time used per (t, v).
    var table: [Double]
    var pools: [Double]

    /// Entries of the value tables for `m` (`nil` on overflow).
    static func tableSize(model m: ServingModel) -> Int? {
        var states = 0
        for v in 0..<m.variantCount {
            let hire = m.hireSteps[v]
            guard hire.isFinite, hire < 1e9 else { return nil }
            states += max(1, Int(hire.rounded(.up)))
        }
        let groups = Set((0..<m.deviceCount).map { d in [m.initialVariants[d]] + (0..<m.variantCount).map { m.canHold[d * m.variantCount + $0] ? 1 : 0 } }).count
        let (a, o1) = (m.episodeLength + 1).multipliedReportingOverflow(by: states)
        let (b, o2) = a.multipliedReportingOverflow(by: max(1, groups))
        return o1 || o2 ? nil : b
    }

    init(model m: ServingModel) {
        let T = m.episodeLength, V = m.variantCount, S = m.streamCount, D = m.deviceCount
        self.T = T; self.V = V; self.S = S
        // Groups of identical devices.
        var index: [[Bool]: [Int: Int]] = [:]
        var counts: [Double] = [], allowed: [[Bool]] = [], initial: [Int] = []
        let initialVariants = m.initialVariants
        for d in 0..<D {
            let row = Array(m.canHold[(d * V)..<((d + 1) * V)])
            let v0 = initialVariants[d]
            if let g = index[row]?[v0] {
                counts[g] += 1
            } else {
                index[row, default: [:]][v0] = counts.count
                counts.append(1); allowed.append(row); initial.append(v0)
            }
        }
        groupCount = counts; groupAllowed = allowed; groupInitial = initial
        var k: [Int] = [], offsets: [Int] = [], n = 0
        var fraction: [Double] = []
        for v in 0..<V {
            let hire = m.hireSteps[v]
            let kv = max(1, Int(hire.rounded(.up)))
            k.append(kv); offsets.append(n); n += kv
            for j in 1...kv { fraction.append(1 - min(max(0, hire - Double(j)), 1)) }
        }
        K = k; stateOffset = offsets; N = n
        self.fraction = fraction
        switchFraction = m.hireSteps.map { 1 - min($0, 1) }
        holdCost = m.costPerInterval.map { m.weights.cost * $0 }
        let w = m.weights
        let rows = m.isTokenLevel ? T : 1
        var inv = [Double](repeating: 0, count: rows * S * V), value = [Double](repeating: 0, count: S * V)
        for s in 0..<S {
            for v in 0..<V {
                for t in 0..<rows {
                    let c = m.serviceRate(interval: t, variant: v, stream: s)
                    inv[t * S * V + s * V + v] = c > 0 ? 1 / c : 0
                }
                value[s * V + v] = w.served + w.accuracy * m.accuracy[v]
            }
        }
        inverseCapacity = inv; servedValue = value
        inverseStride = m.isTokenLevel ? S * V : 0
        var late: [[Double]] = []
        for s in 0..<S {
            let drop = max(1, m.dropAfter[s])
            var row = [0.0]
            for x in 1...drop { row.append(row[x - 1] + w.slo * m.weight[s] * m.penaltyIncrement[s * m.maxLate + x - 1]) }
            late.append(row)
        }
        latePenalty = late
        var b: [(t: Int, s: Int, amount: Double, due: Int, last: Int, unserved: Double)] = []
        for t in 0..<T {
            for s in 0..<S {
                let a = m.counts[t * S + s]
                guard a > 0 else { continue }
                let due = t + m.deadlineSteps[s], drop = max(1, m.dropAfter[s])
                let dropAt = due + drop - 1
                // Never served: lateness charged at each interval from `due` to the drop or the end.
                let charged = max(0, min(drop, T - due))
                var unserved = -late[s][charged]
                if dropAt <= T - 1 { unserved -= w.slo * m.weight[s] * m.dropPenalty[s] }
                b.append((t, s, a, due, min(T - 1, dropAt), unserved))
            }
        }
        batches = b
        table = [Double](repeating: 0, count: (T + 1) * n * max(1, counts.count))
        pools = [Double](repeating: 0, count: T * V)
    }

    /// The bound at `prices` (`μ[t * V + v] >= 0`) and its subgradient (device time minus
    /// device time used, per (t, v)).
    mutating func evaluate(prices mu: [Double], gradient: inout [Double]) -> Double {
        let T = self.T, V = self.V, N = self.N
        var total = 0.0
        for i in 0..<(T * V) { pools[i] = 0 }
        table.withUnsafeMutableBufferPointer { tab in
            for g in 0..<groupCount.count {
                let allowed = groupAllowed[g]
                let base = g * (T + 1) * N
                for j in 0..<N { tab[base + T * N + j] = 0 }
                // Backward: best value from the start of interval t in each state.
                for t in stride(from: T - 1, through: 0, by: -1) {
                    let next = base + (t + 1) * N, here = base + t * N
                    var best1 = -Double.infinity, best1v = -1, best2 = -Double.infinity
                    for c in 0..<V where allowed[c] {
                        let x = mu[t * V + c] * switchFraction[c] - holdCost[c] + tab[next + stateOffset[c] + min(1, K[c]) - 1]
                        if x > best1 { best2 = best1; best1 = x; best1v = c } else if x > best2 { best2 = x }
                    }
                    for v in 0..<V {
                        let o = stateOffset[v]
                        guard allowed[v] else {
                            for j in 0..<K[v] { tab[here + o + j] = -Double.infinity }
                            continue
                        }
                        let other = best1v == v ? best2 : best1
                        for j in 0..<K[v] {
                            let stay = mu[t * V + v] * fraction[o + j] - holdCost[v] + tab[next + o + min(j + 1, K[v] - 1)]
                            tab[here + o + j] = max(stay, other)
                        }
                    }
                }
                // Forward: follow the best trajectory, adding its device time.
                let v0 = groupInitial[g]
                var v = v0, j = K[v0] - 1
                total += groupCount[g] * tab[base + stateOffset[v0] + j]
                for t in 0..<T {
                    let next = base + (t + 1) * N
                    let stay = mu[t * V + v] * fraction[stateOffset[v] + j] - holdCost[v] + tab[next + stateOffset[v] + min(j + 1, K[v] - 1)]
                    var bestC = -1, bestX = stay
                    for c in 0..<V where allowed[c] && c != v {
                        let x = mu[t * V + c] * switchFraction[c] - holdCost[c] + tab[next + stateOffset[c]]
                        if x > bestX { bestX = x; bestC = c }
                    }
                    if bestC >= 0 {
                        v = bestC; j = 0
                        pools[t * V + v] += groupCount[g] * switchFraction[v]
                    } else {
                        pools[t * V + v] += groupCount[g] * fraction[stateOffset[v] + j]
                        j = min(j + 1, K[v] - 1)
                    }
                }
            }
        }
        for i in 0..<(T * V) { gradient[i] = pools[i] }
        for b in batches {
            var bestValue = b.unserved, bestT = -1, bestV = -1
            let late = latePenalty[b.s]
            for tau in b.t...max(b.t, b.last) where tau <= b.last {
                let penalty = tau > b.due ? late[tau - b.due] : 0
                let row = tau * inverseStride + b.s * V
                for v in 0..<V {
                    let inv = inverseCapacity[row + v]
                    guard inv > 0 else { continue }
                    let x = servedValue[b.s * V + v] - penalty - mu[tau * V + v] * inv
                    if x > bestValue { bestValue = x; bestT = tau; bestV = v }
                }
            }
            total += b.amount * bestValue
            if bestT >= 0 { gradient[bestT * V + bestV] -= b.amount * inverseCapacity[bestT * inverseStride + b.s * V + bestV] }
        }
        return total
    }
}
