import Testing
import SwitchGymCore
import SwitchGymTestSupport
@testable import SwitchGymEnvs

@Suite("Dispatch: simulator and policies")
struct DispatchSimulatorTests {
    /// Always server 0.
    struct FirstServer: DispatchPolicy {
        mutating func choose(queueLengths: UnsafeBufferPointer<Int>, system: DispatchSystem, generator: inout SeededGenerator) -> Int { 0 }
    }

    /// Deterministic service, given arrivals, one server of rate 1: arrivals at 0, 0.5, 3 finish
    /// at 1, 2, 4 → latencies 1, 1.5, 1; the second waited 0.5; busy 3 of 4 seconds.
    @Test func handComputedFCFS() {
        var sim = DispatchSimulator(classes: [ServerClass(serviceRate: 1, accuracy: 0.7)], service: .deterministic)
        var policy = FirstServer()
        let r = sim.run(policy: &policy, arrivals: .times([0, 0.5, 3]), seed: 0)
        #expect(r.jobs == 3)
        #expect(abs(r.meanLatency - 3.5 / 3) < 1e-12)
        #expect(abs(r.meanWaiting - 0.5 / 3) < 1e-12)
        #expect(abs(r.waitingProbability - 1.0 / 3) < 1e-12)
        #expect(abs(r.meanAccuracy - 0.7) < 1e-12)
        #expect(r.utilization == [0.75])
        #expect(r.maxQueueLength == 2)
        // Warm-up drops the first job from the statistics.
        let w = sim.run(policy: &policy, arrivals: .times([0, 0.5, 3]), seed: 0, warmupJobs: 1)
        #expect(w.jobs == 2 && abs(w.meanLatency - 1.25) < 1e-12)
    }

    /// M/M/1 check: mean response time 1 / (μ − λ) = 0.5 s at λ = 8, μ = 10; queues longer than
    /// the initial ring capacity exercise ring growth.
    @Test func mm1MeanResponseTime() {
        var sim = DispatchSimulator(classes: [ServerClass(serviceRate: 10, accuracy: 1)], initialQueueCapacity: 4)
        var policy = FirstServer()
        let r = sim.run(policy: &policy, arrivals: .poisson(rate: 8, count: 200_000), seed: 7, warmupJobs: 5_000)
        #expect(abs(r.meanLatency - 0.5) < 0.03)
        #expect(abs(r.utilization[0] - 0.8) < 0.01)
        #expect(r.maxQueueLength > 4)
    }

    @Test func deterministicGivenSeed() throws {
        let classes = dispatchTestClasses(scale: 4)
        var sim = DispatchSimulator(classes: classes)
        var pop = try #require(POPPolicy(classes: classes, accuracyTarget: 0.76))
        let a = sim.run(policy: &pop, arrivals: .poisson(rate: 150, count: 20_000), seed: 42)
        let b = sim.run(policy: &pop, arrivals: .poisson(rate: 150, count: 20_000), seed: 42)
        var sim2 = DispatchSimulator(classes: classes)
        var pop2 = try #require(POPPolicy(classes: classes, accuracyTarget: 0.76))
        let c = sim2.run(policy: &pop2, arrivals: .poisson(rate: 150, count: 20_000), seed: 42)
        #expect(a == b && a == c)
        let d = sim.run(policy: &pop, arrivals: .poisson(rate: 150, count: 20_000), seed: 43)
        #expect(a != d)
        var rjiq = try #require(RJIQPolicy(classes: classes, arrivalRate: 150, accuracyTarget: 0.76))
        let e = sim.run(policy: &rjiq, arrivals: .poisson(rate: 150, count: 20_000), seed: 42)
        let f = sim.run(policy: &rjiq, arrivals: .poisson(rate: 150, count: 20_000), seed: 42)
        #expect(e == f)
    }

    @Test func simulationLoopDoesNotAllocate() throws {
        guard AllocationCounter.isSupported else { return }
        let classes = dispatchTestClasses(scale: 4)
        var sim = DispatchSimulator(classes: classes)
        var pop = try #require(POPPolicy(classes: classes, accuracyTarget: 0.76))
        var rjiq = try #require(RJIQPolicy(classes: classes, arrivalRate: 200, accuracyTarget: 0.76))
        var jsq = JoinShortestQueuePolicy()
        var rp = RandomProportionalPolicy()
        var most = MostAccurateOnlyPolicy()
        let arrivals = DispatchArrivals.poisson(rate: 200, count: 5_000)
        // Warm the rings and the policies' buffers.
        sim.simulate(policy: &pop, arrivals: arrivals, seed: 1)
        sim.simulate(policy: &rp, arrivals: arrivals, seed: 1)  // builds its table
        sim.simulate(policy: &most, arrivals: arrivals, seed: 1)  // longest queues
        let counts = [
            AllocationCounter.count { sim.simulate(policy: &pop, arrivals: arrivals, seed: 1) },
            AllocationCounter.count { sim.simulate(policy: &rjiq, arrivals: arrivals, seed: 1) },
            AllocationCounter.count { sim.simulate(policy: &jsq, arrivals: arrivals, seed: 1) },
            AllocationCounter.count { sim.simulate(policy: &most, arrivals: arrivals, seed: 1) },
            AllocationCounter.count { sim.simulate(policy: &rp, arrivals: arrivals, seed: 1) },
        ]
        #expect(counts == [0, 0, 0, 0, 0])
    }

