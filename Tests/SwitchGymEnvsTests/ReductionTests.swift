import Foundation
import Testing
import SwitchGymCore
import SwitchGymTestSupport
@testable import SwitchGymEnvs

/// The reduction ServingScenario -> EmploymentSearch: both views of one scenario, stepped with
/// the same actions, give the same rewards step by step, and a switch happens exactly when the
/// chosen job differs from the held one.
@Suite struct ReductionTests {
    /// Steps both views with `actions` (one variant per device each) and compares everything comparable.
    func compare(_ sc: ServingScenario, _ arrivals: ScenarioArrivals, actions: [[Int]], seed: UInt64) throws {
        var fluid = try FluidServingEnv(scenario: sc, arrivals: arrivals, randomStart: true, seed: seed, queueing: .interval)
        var es = try ScenarioReduction.employmentSearch(sc, arrivals: arrivals, randomStart: true, seed: seed)
        let r0 = try fluid.reset(seed: seed)
        let e0 = try es.reset(seed: seed)
        #expect(fluid.start == es.start)
        #expect(r0.observation.count == e0.observation.count)
        var switches = 0, served = 0.0, late = 0.0
        defer {
            #expect(switches > 0, "the action stream should switch at least once")
            #expect(served > 0)
            #expect(late > 0, "the arrivals should overload the fleet at times")
        }
        for (t, a) in actions.enumerated() {
            let held = fluid.variants
            let chosen = a
            let f = try fluid.step(a)
            let e = try es.step(chosen)
            let tol = 1e-9 * max(1, abs(e.reward))
            #expect(abs(f.reward - e.reward) <= tol, "step \(t): serving reward \(f.reward) vs employment reward \(e.reward)")
            #expect(abs(f.info.served - e.info.paid) <= 1e-9 * max(1, e.info.paid), "step \(t): served vs paid")
            #expect(abs(f.info.servedOnTime - e.info.paidOnTime) <= 1e-9 * max(1, e.info.paidOnTime))
            #expect(abs(f.info.dropped - e.info.writtenOff) <= 1e-9 * max(1, e.info.writtenOff))
            #expect(abs(f.info.queued - e.info.outstanding) <= 1e-9 * max(1, e.info.outstanding))
            #expect(f.truncated == e.truncated && f.terminated == e.terminated)
            // Switch iff the chosen (feasible) job differs from the held one.
            var expected = 0
            for d in sc.fleet.indices where sc.fleet[d].canHold(sc.variants[chosen[d]]) && chosen[d] != held[d] { expected += 1 }
            #expect(f.info.switches == expected, "step \(t): \(f.info.switches) switches, expected \(expected)")
            #expect(e.info.switches == expected)
            #expect(f.info.infeasibleChoices == e.info.infeasibleChoices)
            #expect(fluid.variants == es.jobs)
            for (x, y) in zip(f.observation, e.observation) {
                #expect(abs(x - y) <= 1e-4 * max(1, abs(y)), "step \(t): observations differ: \(x) vs \(y)")
            }
            try fluid.checkInvariants()
            switches += f.info.switches; served += f.info.served; late += f.info.latenessPenalty
            if f.truncated { break }
        }
    }

    /// Random actions with a bias to stay, so both long holds and frequent switches occur.
    func actions(_ sc: ServingScenario, count: Int, seed: UInt64) -> [[Int]] {
        var g = SeededGenerator(seed: seed)
        var a = (sc.initialVariants)
        return (0..<count).map { _ in
            if g.nextUnit() < 0.4 { a = sc.randomAssignment(using: &g) }
            return a
        }
    }

    @Test(arguments: 0..<25)
    func randomScenariosAgreeStepByStep(seed: Int) throws {
        let sc = ScenarioFixtures.randomScenario(seed: UInt64(seed))
        try sc.validate()
        let mean = sc.variants.indices.map { sc.capacityPerInterval(variant: $0, stream: 0) }.max()! * Double(sc.fleet.count) / Double(sc.streams.count)
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 120, streams: sc.streams.count, mean: mean * 0.6, seed: UInt64(seed))
        try compare(sc, arrivals, actions: actions(sc, count: 40, seed: UInt64(seed) + 99), seed: UInt64(seed))
    }

    /// Every shipped scenario, the token-level LLM ones included: their fluid rates follow each
    /// interval's token work (``TokenWork``), which EmploymentSearch pays as its salary schedule.
    @Test func shippedScenariosAgreeStepByStep() throws {
        let specs = ScenarioFixtures.shippedSpecs
        #expect(specs.count >= 2)
        var tokenLevel = 0
        for path in specs {
            let sc = try ScenarioSpec.load(path: path)
            let arrivals = try sc.loadArrivals()
            if sc.variants.contains(where: { $0.llm != nil }) {
                tokenLevel += 1
                #expect(ScenarioReduction.configuration(sc, arrivals: arrivals).salarySchedule != nil, "\(path)")
            }
            try compare(sc, arrivals, actions: actions(sc, count: 300, seed: 5), seed: 3)
        }
        #expect(tokenLevel >= 1)
    }

    @Test func stayingNeverSwitchesAndAChangeLoadsForTheLoadDelay() throws {
        let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/llm-zoo.toml")
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 50, streams: sc.streams.count, mean: 100, seed: 1)
        var env = try FluidServingEnv(scenario: sc, arrivals: arrivals)
        _ = try env.reset(seed: 0)
        let stay = (sc.initialVariants)
        for _ in 0..<3 {
            let r = try env.step(stay)
            #expect(r.info.switches == 0)
            #expect(env.pending.allSatisfy { $0 == 0 })
        }
        var target = sc.initialVariants
        let big = sc.variants.firstIndex { $0.name == "llama3-70b-fp8" }!
        target[1] = big
        let r = try env.step((target))
        #expect(r.info.switches == 1)
        // 20.7 s of load in a 30 s interval: the device served for the last 9.3 s only, and
        // its pending load is done after the step.
        #expect(env.pending[1] == 0)
        #expect(env.variants[1] == big)
        let r2 = try env.step((target))
        #expect(r2.info.switches == 0)
    }
}
