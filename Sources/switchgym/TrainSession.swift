import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO
import SwitchGymNN

/// The agents `train` drives: whole updates in chunks, and full state for checkpoints.
protocol TrainableAgent: AnyObject {
    var globalStep: Int { get }
    var totalSteps: Int { get }
    func train(untilStep: Int?, callback: (TrainingEvent) throws -> Void) throws
    func saveState() -> StateDict
    func loadState(_ s: StateDict) throws
}

extension PPO: TrainableAgent where E: StateCheckpointable {
    var totalSteps: Int { config.totalTimesteps }
}

extension DQN: TrainableAgent where E: StateCheckpointable {
    var totalSteps: Int { config.totalTimesteps }
}

/// The run folder, what to do in it, and how often to checkpoint.
struct TrainSession {
    var out: URL
    var runConfig: TrainRunConfig
    var resume: Bool
    var keep: Int
    var checkpointEvery: Int?
    var stopAt: Int?
    var quiet: Bool
}

/// Builds the concrete env type for an env name and runs the session on it (one
/// specialisation per env type, so the rollout loops never dispatch through existentials).
enum TrainDispatch {
    static func run(session: TrainSession, env: String, trace: String?) throws {
        if EnvResolver.isScenarioPath(env) {
            let sc = try ScenarioSpec.load(path: env)
            let arrivals = try sc.loadArrivals(overridePath: trace)
            let unscaled = try ServingModel(scenario: sc, arrivals: arrivals, randomStart: true)
            let model = try ServingModel(scenario: sc, arrivals: arrivals, randomStart: true, rewardScale: unscaled.trainingRewardScale)
            try train(session) { FluidServingEnv(model: model, seed: UInt64($0)) }
            return
        }
        if trace != nil { throw CLIError.usage("--trace applies to scenario specs (envs/*.toml), not to \(env).") }
        switch env {
        case "CartPole-v1": try train(session) { TimeLimit(CartPole(seed: UInt64($0)), maxEpisodeSteps: 500) }
        case "Bandit-v0": try train(session) { Bandit(seed: UInt64($0)) }
        case "DelayedReward-v0": try train(session) { DelayedReward(seed: UInt64($0)) }
        case "SwitchCost-v0": try train(session) { TimeLimit(SwitchCost(seed: UInt64($0)), maxEpisodeSteps: 200) }
        default:
            _ = try EnvRegistry.spec(env)   // the unknown-id error, naming the known ids
            throw CLIError.usage("\(env) cannot be trained from the command line yet.")
        }
    }

    static func makeAgent<E: VectorizableEnv & StateCheckpointable>(_ rc: TrainRunConfig, make: @escaping (Int) -> E) throws -> any TrainableAgent {
        let data = Data(rc.agent.utf8)
        if rc.algo == "ppo" {
            return try PPO(config: try JSONDecoder().decode(PPOConfig.self, from: data), makeEnv: make)
        }
        return try DQN(config: try JSONDecoder().decode(DQNConfig.self, from: data), makeEnv: make)
    }

    static func train<E: VectorizableEnv & StateCheckpointable>(_ s: TrainSession, make: @escaping (Int) -> E) throws {
        let agent = try makeAgent(s.runConfig, make: make)
        let fm = FileManager.default
        try fm.createDirectory(at: s.out, withIntermediateDirectories: true)
        let store = try CheckpointStore(directory: s.out, keepLast: s.keep)
        var start = 0
        if s.resume {
            guard let latest = store.latest() else {
                throw CLIError(message: "\(s.out.path): no checkpoint to resume from.", status: ExitStatus.noInput)
            }
            let checkpoint = try store.loadCheckpoint(latest)
            try agent.loadState(checkpoint.state)
            start = checkpoint.step
            store.removeCheckpoints(after: start)
        } else {
            try AtomicOutput.write(text: s.runConfig.json(), to: s.out.appendingPathComponent("config.json").path)
        }
        let logger = try MetricsLogger(directory: s.out, start: s.resume ? .resume(fromStep: start) : .fresh)
        let total = agent.totalSteps
        let bar = s.quiet ? nil : ProgressBar(total: total, startStep: start)
        let every = s.checkpointEvery ?? max(1, total / 10)
        var next = (agent.globalStep / every + 1) * every
        var recent: [Double] = []
        while agent.globalStep < total {
            let target = min(total, next, s.stopAt ?? Int.max)
            try agent.train(untilStep: target) { e in
                for ep in e.episodes {
                    logger.log(tag: "charts/episodic_return", value: ep.episodeReturn, step: e.globalStep)
                    logger.log(tag: "charts/episodic_length", value: Double(ep.length), step: e.globalStep)
                    bar?.recordEpisode(return: ep.episodeReturn)
                    recent.append(ep.episodeReturn)
                    if recent.count > 20 { recent.removeFirst() }
                }
                logger.log(tag: "charts/SPS", value: e.stepsPerSecond, step: e.globalStep)
                for (k, v) in e.losses.sorted(by: { $0.key < $1.key }) {
                    let tag = k == "learning_rate" || k == "epsilon" || k == "clip_range" ? "charts/\(k)" : "losses/\(k)"
                    logger.log(tag: tag, value: v, step: e.globalStep)
                }
                bar?.update(step: e.globalStep)
            }
            try logger.flush()
            try store.save(agent.saveState(), step: agent.globalStep)
            if let stop = s.stopAt, agent.globalStep >= stop { break }
            next += every
        }
        bar?.finish()
        try logger.close()
        let mean = recent.isEmpty ? Double.nan : recent.reduce(0, +) / Double(recent.count)
        print("\(s.runConfig.algo) on \(s.runConfig.env): \(agent.globalStep) steps; mean return of the last \(recent.count) episodes \(String(format: "%.4g", mean)); checkpoint \(store.latest()?.path ?? "-")")
    }
}

/// Loads a trained policy (``FrozenPolicy``) from a checkpoint and runs it greedily, mapping
/// its errors to the CLI's exit statuses.
enum PolicyLoader {
    /// ``FrozenPolicy/load(path:)`` with CLI errors.
    static func load(_ path: String) throws -> FrozenPolicy {
        do { return try FrozenPolicy.load(path: path) } catch let e as FrozenPolicy.LoadError {
            throw CLIError(message: e.message, status: e.kind == .notFound ? ExitStatus.noInput : ExitStatus.dataError)
        }
    }

    /// The policy's run over `model`'s whole series (fluid fidelity).
    static func evaluate(checkpoint path: String, model: ServingModel) throws -> ServingRun {
        let policy = try load(path)
        let bound: BoundPolicy
        do {
            bound = try policy.bind(observationDimension: model.observationDimension, actionLayout: model.actionLayout,
                                    familyLayout: model.observationLayout)
        } catch let e as FrozenPolicy.LoadError {
            throw CLIError(message: e.message, status: ExitStatus.dataError)
        }
        let name = URL(fileURLWithPath: path).lastPathComponent.hasPrefix("ckpt-")
            ? URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent : URL(fileURLWithPath: path).lastPathComponent
        return ServingEvaluation.run(name: "\(policy.algorithm):\(name)", model: model) { _, obs, mask, out in
            bound.act(observation: obs.baseAddress!, mask: mask.baseAddress!, into: out.baseAddress!)
        }
    }
}
