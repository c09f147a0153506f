// The hindsight (offline-optimal) switching plan: dynamic programming over a whole trace whose
// per-interval rewards are known in advance. Its total reward bounds from above what any online
// policy can earn *in the same separable model*; the gap to it is a policy's regret.

/// How switching between fleet configurations costs and delays, for ``HindsightOracle``.
///
/// Configurations are indexed `0..<configurationCount`. A switch decided at the start of
/// interval `t` from `from` to `to != from` with delay `d = delay(from, to)` (in decision
/// intervals, `d >= 0`, fractional allowed):
/// - pays `cost(from, to)` once, in interval `t` (in reward units; usually >= 0);
/// - leaves interval `t + k` (for `k = 0, 1, ...`) pending for the fraction
///   `p_k = clamp(d - k, 0, 1)` of it; the pending fraction earns `p_k * pending(t + k)` (see
///   ``PendingEarnings``) and the rest earns `(1 - p_k) * reward(t + k, to)`;
/// - so `d = 0` earns `reward(t, to)` at once; `d = 0.3` earns `0.3 * pending + 0.7 * reward(t,
///   to)` in interval `t`; `d = 2` leaves intervals `t` and `t + 1` wholly pending; `d = 1.5`
///   leaves `t` pending and `t + 1` half pending.
///
/// A switch cannot be cancelled or redirected: the next decision is taken at the start of
/// interval `t + max(1, ceil(d))`, the first one the new configuration serves wholly. Staying
/// (`to == from`) is free and immediate; the diagonals of the matrices are ignored.
public struct SwitchingModel: Sendable, Equatable {
    /// What a configuration switch earns while it is pending (per whole interval; a pending
    /// fraction `p` of an interval earns `p` times this).
    public enum PendingEarnings: Sendable, Equatable {
        /// Nothing: the fleet serves nothing while loading (the EmploymentSearch default: "a
        /// pending hire pays nothing").
        case nothing
        /// `perInterval[t]` during interval `t` (e.g. 0, or a negative penalty for dropped
        /// queries); its count must equal the oracle's interval count.
        case perInterval([Double])
        /// `reward(t, from)`: the old configuration keeps serving until the new one is loaded
        /// (e.g. the new weights load into spare memory beside the old ones).
        case previousConfiguration
    }

    /// Number of configurations C.
    public let configurationCount: Int
    /// Row-major `C x C` delays in decision intervals, `delay[from * C + to] >= 0`.
    public let delay: [Double]
    /// Row-major `C x C` one-off switching costs, in reward units.
    public let cost: [Double]
    /// Earnings while a switch is pending.
    public let pending: PendingEarnings

    /// The general model: full `C x C` delay and cost matrices (row = from, column = to).
    /// - Precondition: both have `C * C` finite entries, `C >= 1`, delays in `[0, 1e12]`.
    public init(configurationCount: Int, delay: [Double], cost: [Double], pending: PendingEarnings = .nothing) {
        let c = configurationCount
        precondition(c >= 1, "SwitchingModel: configurationCount must be >= 1, got \(c)")
        precondition(delay.count == c * c, "SwitchingModel: delay must have configurationCount^2 = \(c * c) entries, got \(delay.count)")
        precondition(cost.count == c * c, "SwitchingModel: cost must have configurationCount^2 = \(c * c) entries, got \(cost.count)")
        precondition(delay.allSatisfy { $0 >= 0 && $0 <= 1e12 }, "SwitchingModel: delay entries must be in [0, 1e12] intervals (forbid a switch with a huge cost instead)")
        precondition(cost.allSatisfy { $0.isFinite }, "SwitchingModel: cost entries must be finite")
        if case .perInterval(let values) = pending {
            precondition(values.allSatisfy { $0.isFinite }, "SwitchingModel: pending perInterval values must be finite")
        }
        self.configurationCount = c
        self.delay = delay
        self.cost = cost
        self.pending = pending
    }

    /// The common case where delay and cost depend only on the target configuration (the time
    /// to load `to`), e.g. `delayToTarget[c]` = load time of configuration `c` in intervals.
    public init(delayToTarget: [Double], costToTarget: [Double], pending: PendingEarnings = .nothing) {
        let c = delayToTarget.count
        precondition(costToTarget.count == c, "SwitchingModel: costToTarget must have as many entries as delayToTarget (\(c)), got \(costToTarget.count)")
        var d = [Double](repeating: 0, count: c * c), k = d
        for from in 0..<c {
            for to in 0..<c where to != from {
                d[from * c + to] = delayToTarget[to]
                k[from * c + to] = costToTarget[to]
            }
        }
        self.init(configurationCount: c, delay: d, cost: k, pending: pending)
    }

    /// The same delay and cost for every switch.
    public init(configurationCount: Int, uniformDelay: Double, uniformCost: Double, pending: PendingEarnings = .nothing) {
        precondition(configurationCount >= 1, "SwitchingModel: configurationCount must be >= 1, got \(configurationCount)")
        self.init(delayToTarget: Array(repeating: uniformDelay, count: configurationCount),
                  costToTarget: Array(repeating: uniformCost, count: configurationCount), pending: pending)
    }

