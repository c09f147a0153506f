// Online point forecasters for the switching baselines: exponential smoothing (Brown's EWMA,
// Holt 1957, Holt-Winters after Winters 1960) and an autoregressive model fitted by recursive
// least squares. They are plain value types with the same three methods (`observe`,
// `forecast(horizon:)`, `forecastPath(horizon:into:)`) and deliberately no shared protocol:
// callers hold the concrete type, so nothing is boxed or dispatched dynamically.
//
// Conventions shared by every forecaster here:
// - the series is observed one value at a time, oldest first, at a fixed step (one decision
//   interval); units are whatever the caller observes (typically arrivals per second);
// - `forecast(horizon: h)` predicts the value h steps after the last observation (h >= 1);
// - `observe` allocates nothing (all state is sized at `init`); `forecast` allocates nothing;
// - before the first observation every forecaster predicts 0 (check `observationCount`);
// - non-finite observations are a precondition failure (a NaN would poison the state forever).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore

@inline(__always)
private func checkObservation(_ x: Double, _ type: StaticString) {
    precondition(x.isFinite, "\(type).observe: x must be finite")
}

@inline(__always)
private func checkHorizon(_ h: Int, _ type: StaticString) {
    precondition(h >= 1, "\(type).forecast: horizon h must be >= 1")
}

// MARK: - EWMA

/// Simple exponential smoothing (exponentially weighted moving average, Brown 1956):
/// `level_t = alpha * x_t + (1 - alpha) * level_{t-1}`, with `level_1 = x_1`.
///
/// The forecast is flat: every horizon predicts the current level. Suited to a series that
/// wanders without trend or season. `alpha` in (0, 1]: larger reacts faster (`alpha = 1` is
/// the naive "last value" forecast); the level is a weighted mean of past observations with
/// weights decaying as `(1 - alpha)^age`, so its effective memory is about `1 / alpha` steps.
public struct EWMAForecaster: Sendable, Equatable {
    /// The smoothed level, kept by the toolkit's one ``EWMA`` (dimension 1).
    private var smoother: EWMA
    /// Observations seen so far.
    public private(set) var observationCount = 0

    /// - Precondition: `0 < alpha <= 1`.
    public init(alpha: Double) {
        precondition(alpha > 0 && alpha <= 1, "EWMAForecaster: alpha must be in (0, 1], got \(alpha)")
        smoother = EWMA(dimension: 1, alpha: alpha)
    }

    /// Smoothing weight of the newest observation, in (0, 1].
    public var alpha: Double { smoother.alpha }
    /// The smoothed level (same units as the observations); 0 before any observation.
    public var level: Double { smoother.values[0] }

    /// Folds in the next observation (allocation-free).
    public mutating func observe(_ x: Double) {
        checkObservation(x, "EWMAForecaster")
        smoother.update(x)
        observationCount += 1
    }

    /// The level, whatever the horizon `h >= 1`.
    public func forecast(horizon h: Int) -> Double {
        checkHorizon(h, "EWMAForecaster")
        return level
    }

    /// Writes the forecasts for horizons `1...output.count` into `output`.
    public func forecastPath(into output: UnsafeMutableBufferPointer<Double>) {
        for i in output.indices { output[i] = level }
    }

    /// Writes the forecasts for horizons `1...h` into `output[0..<h]`.
    /// - Precondition: `h >= 1` and `output.count >= h`.
    public func forecastPath(horizon h: Int, into output: inout [Double]) {
        precondition(h >= 1 && output.count >= h, "EWMAForecaster.forecastPath: need h >= 1 and output.count >= h (h = \(h), output.count = \(output.count))")
        output.withUnsafeMutableBufferPointer { forecastPath(into: UnsafeMutableBufferPointer(rebasing: $0[0..<h])) }
    }

    /// Forgets every observation.
    public mutating func reset() { smoother.reset(); observationCount = 0 }
}

// MARK: - Holt

