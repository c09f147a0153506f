import Foundation
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymIO

// The training recipe: a typed run config and one entry point, ``Training/run(_:in:options:)``.
// The CLI's `train` and `quickstart` (and later the serving daemon and the Python binding) are
// thin clients of it.

/// The algorithm of a run.
public enum Algorithm: String, Codable, Sendable, CaseIterable {
    case ppo, dqn
}

/// An agent's configuration, typed by algorithm.
public enum AgentConfig: Equatable, Sendable {
    case ppo(PPOConfig)
    case dqn(DQNConfig)

    public var algorithm: Algorithm {
        switch self {
        case .ppo: return .ppo
        case .dqn: return .dqn
        }
    }

    /// Env steps the run trains for.
    public var totalTimesteps: Int {
        switch self {
        case .ppo(let c): return c.totalTimesteps
        case .dqn(let c): return c.totalTimesteps
        }
    }

    /// The defaults of `algorithm`: RL Zoo's tuned CartPole settings, or for serving scenarios
    /// (long episodes, per-device actions, rewards scaled to about 1 per interval) these:
    /// PPO 8 envs x 128 steps, 10 epochs of 256, γ 0.99, λ 0.95, lr 3e-4, entropy 0.01,
    /// net [128, 128], 200 k steps; DQN 200 k steps, learning from 2,000, exploring 30%, double-Q.
    public static func defaults(_ algorithm: Algorithm, serving: Bool) -> AgentConfig {
        switch algorithm {
        case .ppo:
            var c = PPOConfig()
            if serving {
                c.numEnvs = 8; c.numSteps = 128; c.batchSize = 256; c.numEpochs = 10; c.gamma = 0.99; c.gaeLambda = 0.95
                c.learningRate = 0.0003; c.entCoef = 0.01; c.totalTimesteps = 200_000; c.hiddenSizes = [128, 128]
            }
            return .ppo(c)
        case .dqn:
            var c = DQNConfig()
            if serving { c.totalTimesteps = 200_000; c.learningStarts = 2000; c.explorationFraction = 0.3; c.doubleQ = true }
            return .dqn(c)
        }
    }

    /// Decodes the keys of a JSON object over `base` (missing keys keep `base`'s values;
    /// unknown keys and wrong types are errors naming the key), then validates.
    /// - Throws: ``TrainingError`` naming `source` and the key.
    public static func decode(_ json: Data, over base: AgentConfig, source: String) throws -> AgentConfig {
        let decoder = JSONDecoder()
        do {
            switch base {
            case .ppo(let b):
                decoder.userInfo[AgentDefaults.ppo] = b
                let c = try decoder.decode(PPOConfig.self, from: json)
                try c.validate()
                return .ppo(c)
            case .dqn(let b):
                decoder.userInfo[AgentDefaults.dqn] = b
                let c = try decoder.decode(DQNConfig.self, from: json)
                try c.validate()
                return .dqn(c)
            }
        } catch let e as DecodingError {
            // Foundation reports some type errors (64.5 for an integer) without the key: find
            // it by decoding the keys one at a time.
            if case .dataCorrupted(let c) = e, c.codingPath.isEmpty,
               let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] {
                for key in object.keys.sorted() {
                    guard let one = try? JSONSerialization.data(withJSONObject: [key: object[key]!]) else { continue }
                    let fits: Bool
                    switch base {
                    case .ppo: fits = (try? decoder.decode(PPOConfig.self, from: one)) != nil
                    case .dqn: fits = (try? decoder.decode(DQNConfig.self, from: one)) != nil
                    }
                    if !fits {
                        throw TrainingError(.invalidConfig, "\(source): key '\(key)': expected a value of this key's type, got \(object[key]!) (defaults are in a run's config.json)")
                    }
                }
            }
            throw TrainingError(.invalidConfig, "\(source): \(StrictKeys.describe(e))")
        } catch let e as AgentError {
            throw TrainingError(.invalidConfig, "\(source): \(e.message)")
        }
    }

    /// The seed of the agent and its envs.
    public var seed: UInt64 {
        switch self {
        case .ppo(let c): return c.seed
        case .dqn(let c): return c.seed
        }
    }

    /// The same config with `seed` and `steps` set when given.
    public func with(seed: UInt64?, steps: Int?) -> AgentConfig {
        switch self {
        case .ppo(var c):
            if let seed { c.seed = seed }
            if let steps { c.totalTimesteps = steps }
            return .ppo(c)
        case .dqn(var c):
            if let seed { c.seed = seed }
            if let steps { c.totalTimesteps = steps }
            return .dqn(c)
        }
    }
}

