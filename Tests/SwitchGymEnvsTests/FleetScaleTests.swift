import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// Fleets of every size: the per-device action, the reduction on large fleets, the fleet-size
/// limit, and the configuration search that replaces joint-assignment enumeration.
@Suite struct FleetScaleTests {
    /// vision-zoo with `count` A100s (and the rate scaled with the fleet).
    func vision(count: Int) throws -> ServingScenario {
        var sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml")
        let base = sc.fleet[0]
        sc.fleet = (0..<count).map { i in var d = base; d.name = "a100-\(i)"; return d }
        sc.initialVariants = [Int](repeating: sc.initialVariants[0], count: count)
        return sc
    }

    @Test func theActionLayoutGrowsLinearlyWithTheFleet() throws {
        for count in [1, 8, 32, 256] {
            let sc = try vision(count: count)
            let arrivals = ScenarioFixtures.randomArrivals(intervals: 10, streams: 2, mean: 500, seed: 1)
            let env = try FluidServingEnv(scenario: sc, arrivals: arrivals)
            #expect(env.actionLayout.components == count)
            #expect(env.actionLayout.maskWidth == count * sc.variants.count)
            #expect(env.actionSpace == MultiDiscrete([Int](repeating: sc.variants.count, count: count)))
            #expect(env.observationDimension == count * (sc.variants.count + 1) + 2 * (3 + 4) + 1)
            #expect(env.familyLayout?.workers == count)
        }
        let layout = ActionLayout(sizes: [2, 3, 1])
        #expect(layout.offsets == [0, 2, 5] && layout.maskWidth == 6 && layout.components == 3)
        #expect([1, 2, 0].withUnsafeBufferPointer { layout.contains($0) })
        #expect(![1, 3, 0].withUnsafeBufferPointer { layout.contains($0) })
        let mask = [true, false, false, false, true, true]
        #expect(mask.withUnsafeBufferPointer { layout.allowsSomething($0) })
        #expect([0, 2, 0].withUnsafeBufferPointer { r in mask.withUnsafeBufferPointer { layout.contains(r, mask: $0) } })
        #expect(![1, 2, 0].withUnsafeBufferPointer { r in mask.withUnsafeBufferPointer { layout.contains(r, mask: $0) } })
    }