/// Holt's linear (additive-trend) exponential smoothing (Holt 1957), with optional damping
/// (Gardner & McKenzie 1985):
///
///     level_t = alpha * x_t + (1 - alpha) * (level_{t-1} + phi * trend_{t-1})
///     trend_t = beta * (level_t - level_{t-1}) + (1 - beta) * phi * trend_{t-1}
///     forecast(h) = level_t + (phi + phi^2 + ... + phi^h) * trend_t
///
/// Initialisation: after the first observation `level = x_1, trend = 0` (the forecast is
/// `x_1`); the second observation sets `level = x_2, trend = x_2 - x_1` (an exact fit of the
/// first two points); the recurrences apply from the third observation on. `phi = 1` is the
/// undamped method (the trend extrapolates linearly forever); `phi < 1` makes long-horizon
/// forecasts level off at `level + trend * phi / (1 - phi)`. The trend is in observation
/// units per step.
public struct HoltForecaster: Sendable, Equatable {
    /// Level smoothing weight, in (0, 1].
    public let alpha: Double
    /// Trend smoothing weight, in [0, 1].
    public let beta: Double
    /// Trend damping factor, in (0, 1]; 1 means no damping.
    public let phi: Double
    /// The smoothed level; 0 before any observation.
    public private(set) var level: Double = 0
    /// The smoothed trend, per step; 0 before the second observation.
    public private(set) var trend: Double = 0
    /// Observations seen so far.
    public private(set) var observationCount = 0

    /// - Precondition: `0 < alpha <= 1`, `0 <= beta <= 1`, `0 < phi <= 1`.
    public init(alpha: Double, beta: Double, phi: Double = 1) {
        precondition(alpha > 0 && alpha <= 1, "HoltForecaster: alpha must be in (0, 1], got \(alpha)")
        precondition(beta >= 0 && beta <= 1, "HoltForecaster: beta must be in [0, 1], got \(beta)")
        precondition(phi > 0 && phi <= 1, "HoltForecaster: phi must be in (0, 1], got \(phi)")
        self.alpha = alpha
        self.beta = beta
        self.phi = phi
    }

    /// Folds in the next observation (allocation-free).
    public mutating func observe(_ x: Double) {
        checkObservation(x, "HoltForecaster")
        switch observationCount {
        case 0:
            level = x
            trend = 0
        case 1:
            trend = x - level
            level = x
        default:
            let previous = level
            level = alpha * x + (1 - alpha) * (previous + phi * trend)
            trend = beta * (level - previous) + (1 - beta) * phi * trend
        }
        observationCount += 1
    }

    /// `level + (phi + ... + phi^h) * trend` for `h >= 1`.
    public func forecast(horizon h: Int) -> Double {
        checkHorizon(h, "HoltForecaster")
        return level + Self.dampedSteps(phi: phi, h: h) * trend
    }

    /// `phi + phi^2 + ... + phi^h` (`h` when `phi == 1`).
    static func dampedSteps(phi: Double, h: Int) -> Double {
        if phi == 1 { return Double(h) }
        return phi * (1 - pow(phi, Double(h))) / (1 - phi)
    }

    /// Writes the forecasts for horizons `1...output.count` into `output`.
    public func forecastPath(into output: UnsafeMutableBufferPointer<Double>) {
        var steps = 0.0, power = 1.0
        for i in output.indices {
            power *= phi
            steps += power
            output[i] = level + steps * trend
        }
    }

    /// Writes the forecasts for horizons `1...h` into `output[0..<h]`.
    /// - Precondition: `h >= 1` and `output.count >= h`.
    public func forecastPath(horizon h: Int, into output: inout [Double]) {
        precondition(h >= 1 && output.count >= h, "HoltForecaster.forecastPath: need h >= 1 and output.count >= h (h = \(h), output.count = \(output.count))")
        output.withUnsafeMutableBufferPointer { forecastPath(into: UnsafeMutableBufferPointer(rebasing: $0[0..<h])) }
    }

    /// Forgets every observation.
    public mutating func reset() { level = 0; trend = 0; observationCount = 0 }
}

// MARK: - Holt-Winters

