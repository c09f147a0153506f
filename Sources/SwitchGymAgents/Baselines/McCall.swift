// The McCall (1970) job-search model and its adaptation to configuration switching: switch only
// when the expected discounted gain of the best offer beats the option value of waiting.
//
// Reference: J. J. McCall, "Economics of Information and Job Search", Quarterly Journal of
// Economics 84(1), 1970, pp. 113-126; the value-iteration presentation follows Sargent &
// Stachurski, "Job Search I: The McCall Search Model" (QuantEcon lectures).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A finite discrete distribution: `values[i]` with probability `probabilities[i]`.
///
/// Used for per-interval rewards, e.g. a forecast's quantiles of the arrival rate mapped through
/// the reward of a configuration, each with probability `1 / count`. Consumers renormalise the
/// probabilities by their sum, so rounding in the caller does not matter. The fields are
/// mutable so a caller can refill a distribution in place every interval without allocating;
/// consumers check validity with preconditions.
public struct DiscreteDistribution: Sendable, Equatable {
    /// Support points (same units as the quantity described, e.g. reward per interval).
    public var values: [Double]
    /// Probabilities, `>= 0`, summing to (about) 1.
    public var probabilities: [Double]

    /// - Precondition: same nonzero count, finite values, probabilities `>= 0` with a positive
    ///   finite sum.
    public init(values: [Double], probabilities: [Double]) {
        self.values = values
        self.probabilities = probabilities
        validate("DiscreteDistribution")
    }

    /// Equally likely `values` (e.g. forecast quantiles at evenly spaced levels).
    public static func uniform(_ values: [Double]) -> DiscreteDistribution {
        precondition(!values.isEmpty, "DiscreteDistribution.uniform: values must be nonempty")
        return DiscreteDistribution(values: values, probabilities: Array(repeating: 1 / Double(values.count), count: values.count))
    }

    /// A point mass (no uncertainty).
    public static func point(_ value: Double) -> DiscreteDistribution {
        DiscreteDistribution(values: [value], probabilities: [1])
    }

    /// The expectation, with probabilities renormalised by their sum.
    public var mean: Double {
        var s = 0.0, total = 0.0
        for i in values.indices { s += values[i] * probabilities[i]; total += probabilities[i] }
        return s / total
    }

    /// Sum of the probabilities.
    var totalProbability: Double {
        var total = 0.0
        for i in 0..<probabilities.count { total += probabilities[i] }
        return total
    }

    func validate(_ context: @autoclosure () -> String) {
        precondition(!values.isEmpty && values.count == probabilities.count,
                     "\(context()): values and probabilities must have the same nonzero count (\(values.count) vs \(probabilities.count))")
        var total = 0.0
        for i in values.indices {
            precondition(values[i].isFinite, "\(context()): values must be finite")
            precondition(probabilities[i] >= 0 && probabilities[i].isFinite, "\(context()): probabilities must be finite and >= 0")
            total += probabilities[i]
        }
        precondition(total > 0 && total.isFinite, "\(context()): probabilities must have a positive sum")
    }
}

// MARK: - Classic model

/// The classic McCall search model, solved by value iteration.
///
/// An unemployed worker draws one wage offer `w ~ F` per period (i.i.d.). Accepting earns `w`
/// every period forever, worth `w / (1 - beta)`; rejecting earns the unemployment compensation
/// `c` this period and draws again next period. The value of holding offer `w` in hand is
///
///     V(w) = max{ w / (1 - beta),  c + beta * E[V(w')] }
///
/// and the optimal policy accepts iff `w >= w*`, the reservation wage
/// `w* = (1 - beta) * (c + beta * E[V(w')])`, which solves
/// `w* = c + beta / (1 - beta) * E[max(w' - w*, 0)]`.
///
/// Units: wages and compensation per period; `beta` is the per-period discount factor.
public struct McCallModel: Sendable, Equatable {
    /// Offer distribution F (wage per period).
    public let offers: DiscreteDistribution
    /// Unemployment compensation c per period.
    public let compensation: Double
    /// Discount factor beta in [0, 1).
    public let discount: Double

