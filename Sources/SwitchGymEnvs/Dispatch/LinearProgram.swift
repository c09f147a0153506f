/// A small dense linear program in inequality-and-equality form:
///
///     minimise    c · x
///     subject to  A_ub x <= b_ub
///                 A_eq x  = b_eq
///                 x >= 0
///
/// solved by the two-phase tableau simplex method (Dantzig 1951; see e.g. Bertsimas and
/// Tsitsiklis, *Introduction to Linear Optimization*, 1997, §3.5 and §3.4 for Bland's rule).
///
/// Pivoting uses Dantzig's most-negative-reduced-cost rule and switches to Bland's
/// smallest-index rule while pivots are degenerate (no progress in the objective), which rules
/// out cycling; it returns to Dantzig's rule after the first non-degenerate pivot.
///
/// Meant for the tens-of-variables problems of dispatch planning (``AccuracyLatencyBound``):
/// the tableau is dense, `(m + 1) × (n + m_ub + m + 1)` doubles. Solving allocates; it is not
/// a per-query hot path.
public struct LinearProgram: Sendable {
    /// Objective coefficients `c` (length `n`, the number of variables).
    public var objective: [Double]
    /// Rows of `A_ub`, each of length `n`.
    public var upperRows: [[Double]]
    /// Right-hand sides `b_ub` (one per row of `A_ub`; may be negative).
    public var upperBounds: [Double]
    /// Rows of `A_eq`, each of length `n`.
    public var equalityRows: [[Double]]
    /// Right-hand sides `b_eq` (one per row of `A_eq`; may be negative).
    public var equalityBounds: [Double]

    /// - Precondition: every row has `objective.count` entries, each row set has as many
    ///   right-hand sides as rows, and all entries are finite.
    public init(
        objective: [Double],
        upperRows: [[Double]] = [], upperBounds: [Double] = [],
        equalityRows: [[Double]] = [], equalityBounds: [Double] = []
    ) {
        precondition(!objective.isEmpty, "a linear program needs at least one variable")
        precondition(upperRows.count == upperBounds.count, "A_ub and b_ub row counts differ")
        precondition(equalityRows.count == equalityBounds.count, "A_eq and b_eq row counts differ")
        for row in upperRows + equalityRows {
            precondition(row.count == objective.count, "constraint row length differs from the objective's")
            precondition(row.allSatisfy(\.isFinite), "constraint coefficients must be finite")
        }
        precondition(objective.allSatisfy(\.isFinite), "objective coefficients must be finite")
        precondition((upperBounds + equalityBounds).allSatisfy(\.isFinite), "right-hand sides must be finite")
        self.objective = objective
        self.upperRows = upperRows
        self.upperBounds = upperBounds
        self.equalityRows = equalityRows
        self.equalityBounds = equalityBounds
    }

    /// Number of decision variables `n`.
    public var variableCount: Int { objective.count }

    /// Solves the program.
    /// - Parameters:
    ///   - tolerance: zero threshold for pivots, reduced costs and phase-1 infeasibility
    ///     (relative to the largest right-hand side, at least 1).
    ///   - maxIterations: pivot budget over both phases; `nil` picks `50 (m + columns) + 1000`.
    public func solve(tolerance: Double = 1e-9, maxIterations: Int? = nil) -> LPSolution {
        var tableau = Tableau(self, tolerance: tolerance)
        let budget = maxIterations ?? (50 * (tableau.rows + tableau.columns) + 1000)
        return tableau.run(maxIterations: budget, objective: objective)
    }
}

/// Outcome of ``LinearProgram/solve(tolerance:maxIterations:)``.
public enum LPStatus: Sendable, Equatable {
    /// An optimal basic solution was found.
    case optimal
    /// No `x >= 0` satisfies the constraints (phase 1 ended with positive infeasibility).
    case infeasible
    /// The objective decreases without bound over the feasible set.
    case unbounded
    /// The pivot budget ran out (should not happen with Bland's rule; a numerical guard).
    case iterationLimit
}

/// A solution of a ``LinearProgram``.
public struct LPSolution: Sendable, Equatable {
    /// Whether ``x`` and ``objective`` are meaningful (only for `.optimal`).
    public var status: LPStatus
    /// The optimal point (length `n`); zeros unless `status == .optimal`.
    public var x: [Double]
    /// `c · x` at the optimum; `.nan` unless `status == .optimal`.
    public var objective: Double
    /// Pivots performed over both phases.
    public var iterations: Int
}

/// Dense simplex tableau: `rows` constraint rows plus one reduced-cost row, each with
/// `columns` coefficients followed by the right-hand side.
private struct Tableau {
    let n: Int              // original variables
    let rows: Int           // constraints
    let columns: Int        // n + slacks + artificials
    let firstArtificial: Int
    var t: [Double]         // (rows + 1) × (columns + 1), row-major
    var basis: [Int]
    let eps: Double
    var iterations = 0

    var stride: Int { columns + 1 }