    /// Delay in intervals of switching `from -> to` (0 when equal).
    @inline(__always) public func delay(from: Int, to: Int) -> Double {
        from == to ? 0 : delay[from * configurationCount + to]
    }

    /// One-off cost of switching `from -> to` (0 when equal).
    @inline(__always) public func cost(from: Int, to: Int) -> Double {
        from == to ? 0 : cost[from * configurationCount + to]
    }

    /// Intervals a switch with delay `d` occupies before the next decision: `max(1, ceil(d))`.
    @inline(__always) public static func span(delay d: Double) -> Int {
        max(1, Int(d.rounded(.up)))
    }
}

/// A configuration plan over a trace and what it earns.
public struct HindsightPlan: Sendable, Equatable {
    /// Total reward of the plan (sum of ``intervalRewards``). For ``HindsightOracle/solve(initialConfiguration:)``
    /// this is the optimum: an upper bound for any online policy in the same model.
    public var totalReward: Double
    /// The configuration serving at the start of interval 0 (chosen by the plan on a free start).
    public var initialConfiguration: Int
    /// For each interval, the configuration held, or being switched to while a switch is pending.
    public var configurations: [Int]
    /// What each interval earned, switching costs included (charged in the switch's first interval).
    public var intervalRewards: [Double]
    /// The intervals at whose start a switch was decided.
    public var switchIntervals: [Int]
}

/// The hindsight-optimal configuration plan for a trace, by backward dynamic programming.
///
/// Inputs: `T` intervals, `C` configurations, `reward(t, c)` = reward of holding configuration
/// `c` wholly during interval `t` (a row-major `T x C` table), and a ``SwitchingModel``. The
/// model is *separable*: an interval's reward depends only on the configuration serving it,
/// never on earlier decisions (no backlog carried over). Under that assumption the optimum is an
/// upper bound on the reward of any online policy, which must decide without seeing the future.
/// If the real environment carries state between intervals (queues, late bills that grow), the
/// bound holds only for the separable approximation it was given.
///
/// The DP state is "configuration c serves wholly from the start of interval t" (decision
/// points); a pending switch is not a separate state but a macro-transition that jumps
/// `max(1, ceil(d))` intervals ahead. This is the same as expanding the pending intervals into
/// chains of extra states with a single successor each, without storing them:
///
///     V[T][c] = 0
///     V[t][c] = max( reward(t, c) + V[t+1][c],
///                    max_{c' != c} gain(t, c, c') + V[min(T, t + span(c, c'))][c'] )
///
/// where `gain` sums the (possibly truncated at `T`) pending and serving earnings minus the
/// cost. With prefix sums of the reward columns and of the pending earnings each `gain` costs
/// O(1), so `solve` takes O(T * C^2) time and O(T * C) memory. Ties prefer staying, then the
/// lowest configuration index, so results are deterministic.
public struct HindsightOracle: Sendable {
    /// Number of intervals T.
    public let intervalCount: Int
    /// Number of configurations C.
    public let configurationCount: Int
    /// Row-major `T x C` rewards: `rewards[t * C + c]`.
    public let rewards: [Double]
    /// Costs and delays of switches.
    public let switching: SwitchingModel

    /// - Precondition: `rewards.count == T * C`, rewards finite, `T >= 1`,
    ///   `switching.configurationCount == C`, and a `.perInterval` pending model has `T` values.
    public init(rewards: [Double], intervalCount: Int, configurationCount: Int, switching: SwitchingModel) {
        precondition(intervalCount >= 1, "HindsightOracle: intervalCount must be >= 1, got \(intervalCount)")
        precondition(configurationCount >= 1, "HindsightOracle: configurationCount must be >= 1, got \(configurationCount)")
        precondition(rewards.count == intervalCount * configurationCount,
                     "HindsightOracle: rewards must have intervalCount * configurationCount = \(intervalCount * configurationCount) entries, got \(rewards.count)")
        precondition(rewards.allSatisfy { $0.isFinite }, "HindsightOracle: rewards must be finite")
        precondition(switching.configurationCount == configurationCount,
                     "HindsightOracle: switching.configurationCount (\(switching.configurationCount)) must equal configurationCount (\(configurationCount))")
        if case .perInterval(let values) = switching.pending {
            precondition(values.count == intervalCount,
                         "HindsightOracle: switching.pending perInterval must have intervalCount = \(intervalCount) values, got \(values.count)")
        }
        self.intervalCount = intervalCount
        self.configurationCount = configurationCount
        self.rewards = rewards
        self.switching = switching
    }

    @inline(__always) private func reward(_ t: Int, _ c: Int) -> Double { rewards[t * configurationCount + c] }

    /// Pending earnings per whole interval `t` while switching away from `from`.
    @inline(__always) private func pendingRate(_ t: Int, from: Int) -> Double {
        switch switching.pending {
        case .nothing: return 0
        case .perInterval(let values): return values[t]
        case .previousConfiguration: return reward(t, from)
        }
    }