    /// The central comparison at 50% of capacity with a* = 0.76 on 60 servers: the LP fills the
    /// medium class; R-JIQ and POP meet the target and stay above (and near) the bound; JSQ and
    /// random-proportional miss the target; most-accurate-only meets it but is unstable.
    @Test func policiesAgainstTheBound() throws {
        let classes = dispatchTestClasses(scale: 20)
        let lambda = 0.5 * 85 * 20, target = 0.76
        let bound = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: lambda, accuracyTarget: target).solution)
        var sim = DispatchSimulator(classes: classes)
        let arrivals = DispatchArrivals.poisson(rate: lambda, count: 100_000)
        let warmup = 10_000

        var rjiq = try #require(RJIQPolicy(classes: classes, arrivalRate: lambda, accuracyTarget: target))
        let r = sim.run(policy: &rjiq, arrivals: arrivals, seed: 3, warmupJobs: warmup)
        var pop = try #require(POPPolicy(classes: classes, accuracyTarget: target))
        let p = sim.run(policy: &pop, arrivals: arrivals, seed: 3, warmupJobs: warmup)
        var jsq = JoinShortestQueuePolicy()
        let j = sim.run(policy: &jsq, arrivals: arrivals, seed: 3, warmupJobs: warmup)
        var rp = RandomProportionalPolicy()
        let q = sim.run(policy: &rp, arrivals: arrivals, seed: 3, warmupJobs: warmup)
        var most = MostAccurateOnlyPolicy()
        let m = sim.run(policy: &most, arrivals: arrivals, seed: 3, warmupJobs: warmup)
        print("""
            dispatch λ=\(lambda) a*=\(target): LP bound \(bound.meanLatency) s
              R-JIQ \(r.meanLatency) s acc \(r.meanAccuracy)
              POP   \(p.meanLatency) s acc \(p.meanAccuracy)
              JSQ   \(j.meanLatency) s acc \(j.meanAccuracy)
              RandP \(q.meanLatency) s acc \(q.meanAccuracy)
              MostA \(m.meanLatency) s acc \(m.meanAccuracy)
            """)

        // Accuracy target met (sampling tolerance: per-job accuracy sd <= 0.13, 90k jobs).
        #expect(abs(r.meanAccuracy - target) < 0.003)
        #expect(p.meanAccuracy > target - 0.003)
        // Above the bound (1% slack for the sample mean of service times), and near it.
        #expect(r.meanLatency >= bound.meanLatency * 0.99)
        #expect(p.meanLatency >= bound.meanLatency * 0.99)
        #expect(r.meanLatency <= bound.meanLatency * 2)
        #expect(p.meanLatency <= bound.meanLatency * 1.15)
        // Baselines.
        #expect(j.meanAccuracy < target - 0.01)
        #expect(q.meanAccuracy < target - 0.01)
        #expect(abs(m.meanAccuracy - 0.9) < 1e-9)
        #expect(m.meanLatency > 20 * bound.meanLatency)  // 425/s into 200/s of capacity
        // Utilisation follows the routing: the large class carries 425 f_0 of its 200/s.
        let largeUtil = r.utilization[0..<20].reduce(0, +) / 20
        #expect(abs(largeUtil - lambda * r.classFractions[0] / 200) < 0.03)
    }

    /// R-JIQ is asymptotically optimal: at a fixed 50% load its gap to the LP bound shrinks as
    /// the number of servers per class grows (JIQ inside each class rarely finds no idle server).
    @Test func rjiqGapShrinksWithScale() throws {
        var ratios: [Double] = []
        for scale in [3, 30] {
            let classes = dispatchTestClasses(scale: scale)
            let lambda = 0.5 * 85 * Double(scale)
            let bound = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: lambda, accuracyTarget: 0.76).solution)
            var sim = DispatchSimulator(classes: classes)
            var rjiq = try #require(RJIQPolicy(classes: classes, arrivalRate: lambda, accuracyTarget: 0.76))
            let r = sim.run(policy: &rjiq, arrivals: .poisson(rate: lambda, count: 60_000), seed: 5, warmupJobs: 5_000)
            ratios.append(r.meanLatency / bound.meanLatency)
        }
        #expect(ratios[1] < ratios[0] * 0.6)
        #expect(ratios[1] < 1.6)
    }

    /// At light load both R-JIQ and POP sit on the bound (the cheapest pair, no waiting).
    @Test func lightLoadOnTheBound() throws {
        let classes = dispatchTestClasses(scale: 10)
        let lambda = 85.0, target = 0.76
        let bound = try #require(AccuracyLatencyBound.solve(classes: classes, arrivalRate: lambda, accuracyTarget: target).solution)
        var sim = DispatchSimulator(classes: classes)
        var rjiq = try #require(RJIQPolicy(classes: classes, arrivalRate: lambda, accuracyTarget: target))
        var pop = try #require(POPPolicy(classes: classes, accuracyTarget: target))
        let arrivals = DispatchArrivals.poisson(rate: lambda, count: 50_000)
        let r = sim.run(policy: &rjiq, arrivals: arrivals, seed: 9, warmupJobs: 2_000)
        let p = sim.run(policy: &pop, arrivals: arrivals, seed: 9, warmupJobs: 2_000)
        #expect(abs(r.meanLatency / bound.meanLatency - 1) < 0.03)
        #expect(abs(p.meanLatency / bound.meanLatency - 1) < 0.03)
        #expect(abs(p.meanAccuracy - target) < 0.004)
    }
}
