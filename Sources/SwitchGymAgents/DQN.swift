import Foundation
import SwitchGymCore
import SwitchGymNN

/// DQN's hyperparameters. The defaults are RL Zoo's tuned `CartPole-v1` settings
/// (`rl-baselines3-zoo/hyperparams/dqn.yml`) on top of Stable-Baselines3's DQN defaults, with
/// SB3's semantics: the same config trains the same algorithm as SB3's `DQN` with those keys.
/// Double-Q learning (``doubleQ``) is an option that SB3's DQN does not have, off by default.
///
/// Coded with Stable-Baselines3's names; every key is optional when decoding.
public struct DQNConfig: Codable, Sendable, Equatable {
    /// Sub-envs stepped together (`n_envs`). RL Zoo: 1.
    public var numEnvs = 1
    /// Adam step size (`learning_rate`), constant. RL Zoo: 2.3e-3.
    public var learningRate = 2.3e-3
    /// Transitions per gradient step (`batch_size`). RL Zoo: 64.
    public var batchSize = 64
    /// Replay capacity in transitions (`buffer_size`). RL Zoo: 100 000.
    public var bufferSize = 100_000
    /// Env steps of uniformly random actions before learning (`learning_starts`). RL Zoo: 1000.
    public var learningStarts = 1000
    /// Discount (`gamma`). RL Zoo: 0.99.
    public var gamma = 0.99
    /// Env steps between hard target-network updates (`target_update_interval`; counted as SB3
    /// does, once per vector step against `interval / n_envs`). RL Zoo: 10, which with
    /// `train_freq` 256 syncs the target once before every round of gradient steps.
    public var targetUpdateInterval = 10
    /// Vector steps collected per round (`train_freq`, unit "step"). RL Zoo: 256.
    public var trainFreq = 256
    /// Gradient steps per round once learning has started (`gradient_steps`). RL Zoo: 128.
    public var gradientSteps = 128
    /// Fraction of ``totalTimesteps`` over which ε falls linearly (`exploration_fraction`). RL Zoo: 0.16.
    public var explorationFraction = 0.16
    /// ε at the start (`exploration_initial_eps`). SB3: 1.
    public var explorationInitialEps = 1.0
    /// ε after the decay (`exploration_final_eps`). RL Zoo: 0.04.
    public var explorationFinalEps = 0.04
    /// Global gradient-norm clip (`max_grad_norm`). SB3: 10.
    public var maxGradNorm = 10.0
    /// Double-Q targets: the online network picks the next action, the target network values
    /// it (van Hasselt et al., 2016); one more forward pass per gradient step. False (the
    /// default) gives SB3's `max_a Q_target(s', a)`.
    public var doubleQ = false
    /// Env steps the ε schedule is relative to (`n_timesteps`). RL Zoo: 5e4.
    public var totalTimesteps = 50_000
    /// Hidden layer widths (`net_arch`). RL Zoo: [256, 256].
    public var hiddenSizes = [256, 256]
    /// Hidden activation (SB3's DQN: ReLU).
    public var activation = Activation.relu
    /// Adam's ε (PyTorch's default 1e-8, which SB3's DQN keeps).
    public var adamEpsilon = 1e-8
    /// Seeds initialisation, exploration, replay sampling and the envs (`seed + i`).
    public var seed: UInt64 = 0
    /// Autoreset of the vector env the agent builds. Same-step (the default) stores the final
    /// observation and its action mask as `s'`; with next-step the reset steps are skipped.
    public var autoreset = AutoresetMode.sameStep

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case numEnvs = "n_envs", learningRate = "learning_rate", batchSize = "batch_size", bufferSize = "buffer_size"
        case learningStarts = "learning_starts", gamma, targetUpdateInterval = "target_update_interval"
        case trainFreq = "train_freq", gradientSteps = "gradient_steps", explorationFraction = "exploration_fraction"
        case explorationInitialEps = "exploration_initial_eps", explorationFinalEps = "exploration_final_eps"
        case maxGradNorm = "max_grad_norm", doubleQ = "double_q", totalTimesteps = "n_timesteps"
        case hiddenSizes = "net_arch", activation = "activation_fn", adamEpsilon = "adam_epsilon", seed, autoreset
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue), what: "dqn config")
        let d = decoder.userInfo[AgentDefaults.dqn] as? DQNConfig ?? DQNConfig()
        func get<T: Decodable>(_ k: CodingKeys, _ v: T) throws -> T {
            do { return try c.decodeIfPresent(T.self, forKey: k) ?? v } catch DecodingError.dataCorrupted(let ctx) {
                // Foundation reports a number that does not fit T (64.5 for an Int) without the key.
                throw DecodingError.typeMismatch(T.self, DecodingError.Context(codingPath: c.codingPath + [k], debugDescription: ctx.debugDescription))
            }
        }
        numEnvs = try get(.numEnvs, d.numEnvs)
        learningRate = try get(.learningRate, d.learningRate)
        batchSize = try get(.batchSize, d.batchSize)
        bufferSize = try get(.bufferSize, d.bufferSize)
        learningStarts = try get(.learningStarts, d.learningStarts)
        gamma = try get(.gamma, d.gamma)
        targetUpdateInterval = try get(.targetUpdateInterval, d.targetUpdateInterval)
        trainFreq = try get(.trainFreq, d.trainFreq)
        gradientSteps = try get(.gradientSteps, d.gradientSteps)
        explorationFraction = try get(.explorationFraction, d.explorationFraction)
        explorationInitialEps = try get(.explorationInitialEps, d.explorationInitialEps)
        explorationFinalEps = try get(.explorationFinalEps, d.explorationFinalEps)
        maxGradNorm = try get(.maxGradNorm, d.maxGradNorm)
        doubleQ = try get(.doubleQ, d.doubleQ)
        totalTimesteps = try get(.totalTimesteps, d.totalTimesteps)
        hiddenSizes = try get(.hiddenSizes, d.hiddenSizes)
        activation = try get(.activation, d.activation)
        adamEpsilon = try get(.adamEpsilon, d.adamEpsilon)
        seed = try get(.seed, d.seed)
        autoreset = try get(.autoreset, d.autoreset)
    }

    /// Throws ``AgentError`` naming the first invalid field.
    public func validate() throws {
        let c = "DQNConfig", B = ConfigBounds.self
        try B.check(c, "n_envs", numEnvs, B.numEnvs)
        try B.check(c, "batch_size", batchSize, B.steps)
        try B.check(c, "buffer_size", bufferSize, InputBounds.closed(1, B.stepCount.upper, unit: "steps"))
        try B.check(c, "train_freq", trainFreq, InputBounds.closed(1, B.stepCount.upper, unit: "steps"))
        try B.check(c, "gradient_steps", gradientSteps, InputBounds.closed(0, B.epochs.upper))
        try B.check(c, "learning_starts", learningStarts, B.stepCount)
        try B.check(c, "target_update_interval", targetUpdateInterval, InputBounds.closed(1, B.stepCount.upper, unit: "steps"))
        try B.check(c, "n_timesteps", totalTimesteps, B.totalTimesteps)
        try B.check(c, "gamma", gamma, B.fraction)
        try B.check(c, "exploration_fraction", explorationFraction, InputBounds.above(0, upTo: 1))
        try B.check(c, "exploration_initial_eps", explorationInitialEps, B.fraction)
        try B.check(c, "exploration_final_eps", explorationFinalEps, B.fraction)
        try B.check(c, "learning_rate", learningRate, B.learningRate)
        try B.check(c, "max_grad_norm", maxGradNorm, B.maxGradNorm)
        try B.check(c, "adam_epsilon", adamEpsilon, B.adamEpsilon)
        try B.checkNetArch(c, hiddenSizes)
        if autoreset == .disabled { throw AgentError("\(c): key 'autoreset': expected next-step or same-step") }
    }

    /// ε after `step` env steps: linear from the initial to the final value over the first
    /// `explorationFraction` of ``totalTimesteps``, then constant (SB3's `get_linear_fn`).
    public func epsilon(atStep step: Int) -> Double {
        let progress = Double(step) / Double(totalTimesteps)
        if progress > explorationFraction { return explorationFinalEps }
        return explorationInitialEps + progress * (explorationFinalEps - explorationInitialEps) / explorationFraction
    }

    /// The config as sorted-key JSON.
    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// The bootstrapped Q-learning targets of a batch.
