import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymNN
import SwitchGymServe

/// Scenarios, briefly trained policies and policy files for the daemon's tests.
enum ServeFixtures {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// envs/`file` with `edits` applied to its text.
    static func spec(_ file: String, _ edits: [(String, String)] = []) throws -> ServingScenario {
        var text = try String(contentsOfFile: packageRoot + "/envs/" + file, encoding: .utf8)
        for (a, b) in edits {
            precondition(text.contains(a), "\(file) has no '\(a)'")
            text = text.replacingOccurrences(of: a, with: b)
        }
        return try ScenarioSpec.parse(text, file: file, baseDirectory: packageRoot + "/envs")
    }

    /// vision-zoo's fleet with 4 A100s.
    static func zoo4() throws -> ServingScenario { try spec("vision-zoo.toml", [("count = 3", "count = 4")]) }

    /// vision-cluster with 16 A100s and 16 V100s.
    static func cluster32() throws -> ServingScenario { try spec("vision-cluster.toml", [("count = 32", "count = 16")]) }

    /// Random counts per interval and stream with bursts (deterministic), as ScenarioFixtures.
    static func randomArrivals(intervals: Int, streams: Int, mean: Double, seed: UInt64) -> ScenarioArrivals {
        var g = SeededGenerator(seed: seed)
        var counts = [Double](repeating: 0, count: intervals * streams)
        for i in counts.indices {
            let burst = g.nextUnit() < 0.1 ? 4.0 : 1.0
            counts[i] = g.nextUnit() < 0.05 ? 0 : mean * burst * (0.3 + 1.4 * g.nextUnit())
        }
        return ScenarioArrivals(intervals: intervals, streams: streams, counts: counts)
    }

    /// A family policy trained briefly (PPO, 32 steps) on `scenario` over its own random training
    /// series, saved as a checkpoint that records the training env's normalisation, then loaded
    /// back and sharpened (the last layer ×`sharpen`, as training would, so decisions have
    /// margins). Returns the policy, the checkpoint folder and the training normalisation.
    static func trainedPolicy(_ scenario: ServingScenario, seed: UInt64 = 5, sharpen: Float = 300,
                              architecture: PolicyArchitecture = .family) throws
        -> (FrozenPolicy, URL, ObservationNormalization) {
        BLAS.setThreadCount(1)
        var sc = scenario
        sc.episodeIntervals = 40
        let train = try ServingModel(scenario: sc, arrivals: randomArrivals(intervals: 80, streams: sc.streams.count,
                                                                             mean: 400 * Double(sc.fleet.count), seed: seed),
                                     randomStart: true)
        var c = PPOConfig()
        c.numEnvs = 2; c.numSteps = 16; c.batchSize = 16; c.numEpochs = 1; c.hiddenSizes = [16]
        c.totalTimesteps = 32; c.seed = seed; c.policy = architecture
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-serve-ckpt-\(UUID().uuidString)")
        let store = try CheckpointStore(directory: dir)
        var state: StateDict
        if architecture == .moves {
            let codec = FleetMoves(model: train)
            let agent = try PPO(config: c) { FleetMovesEnv(fleet: FluidServingEnv(model: train, seed: UInt64($0)), moves: codec) }
            try agent.train()
            state = agent.saveState()
        } else {
            let agent = try PPO(config: c) { FluidServingEnv(model: train, seed: UInt64($0)) }
            try agent.train()
            state = agent.saveState()
        }
        FrozenPolicy.record(train.normalization, in: &state)
        _ = try store.save(state, step: c.totalTimesteps)
        let frozen = try FrozenPolicy.load(path: dir.path)
        let last = frozen.network.layers.count - 1
        for i in frozen.network.weights(last).indices { frozen.network.weights(last)[i] *= sharpen }
        return (frozen, dir, train.normalization)
    }

    /// The policy file of `frozen` for `scenario` (as `switchgym export`).
    static func policyFile(_ frozen: FrozenPolicy, _ scenario: ServingScenario, normalization: ObservationNormalization) throws -> [UInt8] {
        let layout = scenario.observationLayout
        let file = try PolicyFile.make(policy: frozen, observationDimension: layout.dimension,
                                       actionLayout: ActionLayout(repeating: scenario.variants.count, count: scenario.fleet.count),
                                       familyLayout: layout,
                                       context: .init(scenario: scenario, normalization: normalization, checkpointPath: frozen.source),
                                       goldenCases: 8, seed: 3)
        return try file.safetensors()
    }

    /// A fresh empty folder.
    static func tempDir(_ tag: String = "dir") -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchgym-serve-\(tag)-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Two distinct policy files for the 4-device zoo (cached: training takes a moment).
    nonisolated(unsafe) static var cachedZoo: (ServingScenario, [UInt8], [UInt8])?
    static let cacheLock = NSLock()

    static func zooPolicies() throws -> (scenario: ServingScenario, a: [UInt8], b: [UInt8]) {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let c = cachedZoo { return c }
        let sc = try zoo4()
        let (pa, da, na) = try trainedPolicy(sc, seed: 5)
        let (pb, db, nb) = try trainedPolicy(sc, seed: 9, sharpen: 200)
        defer { try? FileManager.default.removeItem(at: da); try? FileManager.default.removeItem(at: db) }
        let out = (sc, try policyFile(pa, sc, normalization: na), try policyFile(pb, sc, normalization: nb))
        cachedZoo = out
        return out
    }

    static let silent: @Sendable (String) -> Void = { _ in }

    static func sha(_ b: [UInt8]) -> String { SHA256.hex(of: b) }
}