    /// - Precondition: `0 <= discount < 1`, `compensation` finite, `offers` valid.
    public init(offers: DiscreteDistribution, compensation: Double, discount: Double) {
        offers.validate("McCallModel: offers")
        precondition(compensation.isFinite, "McCallModel: compensation must be finite, got \(compensation)")
        precondition(discount >= 0 && discount < 1, "McCallModel: discount must be in [0, 1), got \(discount)")
        self.offers = offers
        self.compensation = compensation
        self.discount = discount
    }

    /// Value iteration from `V_0(w) = w / (1 - beta)` until the sup-norm change falls below
    /// `tolerance * max(1, sup |V|)` (the error then is at most `beta / (1 - beta)` times that).
    public func solve(tolerance: Double = 1e-12, maxIterations: Int = 100_000) -> McCallSolution {
        precondition(tolerance > 0, "McCallModel.solve: tolerance must be > 0, got \(tolerance)")
        precondition(maxIterations >= 1, "McCallModel.solve: maxIterations must be >= 1, got \(maxIterations)")
        let beta = discount, n = offers.values.count
        let total = offers.totalProbability
        let accept = offers.values.map { $0 / (1 - beta) }
        var v = accept
        var iterations = 0, change = Double.infinity
        var continuation = 0.0
        while iterations < maxIterations {
            var ev = 0.0
            for i in 0..<n { ev += offers.probabilities[i] / total * v[i] }
            continuation = compensation + beta * ev
            change = 0
            var scale = 1.0
            for i in 0..<n {
                let next = max(accept[i], continuation)
                change = max(change, abs(next - v[i]))
                scale = max(scale, abs(next))
                v[i] = next
            }
            iterations += 1
            if change <= tolerance * scale { break }
        }
        var ev = 0.0
        for i in 0..<n { ev += offers.probabilities[i] / total * v[i] }
        continuation = compensation + beta * ev
        return McCallSolution(values: v, continuationValue: continuation,
                              reservationWage: (1 - beta) * continuation,
                              iterations: iterations, lastChange: change,
                              converged: change <= tolerance * max(1, v.map(abs).max() ?? 1))
    }
}

/// The result of ``McCallModel/solve(tolerance:maxIterations:)``.
public struct McCallSolution: Sendable, Equatable {
    /// `V(w_i)` at each support point of the offer distribution.
    public var values: [Double]
    /// The value of rejecting, `h = c + beta * E[V(w')]`.
    public var continuationValue: Double
    /// `w* = (1 - beta) * h`: accept iff `w >= w*`.
    public var reservationWage: Double
    /// Value-iteration sweeps done.
    public var iterations: Int
    /// Sup-norm change of the last sweep.
    public var lastChange: Double
    /// Whether the stopping tolerance was met within the iteration budget.
    public var converged: Bool
}

// MARK: - Switching adaptation

/// The configuration currently held and its per-interval reward distribution.
public struct McCallHeld: Sendable, Equatable {
    /// Configuration index (returned by ``McCallSwitchingPolicy/decide(current:offers:)`` to stay).
    public var configuration: Int
    /// Per-interval reward of keeping it; only its mean enters the decision.
    public var rewards: DiscreteDistribution

    public init(configuration: Int, rewards: DiscreteDistribution) {
        self.configuration = configuration
        self.rewards = rewards
    }
}