/// What a run folder's `config.json` holds: the env, the trace, the agent's resolved
/// config and the run's goals (`{"env", "trace", "algo", "agent": {...}, "goals": {...}}`, the
/// agent under Stable-Baselines3's key names; a file without `goals` has none). Decoding
/// refuses unknown keys, naming them.
public struct TrainingRunConfig: Codable, Equatable, Sendable {
    /// A registered env id or a scenario spec path.
    public var env: String
    /// For a scenario: the trace dataset to train on (its own when `nil`).
    public var trace: String?
    /// The agent.
    public var agent: AgentConfig
    /// The early stop and the periodic evaluation.
    public var goals: TrainingGoals

    public init(env: String, trace: String? = nil, agent: AgentConfig, goals: TrainingGoals = TrainingGoals()) {
        self.env = env
        self.trace = trace
        self.agent = agent
        self.goals = goals
    }

    /// The algorithm.
    public var algorithm: Algorithm { agent.algorithm }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case env, trace, algo, agent, goals
    }

    public init(from decoder: any Decoder) throws {
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue), what: "run config")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        env = try c.decode(String.self, forKey: .env)
        trace = try c.decodeIfPresent(String.self, forKey: .trace)
        switch try c.decode(Algorithm.self, forKey: .algo) {
        case .ppo: agent = .ppo(try c.decode(PPOConfig.self, forKey: .agent))
        case .dqn: agent = .dqn(try c.decode(DQNConfig.self, forKey: .agent))
        }
        goals = try c.decodeIfPresent(TrainingGoals.self, forKey: .goals) ?? TrainingGoals()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(env, forKey: .env)
        try c.encode(trace, forKey: .trace)
        try c.encode(algorithm, forKey: .algo)
        switch agent {
        case .ppo(let a): try c.encode(a, forKey: .agent)
        case .dqn(let a): try c.encode(a, forKey: .agent)
        }
        try c.encode(goals, forKey: .goals)
    }

    /// Reads a run folder's config.json.
    /// - Throws: ``TrainingError`` naming the file and what is wrong.
    public static func read(from directory: URL) throws -> TrainingRunConfig {
        let path = directory.appendingPathComponent(RunConfigFile.fileName).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TrainingError(.nothingToResume, "\(directory.path): no run to resume (config.json is missing); start one without --resume.")
        }
        do {
            return try RunConfigFile.read(TrainingRunConfig.self, from: directory)
        } catch let e as DecodingError {
            throw TrainingError(.invalidConfig, "\(path): \(StrictKeys.describe(e))")
        }
    }
}

/// How ``Training/run(_:in:options:)`` runs: a fresh run or a resumed one, checkpoint cadence
/// and retention, an early stop, and whether to draw a progress bar.
public struct TrainingOptions: Sendable {
    /// Continue the run in the folder from its latest checkpoint (bit for bit).
    public var resume = false
    /// Checkpoints kept.
    public var keep = 3
    /// Env steps between checkpoints (default: a tenth of the run).
    public var checkpointEvery: Int?
    /// Stop (as if interrupted) once this many steps are done.
    public var stopAt: Int?
    /// Draw a progress bar on standard error.
    public var progress = true
    /// Receives notes and warnings about the run folder (a corrupt checkpoint skipped on
    /// resume, a folder without checkpoints started afresh).
    public var notice: @Sendable (String) -> Void

    public init(resume: Bool = false, keep: Int = 3, checkpointEvery: Int? = nil, stopAt: Int? = nil, progress: Bool = true,
                notice: @escaping @Sendable (String) -> Void = { FileSystem.printWarning($0) }) {
        self.resume = resume
        self.keep = keep
        self.checkpointEvery = checkpointEvery
        self.stopAt = stopAt
        self.progress = progress
        self.notice = notice
    }
}

