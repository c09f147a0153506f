import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// Load augmentation (`[training] load_scale`, ``LoadAugmentation``): the spec key is read and
/// bounds-checked, a training env replays each episode's arrivals times one factor drawn from
/// its seed, that episode is exactly the env over the scaled trace (same steps, rewards and
/// observations), and evaluation never scales.
@Suite struct LoadAugmentationTests {
    static let base = "extends = \"vision-zoo.toml\"\n"

    @Test func theSpecKeyIsReadIntoTheScenario() throws {
        let sc = try ScenarioFixtures.parseSpec(Self.base + "[training]\nload_scale = [0.5, 3.0]\n")
        #expect(sc.trainingLoadScale == LoadAugmentation(low: 0.5, high: 3))
        #expect(try ScenarioFixtures.parseSpec(Self.base).trainingLoadScale == nil)
    }

    @Test func badFactorsAreErrorsNamingTheKey() {
        let key = "training.load_scale"
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nload_scale = [3.0, 0.5]\n", key: key, contains: "low <= high")
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nload_scale = [1.0]\n", key: key, contains: "length")
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nload_scale = [0.5, 2.0, 3.0]\n", key: key, contains: "length")
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nload_scale = \"wide\"\n", key: key, contains: "array")
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nloadscale = [1.0, 2.0]\n", key: "training.loadscale", contains: "unknown key")
        for bad in ["[0.0, 2.0]", "[-1.0, 2.0]", "[0.5, 1000.0]"] {
            do {
                _ = try ScenarioFixtures.parseSpec(Self.base + "[training]\nload_scale = \(bad)\n")
                Issue.record("expected an error for load_scale = \(bad)")
            } catch let e as ScenarioError {
                #expect(e.key.hasPrefix(key), "\(e)")
                #expect(e.description.contains("(0, 100]"), "\(e)")
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test func aScenarioBuiltInCodeIsValidatedToo() throws {
        var sc = try ScenarioFixtures.parseSpec(Self.base)
        sc.trainingLoadScale = LoadAugmentation(low: 2, high: 1)
        #expect(throws: ScenarioError.self) { try sc.validate() }
        let arrivals = ScenarioFixtures.randomArrivals(intervals: 10, streams: sc.streams.count, mean: 100, seed: 1)
        sc.trainingLoadScale = nil
        #expect(throws: ScenarioError.self) {
            _ = try ServingModel(scenario: sc, arrivals: arrivals, loadAugmentation: LoadAugmentation(low: .nan, high: 1))
        }
    }

    /// Factors stay in the range, spread over it on a log scale, and follow from the seed.
    @Test func factorsAreLogUniformAndSeeded() {
        let a = LoadAugmentation(low: 0.5, high: 3)
        var g = SeededGenerator(seed: 7), h = SeededGenerator(seed: 7)
        let draws = (0..<4000).map { _ in a.draw(using: &g) }
        #expect(draws == (0..<4000).map { _ in a.draw(using: &h) })
        #expect(draws.allSatisfy { $0 >= 0.5 && $0 <= 3 })
        // Log-uniform: the geometric midpoint sqrt(1.5) splits the draws in half.
        let below = Double(draws.filter { $0 < (0.5 * 3.0).squareRoot() }.count) / Double(draws.count)
        #expect(abs(below - 0.5) < 0.04, "\(below)")
        #expect(LoadAugmentation(low: 2, high: 2).draw(using: &g) == 2)
    }

    /// An episode scaled by `f` is the episode of the env over the trace times `f` (observed
    /// with the unscaled trace's normalisation): every step's info, reward and observation, in
    /// both queueing modes.
    @Test(arguments: [FluidQueueing.subinterval, .interval], [0.6, 2.5])
    func aScaledEpisodeIsTheEpisodeOfTheScaledTrace(queueing: FluidQueueing, factor: Double) throws {
        for seed in UInt64(0)..<6 {
            let sc = ScenarioFixtures.randomScenario(seed: seed)
            let mean = sc.variants.indices.map { sc.capacityPerInterval(variant: $0, stream: 0) }.max()! * Double(sc.fleet.count) / Double(sc.streams.count)
            let arrivals = ScenarioFixtures.randomArrivals(intervals: 40, streams: sc.streams.count, mean: mean, seed: seed)
            let scaled = ScenarioArrivals(intervals: arrivals.intervals, streams: arrivals.streams, counts: arrivals.counts.map { $0 * factor })
            let augmented = try ServingModel(scenario: sc, arrivals: arrivals, queueing: queueing,
                                             loadAugmentation: LoadAugmentation(low: factor, high: factor))
            let reference = try ServingModel(scenario: sc, arrivals: scaled, normalization: augmented.normalization, queueing: queueing)
            var a = FluidServingEnv(model: augmented, seed: seed), b = FluidServingEnv(model: reference, seed: seed)
            let ra = try a.reset(seed: seed), rb = try b.reset(seed: seed)
            #expect(a.loadScale == factor && b.loadScale == 1)
            expectClose(ra.observation, rb.observation, "seed \(seed) reset")
            var g = SeededGenerator(seed: seed &+ 99)
            for t in 0..<40 {
                let action = sc.randomAssignment(using: &g)
                let sa = try a.step(action), sb = try b.step(action)
                try a.checkInvariants()
                #expect(abs(sa.reward - sb.reward) <= 1e-9 * max(1, abs(sb.reward)), "seed \(seed) step \(t)")
                #expect(abs(sa.info.arrived - sb.info.arrived) <= 1e-9 * max(1, sb.info.arrived))
                #expect(abs(sa.info.servedOnTime - sb.info.servedOnTime) <= 1e-9 * max(1, sb.info.servedOnTime))
                expectClose(sa.observation, sb.observation, "seed \(seed) step \(t)")
                if sa.truncated { break }
            }
        }
    }

    func expectClose(_ x: [Float], _ y: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(x.count == y.count, sourceLocation: sourceLocation)
        for (u, v) in zip(x, y) where abs(u - v) > 1e-5 * max(1, abs(v)) {
            Issue.record("\(what): observation \(x) != \(y)", sourceLocation: sourceLocation)
            return
        }
    }

    /// Training envs draw a factor per episode from their seed (reproducibly, and not always
    /// the same one); evaluation envs of the same spec never scale; a saved state restores it.
    @Test func trainingEnvsScaleEachEpisodeAndEvaluationNever() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loadaug-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = dir.appendingPathComponent("aug.toml").path
        let root = ScenarioFixtures.packageRoot
        try ("extends = \"\(root)/envs/vision-zoo.toml\"\nepisode_intervals = 20\n[trace]\ndataset = \"\(root)/datasets/default.h5\"\n"
             + "[training]\nload_scale = [0.5, 3.0]\n")
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let (_, trainingModel) = try EnvResolver.scenarioSpec(path: spec, training: true)
        let (_, evaluationModel) = try EnvResolver.scenarioSpec(path: spec, training: false)
        #expect(trainingModel.loadAugmentation == LoadAugmentation(low: 0.5, high: 3))
        #expect(evaluationModel.loadAugmentation == nil)
        // The observation's scale is the trace's, with or without augmentation.
        #expect(trainingModel.normalization == evaluationModel.normalization)

        func factors(_ model: ServingModel, seed: UInt64) throws -> [Double] {
            var env = FluidServingEnv(model: model, seed: seed)
            return try (0..<30).map { _ in _ = try env.reset(seed: nil); return env.loadScale }
        }
        let f = try factors(trainingModel, seed: 3)
        #expect(f == (try factors(trainingModel, seed: 3)))
        #expect(f != (try factors(trainingModel, seed: 4)))
        #expect(f.allSatisfy { $0 >= 0.5 && $0 <= 3 } && Set(f).count > 20)
        #expect(try factors(evaluationModel, seed: 3).allSatisfy { $0 == 1 })

        // Save mid-episode, restore into a fresh env: the same factor and the same steps.
        var env = FluidServingEnv(model: trainingModel, seed: 5)
        _ = try env.reset(seed: 5)
        _ = try env.step(env.model.scenario.initialVariants)
        var copy = FluidServingEnv(model: trainingModel, seed: 0)
        try copy.loadState(env.saveState())
        #expect(copy.loadScale == env.loadScale)
        let x = try env.step(env.model.scenario.initialVariants), y = try copy.step(copy.model.scenario.initialVariants)
        #expect(x.reward == y.reward && x.observation == y.observation)
        var bad = env.saveState()
        bad.doubles["load_scale"] = [-1]
        #expect(throws: EnvError.self) { try copy.loadState(bad) }
    }
}
