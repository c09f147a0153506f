import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymAgents

private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(a), abs(b))
}

@Suite struct BaselineForecastingTests {
    // MARK: Hand-computed recurrences

    @Test func ewmaMatchesHandComputedLevels() {
        var f = EWMAForecaster(alpha: 0.5)
        #expect(f.forecast(horizon: 1) == 0)
        var levels: [Double] = []
        for x in [1.0, 3, 2, 6] { f.observe(x); levels.append(f.level) }
        // level_1 = 1; 0.5*3 + 0.5*1 = 2; 0.5*2 + 0.5*2 = 2; 0.5*6 + 0.5*2 = 4.
        #expect(levels == [1, 2, 2, 4])
        #expect(f.forecast(horizon: 1) == 4 && f.forecast(horizon: 7) == 4)
    }

    @Test func holtMatchesHandComputedRecurrence() {
        var f = HoltForecaster(alpha: 0.5, beta: 0.5)
        f.observe(1)
        #expect(f.level == 1 && f.trend == 0 && f.forecast(horizon: 3) == 1)
        f.observe(3)
        #expect(f.level == 3 && f.trend == 2)
        // x=4: level = .5*4 + .5*(3+2) = 4.5; trend = .5*1.5 + .5*2 = 1.75.
        f.observe(4)
        #expect(close(f.level, 4.5) && close(f.trend, 1.75))
        // x=8: level = 4 + .5*(4.5+1.75) = 7.125; trend = .5*2.625 + .5*1.75 = 2.1875.
        f.observe(8)
        #expect(close(f.level, 7.125) && close(f.trend, 2.1875))
        #expect(close(f.forecast(horizon: 1), 9.3125))
        #expect(close(f.forecast(horizon: 3), 13.6875))
    }

    @Test func dampedHoltMatchesHandComputedRecurrence() {
        var f = HoltForecaster(alpha: 0.5, beta: 0.5, phi: 0.5)
        for x in [1.0, 3, 4, 8] { f.observe(x) }
        // x=4: level = 2 + .5*(3 + .5*2) = 4; trend = .5*1 + .5*.5*2 = 1.
        // x=8: level = 4 + .5*(4 + .5*1) = 6.25; trend = .5*2.25 + .5*.5*1 = 1.375.
        #expect(close(f.level, 6.25) && close(f.trend, 1.375))
        #expect(close(f.forecast(horizon: 2), 6.25 + 0.75 * 1.375))
        // Long horizons level off at level + trend * phi / (1 - phi).
        #expect(close(f.forecast(horizon: 200), 6.25 + 1.375, 1e-9))
    }

    @Test func holtWintersInitialisesFromTwoPeriodsThenFollowsRecurrence() {
        var f = HoltWintersForecaster(alpha: 0.5, beta: 0.5, gamma: 0.5, period: 2)
        var holt = HoltForecaster(alpha: 0.5, beta: 0.5)
        for x in [1.0, 3, 2] {
            f.observe(x); holt.observe(x)
            #expect(!f.isSeasonal)
            #expect(f.forecast(horizon: 2) == holt.forecast(horizon: 2))
        }
        f.observe(6)
        #expect(f.isSeasonal)
        // A1 = 2, A2 = 4, trend = 1; seasonal: phase 0 = mean(1-2+.5, 2-4+.5) = -1,
        // phase 1 = mean(3-2-.5, 6-4-.5) = 1; level = 4 + 1*.5 = 4.5.
        #expect(close(f.trend, 1) && close(f.level, 4.5))
        #expect(close(f.seasonal[0], -1) && close(f.seasonal[1], 1))
        #expect(close(f.forecast(horizon: 1), 4.5))
        #expect(close(f.forecast(horizon: 2), 7.5))
        // x=5 at phase 0: level = .5*(5+1) + .5*(4.5+1) = 5.75; trend = .5*1.25 + .5 = 1.125;
        // season = .5*(5 - 5.75) + .5*(-1) = -0.875.
        f.observe(5)
        #expect(close(f.level, 5.75) && close(f.trend, 1.125) && close(f.seasonal[0], -0.875))
        #expect(close(f.forecast(horizon: 1), 5.75 + 1.125 + 1))
        #expect(close(f.forecast(horizon: 2), 5.75 + 2.25 - 0.875))
    }