/// What a training run did.
public struct TrainingSummary: Sendable, Equatable {
    public var algorithm: Algorithm
    public var env: String
    /// Env steps done.
    public var steps: Int
    /// Mean return of the last (up to 20) episodes; NaN when none finished.
    public var recentMeanReturn: Double
    /// Episodes in ``recentMeanReturn``.
    public var recentEpisodes: Int
    /// The latest checkpoint.
    public var checkpoint: String?
    /// Whether the run stopped early because ``TrainingGoals/stopAtReturn`` was reached (on
    /// the criterion ``TrainingGoals/stopOn`` names).
    public var reachedGoal = false
    /// The best evaluation's mean return and step (`nil` without evaluation).
    public var bestEvaluation: (meanReturn: Double, step: Int)?
    /// The checkpoint of the best evaluated policy (`best.h5`), when evaluating.
    public var bestCheckpoint: String?

    public static func == (a: TrainingSummary, b: TrainingSummary) -> Bool {
        a.algorithm == b.algorithm && a.env == b.env && a.steps == b.steps
            && a.recentMeanReturn.bitPattern == b.recentMeanReturn.bitPattern && a.recentEpisodes == b.recentEpisodes
            && a.checkpoint == b.checkpoint && a.reachedGoal == b.reachedGoal
            && a.bestEvaluation?.meanReturn == b.bestEvaluation?.meanReturn && a.bestEvaluation?.step == b.bestEvaluation?.step
            && a.bestCheckpoint == b.bestCheckpoint
    }
}

/// Why a run could not start or continue.
public struct TrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A config key is unknown, of the wrong type or out of range.
        case invalidConfig
        /// `--resume` where there is nothing to resume.
        case nothingToResume
        /// A fresh run into a folder that already holds one, or a run into a folder that
        /// another process is training in.
        case folderInUse
        /// `--resume` with another env or trace than the run's.
        case mismatch
        /// The env cannot be trained (unknown id, a trace for a registered env).
        case invalidEnv
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}

/// The one training entry point.
public enum Training {
    /// The run config of a fresh run: `algorithm`'s defaults (serving defaults for a scenario
    /// spec), then the keys of the JSON config file `file`, then `seed` and `steps`; with `goals`.
    /// `file` may also be the JSON object itself (it starts with `{`, as `--config
    /// '{"net_arch": [64, 64]}'` on the command line).
    /// - Throws: ``TrainingError`` naming the file (or "inline config") and key (or the goal's key).
    public static func resolve(env: String, trace: String?, algorithm: Algorithm, file: String?,
                               seed: UInt64?, steps: Int?, goals: TrainingGoals = TrainingGoals()) throws -> TrainingRunConfig {
        try goals.validate()
        var agent = AgentConfig.defaults(algorithm, serving: EnvResolver.isScenarioPath(env))
        if let file {
            if let inline = inlineConfig(file) {
                agent = try AgentConfig.decode(inline, over: agent, source: "inline config \(file)")
            } else {
                let data: Data
                do { data = Data(try FileSystem.readAll(file, limit: 16 << 20, what: "a JSON train config")) } catch {
                    throw TrainingError(.invalidConfig, "\(file): cannot read the config file (\(error)).")
                }
                agent = try AgentConfig.decode(data, over: agent, source: file)
            }
        }
        agent = agent.with(seed: seed, steps: steps)
        switch agent {
        case .ppo(let c):
            do { try c.validate() } catch let e as AgentError { throw TrainingError(.invalidConfig, e.message) }
        case .dqn(let c):
            do { try c.validate() } catch let e as AgentError { throw TrainingError(.invalidConfig, e.message) }
        }
        return TrainingRunConfig(env: env, trace: trace, agent: agent, goals: goals)
    }

    /// The JSON of a config given inline (`text` starts with `{` after white space), else nil: a
    /// path to a config file. (A file whose name starts with `{` is read as `./{...`.)
    static func inlineConfig(_ text: String) -> Data? {
        guard text.drop(while: { $0.isWhitespace }).first == "{" else { return nil }
        return Data(text.utf8)
    }

