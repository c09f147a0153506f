import Foundation
import Testing
import SwitchGymCore
import SwitchGymTestSupport
@testable import SwitchGymEnvs

/// The discrete-event fidelity: determinism, conservation, capacity, loads, dispatch and
/// interference, each on a scenario small enough to reason about.
@Suite struct DiscreteEventTests {
    // MARK: - Determinism and conformance

    @Test func sameSeedSameEpisodeOtherSeedOtherEpisode() throws {
        let (sc, arrivals) = try DESFixtures.vision(meanRate: 600, episode: 40)
        let model = try DiscreteEventModel(scenario: sc, arrivals: arrivals, randomStart: true)
        var g = SeededGenerator(seed: 9)
        let actions = (0..<40).map { _ in sc.randomAssignment(using: &g) }
        func run(_ seed: UInt64) -> [DiscreteEventStepInfo] {
            var env = DiscreteEventServingEnv(model: model)
            env.resetState(seed: seed)
            return actions.map { _ = env.step(assignment: $0); return env.last }
        }
        let a = run(3), b = run(3), c = run(4)
        #expect(a == b)
        #expect(a != c)
        #expect(a.reduce(0) { $0 + $1.arrived } > 10_000)

        // A copy taken mid-episode continues exactly like the original (copy on write).
        var env = DiscreteEventServingEnv(model: model)
        env.resetState(seed: 3)
        for k in 0..<20 { _ = env.step(assignment: actions[k]) }
        var copy = env
        for k in 20..<40 {
            _ = env.step(assignment: actions[k])
            _ = copy.step(assignment: actions[k])
            #expect(env.last == copy.last)
            #expect(env.last == a[k])
        }
        try env.checkInvariants()
        try copy.checkInvariants()
    }

    @Test func passesTheEnvCheckerAndMatchesTheFluidSpaces() throws {
        let (sc, arrivals) = try DESFixtures.vision(meanRate: 200, episode: 30)
        let model = try DiscreteEventModel(scenario: sc, arrivals: arrivals, randomStart: true)
        let report = try EnvChecker.check(name: "des-vision", { DiscreteEventServingEnv(model: model, seed: 1) }, steps: 70)
        let passed = report.results.allSatisfy { $0.passed }
        #expect(passed, "\(report)")
        let fluid = FluidServingEnv(model: model.serving)
        let des = DiscreteEventServingEnv(model: model)
        #expect(des.observationSpace == fluid.observationSpace)
        #expect(des.actionSpace == fluid.actionSpace)
        #expect(des.currentActionMask() == fluid.currentActionMask())
    }

    @Test func runsInAVectorEnvLikeTheFluidEnv() throws {
        let (sc, arrivals) = try DESFixtures.vision(meanRate: 300, episode: 12)
        let model = try DiscreteEventModel(scenario: sc, arrivals: arrivals, randomStart: true)
        let vector = VectorEnv(count: 3) { i in DiscreteEventServingEnv(model: model, seed: UInt64(i)) }
        let buffers = vector.makeBuffers()
        try vector.reset(seed: 7, into: buffers)
        let a = DESFixtures.action(sc, DESFixtures.visionStatic)
        var truncations = 0
        for _ in 0..<30 {
            try vector.step(a + a + a, into: buffers)
            truncations += buffers.truncations.filter { $0 }.count
            #expect(buffers.observations.allSatisfy { $0.isFinite && $0 >= 0 })
            #expect(buffers.rewards.allSatisfy { $0.isFinite })
        }
        #expect(truncations >= 6)
        try vector.withSubEnv(1) { try $0.checkInvariants() }
    }

    @Test func everyShippedSpecRunsAndConserves() throws {
        for path in ScenarioFixtures.shippedSpecs {
            var sc = try ScenarioSpec.load(path: path)
            sc.episodeIntervals = 20
            var env = try DiscreteEventServingEnv(scenario: sc, arrivals: try sc.loadArrivals(), seed: 1)
            _ = try env.reset(seed: 1)
            var g = SeededGenerator(seed: 2)
            for _ in 0..<20 {
                let r = try env.step(sc.randomAssignment(using: &g))
                try env.checkInvariants()
                if r.truncated { break }
            }
            #expect(env.totals.arrived > 0, "\(path)")
            #expect(env.totals.arrived == env.totals.served + env.totals.dropped + env.totals.queued, "\(path)")
        }
    }