    @Test func holtWintersRecoversLinePlusSeasonExactly() {
        let season = [3.0, -1, 4, -2, -4]   // sums to zero
        func x(_ t: Int) -> Double { 7 + 0.25 * Double(t) + season[t % 5] }
        var f = HoltWintersForecaster(alpha: 0.3, beta: 0.2, gamma: 0.4, period: 5)
        for t in 0..<23 { f.observe(x(t)) }
        for h in 1...12 { #expect(close(f.forecast(horizon: h), x(22 + h), 1e-9)) }
    }

    @Test func forecastPathMatchesPointForecasts() {
        var e = EWMAForecaster(alpha: 0.3)
        var h = HoltForecaster(alpha: 0.4, beta: 0.2, phi: 0.9)
        var hw = HoltWintersForecaster(alpha: 0.4, beta: 0.1, gamma: 0.3, period: 4)
        var r = RLSForecaster(order: 3, forgetting: 0.99)
        var g = SeededGenerator(seed: 3)
        var path = Array(repeating: 0.0, count: 9)
        for t in 0..<40 {
            let x = 5 + sin(Double(t)) + g.nextUnit()
            e.observe(x); h.observe(x); hw.observe(x); r.observe(x)
            e.forecastPath(horizon: 9, into: &path)
            for k in 1...9 { #expect(path[k - 1] == e.forecast(horizon: k)) }
            h.forecastPath(horizon: 9, into: &path)
            for k in 1...9 { #expect(close(path[k - 1], h.forecast(horizon: k), 1e-12)) }
            hw.forecastPath(horizon: 9, into: &path)
            for k in 1...9 { #expect(close(path[k - 1], hw.forecast(horizon: k), 1e-12)) }
            r.forecastPath(horizon: 9, into: &path)
            for k in 1...9 { #expect(path[k - 1] == r.forecast(horizon: k)) }
        }
    }

    // MARK: RLS

    @Test func rlsRecoversAR2Coefficients() {
        // x_t = 0.5 + 0.6 x_{t-1} - 0.3 x_{t-2} + e_t, e ~ N(0, 0.1^2): stationary (roots outside
        // the unit circle), mean 0.5 / (1 - 0.6 + 0.3) = 0.714...
        var g = SeededGenerator(seed: 42)
        var f = RLSForecaster(order: 2, forgetting: 1)
        var x1 = 0.0, x2 = 0.0
        for _ in 0..<20000 {
            let x = 0.5 + 0.6 * x1 - 0.3 * x2 + 0.1 * Sample.normal(using: &g)
            f.observe(x)
            x2 = x1; x1 = x
        }
        let theta = f.coefficients
        #expect(abs(theta[0] - 0.5) < 0.03, "intercept \(theta[0])")
        #expect(abs(theta[1] - 0.6) < 0.03, "a1 \(theta[1])")
        #expect(abs(theta[2] + 0.3) < 0.03, "a2 \(theta[2])")
        // Multi-step forecasts iterate the fitted recursion.
        let f1 = theta[0] + theta[1] * x1 + theta[2] * x2
        let f2 = theta[0] + theta[1] * f1 + theta[2] * x1
        let f3 = theta[0] + theta[1] * f2 + theta[2] * f1
        #expect(close(f.forecast(horizon: 1), f1, 1e-12))
        #expect(close(f.forecast(horizon: 2), f2, 1e-12))
        #expect(close(f.forecast(horizon: 3), f3, 1e-12))
    }

    @Test func rlsMatchesBatchLeastSquaresOnAShortSeries() {
        // With a weak prior, RLS (lambda = 1) equals ordinary least squares; here an AR(1) on 6
        // points, solved by hand via the 2x2 normal equations.
        let xs = [1.0, 2, 1.5, 2.5, 2, 3]
        var f = RLSForecaster(order: 1, forgetting: 1, initialCovariance: 1e12)
        for x in xs { f.observe(x) }
        let u = Array(xs.dropLast()), y = Array(xs.dropFirst())
        let n = Double(u.count)
        let su = u.reduce(0, +), sy = y.reduce(0, +)
        let suu = zip(u, u).map(*).reduce(0, +), suy = zip(u, y).map(*).reduce(0, +)
        let a = (n * suy - su * sy) / (n * suu - su * su)
        let c = (sy - a * su) / n
        #expect(abs(f.coefficients[0] - c) < 1e-6 && abs(f.coefficients[1] - a) < 1e-6)
    }

    @Test func rlsFallsBackToLastValueUntilFitted() {
        var f = RLSForecaster(order: 3, forgetting: 0.98)
        #expect(f.forecast(horizon: 1) == 0)
        for x in [4.0, 5, 6] {
            f.observe(x)
            #expect(f.forecast(horizon: 2) == x)
        }
    }

    // MARK: Error summary and comparisons

    @Test func forecastErrorSummaries() {
        var e = ForecastError()
        #expect(e.mae.isNaN && e.rmse.isNaN && e.mape.isNaN)
        for (f, a) in [(1.0, 2.0), (2, 2), (3, 0)] { e.record(forecast: f, actual: a) }
        #expect(close(e.mae, 4.0 / 3))
        #expect(close(e.rmse, (10.0 / 3).squareRoot()))
        #expect(e.mapeCount == 2 && close(e.mape, 0.25))
    }

    @Test func rollingErrorScoresTheForecastMadeHStepsEarlier() {
        // Naive forecaster (EWMA alpha = 1) at h = 2 on 0,1,...,9: each forecast is 2 short.
        let series = (0..<10).map(Double.init)
        let e = ForecastError.rolling(EWMAForecaster(alpha: 1), series: series, horizon: 2,
                                      observe: { $0.observe($1) }, forecast: { $0.forecast(horizon: $1) })
        #expect(e.count == 8 && e.mae == 2 && e.rmse == 2)
        let late = ForecastError.rolling(EWMAForecaster(alpha: 1), series: series, horizon: 2, warmUp: 5,
                                         observe: { $0.observe($1) }, forecast: { $0.forecast(horizon: $1) })
        #expect(late.count == 4)
    }

    @Test func holtWintersBeatsEWMAOnASeasonalSeries() {
        var g = SeededGenerator(seed: 11)
        let series = (0..<480).map { t in
            100 + 0.05 * Double(t) + 30 * sin(2 * Double.pi * Double(t) / 24) + 3 * Sample.normal(using: &g)
        }
        func score<F>(_ f: F, _ observe: @escaping (inout F, Double) -> Void,
                      _ forecast: @escaping (F, Int) -> Double) -> ForecastError {
            ForecastError.rolling(f, series: series, horizon: 6, warmUp: 96, observe: observe, forecast: forecast)
        }
        let hw = score(HoltWintersForecaster(alpha: 0.2, beta: 0.01, gamma: 0.2, period: 24),
                       { $0.observe($1) }, { $0.forecast(horizon: $1) })
        let ewma = score(EWMAForecaster(alpha: 0.5), { $0.observe($1) }, { $0.forecast(horizon: $1) })
        let holt = score(HoltForecaster(alpha: 0.5, beta: 0.2), { $0.observe($1) }, { $0.forecast(horizon: $1) })
        #expect(hw.mae < 0.3 * ewma.mae, "HW \(hw.mae) vs EWMA \(ewma.mae)")
        #expect(hw.rmse < holt.rmse && hw.mape < ewma.mape)
        // Noise sd 3: a good seasonal model's MAE is near 3 * sqrt(2/pi) = 2.4.
        #expect(hw.mae < 4, "HW MAE \(hw.mae)")
    }

    @Test func copiesAreIndependent() {
        var a = HoltWintersForecaster(alpha: 0.5, beta: 0.1, gamma: 0.5, period: 3)
        for x in [1.0, 2, 3, 1, 2, 3, 1] { a.observe(x) }
        var b = a
        b.observe(100)
        #expect(a != b && a.observationCount == 7)
        var r = RLSForecaster(order: 2, forgetting: 1)
        for x in [1.0, 2, 1, 2, 1] { r.observe(x) }
        var s = r
        s.observe(50)
        #expect(r.coefficients != s.coefficients)
    }

    /// One EWMA and one RLS in the toolkit: the forecasters keep their state in
    /// ``EWMA`` and ``RecursiveLeastSquares`` (SwitchGymCore), so feeding those by hand gives
    /// bit-identical levels and coefficients.
    @Test func forecastersAreTheToolkitsEWMAAndRLS() {
        var g = SeededGenerator(seed: 5)
        let series = (0..<200).map { t in 50 + 10 * sin(Double(t) / 5) + Sample.normal(using: &g) }
        var forecaster = EWMAForecaster(alpha: 0.3)
        var ewma = EWMA(dimension: 1, alpha: 0.3)
        var ar = RLSForecaster(order: 3, forgetting: 0.98, initialCovariance: 100)
        var rls = RecursiveLeastSquares(dimension: 4, forgetting: 0.98, delta: 100)
        for (t, x) in series.enumerated() {
            forecaster.observe(x)
            ewma.update([x])
            #expect(forecaster.level == ewma.values[0])
            if t >= 3 { rls.update(features: [1, series[t - 1], series[t - 2], series[t - 3]], target: x) }
            ar.observe(x)
            #expect(ar.coefficients == rls.coefficients)
        }
        let next = rls.predict([1, series[199], series[198], series[197]])
        #expect(ar.forecast(horizon: 1) == next)
    }
}