public enum DQNTarget {
    /// `y_k = r_k + γ (1 - terminated_k) Q_target(s'_k, a*_k)` where `a*_k` is the allowed
    /// action (per `nextMasks`) with the largest `Q_online(s'_k, ·)` when `onlineNext` is given
    /// (double Q), else with the largest `Q_target(s'_k, ·)` (the masked max). Rows are
    /// `batch × actionCount`. No allocation.
    public static func compute(batch: Int, actionCount: Int, gamma: Float, rewards: UnsafePointer<Float>,
                               terminations: UnsafePointer<Bool>, nextMasks: UnsafePointer<Bool>?,
                               targetNext: UnsafePointer<Float>, onlineNext: UnsafePointer<Float>?,
                               into targets: UnsafeMutablePointer<Float>) {
        for k in 0..<batch {
            let mask = nextMasks.map { $0 + k * actionCount }
            let chooser = (onlineNext ?? targetNext) + k * actionCount
            let a = Categorical.argmax(chooser, mask: mask, count: actionCount)
            let next = terminations[k] ? 0 : targetNext[k * actionCount + a]
            targets[k] = rewards[k] + gamma * next
        }
    }
}

/// DQN's loss: Stable-Baselines3's `F.smooth_l1_loss(Q(s, a), y)` (Huber with δ = 1, mean
/// over the batch).
public enum DQNLoss {
    /// The loss of `Q(s_k, a_k)` against `targets[k]` and its gradient with respect to every
    /// Q-value: `outputGradient` (`batch × actionCount`) gets `clamp(Q - y, -1, 1) / batch` at
    /// the taken action and 0 elsewhere. `q` is `batch × actionCount`. No allocation.
    /// - Returns: the mean loss and the mean `Q(s_k, a_k)`.
    public static func huber(q: UnsafePointer<Float>, actions: UnsafePointer<Int>, targets: UnsafePointer<Float>,
                             batch: Int, actionCount: Int, outputGradient: UnsafeMutablePointer<Float>)
        -> (loss: Double, meanQ: Double) {
        outputGradient.update(repeating: 0, count: batch * actionCount)
        var loss = 0.0, qSum = 0.0
        let invB = 1 / Float(batch)
        for k in 0..<batch {
            let j = k * actionCount + actions[k]
            qSum += Double(q[j])
            let diff = q[j] - targets[k]
            let ad = abs(diff)
            loss += Double(ad < 1 ? 0.5 * diff * diff : ad - 0.5)
            outputGradient[j] = (ad < 1 ? diff : (diff > 0 ? 1 : -1)) * invB
        }
        return (loss / Double(batch), qSum / Double(batch))
    }
}