    /// The serving view and the EmploymentSearch view agree step by step on fleets of 1 to 256
    /// devices, with random per-device actions.
    @Test(arguments: [1, 8, 32, 256])
    func theReductionHoldsOnFleetsOfEverySize(count: Int) throws {
        var sc = try vision(count: count)
        sc.episodeIntervals = 30
        let perDevice = sc.capacityPerInterval(variant: 1, stream: 0)
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 60, streams: 2, mean: perDevice * Double(count) * 0.45, seed: UInt64(count))
        let reduction = ReductionTests()
        try reduction.compare(sc, arrivals, actions: reduction.actions(sc, count: 30, seed: UInt64(count) + 5), seed: 4)
    }

    @Test func aFleetTooLargeIsRefusedNamingTheLimit() throws {
        let head = try String(contentsOfFile: ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml", encoding: .utf8)
        for count in ["16385", "9223372036854775807"] {
            let text = head.replacingOccurrences(of: "count = 3", with: "count = \(count)")
            #expect(text != head)
            ScenarioFixtures.expectSpecError(text, key: "fleet[0].count", contains: "[1, \(ServingScenario.maxDevices)]")
        }
        // 32 GPUs (which overflowed the joint-action count before) load and step.
        let sc = try ScenarioFixtures.parseSpec(head.replacingOccurrences(of: "count = 3", with: "count = 32"))
        #expect(sc.fleet.count == 32)
        var env = try FluidServingEnv(scenario: sc, arrivals: ScenarioFixtures.randomArrivals(intervals: 5, streams: 2, mean: 3e4, seed: 2))
        _ = try env.reset(seed: 0)
        let r = try env.step([Int](repeating: 2, count: 32))
        #expect(r.info.switches == 32 - sc.initialVariants.filter { $0 == 2 }.count)
        #expect(throws: EnvError.self) { _ = try env.step([Int](repeating: 2, count: 31)) }
    }

    /// A switch happens iff a device's variant changes, and the masked choices (a variant the
    /// device cannot hold) keep the device's variant: per device, on a mixed fleet.
    @Test func switchSemanticsArePerDevice() throws {
        let sc = ScenarioFixtures.randomScenario(seed: 3)
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 20, streams: sc.streams.count, mean: 50, seed: 3)
        var env = try FluidServingEnv(scenario: sc, arrivals: arrivals)
        _ = try env.reset(seed: 0)
        var g = SeededGenerator(seed: 8)
        let mask = env.currentActionMask()
        for _ in 0..<15 {
            let held = env.variants
            let a = sc.randomAssignment(using: &g)
            let r = try env.step(a)
            var switches = 0, infeasible = 0
            for d in sc.fleet.indices {
                let ok = mask[d * sc.variants.count + a[d]]
                if !ok { infeasible += 1; #expect(env.variants[d] == held[d]) }
                else { #expect(env.variants[d] == a[d]); if a[d] != held[d] { switches += 1 } }
            }
            #expect(r.info.switches == switches && r.info.infeasibleChoices == infeasible)
        }
    }

    // MARK: - Configurations

    @Test func configurationCountsAreExactAndNeverTrap() throws {
        let small = try ServingModel(scenario: try vision(count: 3), arrivals: ScenarioFixtures.randomArrivals(intervals: 2, streams: 2, mean: 1, seed: 1))
        let space = FleetConfigurations(model: small)
        #expect(space.count == 20)  // C(3 + 4 - 1, 3)
        #expect(space.all().count == 20)
        #expect(Set(space.all()).count == 20)
        #expect(space.all().allSatisfy { $0.reduce(0, +) == 3 })
        let huge = try ServingModel(scenario: try vision(count: 16_000), arrivals: ScenarioFixtures.randomArrivals(intervals: 2, streams: 2, mean: 1, seed: 1))
        #expect(FleetConfigurations(model: huge).count > 1_000_000_000)
        #expect(FleetConfigurations.binomial(10_000, 5_000) == .max)
    }

    @Test func arrangingKeepsDevicesOnTheirVariant() throws {
        let m = try ServingModel(scenario: try vision(count: 6), arrivals: ScenarioFixtures.randomArrivals(intervals: 2, streams: 2, mean: 1, seed: 1))
        let space = FleetConfigurations(model: m)
        let current = [0, 1, 2, 1, 3, 0]
        let target = space.configuration(of: [1, 1, 1, 2, 2, 0])
        let out = space.arrange(target, current: current)
        #expect(space.configuration(of: out) == target)
        // Devices 1, 3 keep variant 1, device 2 keeps 2, device 0 or 5 keeps 0: 2 switches.
        #expect(zip(out, current).filter { $0 != $1 }.count == 2)
    }

    /// On small fleets, the best configuration (arranged from the held assignment) scores as
    /// well as the best of every joint assignment, with and without switching charges, at
    /// random arrivals: the exhaustive search the baselines used before, as a reference.
    @Test(arguments: 0..<16)
    func theConfigurationSearchMatchesABruteForceOverAssignments(seed: Int) throws {
        let sc = ScenarioFixtures.randomScenario(seed: UInt64(seed) + 40)
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 4, streams: sc.streams.count, mean: 200, seed: UInt64(seed))
        let m = try ServingModel(scenario: sc, arrivals: arrivals)
        let space = FleetConfigurations(model: m)
        var g = SeededGenerator(seed: UInt64(seed))
        let V = sc.variants.count, D = sc.fleet.count
        let allowed = (0..<D).map { d in (0..<V).filter { m.canHold(device: d, variant: $0) } }
        let current = (0..<D).map { allowed[$0][Int(g.next() % UInt64(allowed[$0].count))] }
        let rates = (0..<sc.streams.count).map { _ in 400 * g.nextUnit() * g.nextUnit() }
        for charged in [false, true] {
            // Brute force: every assignment of allowed variants.
            var best = -Double.infinity
            var a = [Int](repeating: 0, count: D)
            func visit(_ d: Int) {
                if d == D {
                    let e = current.withUnsafeBufferPointer { c in a.withUnsafeBufferPointer { x in rates.withUnsafeBufferPointer {
                        m.estimateInterval(current: charged ? c : nil, assignment: x, arrivals: $0) } } }
                    best = max(best, e.reward)
                    return
                }
                for v in allowed[d] { a[d] = v; visit(d + 1) }
            }
            visit(0)
            let held = space.configuration(of: current)
            let found = held.withUnsafeBufferPointer { h in rates.withUnsafeBufferPointer { r in
                space.maximize(from: held) { c in space.estimate(c, held: charged ? h : nil, arrivals: r).reward } } }
            #expect(abs(found.key - best) <= 1e-9 * max(1, abs(best)), "seed \(seed) charged \(charged): \(found.key) vs brute force \(best)")
            // The arranged assignment scores what the configuration promised.
            let arranged = space.arrange(found.configuration, current: current)
            let e = current.withUnsafeBufferPointer { c in arranged.withUnsafeBufferPointer { x in rates.withUnsafeBufferPointer {
                m.estimateInterval(current: charged ? c : nil, assignment: x, arrivals: $0) } } }
            #expect(abs(e.reward - found.key) <= 1e-9 * max(1, abs(best)))
        }
    }

    /// The local search (used beyond the exhaustive limit) finds the optimum of a concave
    /// objective over a 64-device fleet, moving blocks of devices.
    @Test func theLocalSearchClimbsLargeFleets() throws {
        let m = try ServingModel(scenario: try vision(count: 64), arrivals: ScenarioFixtures.randomArrivals(intervals: 2, streams: 2, mean: 1, seed: 1))
        let space = FleetConfigurations(model: m)
        #expect(space.count > ServingBaselinesLimit.exhaustive)
        let target = [10, 20, 30, 4]
        let start = [64, 0, 0, 0]
        let found = space.maximize(from: start, exhaustiveLimit: 0) { c in
            -zip(c, target).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        }
        #expect(found.configuration == target)
    }
}

/// The exhaustive limit the baselines use (SwitchGymAgents' `ServingBaselines.exhaustiveLimit`).
enum ServingBaselinesLimit { static let exhaustive = 4096 }
