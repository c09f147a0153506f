// "Forecast + headroom": inflate a point forecast of the arrival rate by an empirical quantile
// of the forecaster's recent errors, so that a proactive policy provisions for the rate it will
// exceed only with probability about 1 - quantile (under the assumption that recent errors are
// representative of the next one: roughly exchangeable, no regime change in the window).

/// Empirical quantiles.
public enum EmpiricalQuantile {
    /// Empirical quantile of `values` by linear interpolation between order statistics (type 7 of
    /// Hyndman & Fan 1996, the default of R and NumPy): with sorted `x[0..<n]` and
    /// `h = (n - 1) * q`, returns `x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])`.
    /// Reorders `values` in place (selection, not a full sort; expected O(n), allocation-free).
    /// - Precondition: `values` is nonempty, `q` in [0, 1], no NaN in `values`.
    public static func interpolated(_ values: UnsafeMutableBufferPointer<Double>, _ q: Double) -> Double {
        precondition(!values.isEmpty, "EmpiricalQuantile.interpolated: values must be nonempty")
        precondition(q >= 0 && q <= 1, "EmpiricalQuantile.interpolated: q must be in [0, 1], got \(q)")
        let n = values.count
        let h = Double(n - 1) * q
        let k = min(Int(h.rounded(.down)), n - 1)
        let fraction = h - Double(k)
        let lower = select(values, k)
        guard fraction > 0, k + 1 < n else { return lower }
        // After selecting k, everything right of k is >= lower: the (k+1)-th is their minimum.
        var upper = values[k + 1]
        for i in (k + 2)..<n where values[i] < upper { upper = values[i] }
        return lower + fraction * (upper - lower)
    }
}

/// Hoare-style quickselect with a median-of-three pivot: afterwards `a[k]` holds the k-th
/// smallest value, `a[..<k] <= a[k] <= a[(k+1)...]`. Deterministic.
private func select(_ a: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
    var lo = 0, hi = a.count - 1
    while hi > lo {
        if hi - lo < 16 {
            // Insertion sort on small ranges.
            for i in (lo + 1)...hi {
                let v = a[i]
                var j = i - 1
                while j >= lo && a[j] > v { a[j + 1] = a[j]; j -= 1 }
                a[j + 1] = v
            }
            return a[k]
        }
        let mid = lo + (hi - lo) / 2
        if a[mid] < a[lo] { a.swapAt(mid, lo) }
        if a[hi] < a[lo] { a.swapAt(hi, lo) }
        if a[hi] < a[mid] { a.swapAt(hi, mid) }
        let pivot = a[mid]
        var i = lo, j = hi
        while i <= j {
            while a[i] < pivot { i += 1 }
            while a[j] > pivot { j -= 1 }
            if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
        }
        // Now a[lo...j] <= pivot <= a[i...hi], and a[j+1..<i] == pivot.
        if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
    }
    return a[k]
}

/// The forecast rate inflated by the `quantile` of recent forecast errors, floored at the
/// forecast itself and at zero:
/// `max(0, forecast + max(0, Q_quantile(recentErrors)))`.
///
/// - Parameters:
///   - forecast: the point forecast (e.g. arrivals per second for the next interval).
///   - recentErrors: recent errors signed as `actual - forecast` (positive = under-forecast),
///     same units as `forecast`. Empty means no headroom.
///   - quantile: in [0, 1]; e.g. 0.9 provisions for the rate the forecaster's error stayed
///     under 90 % of the time in the window.
///
/// The headroom is never negative: a forecaster that over-forecasts is not corrected downwards
/// (this is provisioning, not bias correction). Allocates one copy of `recentErrors`; use the
/// `scratch:` overload or ``ForecastErrorWindow`` on per-step paths.
public func headroomRate(forecast: Double, recentErrors: [Double], quantile: Double) -> Double {
    var scratch = recentErrors
    return headroomRate(forecast: forecast, recentErrors: recentErrors, quantile: quantile, scratch: &scratch)
}

/// As ``headroomRate(forecast:recentErrors:quantile:)``, using `scratch` (resized to
/// `recentErrors.count`; allocation-free once its capacity suffices) instead of a fresh copy.
public func headroomRate(forecast: Double, recentErrors: [Double], quantile: Double,
                         scratch: inout [Double]) -> Double {
    precondition(forecast.isFinite, "headroomRate: forecast must be finite, got \(forecast)")
    precondition(quantile >= 0 && quantile <= 1, "headroomRate: quantile must be in [0, 1], got \(quantile)")
    guard !recentErrors.isEmpty else { return max(0, forecast) }
    let n = recentErrors.count
    if scratch.count > n { scratch.removeLast(scratch.count - n) }
    while scratch.count < n { scratch.append(0) }
    let q = recentErrors.withUnsafeBufferPointer { source in
        scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n { s[i] = source[i] }
            return EmpiricalQuantile.interpolated(s, quantile)
        }
    }
    return max(0, forecast + max(0, q))
}

/// A fixed-capacity window of the most recent forecast errors (`actual - forecast`), with the
/// headroom computation on top. Allocates its two buffers at `init`; `record` and
/// `headroomRate` allocate nothing.
public struct ForecastErrorWindow: Sendable, Equatable {
    /// Maximum number of errors kept (oldest dropped first).
    public let capacity: Int
    private var errors: [Double]
    private var scratch: [Double]
    private var next = 0
    /// Errors currently held (<= capacity).
    public private(set) var count = 0

    /// - Precondition: `capacity >= 1`.
    public init(capacity: Int) {
        precondition(capacity >= 1, "ForecastErrorWindow: capacity must be >= 1, got \(capacity)")
        self.capacity = capacity
        errors = Array(repeating: 0, count: capacity)
        scratch = Array(repeating: 0, count: capacity)
    }

    /// Records the error of one forecast (`actual - forecast`).
    public mutating func record(forecast: Double, actual: Double) {
        let e = actual - forecast
        precondition(e.isFinite, "ForecastErrorWindow.record: forecast and actual must be finite")
        errors[next] = e
        next += 1
        if next == capacity { next = 0 }
        count = Swift.min(count + 1, capacity)
    }

    /// The `quantile` of the held errors (0 when empty).
    public mutating func errorQuantile(_ quantile: Double) -> Double {
        precondition(quantile >= 0 && quantile <= 1, "ForecastErrorWindow.errorQuantile: quantile must be in [0, 1], got \(quantile)")
        guard count > 0 else { return 0 }
        let n = count
        return errors.withUnsafeBufferPointer { e in
            scratch.withUnsafeMutableBufferPointer { s in
                for i in 0..<n { s[i] = e[i] }
                return EmpiricalQuantile.interpolated(UnsafeMutableBufferPointer(rebasing: s[0..<n]), quantile)
            }
        }
    }

    /// `max(0, forecast + max(0, errorQuantile(quantile)))`; see
    /// ``headroomRate(forecast:recentErrors:quantile:)``.
    public mutating func headroomRate(forecast: Double, quantile: Double) -> Double {
        precondition(forecast.isFinite, "ForecastErrorWindow.headroomRate: forecast must be finite, got \(forecast)")
        return max(0, forecast + max(0, errorQuantile(quantile)))
    }

    /// Drops every error.
    public mutating func removeAll() { next = 0; count = 0 }
}