/// Additive Holt-Winters (triple exponential smoothing; Holt 1957, Winters 1960): a level, an
/// additive trend and `period` additive seasonal offsets that sum to about zero.
///
///     level_t  = alpha * (x_t - season_{t-m}) + (1 - alpha) * (level_{t-1} + trend_{t-1})
///     trend_t  = beta * (level_t - level_{t-1}) + (1 - beta) * trend_{t-1}
///     season_t = gamma * (x_t - level_t) + (1 - gamma) * season_{t-m}
///     forecast(h) = level_t + h * trend_t + season_{t - m + 1 + (h - 1) mod m}
///
/// (`m = period`; the seasonal update uses the new level, as in Winters' paper and the NIST
/// handbook; Hyndman & Athanasopoulos use `level_{t-1} + trend_{t-1}` instead.)
///
/// Initialisation from the first two periods (`2 * period` observations), with `A_1`, `A_2`
/// the means of period 1 and 2: `trend = (A_2 - A_1) / m`; each seasonal offset is the mean
/// over the two periods of the observation minus its period mean minus the within-period
/// trend, `x - A_k - (i - (m - 1) / 2) * trend` for phase `i` (so the offsets sum to exactly
/// zero); `level = A_2 + trend * (m - 1) / 2` (the de-seasonalised level at the last
/// observation). A noise-free "line plus fixed season" series is thus recovered exactly.
/// Before two periods have been seen the forecaster falls back to a ``HoltForecaster`` with
/// the same `alpha` and `beta`, fed the same observations.
///
/// `init` allocates the seasonal offsets and a `2 * period` warm-up buffer; `observe` and
/// `forecast` allocate nothing.
public struct HoltWintersForecaster: Sendable, Equatable {
    /// Level smoothing weight, in (0, 1].
    public let alpha: Double
    /// Trend smoothing weight, in [0, 1].
    public let beta: Double
    /// Seasonal smoothing weight, in [0, 1].
    public let gamma: Double
    /// Season length in steps (e.g. 24 for a daily season at hourly steps), >= 2.
    public let period: Int
    /// The de-seasonalised level; meaningful once ``isSeasonal``.
    public private(set) var level: Double = 0
    /// The trend per step; meaningful once ``isSeasonal``.
    public private(set) var trend: Double = 0
    /// Seasonal offsets indexed by phase `t mod period` (t = 0-based observation index).
    public private(set) var seasonal: [Double]
    /// Observations seen so far.
    public private(set) var observationCount = 0
    /// The fallback used before two full periods have been observed.
    public private(set) var warmUp: HoltForecaster
    private var warmUpBuffer: [Double]

    /// - Precondition: `0 < alpha <= 1`, `beta` and `gamma` in [0, 1], `period >= 2`.
    public init(alpha: Double, beta: Double, gamma: Double, period: Int) {
        precondition(alpha > 0 && alpha <= 1, "HoltWintersForecaster: alpha must be in (0, 1], got \(alpha)")
        precondition(beta >= 0 && beta <= 1, "HoltWintersForecaster: beta must be in [0, 1], got \(beta)")
        precondition(gamma >= 0 && gamma <= 1, "HoltWintersForecaster: gamma must be in [0, 1], got \(gamma)")
        precondition(period >= 2, "HoltWintersForecaster: period must be >= 2, got \(period)")
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.period = period
        self.seasonal = Array(repeating: 0, count: period)
        self.warmUpBuffer = Array(repeating: 0, count: 2 * period)
        self.warmUp = HoltForecaster(alpha: alpha, beta: beta)
    }

    /// Whether two full periods have been seen (the seasonal recurrences are active).
    public var isSeasonal: Bool { observationCount >= 2 * period }

    /// Folds in the next observation (allocation-free).
    public mutating func observe(_ x: Double) {
        checkObservation(x, "HoltWintersForecaster")
        let t = observationCount
        let m = period
        if t < 2 * m {
            warmUp.observe(x)
            warmUpBuffer[t] = x
            observationCount += 1
            if observationCount == 2 * m { initialiseFromWarmUp() }
            return
        }
        let phase = t % m
        let oldSeason = seasonal[phase]
        let previous = level
        level = alpha * (x - oldSeason) + (1 - alpha) * (previous + trend)
        trend = beta * (level - previous) + (1 - beta) * trend
        seasonal[phase] = gamma * (x - level) + (1 - gamma) * oldSeason
        observationCount += 1
    }