    /// Trains `run` in `directory`: a fresh run writes `config.json`, metrics (CSV and
    /// TensorBoard events) and checkpoints; a resumed one continues bit for bit from the
    /// newest checkpoint that reads back intact (corrupt newer ones are skipped and named
    /// through `options.notice`; the run's own `config.json` is authoritative).
    ///
    /// A fresh run may use a folder that holds a run stopped before its first checkpoint
    /// (its config and metrics are replaced, with a notice). While training, the process
    /// holds an exclusive lock on `directory/.lock` (``TrainingVisitor/lockFileName``), so a
    /// second run into the same folder is refused.
    /// - Throws: ``TrainingError``, and the env's, checkpoint's and metrics' errors.
    @discardableResult
    public static func run(_ run: TrainingRunConfig, in directory: URL, options: TrainingOptions = TrainingOptions()) throws -> TrainingSummary {
        let spec: EnvSpec
        do {
            spec = try EnvResolver.spec(run.env, trace: run.trace, training: true, seed: run.agent.seed)
        } catch let e as EnvError {
            throw TrainingError(.invalidEnv, e.message)
        }
        let visitor = TrainingVisitor(run: run, directory: directory, options: options)
        try spec.visit(visitor)
        return visitor.summary!
    }
}

/// Specialises the training loop on the env's concrete type.
final class TrainingVisitor: EnvVisitor {
    let run: TrainingRunConfig
    let directory: URL
    let options: TrainingOptions
    var summary: TrainingSummary?
    /// A serving env's observation normalisation, recorded in every checkpoint (``FrozenPolicy/normalization``).
    var normalization: ObservationNormalization?

    init(run: TrainingRunConfig, directory: URL, options: TrainingOptions) {
        self.run = run
        self.directory = directory
        self.options = options
    }

    func visit<E: VectorizableEnv & StateCheckpointable & Sendable>(id: String, make: @escaping @Sendable (UInt64) -> E) throws {
        var agent = run.agent
        let fleet = make(0) as? FluidServingEnv
        normalization = fleet?.model.normalization
        // `auto` on a large serving fleet: class-level moves (PolicyArchitecture.autoMovesAbove).
        if case .ppo(var c) = agent, c.policy == .auto, let fleet {
            c.policy = c.policy.resolved(fleetDevices: fleet.model.deviceCount)
            if c.policy == .moves {
                options.notice("note: policy = auto trains class-level moves on this fleet of \(fleet.model.deviceCount) devices (more than \(PolicyArchitecture.autoMovesAbove)); set \"policy\": \"family\" for a per-device family policy.")
            }
            agent = .ppo(c)
        }
        switch agent {
        case .ppo(let c) where c.policy == .moves:
            // Class-level moves: the fleet wrapped in FleetMovesEnv, one codec for every sub-env.
            guard let fleet else {
                throw TrainingError(.invalidConfig, "policy = moves needs a serving scenario on the fluid env (envs/*.toml); \(id) is not one.")
            }
            let codec = FleetMoves(model: fleet.model)
            let makeMoves: @Sendable (UInt64) -> FleetMovesEnv = { FleetMovesEnv(fleet: make($0) as! FluidServingEnv, moves: codec) }
            summary = try train(try PPO(config: c) { makeMoves(UInt64($0)) }, evaluationEnv: makeMoves)
        case .ppo(let c): summary = try train(try PPO(config: c) { make(UInt64($0)) }, evaluationEnv: make)
        case .dqn(let c): summary = try train(try DQN(config: c) { make(UInt64($0)) }, evaluationEnv: make)
        }
    }

    /// The lock file a training process holds in its run folder.
    static let lockFileName = ".lock"