/// An alternative configuration: the "job offer" of the McCall adaptation.
public struct McCallOffer: Sendable, Equatable {
    /// Configuration index.
    public var configuration: Int
    /// Per-interval reward of holding it over the horizon, as forecast (e.g. reward at the
    /// forecast rate's quantiles, equally likely). Its mean values the offer today; the whole
    /// distribution describes the offers that may come next interval.
    public var rewards: DiscreteDistribution
    /// One-off cost of switching to it, in reward units.
    public var switchCost: Double
    /// Switch delay in decision intervals (`>= 0`, fractional allowed), as in ``SwitchingModel``.
    public var delay: Double
    /// Reward per whole interval while the switch is pending (0: nothing is served).
    public var pendingReward: Double

    public init(configuration: Int, rewards: DiscreteDistribution, switchCost: Double,
                delay: Double = 0, pendingReward: Double = 0) {
        self.configuration = configuration
        self.rewards = rewards
        self.switchCost = switchCost
        self.delay = delay
        self.pendingReward = pendingReward
    }
}

/// What ``McCallSwitchingPolicy/evaluate(current:offers:)`` found.
public struct McCallDecision: Sendable, Equatable {
    /// The configuration to hold next (the current one when staying).
    public var configuration: Int
    /// Index into `offers` of the offer taken, or `nil` when staying.
    public var acceptedOffer: Int?
    /// Index into `offers` of the offer with the largest gain today (`nil` without offers).
    public var bestOffer: Int?
    /// Its expected discounted gain net of switching cost, `g(E[W])` (reward units; `-inf`
    /// without offers).
    public var bestGain: Double
    /// The reservation value `R >= 0`: the option value of staying and waiting one more interval.
    public var reservationValue: Double
    /// Value-iteration sweeps done for `R`.
    public var iterations: Int
    /// Whether value iteration met its tolerance.
    public var converged: Bool
}

/// McCall's reservation policy applied to configuration switching (see the DESIGN's
/// EmploymentSearch reduction: a configuration is a job, its reward per interval the wage, the
/// switch delay the time to hire, and a pending switch pays `pendingReward`).
///
/// **The adaptation, exactly.** With discount `beta` per decision interval (effective horizon
/// about `1 / (1 - beta)` intervals):
///
/// 1. Staying earns `w0 = E[current.rewards]` per interval; staying forever is worth
///    `S = w0 / (1 - beta)`. (`w0` plays the classic model's unemployment compensation `c`: what
///    one earns while still searching.)
/// 2. Accepting offer `c` whose per-interval reward is `w` is worth
///    `A_c(w) = -switchCost + pendingReward * P_c + w * (1 / (1 - beta) - P_c)`, with
///    `P_c = sum_k beta^k p_k` the discounted pending time and `p_k = clamp(delay - k, 0, 1)` the
///    pending fraction of interval `k` (the ``SwitchingModel`` timing). Accepting is final: the
///    valuation does not count the option of switching again later.
/// 3. The gain of an offer is `g_c(w) = A_c(w) - S`: its expected discounted gain over the
///    horizon, net of switching cost and delay, relative to staying.
/// 4. Next interval brings fresh offers `W'_c ~ rewards_c`, independent across alternatives
///    and intervals; the best of them has gain `G' = max_c g_c(W'_c)`. The value of staying one
///    more interval, `h = w0 + beta * E[max(h, max_c A_c(W'_c))]`, reads in gain units
///    (`R = h - S`) as the McCall fixed point
///
///        R = beta * E[max(G', R)]
///
///    which is solved by value iteration from `R = 0` (a contraction of modulus `beta`; `R >= 0`,
///    and `R = 0` when no offer can ever gain).
/// 5. Today's offers are valued at their means, `g_c = g_c(E[W_c])`. The policy switches to
///    `c* = argmax g_c` iff `g_{c*} > R` (strictly; ties stay).
///
/// With one offer, no cost, no delay and a point-mass current reward `c`, this is the classic
/// model: switch iff `E[W] > w* = (1 - beta) * (R + S)`.
///
/// **Assumptions and caveats.** Risk neutral (only expectations matter). Treating acceptance as
/// final while staying keeps the search option biases the policy towards staying: that is the
/// intended hysteresis against flip-flopping. Using the forecast's spread as the distribution of
/// *next interval's* offers overstates the option value when forecasts are persistent (tomorrow's
/// estimate will be close to today's), so `R` is conservative; narrow the distributions (or
/// lower `beta`) to switch more readily.
///
/// `evaluate`/`decide` allocate nothing once the internal scratch has grown to the largest
/// offer set seen (total support size); `init` reserves room for `capacity` support points.
public struct McCallSwitchingPolicy: Sendable {
    /// Discount factor per decision interval, in [0, 1).
    public let discount: Double
    /// Value iteration stops when `|R_{n+1} - R_n| <= tolerance * max(1, |R|)`.
    public var tolerance: Double
    /// Value-iteration budget per decision.
    public var maxIterations: Int
    private var atoms: [Double] = []
    private var masses: [Double] = []
    private var intercepts: [Double] = []
    private var slopes: [Double] = []
    private var totals: [Double] = []