    private mutating func initialiseFromWarmUp() {
        let m = period
        var a1 = 0.0, a2 = 0.0
        for i in 0..<m {
            a1 += warmUpBuffer[i]
            a2 += warmUpBuffer[m + i]
        }
        a1 /= Double(m)
        a2 /= Double(m)
        let b = (a2 - a1) / Double(m)
        let centre = Double(m - 1) / 2
        for i in 0..<m {
            let drift = (Double(i) - centre) * b
            seasonal[i] = 0.5 * ((warmUpBuffer[i] - a1 - drift) + (warmUpBuffer[m + i] - a2 - drift))
        }
        trend = b
        level = a2 + b * centre
    }

    /// The forecast `h >= 1` steps ahead (the Holt fallback before two periods).
    public func forecast(horizon h: Int) -> Double {
        checkHorizon(h, "HoltWintersForecaster")
        guard isSeasonal else { return warmUp.forecast(horizon: h) }
        let phase = (observationCount + h - 1) % period
        return level + Double(h) * trend + seasonal[phase]
    }

    /// Writes the forecasts for horizons `1...output.count` into `output`.
    public func forecastPath(into output: UnsafeMutableBufferPointer<Double>) {
        guard isSeasonal else { return warmUp.forecastPath(into: output) }
        var phase = observationCount % period
        for i in output.indices {
            output[i] = level + Double(i + 1) * trend + seasonal[phase]
            phase += 1
            if phase == period { phase = 0 }
        }
    }

    /// Writes the forecasts for horizons `1...h` into `output[0..<h]`.
    /// - Precondition: `h >= 1` and `output.count >= h`.
    public func forecastPath(horizon h: Int, into output: inout [Double]) {
        precondition(h >= 1 && output.count >= h, "HoltWintersForecaster.forecastPath: need h >= 1 and output.count >= h (h = \(h), output.count = \(output.count))")
        output.withUnsafeMutableBufferPointer { forecastPath(into: UnsafeMutableBufferPointer(rebasing: $0[0..<h])) }
    }

    /// Forgets every observation (keeps the allocated buffers).
    public mutating func reset() {
        level = 0; trend = 0; observationCount = 0
        warmUp.reset()
        for i in seasonal.indices { seasonal[i] = 0 }
        for i in warmUpBuffer.indices { warmUpBuffer[i] = 0 }
    }
}

// MARK: - RLS autoregression

/// An autoregressive model with intercept, AR(p), fitted online by recursive least squares
/// with exponential forgetting (see e.g. Ljung & Söderström 1983, or Haykin, *Adaptive Filter
/// Theory*, ch. 10):
///
///     x_t = c + a_1 x_{t-1} + ... + a_p x_{t-p} + e_t
///
/// With regressor `u = [1, x_{t-1}, ..., x_{t-p}]` and coefficients `theta = [c, a_1...a_p]`,
/// each observation (once `p` earlier ones exist) updates
///
///     k = P u / (lambda + u' P u),  theta += k (x_t - theta' u),  P = (P - k u' P) / lambda
///
/// which minimises `sum_s lambda^(t-s) (x_s - theta' u_s)^2 + lambda^t delta^-1 |theta|^2`
/// (`P_0 = initialCovariance * I = delta^-1 I`). `lambda = 1` is ordinary least squares over the
/// whole past; `lambda < 1` forgets with memory about `1 / (1 - lambda)` steps, tracking drift.
/// Multi-step forecasts iterate the fitted recursion, feeding forecasts back as inputs; they are
/// only as stable as the fitted polynomial (no stationarity is enforced).
///
/// The fit is the toolkit's one ``RecursiveLeastSquares`` over the regressor `u`, so it shares
/// its anti-windup: with `lambda < 1` and a series that stops varying (no excitation), a
/// coordinate's variance stops growing at `initialCovariance` instead of growing like
/// `lambda^-t`, and the next change does not move the coefficients abruptly.
///
/// Until the first update (fewer than `p + 1` observations) the forecast is the last
/// observation. `init` allocates `O(p^2)` doubles; `observe` and `forecast` allocate nothing
/// (`forecast` uses a stack scratch of `p` doubles).
public struct RLSForecaster: Sendable, Equatable {
    /// Autoregressive order p >= 1.
    public let order: Int
    /// Observations seen so far.
    public private(set) var observationCount = 0
    /// The fit of `theta` over `u = [1, x_{t-1}, ..., x_{t-p}]`.
    private var fit: RecursiveLeastSquares
    /// The last `p` observations (a ring; the next one goes at `head`), then the regressor
    /// scratch `u` (`p + 1` entries).
    private var storage: [Double]
    /// Ring position where the next observation goes.
    private var head = 0