    /// Trains `agent` update by update: logs each update's metrics, evaluates the greedy
    /// policy on `evaluationEnv(seed + TrainingGoals.evalSeedOffset)` when ``TrainingGoals/evalEvery``
    /// says (keeping the best in `best.h5`), checkpoints, and stops at the budget, at
    /// `options.stopAt`, or once ``TrainingGoals/stopAtReturn`` is reached (by the training
    /// window or by an evaluation, ``TrainingGoals/stopOn``).
    func train<A: CheckpointedAgent, EvalEnv: VectorizableEnv>(_ agent: A, evaluationEnv: (UInt64) -> EvalEnv) throws -> TrainingSummary {
        let fm = FileManager.default
        let s = options
        try OutputGuard.check(folder: directory.path)
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        // Held until this function returns (the process ending releases it too).
        let lock = try FileLock.tryLock(directory.appendingPathComponent(Self.lockFileName).path)
        guard let lock else {
            throw TrainingError(.folderInUse, "\(directory.path): another switchgym train is running in this folder "
                                + "(it holds \(Self.lockFileName)); wait for it to finish or choose another --out.")
        }
        defer { withExtendedLifetime(lock) {} }
        let store = try CheckpointStore(directory: directory, keepLast: s.keep)
        let goals = run.goals
        let bestURL = directory.appendingPathComponent(TrainingGoals.bestFileName)
        var progress = TrainingGoals.Progress()
        var start = 0
        if s.resume {
            let checkpoint = try newestIntactCheckpoint(store)
            try agent.loadState(checkpoint.state)
            do { progress = try TrainingGoals.Progress(from: checkpoint.state) } catch let e as AgentError {
                throw CheckpointError(path: store.url(step: checkpoint.step).path, e.message)
            }
            start = checkpoint.step
            store.removeCheckpoints(after: start)
        } else {
            let existing = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
            if !store.checkpoints().isEmpty {
                throw TrainingError(.folderInUse, "\(directory.path) already holds a run; pass --resume to continue it or choose another --out.")
            }
            if existing.contains(RunConfigFile.fileName) {
                // A run stopped before its first checkpoint: nothing to keep, so start afresh.
                s.notice("note: \(directory.path) holds a run that stopped before its first checkpoint; starting afresh in it.")
                for name in existing where name.hasPrefix("events.out.tfevents.") {
                    FileSystem.removeIfPresent(directory.appendingPathComponent(name).path)
                }
            }
            // A best.h5 left by an earlier run in this folder is not this run's.
            FileSystem.removeIfPresent(bestURL.path)
            try RunConfigFile.write(run, to: directory)
        }
        let logger = try MetricsLogger(directory: directory, start: s.resume ? .resume(fromStep: start) : .fresh)
        let total = run.agent.totalTimesteps
        let bar = s.progress ? ProgressBar(total: total, startStep: start) : nil
        let every = s.checkpointEvery ?? max(1, total / 10)
        var nextCheckpoint = (agent.globalStep / every + 1) * every
        var nextEvaluation = goals.evalEvery.map { (agent.globalStep / $0 + 1) * $0 }
        let evalSeed = run.agent.seed &+ TrainingGoals.evalSeedOffset
        var evalEnv: EvalEnv? = goals.evalEvery.map { _ in evaluationEnv(evalSeed) }
        func stateToSave() -> StateDict {
            var state = agent.saveState()
            if let n = normalization { FrozenPolicy.record(n, in: &state) }
            progress.record(in: &state)
            return state
        }
        // A resumed run whose goal was reached when it stopped does nothing more.
        var reached = progress.reached(goals)
        while agent.globalStep < total && !reached {
            // One update at a time (the same updates as longer chunks) so that the goals are
            // checked after each.
            try agent.train(untilStep: agent.globalStep + 1) { e in
                for ep in e.episodes {
                    logger.log(tag: "charts/episodic_return", value: ep.episodeReturn, step: e.globalStep)
                    logger.log(tag: "charts/episodic_length", value: Double(ep.length), step: e.globalStep)
                    bar?.recordEpisode(return: ep.episodeReturn)
                    progress.record(ep.episodeReturn)
                }
                logger.log(tag: "charts/SPS", value: e.stepsPerSecond, step: e.globalStep)
                for (tag, v) in e.taggedScalars { logger.log(tag: tag, value: v, step: e.globalStep) }
                bar?.update(step: e.globalStep)
            }
            let step = agent.globalStep
            if let n = nextEvaluation, step >= n, let evalEvery = goals.evalEvery, evalEnv != nil {
                // The same start states every time: the first episode resets with evalSeed.
                let episodes = Evaluation.run(agent, env: &evalEnv!, episodes: goals.evalEpisodes, seed: evalSeed)
                let mean = Evaluation.meanReturn(episodes)
                let meanLength = Double(episodes.reduce(0) { $0 + $1.length }) / Double(max(1, episodes.count))
                logger.log(tag: "eval/mean_return", value: mean, step: step)
                logger.log(tag: "eval/mean_length", value: meanLength, step: step)
                if progress.recordEvaluation(meanReturn: mean, step: step) {
                    try CheckpointFile.write(stateToSave(), step: step, to: bestURL.path, createdBy: store.createdBy)
                }
                logger.log(tag: "eval/best_mean_return", value: progress.best!.meanReturn, step: step)
                nextEvaluation = (step / evalEvery + 1) * evalEvery
            }
            // After the evaluation, which ``TrainingGoals/StopCriterion/eval`` stops on.
            reached = progress.reached(goals)
            let stopping = reached || step >= total || (s.stopAt.map { step >= $0 } ?? false)
            if step >= nextCheckpoint || stopping {
                try logger.flush()
                try store.save(stateToSave(), step: step)
                nextCheckpoint = (step / every + 1) * every
            }
            if let stop = s.stopAt, step >= stop { break }
        }
        bar?.finish()
        try logger.close()
        var summary = TrainingSummary(algorithm: run.algorithm, env: run.env, steps: agent.globalStep, recentMeanReturn: progress.recentMean,
                                      recentEpisodes: progress.recentReturns.count, checkpoint: store.latest()?.path)
        summary.reachedGoal = reached
        summary.bestEvaluation = progress.best
        if progress.best != nil { summary.bestCheckpoint = bestURL.path }
        return summary
    }
}