/// Deep Q-learning (Mnih et al., 2015) as Stable-Baselines3's `DQN`: replay buffer, hard
/// target-network updates, ε-greedy exploration with a linear schedule, Huber loss (SB3's
/// `smooth_l1_loss`), global-norm gradient clipping, plus optional double-Q targets
/// (``DQNConfig/doubleQ``) and action masking (masked actions are never explored or chosen,
/// and the bootstrap maximises over the next state's allowed actions only).
///
/// ``train(untilStep:callback:)`` runs rounds of `trainFreq` vector steps followed (once
/// more than `learningStarts` steps have been taken) by `gradientSteps` gradient steps, and
/// reports each round. As in SB3 (`DQN._on_step`, `OffPolicyAlgorithm.learn`):
/// - the first `learningStarts` env steps take uniformly random allowed actions, later ones
///   ε-greedy with ε = ``DQNConfig/epsilon(atStep:)`` of the env steps taken before it;
/// - the target network is copied from the online one every `targetUpdateInterval / n_envs`
///   vector steps, counted during collection only, so it stays fixed through a round's
///   gradient steps (with RL Zoo's 10 and 256 it is the online network as it was when the
///   round's collection began);
/// - a round trains only when more than `learningStarts` env steps have been taken
///   (`num_timesteps > learning_starts`), so RL Zoo's CartPole first trains after 1024 steps.
///
/// ``saveState()`` / ``loadState(_:)`` checkpoint everything between rounds, replay contents
/// included, for a bit-exact resume. Stepping allocates nothing.
public final class DQN<E: VectorizableEnv>: GreedyPolicy {
    /// The hyperparameters.
    public let config: DQNConfig
    /// The training envs.
    public let env: VectorEnv<E>
    /// The training envs' buffers.
    public let buffers: VectorBuffers
    /// The online Q-network (observation → one value per action).
    public let qNetwork: MLP
    /// The target network.
    public let targetNetwork: MLP
    /// The online Q-network, for export (the greedy policy is its masked argmax).
    public var policyNetwork: MLP { qNetwork }
    /// The replay buffer.
    public let replay: ReplayBuffer
    /// Env steps taken (sub-envs × vector steps).
    public private(set) var globalStep = 0
    /// Rounds completed.
    public private(set) var updateCount = 0
    /// Gradient steps taken.
    public private(set) var gradientStepCount = 0
    /// Vector steps taken (SB3's `_n_calls`, which times target updates).
    public private(set) var vectorStepCount = 0