    /// - Precondition: `0 <= discount < 1`, `tolerance > 0`, `maxIterations >= 1`, `capacity >= 0`.
    public init(discount: Double, tolerance: Double = 1e-10, maxIterations: Int = 100_000, capacity: Int = 256) {
        precondition(discount >= 0 && discount < 1, "McCallSwitchingPolicy: discount must be in [0, 1), got \(discount)")
        precondition(tolerance > 0, "McCallSwitchingPolicy: tolerance must be > 0, got \(tolerance)")
        precondition(maxIterations >= 1, "McCallSwitchingPolicy: maxIterations must be >= 1, got \(maxIterations)")
        precondition(capacity >= 0, "McCallSwitchingPolicy: capacity must be >= 0, got \(capacity)")
        self.discount = discount
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        atoms.reserveCapacity(capacity)
        masses.reserveCapacity(capacity)
        intercepts.reserveCapacity(64)
        slopes.reserveCapacity(64)
        totals.reserveCapacity(64)
    }

    /// Discounted weights of a switch with `delay` (intervals): `pending = sum_k beta^k p_k`
    /// (the discounted pending time) and `serving = 1 / (1 - beta) - pending` (the discounted
    /// time the new configuration serves), so accepting reward `w` is worth
    /// `-cost + pendingReward * pending + w * serving`.
    public static func discountedWeights(discount beta: Double, delay: Double) -> (pending: Double, serving: Double) {
        precondition(beta >= 0 && beta < 1, "McCallSwitchingPolicy.discountedWeights: discount must be in [0, 1), got \(beta)")
        precondition(delay >= 0 && delay <= 1e9, "McCallSwitchingPolicy.discountedWeights: delay must be in [0, 1e9], got \(delay)")
        // p_k = 1 for k < n = floor(delay), p_n = delay - n, 0 after:
        // sum_k beta^k p_k = (1 - beta^n) / (1 - beta) + (delay - n) * beta^n.
        let whole = delay.rounded(.down)
        let power = pow(beta, whole)
        let pending = (1 - power) / (1 - beta) + (delay - whole) * power
        return (pending, 1 / (1 - beta) - pending)
    }

    /// The configuration to hold next: the current one, or the best offer's when its gain
    /// exceeds the reservation value. See the type's documentation for the model.
    public mutating func decide(current: McCallHeld, offers: [McCallOffer]) -> Int {
        evaluate(current: current, offers: offers).configuration
    }

