import Testing
import SwitchGymCore
@testable import SwitchGymAgents

@Suite struct BaselineHeadroomTests {
    /// Type-7 quantile by full sort, the reference.
    private func reference(_ values: [Double], _ q: Double) -> Double {
        let x = values.sorted()
        let h = Double(x.count - 1) * q
        let k = Int(h.rounded(.down))
        return k + 1 < x.count ? x[k] + (h - Double(k)) * (x[k + 1] - x[k]) : x[k]
    }

    @Test func headroomAddsTheErrorQuantile() {
        let errors: [Double] = [3, -1, 7, 0, 5, -2, 1, 6, 2, 4]   // sorted: -2...7
        // q = 0.9: h = 8.1 -> 6 + 0.1 * (7 - 6) = 6.1.
        #expect(abs(headroomRate(forecast: 10, recentErrors: errors, quantile: 0.9) - 16.1) < 1e-12)
        // q = 0.5: h = 4.5 -> 2 + 0.5 * (3 - 2) = 2.5.
        #expect(abs(headroomRate(forecast: 10, recentErrors: errors, quantile: 0.5) - 12.5) < 1e-12)
        #expect(headroomRate(forecast: 10, recentErrors: errors, quantile: 1) == 17)
        // Never below the forecast (no downward correction), never below zero, none when empty.
        #expect(headroomRate(forecast: 10, recentErrors: errors, quantile: 0) == 10)
        #expect(headroomRate(forecast: -3, recentErrors: [1, 2], quantile: 0.5) == 0)
        #expect(headroomRate(forecast: 4, recentErrors: [], quantile: 0.9) == 4)
    }

    @Test func quickselectQuantileMatchesSortedReference() {
        var g = SeededGenerator(seed: 5)
        var scratch: [Double] = []
        for n in [1, 2, 3, 15, 16, 17, 40, 257] {
            for duplicates in [false, true] {
                let values = (0..<n).map { _ in
                    duplicates ? Double(g.next() % 4) : Sample.normal(using: &g)
                }
                for q in [0, 0.1, 0.25, 0.5, 0.9, 0.95, 0.999, 1] {
                    let expected = 5 + max(0, reference(values, q))
                    let got = headroomRate(forecast: 5, recentErrors: values, quantile: q, scratch: &scratch)
                    #expect(abs(got - expected) < 1e-12, "n \(n) q \(q)")
                }
            }
        }
    }

    @Test func errorWindowKeepsTheMostRecentErrors() {
        var w = ForecastErrorWindow(capacity: 4)
        #expect(w.headroomRate(forecast: 3, quantile: 0.9) == 3)
        // Errors (actual - forecast): 100, 50, then 1, 2, 3, 4; the window keeps 1...4.
        for (f, a) in [(0.0, 100.0), (0, 50), (10, 11), (10, 12), (10, 13), (10, 14)] {
            w.record(forecast: f, actual: a)
        }
        #expect(w.count == 4)
        #expect(w.errorQuantile(1) == 4)
        // q = 0.5 over 1,2,3,4: h = 1.5 -> 2.5.
        #expect(w.headroomRate(forecast: 20, quantile: 0.5) == 22.5)
        // Repeated calls give the same answer (the scratch reordering does not leak).
        #expect(w.headroomRate(forecast: 20, quantile: 0.5) == 22.5)
        w.removeAll()
        #expect(w.count == 0 && w.errorQuantile(0.5) == 0)
    }

    @Test func headroomCoversTheTargetShareOfARandomWalk() {
        // A proactive use: EWMA forecast + 90 % headroom from the last 200 one-step errors should
        // cover the next value about 90 % of the time on a noisy stationary series.
        var g = SeededGenerator(seed: 9)
        var f = EWMAForecaster(alpha: 0.2)
        var w = ForecastErrorWindow(capacity: 200)
        var covered = 0, trials = 0
        for t in 0..<5000 {
            let x = 50 + 5 * Sample.normal(using: &g)
            if t >= 300 {
                trials += 1
                if x <= w.headroomRate(forecast: f.forecast(horizon: 1), quantile: 0.9) { covered += 1 }
            }
            if t > 0 { w.record(forecast: f.forecast(horizon: 1), actual: x) }
            f.observe(x)
        }
        let share = Double(covered) / Double(trials)
        #expect(share > 0.86 && share < 0.94, "coverage \(share)")
    }
}
