/// The linear-programming lower bound on mean latency under an average-accuracy target,
/// after Choudhury, Joshi and Wang, "Job assignment in machine learning inference systems with
/// accuracy constraints", *Performance Evaluation* 2024 (doi:10.1016/j.peva.2024.102463),
/// who call it `T_LP-LB(λ)`.
///
/// Formulation (derived here; the paper's full text was not available, only its abstract).
/// Queries arrive at rate λ (queries/s) to server classes `i = 1…K` with `n_i` servers of rate
/// `μ_i` and accuracy `a_i`. Let `f_i` be the long-run fraction of queries served by class `i`:
///
///     T_LP-LB(λ) = min_f  Σ_i f_i / μ_i                (mean service time, seconds)
///                  s.t.   Σ_i f_i = 1
///                         Σ_i a_i f_i >= a*            (average accuracy target)
///                         λ f_i <= ρ̄ n_i μ_i           (class throughput <= capacity)
///                         f_i >= 0
///
/// with `ρ̄ = 1` for the bound. It bounds every stable policy that meets the target on average:
/// a query's response time is at least its service time, whose mean under the policy is
/// `Σ f_i / μ_i` (service times independent of the dispatch decision), and long-run throughput
/// through class `i` cannot exceed its capacity. A basic optimum mixes at most two classes
/// at the accuracy constraint, plus classes filled to capacity. R-JIQ (``RJIQPolicy``) routes
/// with these fractions (with `ρ̄ < 1` so every class queue is stable) and, joining idle
/// servers, approaches the bound as the number of servers per class grows.
public enum AccuracyLatencyBound {
    /// The LP's optimum.
    public struct Solution: Sendable, Equatable {
        /// `T_LP-LB(λ)`: the minimal mean service time, in seconds — a lower bound on mean
        /// response time.
        public var meanLatency: Double
        /// Routing fractions `f_i` per class (sum to 1).
        public var fractions: [Double]
        /// Arrival rate routed to each class, `λ f_i` (queries/s).
        public var classRates: [Double]
        /// Utilisation `λ f_i / (n_i μ_i)` of each class under the fractions.
        public var utilization: [Double]
        /// Average accuracy `Σ a_i f_i` of the fractions (>= the target, up to tolerance).
        public var accuracy: Double
    }

    /// Result of ``solve(classes:arrivalRate:accuracyTarget:utilizationCap:)``.
    public enum Outcome: Sendable, Equatable {
        /// The target is reachable at this rate; the bound and its routing.
        case feasible(Solution)
        /// `λ` exceeds the (capped) total capacity `Σ ρ̄ n_i μ_i`: no policy is stable.
        case overloaded(totalCapacity: Double)
        /// The target exceeds the highest average accuracy reachable at this rate (filling the
        /// most accurate classes first up to capacity); that maximum is reported.
        case accuracyUnreachable(maximumAccuracy: Double)

        /// The solution when feasible.
        public var solution: Solution? {
            if case .feasible(let s) = self { return s }
            return nil
        }
    }

    /// Solves the LP.
    /// - Parameters:
    ///   - classes: the server classes.
    ///   - arrivalRate: λ in queries/s.
    ///   - accuracyTarget: a*, on the same scale as the classes' accuracies.
    ///   - utilizationCap: ρ̄ in (0, 1]; 1 gives the lower bound, smaller values give routing
    ///     that keeps every class strictly stable (used by R-JIQ).
    /// - Precondition: `classes` not empty, `arrivalRate > 0`, `0 < utilizationCap <= 1`.
    public static func solve(
        classes: [ServerClass], arrivalRate: Double, accuracyTarget: Double, utilizationCap: Double = 1
    ) -> Outcome {
        precondition(!classes.isEmpty, "need at least one server class")
        precondition(arrivalRate > 0 && arrivalRate.isFinite, "arrival rate must be positive and finite")
        precondition(utilizationCap > 0 && utilizationCap <= 1, "utilisation cap must be in (0, 1]")
        precondition(accuracyTarget.isFinite, "accuracy target must be finite")
        let capacity = classes.reduce(0) { $0 + utilizationCap * $1.capacity }
        let slack = 1e-9 * max(1, arrivalRate)
        if arrivalRate > capacity + slack { return .overloaded(totalCapacity: capacity) }
        let best = maximumAccuracy(classes: classes, arrivalRate: arrivalRate, utilizationCap: utilizationCap)
        if best < accuracyTarget - 1e-9 * max(1, abs(accuracyTarget)) {
            return .accuracyUnreachable(maximumAccuracy: best)
        }
        let k = classes.count
        var upperRows: [[Double]] = [classes.map { -$0.accuracy }]
        var upperBounds: [Double] = [-accuracyTarget]
        for i in 0..<k {
            var row = [Double](repeating: 0, count: k)
            row[i] = 1
            upperRows.append(row)
            upperBounds.append(utilizationCap * classes[i].capacity / arrivalRate)
        }
        let lp = LinearProgram(
            objective: classes.map { 1 / $0.serviceRate },
            upperRows: upperRows, upperBounds: upperBounds,
            equalityRows: [[Double](repeating: 1, count: k)], equalityBounds: [1])
        let result = lp.solve()
        guard result.status == .optimal else {
            // Only reachable through round-off at the feasibility boundary.
            return .accuracyUnreachable(maximumAccuracy: best)
        }
        let total = result.x.reduce(0, +)
        let f = result.x.map { $0 / total }
        var accuracy = 0.0, latency = 0.0
        for i in 0..<k {
            accuracy += classes[i].accuracy * f[i]
            latency += f[i] / classes[i].serviceRate
        }
        return .feasible(Solution(
            meanLatency: latency,
            fractions: f,
            classRates: f.map { $0 * arrivalRate },
            utilization: (0..<k).map { f[$0] * arrivalRate / classes[$0].capacity },
            accuracy: accuracy))
    }

    /// The highest average accuracy any stable routing reaches at rate λ: fill classes in
    /// decreasing accuracy up to `ρ̄ n_i μ_i` each (a fractional knapsack). Returns the
    /// accuracy of the routable part divided by λ when λ exceeds capacity (i.e. it is then
    /// not a feasible routing, just the greedy value).
    public static func maximumAccuracy(classes: [ServerClass], arrivalRate: Double, utilizationCap: Double = 1) -> Double {
        let order = classes.indices.sorted { classes[$0].accuracy > classes[$1].accuracy }
        var remaining = arrivalRate, sum = 0.0
        for i in order where remaining > 0 {
            let take = min(remaining, utilizationCap * classes[i].capacity)
            sum += take * classes[i].accuracy
            remaining -= take
        }
        return sum / arrivalRate
    }
}
