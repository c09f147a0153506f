/// Exponentially weighted moving average of a feature vector, `s ← α x + (1 − α) s`: the one
/// EWMA of the toolkit. The arrival forecaster (`EWMAForecaster`, dimension 1) keeps its level
/// here, and the interference model uses it to smooth noisy co-location signals (co-located batch sizes, utilisation of the other variants
/// on a GPU) before they feed the interference predictor (Zhao and Georgantas, MAIoT 2025,
/// arXiv:2512.18725, find EWMA smoothing of the co-location signal reduces prediction error).
///
/// The first observation initialises the average (no bias toward zero). Effective window about
/// `2/α − 1` observations; units are those of the inputs. Updates do not allocate.
public struct EWMA: Sendable, Equatable {
    /// Weight `α` in (0, 1] of the newest observation; 1 means no smoothing.
    public let alpha: Double
    /// The smoothed values (zeros before the first observation).
    public private(set) var values: [Double]
    /// Whether at least one observation has been seen.
    public private(set) var isInitialized = false

    /// - Precondition: `dimension >= 1`, `0 < alpha <= 1`.
    public init(dimension: Int, alpha: Double) {
        precondition(dimension >= 1, "EWMA needs at least one component")
        precondition(alpha > 0 && alpha <= 1, "alpha must be in (0, 1]")
        self.alpha = alpha
        values = [Double](repeating: 0, count: dimension)
    }

    /// Number of components.
    public var dimension: Int { values.count }

    /// Folds in one observation.
    /// - Precondition: `x.count == dimension`.
    public mutating func update(_ x: UnsafeBufferPointer<Double>) {
        precondition(x.count == values.count, "observation has the wrong length")
        if !isInitialized {
            for i in 0..<x.count { values[i] = x[i] }
            isInitialized = true
            return
        }
        let a = alpha
        for i in 0..<x.count { values[i] += a * (x[i] - values[i]) }
    }

    /// Folds in one observation of a one-component average.
    /// - Precondition: `dimension == 1`.
    public mutating func update(_ x: Double) {
        withUnsafePointer(to: x) { update(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// Folds in one observation (array convenience).
    public mutating func update(_ x: [Double]) { x.withUnsafeBufferPointer { update($0) } }

    /// Forgets all observations.
    public mutating func reset() {
        for i in 0..<values.count { values[i] = 0 }
        isInitialized = false
    }
}