    private var generator: SeededGenerator
    private var tracker: EpisodeTracker
    private let optimizer: Adam
    private let actWorkspace: MLPWorkspace
    private let onlineWorkspace: MLPWorkspace
    private let targetWorkspace: MLPWorkspace
    private let n: Int, dim: Int, actionCount: Int
    private let previousObservations: UnsafeMutablePointer<Float>
    private let isResetStep: UnsafeMutablePointer<Bool>
    private let envActions: UnsafeMutableBufferPointer<Int>
    private let chosen: UnsafeMutablePointer<Int>
    private let sampleIndices: UnsafeMutablePointer<Int>
    private let mbObservations: UnsafeMutablePointer<Float>
    private let mbNextObservations: UnsafeMutablePointer<Float>
    private let mbRewards: UnsafeMutablePointer<Float>
    private let mbTerminations: UnsafeMutablePointer<Bool>
    private let mbNextMasks: UnsafeMutablePointer<Bool>
    private let mbActions: UnsafeMutablePointer<Int>
    private let targets: UnsafeMutablePointer<Float>
    private let outputGradient: UnsafeMutablePointer<Float>
    private let singleOutput: UnsafeMutablePointer<Float>

    /// An agent training on `env` (reset here with `config.seed`).
    public init(config: DQNConfig, env: VectorEnv<E>) throws {
        try config.validate()
        guard env.count == config.numEnvs else {
            throw AgentError("DQN: the env has \(env.count) sub-envs, the config says n_envs = \(config.numEnvs).")
        }
        guard env.autoreset != .disabled else { throw AgentError("DQN: the env's autoreset must not be disabled.") }
        guard env.actionComponents == 1 else {
            throw AgentError("DQN: the env's action has \(env.actionComponents) components (\(env.actionLayout)); DQN's Q-network scores one Discrete action, and a serving fleet's per-device action would need a Q-value per joint assignment. Use PPO (--algo ppo), whose policy factors over the devices.")
        }
        self.config = config
        self.env = env
        n = env.count
        dim = env.observationDimension
        actionCount = env.maskWidth
        buffers = env.makeBuffers()
        let sizes = [dim] + config.hiddenSizes + [actionCount]
        try ConfigBounds.checkNetworks([sizes, sizes])
        try ConfigBounds.checkStorage("replay values (buffer_size x (2 x observation \(dim) + mask \(actionCount) + 3))",
                                      count: Checked.product(config.bufferSize, 2 * dim + actionCount + 3),
                                      knob: "lower buffer_size")
        qNetwork = MLP(sizes: sizes, hiddenActivation: config.activation)
        targetNetwork = MLP(sizes: sizes, hiddenActivation: config.activation)
        var initGenerator = SeededGenerator.substream(seed: config.seed, index: 0)
        FanInUniform.initialize(qNetwork, using: &initGenerator)
        targetNetwork.copyParameters(from: qNetwork)
        generator = SeededGenerator.substream(seed: config.seed, index: 1)
        tracker = EpisodeTracker(count: n)
        optimizer = Adam(parameterCount: qNetwork.parameterCount, learningRate: Float(config.learningRate),
                         epsilon: Float(config.adamEpsilon))
        replay = ReplayBuffer(capacity: config.bufferSize, observationDimension: dim, actionCount: actionCount)
        actWorkspace = qNetwork.makeWorkspace(maxBatch: n)
        onlineWorkspace = qNetwork.makeWorkspace(maxBatch: config.batchSize)
        targetWorkspace = targetNetwork.makeWorkspace(maxBatch: config.batchSize)
        let b = config.batchSize
        func make<T>(_ count: Int, _ zero: T) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: count)
            p.initialize(repeating: zero, count: count)
            return p
        }
        previousObservations = make(n * dim, 0)
        isResetStep = make(n, false)
        envActions = .allocate(capacity: n)
        envActions.initialize(repeating: 0)
        chosen = make(n, 0)
        sampleIndices = make(b, 0)
        mbObservations = make(b * dim, 0)
        mbNextObservations = make(b * dim, 0)
        mbRewards = make(b, 0)
        mbTerminations = make(b, false)
        mbNextMasks = make(b * actionCount, true)
        mbActions = make(b, 0)
        targets = make(b, 0)
        outputGradient = make(b * actionCount, 0)
        singleOutput = make(actionCount, 0)
        try env.reset(seed: config.seed, into: buffers)
    }

    /// An agent on a new vector env of `config.numEnvs` copies made by `makeEnv(i)`, with
    /// `config.autoreset`.
    public convenience init(config: DQNConfig, makeEnv: (Int) throws -> E) throws {
        try config.validate()
        try self.init(config: config, env: VectorEnv(count: config.numEnvs, autoreset: config.autoreset, make: makeEnv))
    }

    deinit {
        previousObservations.deallocate(); isResetStep.deallocate(); envActions.deallocate(); chosen.deallocate()
        sampleIndices.deallocate(); mbObservations.deallocate(); mbNextObservations.deallocate()
        mbRewards.deallocate(); mbTerminations.deallocate(); mbNextMasks.deallocate(); mbActions.deallocate()
        targets.deallocate(); outputGradient.deallocate(); singleOutput.deallocate()
    }

    /// ε for the next step.
    public var currentEpsilon: Double { config.epsilon(atStep: globalStep) }

    /// The greedy choice (the allowed action with the largest Q-value, 0-based: not offset
    /// by a ``Discrete`` space's `start`). Uses the batch-1 forward pass.
    public func act(observation: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, into choices: UnsafeMutablePointer<Int>) {
        qNetwork.forwardSingle(observation, into: singleOutput)
        choices[0] = Categorical.argmax(singleOutput, mask: mask, count: actionCount)
    }

    /// Runs rounds until ``globalStep`` reaches `untilStep` (default ``DQNConfig/totalTimesteps``),
    /// calling `callback` after each.
    public func train(untilStep: Int? = nil, callback: (TrainingEvent) throws -> Void = { _ in }) throws {
        let target = untilStep ?? config.totalTimesteps
        while globalStep < target {
            let t0 = monotonicNow(), s0 = globalStep
            try collect()
            var losses: [String: Double] = [:]
            if globalStep > config.learningStarts && config.gradientSteps > 0 {
                var loss = 0.0, q = 0.0, norm = 0.0
                for _ in 0..<config.gradientSteps {
                    let r = gradientStep()
                    loss += r.loss; q += r.q; norm += r.norm
                }
                let g = Double(config.gradientSteps)
                losses["loss"] = loss / g
                losses["q_values"] = q / g
                losses["grad_norm"] = norm / g
            }
            updateCount += 1
            losses["epsilon"] = currentEpsilon
            losses["learning_rate"] = config.learningRate
            losses["gradient_steps"] = Double(gradientStepCount)
            try Divergence.check("dqn", update: updateCount, losses: losses, networks: [("Q-network", qNetwork)])
            let dt = monotonicNow() - t0
            try callback(TrainingEvent(algorithm: "dqn", update: updateCount, globalStep: globalStep,
                                       episodes: tracker.drain(), stepsPerSecond: Double(globalStep - s0) / max(dt, 1e-9),
                                       losses: losses, scheduleKeys: ["learning_rate", "epsilon"]))
        }
    }

    private func randomAllowedAction(_ mask: UnsafePointer<Bool>) -> Int {
        var allowed = 0
        for j in 0..<actionCount where mask[j] { allowed += 1 }
        precondition(allowed > 0, "DQN: the action mask allows no action")
        var r = uniformIndex(allowed, &generator)
        for j in 0..<actionCount where mask[j] {
            if r == 0 { return j }
            r -= 1
        }
        return actionCount - 1
    }

    private func collect() throws {
        let nextStepMode = env.autoreset == .nextStep
        let a = actionCount
        let interval = max(config.targetUpdateInterval / n, 1)
        for _ in 0..<config.trainFreq {
            let masks = buffers.actionMasks.baseAddress!
            if globalStep < config.learningStarts {
                for i in 0..<n { chosen[i] = randomAllowedAction(masks + i * a) }
            } else {
                let eps = currentEpsilon
                // One env (RL Zoo's CartPole): the batch-1 kernel, without sgemm's per-call overhead.
                let q = n == 1 ? forwardOne(buffers.observations.baseAddress!)
                    : UnsafePointer(qNetwork.forward(buffers.observations.baseAddress!, batch: n, workspace: actWorkspace))
                for i in 0..<n {
                    if generator.nextUnit() < eps {
                        chosen[i] = randomAllowedAction(masks + i * a)
                    } else {
                        chosen[i] = Categorical.argmax(q + i * a, mask: masks + i * a, count: a)
                    }
                }
            }
            for i in 0..<n {
                envActions[i] = chosen[i]
                isResetStep[i] = nextStepMode && (buffers.terminations[i] || buffers.truncations[i])
            }
            previousObservations.update(from: buffers.observations.baseAddress!, count: n * dim)
            try env.step(UnsafeBufferPointer(envActions), into: buffers)
            for i in 0..<n where !isResetStep[i] {
                let r = buffers.rewards[i], term = buffers.terminations[i], trunc = buffers.truncations[i]
                let final = !nextStepMode && buffers.hasFinalObservation[i]
                let next = (final ? buffers.finalObservations : buffers.observations).baseAddress! + i * dim
                let nextMask = (final ? buffers.finalActionMasks : buffers.actionMasks).baseAddress! + i * a
                replay.add(observation: previousObservations + i * dim, action: chosen[i], reward: r,
                           nextObservation: next, terminated: term, nextMask: nextMask)
                tracker.record(i, reward: Double(r), done: term || trunc)
            }
            globalStep += n
            vectorStepCount += 1
            if vectorStepCount % interval == 0 { targetNetwork.copyParameters(from: qNetwork) }
        }
    }

    private func forwardOne(_ observation: UnsafePointer<Float>) -> UnsafePointer<Float> {
        qNetwork.forwardSingle(observation, into: singleOutput)
        return UnsafePointer(singleOutput)
    }

    private func gradientStep() -> (loss: Double, q: Double, norm: Double) {
        let b = config.batchSize, a = actionCount, d = dim
        replay.sampleIndices(b, into: sampleIndices, using: &generator)
        for k in 0..<b {
            let j = sampleIndices[k]
            (mbObservations + k * d).update(from: replay.observations.baseAddress! + j * d, count: d)
            (mbNextObservations + k * d).update(from: replay.nextObservations.baseAddress! + j * d, count: d)
            (mbNextMasks + k * a).update(from: replay.nextActionMasks.baseAddress! + j * a, count: a)
            mbRewards[k] = replay.rewards[j]
            mbTerminations[k] = replay.terminations[j]
            mbActions[k] = Int(replay.actions[j])
        }
        let targetNext = targetNetwork.forward(mbNextObservations, batch: b, workspace: targetWorkspace)
        let onlineNext: UnsafeMutablePointer<Float>? = config.doubleQ
            ? qNetwork.forward(mbNextObservations, batch: b, workspace: onlineWorkspace) : nil
        DQNTarget.compute(batch: b, actionCount: a, gamma: Float(config.gamma), rewards: mbRewards,
                          terminations: mbTerminations, nextMasks: mbNextMasks, targetNext: targetNext,
                          onlineNext: onlineNext, into: targets)
        let q = qNetwork.forward(mbObservations, batch: b, workspace: onlineWorkspace)
        let r = DQNLoss.huber(q: q, actions: mbActions, targets: targets, batch: b, actionCount: a,
                              outputGradient: outputGradient)
        qNetwork.backward(outputGradient: outputGradient, batch: b, workspace: onlineWorkspace, overwrite: true)
        let norm = GradientClipping.clipGlobalNorm(qNetwork, maxNorm: Float(config.maxGradNorm))
        optimizer.step(qNetwork)
        gradientStepCount += 1
        return (r.loss, r.meanQ, Double(norm))
    }
}