    @Test func theModelsRewardScaleAppliesAsInTheFluidEnv() throws {
        let (sc, arrivals) = try DESFixtures.vision(meanRate: 300, episode: 5)
        let serving = try ServingModel(scenario: sc, arrivals: arrivals, rewardScale: 0.25)
        var env = DiscreteEventServingEnv(model: try DiscreteEventModel(serving: serving), seed: 1)
        env.resetState(seed: 1)
        let t = env.step(assignment: DESFixtures.action(sc, DESFixtures.visionStatic))
        #expect(env.last.reward > 0)
        #expect(abs(t.reward - 0.25 * env.last.reward) < 1e-9 * env.last.reward)
    }

    // MARK: - Conservation

    @Test(arguments: 0..<12)
    func conservationOnRandomScenarios(seed: Int) throws {
        var sc = ScenarioFixtures.randomScenario(seed: UInt64(seed))
        if seed % 3 == 1 { for d in sc.fleet.indices { sc.fleet[d].concurrency = 3; sc.fleet[d].hostRAMGB = 20 } }
        let mean = sc.variants.indices.map { sc.capacityPerInterval(variant: $0, stream: 0) }.max()! * Double(sc.fleet.count) / Double(sc.streams.count)
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 60, streams: sc.streams.count, mean: min(mean * 0.7, 4000), seed: UInt64(seed))
        var env = try DiscreteEventServingEnv(scenario: sc, arrivals: arrivals, randomStart: true, seed: UInt64(seed))
        _ = try env.reset(seed: UInt64(seed))
        var g = SeededGenerator(seed: UInt64(seed) + 7)
        var a = (sc.initialVariants)
        var arrived = 0, served = 0, dropped = 0, switches = 0
        for _ in 0..<40 {
            if g.nextUnit() < 0.4 { a = sc.randomAssignment(using: &g) }
            let r = try env.step(a)
            let i = r.info
            arrived += i.arrived; served += i.served; dropped += i.dropped; switches += i.serving.switches
            #expect(arrived == served + dropped + i.queued, "arrived \(arrived) != \(served) + \(dropped) + \(i.queued)")
            #expect(i.servedOnTime <= i.servedInDueInterval && i.servedInDueInterval <= i.served && i.inFlight + i.centralQueued <= i.queued)
            #expect(i.serving.latenessPenalty >= 0 && i.serving.dropPenalty >= 0)
            #expect(r.observation.allSatisfy { $0.isFinite && $0 >= 0 })
            try env.checkInvariants()
            if r.truncated { break }
        }
        #expect(arrived > 0 && served > 0 && switches > 0)
        #expect(env.totals.arrived == arrived && env.totals.served == served && env.totals.dropped == dropped)
    }

    @Test func thinsAScaledDownTraceAndReplaysAScaledUpOneAsPoisson() throws {
        // The default trace has ~8 to 10 queries/s on average: 4 thins it, 400 scales it up.
        let (lo, loArr) = try DESFixtures.vision(meanRate: 4, episode: 200)
        let (hi, hiArr) = try DESFixtures.vision(meanRate: 400, episode: 200)
        let thin = try DiscreteEventModel(scenario: lo, arrivals: loArr)
        let fine = try DiscreteEventModel(scenario: hi, arrivals: hiArr)
        #expect(thin.arrivalMode == .thinning && thin.scale < 1 && fine.scale > 10)
        #expect(fine.arrivalMode == .finePoisson && fine.binsPerInterval == 10)
        for (sc, model) in [(lo, thin), (hi, fine)] {
            var env = DiscreteEventServingEnv(model: model)
            env.resetState(seed: 1)
            let a = DESFixtures.action(sc, DESFixtures.visionStatic)
            var expected = 0.0
            for t in 0..<200 {
                _ = env.step(assignment: a)
                for s in 0..<sc.streams.count { expected += model.serving.arrivals(interval: t, stream: s) }
                try env.checkInvariants()
            }
            // The realized arrivals match the fluid counts up to Poisson noise.
            let n = Double(env.totals.arrived)
            #expect(abs(n - expected) < 5 * expected.squareRoot() + 5, "\(sc.targetMeanRate!) q/s: \(n) arrivals, expected \(expected)")
        }
    }

    // MARK: - Capacity

    @Test func belowCapacityAnswersOnTimeAboveCapacityQueuesThenDrops() throws {
        // One device at 1,600 queries/s under a 100 ms SLO (batches of 32 in 20 ms).
        let sc = DESFixtures.scenario(variants: [DESFixtures.variant("a")])
        let capacity = sc.capacityPerInterval(variant: 0, stream: 0)
        #expect(capacity == 1600)

        var light = try DiscreteEventServingEnv(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 800, intervals: 30))
        light.resetState(seed: 2)
        for _ in 0..<30 { _ = light.step(everyDevice: 0) }
        let lt = light.totals
        #expect(lt.dropped == 0)
        #expect(Double(lt.servedOnTime) >= 0.999 * Double(lt.arrived), "\(lt.servedOnTime) of \(lt.arrived) on time")
        #expect(light.episodeMetrics().latencyP99Ms < 100 && light.episodeMetrics().latencyP50Ms > 5)

        var heavy = try DiscreteEventServingEnv(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 3200, intervals: 30))
        heavy.resetState(seed: 2)
        var queued: [Int] = [], served: [Int] = [], dropped: [Int] = []
        for _ in 0..<30 {
            _ = heavy.step(everyDevice: 0)
            queued.append(heavy.last.queued); served.append(heavy.last.served); dropped.append(heavy.last.dropped)
            try heavy.checkInvariants()
        }
        // The queue grows, nothing is dropped before drop_after (2) intervals past the deadline,
        // then drops balance the excess; the device serves at its capacity, never above.
        #expect(queued[0] > 1000 && queued[1] > queued[0])
        #expect(dropped[0] == 0 && dropped[1] == 0)
        #expect(dropped[10...].allSatisfy { $0 > 1000 })
        for k in 3..<30 { #expect(Double(served[k]) <= capacity + 32 && Double(served[k]) >= 0.95 * capacity, "interval \(k): \(served[k])") }
        #expect(heavy.totals.servedOnTime < heavy.totals.served / 10)
    }

    // MARK: - Loads

    @Test func aSwitchIdlesTheDeviceForTheLoadAndACachedReloadIsShorter() throws {
        // Two variants: "a" loads in 0.5 s from disk / 0.1 s from RAM, "b" in 0.6 s / 0.2 s.
        let sc = DESFixtures.scenario(variants: [DESFixtures.variant("a", disk: 0.5, ram: 0.1),
                                                 DESFixtures.variant("b", disk: 0.6, ram: 0.2)])
        let arrivals = DESFixtures.constant(sc, perInterval: 400, intervals: 20)
        var env = try DiscreteEventServingEnv(scenario: sc, arrivals: arrivals, config: DiscreteEventConfig(recordBatches: true))
        env.resetState(seed: 5)
        // a, a, b (disk), b, a (RAM: the initial variant is cached), a, b (RAM), b.
        let plan = [0, 0, 1, 1, 0, 0, 1, 1]
        var onTime: [Int] = []
        for (k, v) in plan.enumerated() {
            _ = env.step(everyDevice: v)
            let i = env.last
            onTime.append(i.servedOnTime)
            let switched = k > 0 && plan[k - 1] != v
            #expect(i.serving.switches == (switched ? 1 : 0))
            if switched {
                let expectDisk = k == 2
                #expect(i.loadsFromDisk == (expectDisk ? 1 : 0) && i.loadsFromRAM == (expectDisk ? 0 : 1), "interval \(k)")
                let load = expectDisk ? 0.6 : (v == 0 ? 0.1 : 0.2)
                let t0 = Double(k)
                // No batch of the new variant starts before the load ends; the first starts then.
                let starts = env.batchLog.filter { $0.variant == v }.map(\.startTime)
                #expect(starts.allSatisfy { $0 >= t0 + load - 1e-9 }, "interval \(k): a batch started during the load")
                #expect(abs(starts.min()! - (t0 + load)) < 0.01, "interval \(k): first start \(starts.min()!)")
            }
        }
        // Queries arriving during a load wait past their 100 ms deadline: the disk load of b
        // (0.6 s) costs ~0.6 × 400 on-time answers, its RAM reload (0.2 s) ~0.2 × 400.
        #expect(onTime[1] > 390)
        #expect(onTime[6] - onTime[2] > 100, "disk load interval \(onTime[2]) vs RAM reload \(onTime[6])")
        #expect(onTime[4] > onTime[2])
        try env.checkInvariants()
    }

    @Test func theHostCacheIsLeastRecentlyUsedAndBoundedByHostRAM() throws {
        // Room for one 2 GB variant only: every switch evicts the other, so every load is from disk.
        let small = DESFixtures.scenario(variants: [DESFixtures.variant("a"), DESFixtures.variant("b")], hostRAMGB: 3)
        var env = try DiscreteEventServingEnv(scenario: small, arrivals: DESFixtures.constant(small, perInterval: 10, intervals: 10))
        env.resetState(seed: 1)
        #expect(env.isCached(device: 0, variant: 0) && !env.isCached(device: 0, variant: 1))
        for v in [1, 0, 1] {
            _ = env.step(everyDevice: v)
            #expect(env.last.loadsFromDisk == 1 && env.last.loadsFromRAM == 0)
            #expect(env.isCached(device: 0, variant: v) && !env.isCached(device: 0, variant: 1 - v))
            try env.checkInvariants()
        }
        // No host RAM: nothing is ever cached.
        let none = DESFixtures.scenario(variants: [DESFixtures.variant("a"), DESFixtures.variant("b")], hostRAMGB: 0)
        var env2 = try DiscreteEventServingEnv(scenario: none, arrivals: DESFixtures.constant(none, perInterval: 10, intervals: 10))
        env2.resetState(seed: 1)
        for v in [1, 0, 1, 0] {
            _ = env2.step(everyDevice: v)
            #expect(env2.last.loadsFromDisk == 1)
        }
    }

    // MARK: - Dispatch

    @Test func dispatchRespectsMinimumAccuracyAndTheCentralQueueWaitsForAnAnswer() throws {
        let lo = DESFixtures.variant("lo", accuracy: 0.7), hi = DESFixtures.variant("hi", accuracy: 0.9)
        let sc = DESFixtures.scenario(variants: [lo, hi], devices: 2, streams: [DESFixtures.stream(minAccuracy: 0.8, dropAfter: 3)])
        let arrivals = DESFixtures.constant(sc, perInterval: 600, intervals: 20)
        var env = try DiscreteEventServingEnv(scenario: sc, arrivals: arrivals)
        env.resetState(seed: 4)
        // Device 0 holds lo, device 1 hi: every answer comes from hi.
        let mixed = ([0, 1])
        for _ in 0..<3 { _ = env.step(assignment: mixed) }
        #expect(env.totals.served > 1000)
        #expect(abs(env.totals.serving.accuracyServed - 0.9 * Double(env.totals.served)) < 1e-6)
        // Both lo: nobody can answer; queries wait centrally, then are dropped.
        let none = ([0, 0])
        _ = env.step(assignment: none)
        #expect(env.last.centralQueued > 500)
        for _ in 0..<4 { _ = env.step(assignment: none) }
        #expect(env.last.dropped > 500 && env.last.served == 0)
        let waiting = env.last.centralQueued
        #expect(waiting > 1000)
        // Device 0 loads hi (0.5 s from disk): the central queue is re-dispatched to it and
        // answered (late) at its capacity, 1,600 queries/s.
        _ = env.step(assignment: ([1, 0]))
        #expect(env.last.centralQueued == 0)
        #expect(env.last.served > 700)
        _ = env.step(assignment: ([1, 0]))
        #expect(env.last.served > 1500)
        #expect(abs(env.totals.serving.accuracyServed - 0.9 * Double(env.totals.served)) < 1e-6)
        try env.checkInvariants()
    }

    @Test func joinShortestExpectedWaitBalancesIdenticalDevices() throws {
        let sc = DESFixtures.scenario(variants: [DESFixtures.variant("a")], devices: 3)
        var env = try DiscreteEventServingEnv(scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 3600, intervals: 10),
                                              config: DiscreteEventConfig(recordBatches: true))
        env.resetState(seed: 1)
        _ = env.step(everyDevice: 0)
        _ = env.step(everyDevice: 0)
        var perDevice = [0, 0, 0]
        for b in env.batchLog { perDevice[b.device] += b.batchSize }
        let mean = Double(perDevice.reduce(0, +)) / 3
        #expect(perDevice.allSatisfy { abs(Double($0) - mean) < 0.1 * mean }, "\(perDevice)")
        #expect(Double(env.last.servedOnTime) > 0.99 * Double(env.last.arrived))
    }

    // MARK: - Interference

    @Test func coLocatedBatchesInflateLatencyByTheGroundTruth() throws {
        let variants = [DESFixtures.variant("a")]
        let interference = CoLocationInterference(theta: 0.5, thetaDriftPerHour: 1800)
        func run(concurrency: Int) throws -> (DiscreteEventServingEnv, [BatchObservation]) {
            let sc = DESFixtures.scenario(variants: variants, concurrency: concurrency)
            var env = try DiscreteEventServingEnv(
                scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 1400, intervals: 10),
                config: DiscreteEventConfig(interference: interference, recordBatches: true))
            env.resetState(seed: 8)
            var log: [BatchObservation] = []
            for _ in 0..<6 { _ = env.step(everyDevice: 0); log += env.batchLog; try env.checkInvariants() }
            return (env, log)
        }
        let (_, alone) = try run(concurrency: 1)
        #expect(alone.allSatisfy { $0.colocatedBatches == 0 && abs($0.observedLatencyMs - $0.baseLatencyMs) < 1e-9 })
        let (env, shared) = try run(concurrency: 2)
        let colocated = shared.filter { $0.colocatedBatches > 0 }
        #expect(colocated.count > shared.count / 4, "\(colocated.count) of \(shared.count) batches co-located")
        #expect(shared.allSatisfy { $0.colocatedBatches <= 1 })
        for b in shared {
            let theta = interference.theta(at: b.startTime)
            #expect(abs(b.theta - theta) < 1e-9)
            #expect(abs(b.observedLatencyMs - b.baseLatencyMs * (1 + theta * b.colocatedLoad)) < 1e-9)
            #expect(b.ewmaColocatedBatches >= 0 && b.ewmaColocatedBatches <= 1)
        }
        // θ drifts from 0.5 by 0.5 per second of trace time.
        #expect(shared.last!.theta > shared.first!.theta + 2)
        let inflation = colocated.map { $0.observedLatencyMs / $0.baseLatencyMs }
        #expect(inflation.reduce(0, +) / Double(inflation.count) > 1.1)
        #expect(env.totals.batches > 0)
    }

    @Test func latencyNoiseIsMeanOneAroundTheGroundTruth() throws {
        let sc = DESFixtures.scenario(variants: [DESFixtures.variant("a")], concurrency: 2)
        var env = try DiscreteEventServingEnv(
            scenario: sc, arrivals: DESFixtures.constant(sc, perInterval: 1200, intervals: 20),
            config: DiscreteEventConfig(interference: CoLocationInterference(theta: 0.3, noise: 0.1), recordBatches: true))
        env.resetState(seed: 2)
        var ratios: [Double] = []
        for _ in 0..<20 {
            _ = env.step(everyDevice: 0)
            for b in env.batchLog { ratios.append(b.observedLatencyMs / (b.baseLatencyMs * (1 + b.theta * b.colocatedLoad))) }
        }
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        let sd = (ratios.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(ratios.count)).squareRoot()
        #expect(ratios.count > 1000)
        #expect(abs(mean - 1) < 0.01 && abs(sd - 0.1) < 0.02, "mean \(mean), sd \(sd)")
    }

    // MARK: - Spec key and allocations

    @Test func theFleetKeyConcurrencyIsReadAndChecked() throws {
        let path = ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let base = ScenarioFixtures.packageRoot + "/envs"
        #expect(try ScenarioSpec.parse(text, file: "spec.toml", baseDirectory: base).fleet.allSatisfy { $0.concurrency == 1 })
        let two = text.replacingOccurrences(of: "host_ram_gb = 8.0", with: "host_ram_gb = 8.0\nconcurrency = 2")
        #expect(try ScenarioSpec.parse(two, file: "spec.toml", baseDirectory: base).fleet.allSatisfy { $0.concurrency == 2 })
        let zero = text.replacingOccurrences(of: "host_ram_gb = 8.0", with: "host_ram_gb = 8.0\nconcurrency = 0")
        do {
            _ = try ScenarioSpec.parse(zero, file: "spec.toml", baseDirectory: base)
            Issue.record("expected an error for concurrency = 0")
        } catch let e as ScenarioError {
            #expect(e.key == "fleet[0].concurrency" && e.description.contains("[1, 1024]"), "\(e)")
        }
    }

    @Test func steadyStateStepsDoNotAllocate() throws {
        guard AllocationCounter.isSupported else { return }
        let (sc, arrivals) = try DESFixtures.vision(meanRate: 2000)
        var env = try DiscreteEventServingEnv(scenario: sc, arrivals: arrivals)
        env.resetState(seed: 1)
        let a = DESFixtures.action(sc, DESFixtures.visionStatic)
        for _ in 0..<100 { _ = env.step(assignment: a) }
        var arrived = 0
        let count = AllocationCounter.count {
            for _ in 0..<50 { _ = env.step(assignment: a); arrived += env.last.arrived }
        }
        #expect(arrived > 50_000)
        #expect(count == 0, "\(count ?? -1) allocations in 50 steps")
    }

    // MARK: - Internals

    @Test func fastLogMatchesLibm() {
        var g = SeededGenerator(seed: 1)
        var worst = 0.0
        for _ in 0..<100_000 {
            let x = Double.ulpOfOne + g.nextUnit() * (1 - Double.ulpOfOne)
            worst = max(worst, abs(fastLog(x) - log(x)) / max(1e-300, abs(log(x))))
        }
        for x in [1e-300, 1e-10, 0.5, 0.70710678, 0.7071068, 1, 1.41421, 2, 3, 1e10] {
            worst = max(worst, abs(fastLog(x) - log(x)) / max(1e-12, abs(log(x))))
        }
        #expect(worst < 1e-7)
    }

    @Test func latencyHistogramQuantilesAreWithinABin() {
        let h = UnsafeMutablePointer<Int>.allocate(capacity: LatencyHistogram.bins)
        defer { h.deallocate() }
        h.initialize(repeating: 0, count: LatencyHistogram.bins)
        let samples = (1...1000).map { Double($0) * 1e-4 } // 0.1 ms ... 100 ms
        for x in samples { h[LatencyHistogram.bin(seconds: x)] += 1 }
        let p50 = LatencyHistogram.quantileMs(h, total: samples.count, q: 0.5)
        let p99 = LatencyHistogram.quantileMs(h, total: samples.count, q: 0.99)
        #expect(abs(p50 - 50) / 50 < 0.02 && abs(p99 - 99) / 99 < 0.02, "p50 \(p50) p99 \(p99)")
    }
}
