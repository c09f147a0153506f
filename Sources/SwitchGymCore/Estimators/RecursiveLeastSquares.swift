/// Recursive least squares with exponential forgetting: an online estimate of `θ` in the
/// linear model `y ≈ θ · x`, updated one observation at a time in O(d²) without allocation: the
/// one RLS of the toolkit (the interference predictor and the AR arrival forecaster
/// `RLSForecaster` both fit with it).
///
/// Minimises `Σ_t λ_f^(n−t) (y_t − θ·x_t)² + λ_f^n δ⁻¹ ‖θ − θ₀‖²` (Haykin, *Adaptive Filter
/// Theory*, ch. 10): with forgetting factor `λ_f = 1` it is ordinary least squares with a
/// vanishing ridge `1/δ`; with `λ_f < 1` old observations fade with weight `λ_f^age` (effective
/// memory about `1 / (1 − λ_f)` observations), so the estimate tracks drifting parameters.
/// Zhao and Georgantas, "ML Inference Scheduling with Predictable Latency" (MAIoT 2025,
/// arXiv:2512.18725) use it to keep a co-location interference predictor current.
///
/// Each ``update(features:target:)``:
///
///     π = P x,   g = π / (λ_f + x·π),   e = y − θ·x
///     θ ← θ + g e,   P ← (P − π πᵀ / (λ_f + x·π)) / λ_f
///
/// starting from `P = δ I`. The rank-one downdate is computed as `π_i π_j / (λ_f + x·π)`, so a
/// symmetric `P` stays exactly symmetric.
///
/// Anti-windup: a feature that stays zero (say, a co-located variant that is absent) carries no
/// information, and dividing by `λ_f < 1` would grow its variance without bound, so the next
/// time it turns up the estimate would jump. Forgetting is therefore applied per coordinate as
/// the congruence `P ← S P S`, `S = diag(s_i)`, with `s_i = 1/√λ_f` while `P_ii / λ_f` stays at
/// most ``varianceLimit`` and `s_i = 1` otherwise. `P` stays symmetric positive semi-definite;
/// excited coordinates keep forgetting (and tracking drift) while unexcited ones stop growing.
/// (The bound is coordinate-wise: a direction left unexcited that is not a coordinate axis is
/// only bounded through its coordinates.)
public struct RecursiveLeastSquares: Sendable, Equatable {
    /// Number of features `d`.
    public let dimension: Int
    /// Forgetting factor `λ_f` in (0, 1]; 1 means no forgetting.
    public let forgetting: Double
    /// Initial covariance scale `δ` (`P₀ = δ I`); large values trust the first observations.
    public let delta: Double
    /// Bound on each diagonal entry `P_ii` beyond which coordinate `i` stops forgetting
    /// (anti-windup; defaults to `δ`).
    public var varianceLimit: Double
    /// The current estimate `θ` (length `d`).
    public private(set) var coefficients: [Double]
    /// Number of updates so far.
    public private(set) var updates: Int = 0

    private var p: [Double]      // d × d, row-major
    private var pi: [Double]     // scratch: P x
    private let initialCoefficients: [Double]

    /// - Parameters:
    ///   - dimension: number of features `d >= 1`.
    ///   - forgetting: `λ_f` in (0, 1].
    ///   - delta: `δ > 0`, initial covariance `δ I`.
    ///   - initialCoefficients: prior estimate `θ₀` (zeros by default).
    public init(dimension: Int, forgetting: Double = 1, delta: Double = 1e4, initialCoefficients: [Double]? = nil) {
        precondition(dimension >= 1, "RLS needs at least one feature")
        precondition(forgetting > 0 && forgetting <= 1, "forgetting factor must be in (0, 1]")
        precondition(delta > 0 && delta.isFinite, "delta must be positive and finite")
        if let initialCoefficients { precondition(initialCoefficients.count == dimension, "θ₀ must have d entries") }
        self.dimension = dimension
        self.forgetting = forgetting
        self.delta = delta
        varianceLimit = delta
        self.initialCoefficients = initialCoefficients ?? [Double](repeating: 0, count: dimension)
        // Its own buffer: sharing θ₀'s would make the first update copy (and allocate).
        coefficients = self.initialCoefficients.map { $0 }
        p = [Double](repeating: 0, count: dimension * dimension)
        pi = [Double](repeating: 0, count: dimension)
        for i in 0..<dimension { p[i * dimension + i] = delta }
    }

    /// Restores `θ = θ₀`, `P = δ I`.
    public mutating func reset() {
        let d = dimension
        for i in 0..<d {
            coefficients[i] = initialCoefficients[i]
            for j in 0..<d { p[i * d + j] = i == j ? delta : 0 }
        }
        updates = 0
    }

    /// `θ · x`.
    /// - Precondition: `x.count == dimension`.
    @inline(__always)
    public func predict(_ x: UnsafeBufferPointer<Double>) -> Double {
        precondition(x.count == dimension, "feature vector has the wrong length")
        var s = 0.0
        for i in 0..<dimension { s += coefficients[i] * x[i] }
        return s
    }

    /// `θ · x`.
    public func predict(_ x: [Double]) -> Double { x.withUnsafeBufferPointer { predict($0) } }

    /// The covariance entry `P[i][j]` (the estimate's uncertainty, up to the noise variance).
    public func covariance(_ i: Int, _ j: Int) -> Double { p[i * dimension + j] }

    /// Incorporates one observation; returns the a-priori error `y − θ·x` (before the update).
    /// - Precondition: `x.count == dimension`; `x` and `y` finite.
    @discardableResult
    public mutating func update(features x: UnsafeBufferPointer<Double>, target y: Double) -> Double {
        precondition(x.count == dimension, "feature vector has the wrong length")
        let d = dimension, lambda = forgetting
        let error = y - predict(x)
        let limit = varianceLimit
        p.withUnsafeMutableBufferPointer { p in
            pi.withUnsafeMutableBufferPointer { pi in
                coefficients.withUnsafeMutableBufferPointer { theta in
                    var denominator = lambda
                    for i in 0..<d {
                        var s = 0.0
                        for j in 0..<d { s += p[i * d + j] * x[j] }
                        pi[i] = s
                        denominator += x[i] * s
                    }
                    for i in 0..<d { theta[i] += pi[i] / denominator * error }
                    for i in 0..<d {
                        for j in 0..<d { p[i * d + j] -= pi[i] * pi[j] / denominator }
                    }
                    if lambda < 1 {
                        // Reuse `pi` for the per-coordinate scale s_i.
                        let forget = 1 / lambda.squareRoot()
                        for i in 0..<d { pi[i] = p[i * d + i] / lambda <= limit ? forget : 1 }
                        for i in 0..<d {
                            for j in 0..<d { p[i * d + j] *= pi[i] * pi[j] }
                        }
                    }
                }
            }
        }
        updates += 1
        return error
    }

    /// Incorporates one observation (array convenience); returns the a-priori error.
    @discardableResult
    public mutating func update(features x: [Double], target y: Double) -> Double {
        x.withUnsafeBufferPointer { update(features: $0, target: y) }
    }
}