extension TrainingVisitor {
    /// The newest checkpoint that reads back intact; corrupt newer ones are named through
    /// `options.notice`.
    /// - Throws: ``TrainingError`` (`.nothingToResume`) when there is no checkpoint, or none
    ///   reads back (the message names each and why).
    func newestIntactCheckpoint(_ store: CheckpointStore) throws -> Checkpoint {
        let all = store.checkpoints()
        guard !all.isEmpty else {
            let hasConfig = FileManager.default.fileExists(atPath: directory.appendingPathComponent(RunConfigFile.fileName).path)
            throw TrainingError(.nothingToResume, "\(directory.path): no checkpoint to resume from"
                                + (hasConfig ? " (the run stopped before its first checkpoint); run again without --resume to start it afresh."
                                             : "."))
        }
        var skipped: [CheckpointError] = []
        for url in all.reversed() {
            do {
                let checkpoint = try store.loadCheckpoint(url)
                for e in skipped {
                    options.notice("warning: skipped the corrupt checkpoint \(e.description)")
                }
                if !skipped.isEmpty {
                    options.notice("note: resuming from \(url.path) (step \(checkpoint.step)), the newest intact checkpoint.")
                }
                return checkpoint
            } catch let e as CheckpointError where e.kind == .invalid {
                skipped.append(e)
            }
        }
        throw TrainingError(.nothingToResume, "\(directory.path): no intact checkpoint to resume from; every one is damaged:\n"
                            + skipped.map { "  " + $0.description }.joined(separator: "\n"))
    }
}

/// An agent that trains in chunks and checkpoints its whole state (PPO, DQN).
protocol CheckpointedAgent: AnyObject, GreedyPolicy {
    var globalStep: Int { get }
    func train(untilStep: Int?, callback: (TrainingEvent) throws -> Void) throws
    func saveState() -> StateDict
    func loadState(_ s: StateDict) throws
}

extension PPO: CheckpointedAgent where E: StateCheckpointable {}
extension DQN: CheckpointedAgent where E: StateCheckpointable {}

/// The defaults a config decodes over (`JSONDecoder.userInfo`): missing keys keep these.
public enum AgentDefaults {
    public static let ppo = CodingUserInfoKey(rawValue: "switchgym.ppo.defaults")!
    public static let dqn = CodingUserInfoKey(rawValue: "switchgym.dqn.defaults")!
}

/// Unknown keys of a keyed container, found from the type's coding keys (not a hand-kept list).
public enum StrictKeys {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Throws a `DecodingError` naming the first key of `decoder`'s object not in `allowed`.
    public static func check(_ decoder: any Decoder, allowed: [String], what: String) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(allowed)
        for k in c.allKeys.map(\.stringValue).sorted() where !known.contains(k) {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath + [AnyKey(stringValue: k)!],
                debugDescription: "unknown \(what) key '\(k)' (expected one of: \(allowed.sorted().joined(separator: ", ")))"))
        }
    }

    /// A message naming the key path and what was expected.
    public static func describe(_ e: DecodingError) -> String {
        func path(_ c: [any CodingKey]) -> String { c.map(\.stringValue).joined(separator: ".") }
        switch e {
        case .typeMismatch(let t, let c), .valueNotFound(let t, let c):
            return "key '\(path(c.codingPath))': expected \(t)"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "not valid JSON (\(c.debugDescription))" : "key '\(path(c.codingPath))': \(c.debugDescription)"
        case .keyNotFound(let k, let c):
            return "missing key '\(path(c.codingPath + [k]))'"
        @unknown default:
            return "\(e)"
        }
    }
}