    /// - Parameters:
    ///   - order: AR order `p >= 1`.
    ///   - forgetting: `lambda` in (0, 1].
    ///   - initialCovariance: `delta^-1 > 0`, the prior variance of each coefficient (large =
    ///     weak prior, the classic choice is 100 to 10^6 times the signal variance).
    public init(order: Int, forgetting: Double, initialCovariance: Double = 1e4) {
        precondition(order >= 1, "RLSForecaster: order must be >= 1, got \(order)")
        precondition(forgetting > 0 && forgetting <= 1, "RLSForecaster: forgetting must be in (0, 1], got \(forgetting)")
        precondition(initialCovariance > 0 && initialCovariance.isFinite,
                     "RLSForecaster: initialCovariance must be positive and finite, got \(initialCovariance)")
        self.order = order
        fit = RecursiveLeastSquares(dimension: order + 1, forgetting: forgetting, delta: initialCovariance)
        storage = Array(repeating: 0, count: 2 * order + 1)
    }

    /// Forgetting factor lambda, in (0, 1].
    public var forgetting: Double { fit.forgetting }

    /// The fitted coefficients `[c, a_1, ..., a_p]`.
    public var coefficients: [Double] { fit.coefficients }

    /// The last observation (0 before any).
    public var lastObservation: Double {
        guard observationCount > 0 else { return 0 }
        let p = order
        return storage[(head + p - 1) % p]
    }

    /// Folds in the next observation: one RLS update once `p` earlier observations exist,
    /// then pushes `x` into the history (allocation-free, `O(p^2)`).
    public mutating func observe(_ x: Double) {
        checkObservation(x, "RLSForecaster")
        let p = order, h = head
        let ready = observationCount >= p
        storage.withUnsafeMutableBufferPointer { s in
            if ready {
                // u = [1, x_{t-1}, ..., x_{t-p}]; history[(head - i) mod p] = x_{t-i} for i >= 1.
                s[p] = 1
                for i in 1...p { s[p + i] = s[(h - i + p) % p] }
                fit.update(features: UnsafeBufferPointer(start: s.baseAddress! + p, count: p + 1), target: x)
            }
            s[h] = x
        }
        head = h + 1 == p ? 0 : h + 1
        observationCount += 1
    }

    /// The forecast `h >= 1` steps ahead, iterating the fitted recursion.
    public func forecast(horizon h: Int) -> Double {
        checkHorizon(h, "RLSForecaster")
        var result = 0.0
        iterate(steps: h) { _, value in result = value }
        return result
    }

    /// Writes the forecasts for horizons `1...output.count` into `output` (one pass).
    public func forecastPath(into output: UnsafeMutableBufferPointer<Double>) {
        guard !output.isEmpty else { return }
        iterate(steps: output.count) { i, value in output[i] = value }
    }

    /// Writes the forecasts for horizons `1...h` into `output[0..<h]`.
    /// - Precondition: `h >= 1` and `output.count >= h`.
    public func forecastPath(horizon h: Int, into output: inout [Double]) {
        precondition(h >= 1 && output.count >= h, "RLSForecaster.forecastPath: need h >= 1 and output.count >= h (h = \(h), output.count = \(output.count))")
        output.withUnsafeMutableBufferPointer { forecastPath(into: UnsafeMutableBufferPointer(rebasing: $0[0..<h])) }
    }

