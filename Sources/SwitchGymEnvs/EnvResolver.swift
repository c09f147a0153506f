import Foundation
import SwitchGymCore

/// Resolves what users pass as `--env`: a registered id (`CartPole-v1`) or a scenario
/// spec file (`envs/vision-zoo.toml`), optionally replayed on another trace.
public enum EnvResolver {
    /// Whether `name` names a scenario spec rather than a registered id.
    public static func isScenarioPath(_ name: String) -> Bool {
        name.hasSuffix(".toml") || name.contains("/")
    }

    /// The spec files in `directory` (default `envs/` under the current directory), sorted.
    public static func shippedSpecPaths(directory: String = "envs") -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".toml") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The shipped specs split into those whose trace is at hand and those whose dataset has
    /// not been imported yet (a spec on a public trace, such as `vision-functions.toml`), with
    /// the missing dataset's path. Specs that fail to load count as ready, so their error shows.
    public static func shippedSpecsByTrace(directory: String = "envs") -> (ready: [String], missing: [(spec: String, dataset: String)]) {
        var ready: [String] = [], missing: [(spec: String, dataset: String)] = []
        for path in shippedSpecPaths(directory: directory) {
            if let sc = try? ScenarioSpec.load(path: path), case .dataset(let d) = sc.trace, !FileManager.default.fileExists(atPath: d) {
                missing.append((path, d))
            } else {
                ready.append(path)
            }
        }
        return (ready, missing)
    }

    /// A scenario's fluid env as an ``EnvSpec`` (id = the spec path), over the scenario's own
    /// trace or `trace` (a dataset path). Episodes start at random intervals of the trace when
    /// the scenario sets `episode_intervals` shorter than the trace.
    /// With `training`, rewards are scaled to about 1 per interval's worth of queries
    /// (``ServingModel/trainingRewardScale``), each episode's arrivals by the scenario's
    /// `[training] load_scale` when it sets one (``LoadAugmentation``), and the trace is
    /// replayed as block-bootstrap resamples drawn from `seed` when the scenario sets
    /// `[training] block_bootstrap` (``BlockBootstrap``; the observation's normalisation and the
    /// episode length stay the trace's own). Metrics and infos are not scaled. `queueing` picks
    /// the fluid model's queueing inside an interval (``FluidQueueing``).
    public static func scenarioSpec(path: String, trace: String? = nil, training: Bool = false, seed: UInt64 = 0,
                                    queueing: FluidQueueing = .subinterval) throws -> (EnvSpec, ServingModel) {
        let scenario = try ScenarioSpec.load(path: path)
        let arrivals = try scenario.loadArrivals(overridePath: trace)
        let scale = training ? ServingModel.trainingRewardScale(arrivals: arrivals) : 1
        var model = try ServingModel(scenario: scenario, arrivals: arrivals, randomStart: true, rewardScale: scale, queueing: queueing,
                                     loadAugmentation: training ? scenario.trainingLoadScale : nil)
        if training, let bootstrap = scenario.trainingBlockBootstrap {
            model = try model.resampled(bootstrap, seed: seed)
        }
        let trained = model
        let spec = EnvSpec(id: path, summary: scenario.summary, maxEpisodeSteps: model.episodeLength) {
            FluidServingEnv(model: trained, seed: $0)
        }
        return (spec, model)
    }

    /// A registered env or a scenario's fluid env (`training` and `seed` as in
    /// ``scenarioSpec(path:trace:training:seed:queueing:)``).
    /// - Throws: the registry's unknown-id error, or the scenario's error naming file and key.
    public static func spec(_ name: String, trace: String? = nil, training: Bool = false, seed: UInt64 = 0) throws -> EnvSpec {
        if isScenarioPath(name) { return try scenarioSpec(path: name, trace: trace, training: training, seed: seed).0 }
        guard trace == nil else {
            throw EnvError(.invalidArgument, "--trace applies to scenario specs (envs/*.toml), not to the registered env '\(name)'.")
        }
        return try EnvRegistry.spec(name)
    }
}