extension DQN: StateCheckpointable where E: StateCheckpointable {
    /// `q_network/`, `target_network/`, `optimizer/`, `generator`, `counters` (global step,
    /// rounds, gradient steps, vector steps), `episodes/`, `replay/` (its contents), `env/`,
    /// `buffers/`, plus `algorithm` and `config` (JSON, informational).
    public func saveState() -> StateDict {
        var s = StateDict()
        s.strings["algorithm"] = "dqn"
        s.strings["config"] = config.json()
        s.merge(qNetwork.saveState(), prefix: "q_network")
        s.merge(targetNetwork.saveState(), prefix: "target_network")
        s.merge(optimizer.saveState(), prefix: "optimizer")
        s.setGenerator(generator, at: "generator")
        s.setInts([globalStep, updateCount, gradientStepCount, vectorStepCount], at: "counters")
        s.merge(tracker.saveState(), prefix: "episodes")
        s.merge(replay.saveState(), prefix: "replay")
        s.merge(env.saveState(), prefix: "env")
        s.merge(buffers.saveState(), prefix: "buffers")
        return s
    }

    /// Restores a state saved by an agent built with the same config and env construction;
    /// after a throw the agent may be partly restored.
    public func loadState(_ s: StateDict) throws {
        let algorithm = try s.string("algorithm")
        guard algorithm == "dqn" else { throw AgentError("DQN.loadState: the state is from '\(algorithm)', not DQN.") }
        let counters = try s.ints("counters", count: 4)
        let g = try s.generator("generator")
        var t = tracker
        try t.loadState(s.subset("episodes"))
        try qNetwork.loadState(s.subset("q_network"))
        try targetNetwork.loadState(s.subset("target_network"))
        try optimizer.loadState(s.subset("optimizer"))
        try replay.loadState(s.subset("replay"))
        try env.loadState(s.subset("env"))
        try buffers.loadState(s.subset("buffers"))
        generator = g
        tracker = t
        globalStep = counters[0]
        updateCount = counters[1]
        gradientStepCount = counters[2]
        vectorStepCount = counters[3]
    }
}