    init(_ lp: LinearProgram, tolerance: Double) {
        n = lp.variableCount
        let mu = lp.upperRows.count, me = lp.equalityRows.count
        rows = mu + me
        // Which rows need an artificial: every equality row, and inequality rows whose
        // right-hand side is negative (their slack enters with coefficient -1 after negation).
        var needsArtificial = [Bool](repeating: false, count: rows)
        for i in 0..<mu where lp.upperBounds[i] < 0 { needsArtificial[i] = true }
        for i in 0..<me { needsArtificial[mu + i] = true }
        let artificialCount = needsArtificial.filter { $0 }.count
        firstArtificial = n + mu
        columns = n + mu + artificialCount
        let scale = max(1, (lp.upperBounds + lp.equalityBounds).map(abs).max() ?? 1)
        eps = tolerance * scale
        t = [Double](repeating: 0, count: (rows + 1) * (columns + 1))
        basis = [Int](repeating: -1, count: rows)
        let w = columns + 1
        var nextArtificial = firstArtificial
        for i in 0..<rows {
            let (coefficients, rhs): ([Double], Double) =
                i < mu ? (lp.upperRows[i], lp.upperBounds[i]) : (lp.equalityRows[i - mu], lp.equalityBounds[i - mu])
            let sign: Double = rhs < 0 ? -1 : 1
            for j in 0..<n { t[i * w + j] = sign * coefficients[j] }
            if i < mu { t[i * w + n + i] = sign }  // slack
            t[i * w + columns] = sign * rhs
            if needsArtificial[i] {
                t[i * w + nextArtificial] = 1
                basis[i] = nextArtificial
                nextArtificial += 1
            } else {
                basis[i] = n + i
            }
        }
    }

    @inline(__always) func at(_ r: Int, _ c: Int) -> Double { t[r * stride + c] }

    mutating func pivot(_ r: Int, _ c: Int) {
        let w = stride
        let p = t[r * w + c]
        for j in 0..<w { t[r * w + j] /= p }
        t[r * w + c] = 1
        for i in 0...rows where i != r {
            let f = t[i * w + c]
            if f == 0 { continue }
            for j in 0..<w { t[i * w + j] -= f * t[r * w + j] }
            t[i * w + c] = 0
        }
        basis[r] = c
        iterations += 1
    }

    /// Sets the reduced-cost row from `costs` (per column) and makes it canonical for the basis.
    mutating func setObjective(_ costs: [Double]) {
        let w = stride, m = rows
        for j in 0..<w { t[m * w + j] = j < columns ? costs[j] : 0 }
        for i in 0..<rows {
            let f = t[m * w + basis[i]]
            if f == 0 { continue }
            for j in 0..<w { t[m * w + j] -= f * t[i * w + j] }
        }
    }

    enum Phase { case optimal, unbounded, limit }

    /// Runs simplex pivots on the current reduced-cost row, entering only columns `< enterLimit`.
    mutating func iterate(enterLimit: Int, maxIterations: Int) -> Phase {
        let w = stride, m = rows
        var bland = false
        while true {
            if iterations >= maxIterations { return .limit }
            // Entering column.
            var enter = -1
            var best = -eps
            for j in 0..<enterLimit {
                let d = t[m * w + j]
                if d < best {
                    enter = j
                    if bland { break }
                    best = d
                }
            }
            if enter < 0 { return .optimal }
            // Leaving row: minimum ratio, ties broken by the smallest basic variable index.
            var leave = -1
            var ratio = Double.infinity
            for i in 0..<rows {
                let a = t[i * w + enter]
                guard a > eps else { continue }
                let r = max(0, t[i * w + columns]) / a
                if leave < 0 || r < ratio - eps || (abs(r - ratio) <= eps && basis[i] < basis[leave]) {
                    leave = i
                    ratio = r
                }
            }
            if leave < 0 { return .unbounded }
            let degenerate = ratio <= eps
            pivot(leave, enter)
            bland = degenerate
        }
    }

    mutating func run(maxIterations: Int, objective: [Double]) -> LPSolution {
        let fail = { (s: LPStatus, it: Int) in LPSolution(status: s, x: [Double](repeating: 0, count: objective.count), objective: .nan, iterations: it) }
        // Phase 1: minimise the sum of artificials.
        if firstArtificial < columns {
            var costs = [Double](repeating: 0, count: columns)
            for j in firstArtificial..<columns { costs[j] = 1 }
            setObjective(costs)
            switch iterate(enterLimit: columns, maxIterations: maxIterations) {
            case .limit: return fail(.iterationLimit, iterations)
            case .unbounded: return fail(.iterationLimit, iterations)  // impossible: bounded below by 0
            case .optimal: break
            }
            let infeasibility = -at(rows, columns)
            if infeasibility > eps * 10 { return fail(.infeasible, iterations) }
            // Drive remaining (zero-level) artificials out of the basis where possible; rows
            // with no usable pivot are redundant and keep their artificial at zero.
            for i in 0..<rows where basis[i] >= firstArtificial {
                var best = -1
                var mag = eps
                for j in 0..<firstArtificial where abs(at(i, j)) > mag {
                    best = j
                    mag = abs(at(i, j))
                }
                if best >= 0 { pivot(i, best) }
            }
        }
        // Phase 2: the real objective; artificials may not re-enter.
        var costs = [Double](repeating: 0, count: columns)
        for j in 0..<n { costs[j] = objective[j] }
        setObjective(costs)
        switch iterate(enterLimit: firstArtificial, maxIterations: maxIterations) {
        case .limit: return fail(.iterationLimit, iterations)
        case .unbounded: return fail(.unbounded, iterations)
        case .optimal: break
        }
        var x = [Double](repeating: 0, count: n)
        for i in 0..<rows where basis[i] < n { x[basis[i]] = max(0, at(i, columns)) }
        var value = 0.0
        for j in 0..<n { value += objective[j] * x[j] }
        return LPSolution(status: .optimal, x: x, objective: value, iterations: iterations)
    }
}