    private func iterate(steps: Int, _ emit: (Int, Double) -> Void) {
        let p = order
        guard observationCount > p else {
            let last = lastObservation
            for i in 0..<steps { emit(i, last) }
            return
        }
        fit.coefficients.withUnsafeBufferPointer { theta in
            storage.withUnsafeBufferPointer { history in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: p) { ring in
                    // ring[(r - 1 - j) mod p] = the value j + 1 steps before the one being forecast.
                    for j in 0..<p { ring[j] = history[j] }
                    var r = head
                    for i in 0..<steps {
                        var value = theta[0]
                        for j in 1...p { value += theta[j] * ring[(r - j + p) % p] }
                        emit(i, value)
                        ring[r] = value
                        r += 1
                        if r == p { r = 0 }
                    }
                }
            }
        }
    }
}

// MARK: - Forecast error

/// Accuracy of point forecasts: mean absolute error, mean absolute percentage error and root
/// mean squared error, accumulated pair by pair (allocation-free).
///
/// MAPE is a *fraction* (0.05 = 5 %), averaged over the pairs whose actual value is nonzero
/// (``mapeCount`` of them); it is `nan` when there are none. MAE and RMSE are in observation
/// units and are `nan` before the first pair.
public struct ForecastError: Sendable, Equatable {
    /// Pairs recorded.
    public private(set) var count = 0
    /// Pairs with a nonzero actual value (those that enter MAPE).
    public private(set) var mapeCount = 0
    private var absoluteSum = 0.0
    private var squaredSum = 0.0
    private var relativeSum = 0.0

    public init() {}

    /// Records one forecast and the value that materialised.
    public mutating func record(forecast: Double, actual: Double) {
        let e = actual - forecast
        count += 1
        absoluteSum += abs(e)
        squaredSum += e * e
        if actual != 0 {
            mapeCount += 1
            relativeSum += abs(e / actual)
        }
    }

    /// Mean absolute error.
    public var mae: Double { count == 0 ? .nan : absoluteSum / Double(count) }
    /// Mean absolute percentage error, as a fraction, over nonzero actual values.
    public var mape: Double { mapeCount == 0 ? .nan : relativeSum / Double(mapeCount) }
    /// Root mean squared error.
    public var rmse: Double { count == 0 ? .nan : (squaredSum / Double(count)).squareRoot() }

    /// Rolling-origin evaluation of a forecaster over `series` at horizon `h`: the forecaster
    /// observes `series[0...i]`, then (if `i + 1 >= warmUp`) its forecast `h` steps ahead is
    /// scored against `series[i + h]`, for every `i` with `i + h < series.count`.
    ///
    /// The forecaster is passed by value and driven through the two closures, so any type
    /// with `observe`/`forecast` works without a shared protocol:
    ///
    ///     ForecastError.rolling(EWMAForecaster(alpha: 0.3), series: s, horizon: 2,
    ///                           observe: { $0.observe($1) }, forecast: { $0.forecast(horizon: $1) })
    ///
    /// - Precondition: `h >= 1`, `warmUp >= 0`.
    public static func rolling<F>(
        _ forecaster: F, series: [Double], horizon h: Int, warmUp: Int = 1,
        observe: (inout F, Double) -> Void, forecast: (F, Int) -> Double
    ) -> ForecastError {
        precondition(h >= 1, "ForecastError.rolling: horizon h must be >= 1, got \(h)")
        precondition(warmUp >= 0, "ForecastError.rolling: warmUp must be >= 0, got \(warmUp)")
        var f = forecaster
        var result = ForecastError()
        for i in series.indices {
            observe(&f, series[i])
            if i + 1 >= warmUp && i + h < series.count {
                result.record(forecast: forecast(f, h), actual: series[i + h])
            }
        }
        return result
    }
}