    /// The decision with its diagnostics (gain, reservation value, convergence).
    public mutating func evaluate(current: McCallHeld, offers: [McCallOffer]) -> McCallDecision {
        current.rewards.validate("McCallSwitchingPolicy: current.rewards")
        let beta = discount
        let stayForever = current.rewards.mean / (1 - beta)
        var decision = McCallDecision(configuration: current.configuration, acceptedOffer: nil, bestOffer: nil,
                                      bestGain: -.infinity, reservationValue: 0, iterations: 0, converged: true)
        guard !offers.isEmpty else { return decision }

        // Per offer: gain g_c(w) = intercept_c + slope_c * w; today's gain at the mean.
        intercepts.removeAll(keepingCapacity: true)
        slopes.removeAll(keepingCapacity: true)
        totals.removeAll(keepingCapacity: true)
        atoms.removeAll(keepingCapacity: true)
        // (Index loops throughout: unspecialised generic iteration allocates in debug builds.)
        for index in 0..<offers.count {
            let offer = offers[index]
            offer.rewards.validate("McCallSwitchingPolicy: offers[\(index)].rewards")
            precondition(offer.switchCost.isFinite, "McCallSwitchingPolicy: offers[\(index)].switchCost must be finite")
            precondition(offer.pendingReward.isFinite, "McCallSwitchingPolicy: offers[\(index)].pendingReward must be finite")
            let weights = Self.discountedWeights(discount: beta, delay: offer.delay)
            let intercept = -offer.switchCost + offer.pendingReward * weights.pending - stayForever
            intercepts.append(intercept)
            slopes.append(weights.serving)
            totals.append(offer.rewards.totalProbability)
            let today = intercept + weights.serving * offer.rewards.mean
            if today > decision.bestGain { decision.bestGain = today; decision.bestOffer = index }
            for j in 0..<offer.rewards.values.count { atoms.append(intercept + weights.serving * offer.rewards.values[j]) }
        }

        // Distribution of G' = max_c g_c(W'_c): P(G' <= x) = prod_c F_c(x) at each atom x.
        atoms.withUnsafeMutableBufferPointer { heapSort($0) }
        var unique = 0
        for i in atoms.indices where unique == 0 || atoms[i] != atoms[unique - 1] {
            atoms[unique] = atoms[i]
            unique += 1
        }
        masses.removeAll(keepingCapacity: true)
        var previousCDF = 0.0
        for i in 0..<unique {
            let x = atoms[i]
            var cdf = 1.0
            for index in 0..<offers.count {
                let offer = offers[index]
                var below = 0.0
                let a = intercepts[index], b = slopes[index]
                for j in offer.rewards.values.indices where a + b * offer.rewards.values[j] <= x {
                    below += offer.rewards.probabilities[j]
                }
                cdf *= below / totals[index]
            }
            masses.append(max(0, cdf - previousCDF))
            previousCDF = cdf
        }

        // Value iteration on R = beta * E[max(G', R)], from R = 0.
        var r = 0.0, iterations = 0, converged = false
        while iterations < maxIterations {
            var expectation = 0.0
            for i in 0..<unique { expectation += masses[i] * max(atoms[i], r) }
            let next = beta * expectation
            iterations += 1
            let change = abs(next - r)
            r = next
            if change <= tolerance * max(1, abs(r)) { converged = true; break }
        }
        decision.reservationValue = r
        decision.iterations = iterations
        decision.converged = converged
        if let best = decision.bestOffer, decision.bestGain > r {
            decision.acceptedOffer = best
            decision.configuration = offers[best].configuration
        }
        return decision
    }
}

/// In-place ascending heapsort (allocation-free, deterministic).
private func heapSort(_ a: UnsafeMutableBufferPointer<Double>) {
    let n = a.count
    guard n > 1 else { return }
    func siftDown(_ start: Int, _ end: Int) {
        var root = start
        while 2 * root + 1 < end {
            var child = 2 * root + 1
            if child + 1 < end && a[child] < a[child + 1] { child += 1 }
            if a[root] < a[child] { a.swapAt(root, child); root = child } else { return }
        }
    }
    for start in stride(from: n / 2 - 1, through: 0, by: -1) { siftDown(start, n) }
    for end in stride(from: n - 1, to: 0, by: -1) {
        a.swapAt(0, end)
        siftDown(0, end)
    }
}
