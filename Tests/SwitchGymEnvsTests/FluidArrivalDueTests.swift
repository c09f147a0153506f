import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// Each query of a fluid cohort is due its stream's deadline after its own arrival, not after
/// its sub-bin's midpoint: a cohort's queries arrive spread over the sub-bin, are served in the
/// order they arrived, and cannot start before they arrive
/// (``CohortRing/Slots/memberDue(slot:left:)``, ``PartCharges``).
///
/// One device whose variant answers 1,600 queries/s under a 100 ms deadline (batches of 32 in
/// 20 ms), 10 s intervals (1 s sub-bins, ten times the deadline), and a steady stream at 80%
/// of that rate. The device keeps up: each query starts soon after it arrives, and nearly all are
/// on time in the discrete-event fidelity. A single due time per cohort (its sub-bin's midpoint
/// plus the deadline) would count the last 27.5% of each sub-bin late: the device reaches
/// them after `0.8 × 0.725 s`, past that due time, although each of them arrived only just before.
@Suite struct FluidArrivalDueTests {
    func scenario() -> ServingScenario {
        DESFixtures.scenario(variants: [DESFixtures.variant("a")], interval: 10)
    }

    @Test func aDeviceThatKeepsUpAnswersOnTimeInBothFidelities() throws {
        let sc = scenario()
        let rate = sc.capacityPerInterval(variant: 0, stream: 0)
        #expect(abs(rate - 16_000) < 1e-9)
        let arrivals = DESFixtures.constant(sc, perInterval: 0.8 * rate, intervals: 6)
        let model = try ServingModel(scenario: sc, arrivals: arrivals)
        #expect(model.queueing == .subinterval && model.subBins == 10)
        var fluid = FluidServingEnv(model: model)
        fluid.resetState(seed: 0)
        var des = DiscreteEventServingEnv(model: try DiscreteEventModel(scenario: sc, arrivals: arrivals))
        des.resetState(seed: 0)
        var f = (served: 0.0, onTime: 0.0), d = (served: 0.0, onTime: 0.0)
        for _ in 0..<6 {
            let a = try fluid.step([0]).info
            _ = des.step(assignment: [0])
            f.served += a.served; f.onTime += a.servedOnTime
            d.served += Double(des.last.served); d.onTime += Double(des.last.servedOnTime)
        }
        // Everything is answered, and on time: at least 99% in the fluid step (the midpoint rule
        // gave 72.5%), and the discrete-event fidelity agrees within its queueing at 80% load.
        #expect(f.served > 0.999 * 6 * 0.8 * rate)
        #expect(f.onTime >= 0.99 * f.served, "fluid: \(f.onTime) on time of \(f.served)")
        #expect(d.onTime >= 0.95 * d.served, "discrete-event: \(d.onTime) on time of \(d.served)")
        #expect(abs(f.onTime - d.onTime) <= 0.05 * d.onTime, "fluid \(f.onTime), discrete-event \(d.onTime)")
    }

    /// Overloaded (twice the rate), the queue grows through each interval: a query arriving
    /// at `a` starts when the device has worked through everything before it. The fluid step
    /// serves the cohorts in arrival order; its first sub-bin answers on time those whose wait,
    /// `a·(2 − 1)`, is within the deadline's slack (`100 − 20 ms`): 8% of the sub-bin. Later
    /// sub-bins start behind a backlog more than a deadline long and answer nothing on time.
    @Test func anOverloadedDeviceAnswersOnTimeOnlyWhatArrivedBeforeItsQueueGrew() throws {
        let sc = scenario()
        let rate = sc.capacityPerInterval(variant: 0, stream: 0)
        let arrivals = DESFixtures.constant(sc, perInterval: 2 * rate, intervals: 1)
        let model = try ServingModel(scenario: sc, arrivals: arrivals)
        var fluid = FluidServingEnv(model: model)
        fluid.resetState(seed: 0)
        let info = try fluid.step([0]).info
        #expect(abs(info.served - rate) <= 1e-9 * rate)
        // Sub-bin 0: 3,200 queries arrive in 1 s, 1,600 are served in it; of those, the ones
        // that waited at most 80 ms arrived in its first 80 ms: 256 queries.
        let expected = 2 * rate / 10 * 0.08
        #expect(abs(info.servedOnTime - expected) <= 1e-6 * expected, "on time \(info.servedOnTime), expected \(expected)")
        // The discrete-event fidelity (Poisson arrivals, batches sized to the head's slack) answers
        // about as many on time.
        var des = DiscreteEventServingEnv(model: try DiscreteEventModel(scenario: sc, arrivals: arrivals))
        des.resetState(seed: 0)
        _ = des.step(assignment: [0])
        let desOnTime = Double(des.last.servedOnTime)
        #expect(abs(desOnTime - expected) <= 0.25 * expected, "discrete-event \(desOnTime), fluid \(expected)")
    }

    /// A state saved mid-episode restores the cohorts' arrivals and spreads: the resumed env
    /// steps exactly as the one that kept running.
    @Test func aRestoredStateKeepsEachCohortsArrivals() throws {
        let sc = scenario()
        let rate = sc.capacityPerInterval(variant: 0, stream: 0)
        // Just over capacity in interval 0, so a short backlog (half a deadline of work) is
        // left at its end, arrived in its last moments; then half the capacity.
        let counts = [1.005 * rate] + [Double](repeating: 0.5 * rate, count: 7)
        let model = try ServingModel(scenario: sc, arrivals: ScenarioArrivals(intervals: 8, streams: 1, counts: counts))
        var a = FluidServingEnv(model: model)
        a.resetState(seed: 0)
        _ = try a.step([0])
        #expect(a.queues.count[0] > 0)
        let saved = a.saveState()
        #expect(saved.doubles["sub_last_due"]?.count == a.queues.slotCount)
        #expect(saved.doubles["sub_span"]?.contains { $0 > 0 } == true)
        #expect(saved.doubles["sub_total"]?.count == a.queues.slotCount)
        var b = FluidServingEnv(model: model)
        try b.loadState(saved)
        for _ in 0..<3 {
            let x = try a.step([0]).info, y = try b.step([0]).info
            #expect(x == y)
        }
        // Without the spreads (a state saved before they existed), the backlog counts as due at
        // its cohort's midpoint plus the deadline, long past: none of it is on time. With them,
        // its last queries still are.
        var old = saved
        old.doubles["sub_last_due"] = nil
        old.doubles["sub_span"] = nil
        old.doubles["sub_total"] = nil
        var c = FluidServingEnv(model: model)
        try c.loadState(old)
        var d = FluidServingEnv(model: model)
        try d.loadState(saved)
        let (x, y) = (try c.step([0]).info, try d.step([0]).info)
        #expect(x.servedOnTime < y.servedOnTime, "without spreads \(x.servedOnTime), with \(y.servedOnTime)")
        // A spread that is not a number of seconds is refused, naming the entry.
        var bad = saved
        bad.doubles["sub_span"]![0] = -1
        #expect(throws: EnvError.self) { try c.loadState(bad) }
    }
}