    /// The optimal plan.
    /// - Parameter initialConfiguration: the configuration serving at the start of interval 0,
    ///   or `nil` to let the plan start in any configuration for free.
    public func solve(initialConfiguration: Int? = nil) -> HindsightPlan {
        let T = intervalCount, C = configurationCount
        if let c0 = initialConfiguration {
            precondition(c0 >= 0 && c0 < C, "HindsightOracle.solve: initialConfiguration must be in 0..<\(C), got \(c0)")
        }
        // Prefix sums: column[t * C + c] = sum_{s < t} reward(s, c); pendingPrefix likewise.
        var column = [Double](repeating: 0, count: (T + 1) * C)
        for t in 0..<T {
            for c in 0..<C { column[(t + 1) * C + c] = column[t * C + c] + reward(t, c) }
        }
        var pendingPrefix: [Double] = []
        if case .perInterval(let values) = switching.pending {
            pendingPrefix = [Double](repeating: 0, count: T + 1)
            for t in 0..<T { pendingPrefix[t + 1] = pendingPrefix[t] + values[t] }
        }
        let pendingModel = switching.pending
        /// Sum of the pending earnings over whole intervals [a, b) when leaving `from`.
        func pendingSum(_ a: Int, _ b: Int, from: Int) -> Double {
            guard b > a else { return 0 }
            switch pendingModel {
            case .nothing: return 0
            case .perInterval: return pendingPrefix[b] - pendingPrefix[a]
            case .previousConfiguration: return column[b * C + from] - column[a * C + from]
            }
        }

        var value = [Double](repeating: 0, count: (T + 1) * C)
        var choice = [Int32](repeating: 0, count: T * C)
        for t in stride(from: T - 1, through: 0, by: -1) {
            for c in 0..<C {
                var best = reward(t, c) + value[(t + 1) * C + c]
                var bestTarget = c
                for target in 0..<C where target != c {
                    let d = switching.delay(from: c, to: target)
                    let whole = Int(d.rounded(.down))
                    let fraction = d - Double(whole)
                    let span = max(1, whole + (fraction > 0 ? 1 : 0))
                    var g = pendingSum(t, min(t + whole, T), from: c) - switching.cost(from: c, to: target)
                    let last = t + whole
                    if (fraction > 0 || whole == 0) && last < T {
                        g += fraction * pendingRate(last, from: c) + (1 - fraction) * reward(last, target)
                    }
                    let next = t + span
                    if next < T { g += value[next * C + target] }
                    if g > best { best = g; bestTarget = target }
                }
                value[t * C + c] = best
                choice[t * C + c] = Int32(bestTarget)
            }
        }

        var start = initialConfiguration ?? 0
        if initialConfiguration == nil {
            for c in 1..<max(C, 1) where value[c] > value[start] { start = c }
        }
        var decisions = [Int](repeating: start, count: T)
        var t = 0, c = start
        while t < T {
            let target = Int(choice[t * C + c])
            decisions[t] = target
            t += target == c ? 1 : SwitchingModel.span(delay: switching.delay(from: c, to: target))
            c = target
        }
        return evaluate(decisions: decisions, initialConfiguration: start)
    }

    /// Simulates a decision sequence in the model (forward, interval by interval; independent
    /// of the DP's prefix sums).
    ///
    /// `decisions[t]` is the configuration chosen at the start of interval `t`; it is ignored
    /// while a switch is pending (switches cannot be cancelled). With `initialConfiguration ==
    /// nil` the fleet starts in `decisions[0]` for free.
    /// - Precondition: `decisions.count == T`, every entry in `0..<C`.
    public func evaluate(decisions: [Int], initialConfiguration: Int? = nil) -> HindsightPlan {
        let T = intervalCount, C = configurationCount
        precondition(decisions.count == T, "HindsightOracle.evaluate: decisions must have intervalCount = \(T) entries, got \(decisions.count)")
        precondition(decisions.allSatisfy { $0 >= 0 && $0 < C }, "HindsightOracle.evaluate: decisions must be in 0..<\(C)")
        var current = initialConfiguration ?? decisions[0]
        precondition(current >= 0 && current < C, "HindsightOracle.evaluate: initialConfiguration must be in 0..<\(C), got \(current)")
        var plan = HindsightPlan(totalReward: 0, initialConfiguration: current, configurations: [Int](repeating: 0, count: T),
                                 intervalRewards: [Double](repeating: 0, count: T), switchIntervals: [])
        var t = 0
        while t < T {
            let target = decisions[t]
            if target == current {
                plan.configurations[t] = current
                plan.intervalRewards[t] = reward(t, current)
                t += 1
                continue
            }
            let d = switching.delay(from: current, to: target)
            let span = SwitchingModel.span(delay: d)
            plan.switchIntervals.append(t)
            plan.intervalRewards[t] -= switching.cost(from: current, to: target)
            for k in 0..<span where t + k < T {
                let p = min(1, max(0, d - Double(k)))
                plan.configurations[t + k] = target
                plan.intervalRewards[t + k] += p * pendingRate(t + k, from: current) + (1 - p) * reward(t + k, target)
            }
            t += span
            current = target
        }
        plan.totalReward = plan.intervalRewards.reduce(0, +)
        return plan
    }
}
