import Testing
@testable import SwitchGymAgents

/// The per-step paths (observe, forecast, headroom, McCall decisions) must not allocate.
///
/// This target does not depend on SwitchGymTestSupport (and Package.swift is not ours to
/// change), but the test executable links it for the other test targets, and with it the
/// `CAllocationCounter` malloc interposer, whose C entry points are defined on every platform
/// (counting is supported on Linux/glibc only). They are not in the dynamic symbol table, so
/// they are bound at link time with `@_silgen_name` (no arguments, integer or void results:
/// the Swift and C calling conventions agree). If SwitchGymAgentsTests gains a dependency on
/// SwitchGymTestSupport, replace this with `AllocationCounter.count`.
@_silgen_name("switchgym_allocation_counting_supported") private func countingSupported() -> Int32
@_silgen_name("switchgym_allocation_counting_start") private func countingStart()
@_silgen_name("switchgym_allocation_counting_stop") private func countingStop() -> Int

private enum Allocations {
    /// Allocations made by `body` on this thread, or `nil` when unsupported.
    static func count(_ body: () -> Void) -> Int? {
        guard countingSupported() != 0 else { return nil }
        countingStart()
        body()
        return countingStop()
    }
}

@Suite struct BaselineAllocationTests {
    @Test func perStepPathsDoNotAllocate() {
        var ewma = EWMAForecaster(alpha: 0.3)
        var holt = HoltForecaster(alpha: 0.3, beta: 0.1, phi: 0.95)
        var hw = HoltWintersForecaster(alpha: 0.3, beta: 0.05, gamma: 0.2, period: 12)
        var rls = RLSForecaster(order: 4, forgetting: 0.995)
        var window = ForecastErrorWindow(capacity: 64)
        var path = [Double](repeating: 0, count: 16)
        var scratch = [Double](repeating: 0, count: 64)
        scratch.removeAll(keepingCapacity: true)
        let errors = (0..<64).map { Double($0 % 7) - 3 }
        var policy = McCallSwitchingPolicy(discount: 0.95, capacity: 64)
        let current = McCallHeld(configuration: 0, rewards: .uniform([9, 10, 11]))
        let offers = (1...4).map {
            McCallOffer(configuration: $0, rewards: .uniform([8, 10, 12, 14, Double($0)]), switchCost: 2, delay: 1.5)
        }
        _ = policy.evaluate(current: current, offers: offers)   // grow the scratch once
        var sink = 0.0
        let count = Allocations.count {
            for t in 0..<300 {
                let x = 100 + Double(t % 12) + 0.01 * Double(t)
                let f = hw.forecast(horizon: 1)
                window.record(forecast: f, actual: x)
                ewma.observe(x); holt.observe(x); hw.observe(x); rls.observe(x)
                sink += ewma.forecast(horizon: 3) + holt.forecast(horizon: 3) + hw.forecast(horizon: 3)
                sink += rls.forecast(horizon: 3)
                hw.forecastPath(horizon: 16, into: &path)
                rls.forecastPath(horizon: 16, into: &path)
                holt.forecastPath(horizon: 16, into: &path)
                sink += window.headroomRate(forecast: f, quantile: 0.9)
                sink += headroomRate(forecast: f, recentErrors: errors, quantile: 0.95, scratch: &scratch)
                if t % 10 == 0 { sink += Double(policy.decide(current: current, offers: offers)) }
            }
        }
        #expect(sink.isFinite)
        guard let count else { return }   // counting unsupported here
        // The harness does see allocations.
        var probe: [Double] = []
        let probeCount = Allocations.count { probe = [Double](repeating: 1, count: 100 + (sink < 0 ? 1 : 0)) }
        #expect(probe.count >= 100 && (probeCount ?? 0) >= 1, "probe counted \(String(describing: probeCount))")
        #expect(count == 0, "per-step paths allocated \(count) times")
    }
}
