import Foundation
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN

/// PPO's hyperparameters. The defaults are RL Zoo's tuned `CartPole-v1` settings
/// (`rl-baselines3-zoo/hyperparams/ppo.yml`) on top of Stable-Baselines3's PPO defaults.
///
/// Coded with Stable-Baselines3's names (`n_envs`, `n_steps`, `learning_rate`, ...); every key
/// is optional when decoding (a missing key keeps the default), so a config file lists only
/// what it changes.
public struct PPOConfig: Codable, Sendable, Equatable {
    /// Sub-envs stepped together (`n_envs`). RL Zoo: 8.
    public var numEnvs = 8
    /// Vector steps per rollout (`n_steps`); a rollout is `numEnvs × numSteps` transitions. RL Zoo: 32.
    public var numSteps = 32
    /// Minibatch size (`batch_size`). RL Zoo: 256 (one minibatch per epoch with the defaults).
    public var batchSize = 256
    /// Passes over each rollout (`n_epochs`). RL Zoo: 20.
    public var numEpochs = 20
    /// Discount (`gamma`). RL Zoo: 0.98.
    public var gamma = 0.98
    /// GAE λ (`gae_lambda`). RL Zoo: 0.8.
    public var gaeLambda = 0.8
    /// Adam step size at the start (`learning_rate`). RL Zoo: `lin_0.001`.
    public var learningRate = 0.001
    /// Anneal the step size linearly to 0 over ``totalTimesteps`` (RL Zoo's `lin_` prefix).
    public var annealLearningRate = true
    /// Surrogate clip range ε at the start (`clip_range`). RL Zoo: `lin_0.2`.
    public var clipRange = 0.2
    /// Anneal ε linearly to 0 over ``totalTimesteps``.
    public var annealClipRange = true
    /// Clip the value prediction to `V_old ± clipRangeVF` in the value loss (`clip_range_vf`,
    /// SB3's semantics); `nil` (SB3's default) does not clip.
    public var clipRangeVF: Double? = nil
    /// Entropy bonus coefficient (`ent_coef`). RL Zoo: 0.
    public var entCoef = 0.0
    /// Value loss coefficient (`vf_coef`). SB3: 0.5.
    public var vfCoef = 0.5
    /// Global gradient-norm clip over both networks (`max_grad_norm`). SB3: 0.5.
    public var maxGradNorm = 0.5
    /// Normalise advantages per minibatch (`normalize_advantage`). SB3: true.
    public var normalizeAdvantage = true
    /// Stop an update's epochs early when a minibatch's approximate KL exceeds
    /// `1.5 × targetKL` (`target_kl`); `nil` (SB3's default) never stops.
    public var targetKL: Double? = nil
    /// Env steps the schedules anneal over (`n_timesteps`). RL Zoo: 1e5.
    public var totalTimesteps = 100_000
    /// Hidden layer widths of both actor and critic (SB3's `net_arch` for `MlpPolicy`).
    public var hiddenSizes = [64, 64]
    /// Hidden activation (SB3's `activation_fn`: tanh).
    public var activation = Activation.tanh
    /// How the networks read the observation (``PolicyArchitecture``): `auto` (the default)
    /// shares one actor across the devices of a serving fleet (`family`) and uses plain MLPs
    /// (`mlp`) elsewhere.
    public var policy = PolicyArchitecture.auto
    /// Which probability ratio the surrogate clips for a factored action (``PPORatio``):
    /// `joint` (the whole action's, the default) or `per_choice` (each component's, with the
    /// action's advantage). Irrelevant for a one-component action.
    public var ratio = PPORatio.joint
    /// A fixed bonus added to the logit of the variant each device already holds
    /// (`stay_bias`; family policies only). 0 (the default) leaves the network's logits as
    /// they are; a positive bias makes the untrained policy keep what it holds (with `V`
    /// allowed variants a device stays with probability `e^b / (e^b + V − 1)`), so a large
    /// fleet does not start by reloading most of its devices every interval.
    public var stayBias = 0.0
    /// Adam's ε (SB3's PPO policy uses 1e-5).
    public var adamEpsilon = 1e-5
    /// Seeds network initialisation, action sampling, minibatch shuffling and the envs
    /// (sub-env `i` is reset with `seed + i`).
    public var seed: UInt64 = 0
    /// How the agent's vector env resets finished sub-envs when the agent builds it
    /// (``PPO/init(config:makeEnv:)``). Same-step (the default) matches SB3's `VecEnv`: every
    /// step is a real transition, truncations bootstrap from ``VectorBuffers/finalObservations``.
    /// Next-step works too: reset steps are left out of GAE and the loss (see ``GAE``).
    public var autoreset = AutoresetMode.sameStep

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case numEnvs = "n_envs", numSteps = "n_steps", batchSize = "batch_size", numEpochs = "n_epochs"
        case gamma, gaeLambda = "gae_lambda", learningRate = "learning_rate"
        case annealLearningRate = "anneal_learning_rate", clipRange = "clip_range"
        case annealClipRange = "anneal_clip_range", clipRangeVF = "clip_range_vf", entCoef = "ent_coef"
        case vfCoef = "vf_coef", maxGradNorm = "max_grad_norm", normalizeAdvantage = "normalize_advantage"
        case targetKL = "target_kl", totalTimesteps = "n_timesteps", hiddenSizes = "net_arch"
        case activation = "activation_fn", adamEpsilon = "adam_epsilon", seed, autoreset, policy, ratio
        case stayBias = "stay_bias"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try StrictKeys.check(decoder, allowed: CodingKeys.allCases.map(\.rawValue), what: "ppo config")
        let d = decoder.userInfo[AgentDefaults.ppo] as? PPOConfig ?? PPOConfig()
        func get<T: Decodable>(_ k: CodingKeys, _ v: T) throws -> T {
            do { return try c.decodeIfPresent(T.self, forKey: k) ?? v } catch DecodingError.dataCorrupted(let ctx) {
                // Foundation reports a number that does not fit T (64.5 for an Int) without the key.
                throw DecodingError.typeMismatch(T.self, DecodingError.Context(codingPath: c.codingPath + [k], debugDescription: ctx.debugDescription))
            }
        }
        numEnvs = try get(.numEnvs, d.numEnvs)
        numSteps = try get(.numSteps, d.numSteps)
        batchSize = try get(.batchSize, d.batchSize)
        numEpochs = try get(.numEpochs, d.numEpochs)
        gamma = try get(.gamma, d.gamma)
        gaeLambda = try get(.gaeLambda, d.gaeLambda)
        learningRate = try get(.learningRate, d.learningRate)
        annealLearningRate = try get(.annealLearningRate, d.annealLearningRate)
        clipRange = try get(.clipRange, d.clipRange)
        annealClipRange = try get(.annealClipRange, d.annealClipRange)
        clipRangeVF = try c.decodeIfPresent(Double.self, forKey: .clipRangeVF) ?? d.clipRangeVF
        entCoef = try get(.entCoef, d.entCoef)
        vfCoef = try get(.vfCoef, d.vfCoef)
        maxGradNorm = try get(.maxGradNorm, d.maxGradNorm)
        normalizeAdvantage = try get(.normalizeAdvantage, d.normalizeAdvantage)
        targetKL = try c.decodeIfPresent(Double.self, forKey: .targetKL) ?? d.targetKL
        totalTimesteps = try get(.totalTimesteps, d.totalTimesteps)
        hiddenSizes = try get(.hiddenSizes, d.hiddenSizes)
        activation = try get(.activation, d.activation)
        adamEpsilon = try get(.adamEpsilon, d.adamEpsilon)
        seed = try get(.seed, d.seed)
        autoreset = try get(.autoreset, d.autoreset)
        policy = try get(.policy, d.policy)
        ratio = try get(.ratio, d.ratio)
        stayBias = try get(.stayBias, d.stayBias)
    }

    /// Throws ``AgentError`` naming the first invalid field.
    public func validate() throws {
        let c = "PPOConfig", B = ConfigBounds.self
        try B.check(c, "n_envs", numEnvs, B.numEnvs)
        try B.check(c, "n_steps", numSteps, B.steps)
        try B.check(c, "batch_size", batchSize, B.steps)
        try B.check(c, "n_epochs", numEpochs, B.epochs)
        try B.check(c, "gamma", gamma, B.fraction)
        try B.check(c, "gae_lambda", gaeLambda, B.fraction)
        try B.check(c, "learning_rate", learningRate, B.learningRate)
        try B.check(c, "clip_range", clipRange, B.clipRange)
        if let v = clipRangeVF { try B.check(c, "clip_range_vf", v, B.clipRange) }
        try B.check(c, "ent_coef", entCoef, B.coefficient)
        try B.check(c, "vf_coef", vfCoef, B.coefficient)
        try B.check(c, "max_grad_norm", maxGradNorm, B.maxGradNorm)
        if let k = targetKL { try B.check(c, "target_kl", k, B.targetKL) }
        try B.check(c, "n_timesteps", totalTimesteps, B.totalTimesteps)
        try B.check(c, "adam_epsilon", adamEpsilon, B.adamEpsilon)
        try B.check(c, "stay_bias", stayBias, InputBounds.closed(0, 50))
        try B.checkNetArch(c, hiddenSizes)
        if autoreset == .disabled { throw AgentError("\(c): key 'autoreset': expected next-step or same-step") }
    }

    /// The config as sorted-key JSON.
    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// The probability ratio PPO's clipped surrogate uses for a factored action.
public enum PPORatio: String, Codable, Sendable, CaseIterable {
    /// The whole action's ratio `π(a|s) / π_old(a|s)`: the product of its components' ratios
    /// (Schulman et al., 2017, applied to the joint action).
    case joint
    /// Each component's ratio, clipped on its own with the action's advantage, the clipped
    /// terms summed: `Σ_c min(A r_c, A clip(r_c, 1 ± ε))`, `r_c = π(a_c | s, a_<c) / π_old(a_c | s, a_<c)`
    /// (the per-agent ratio of multi-agent PPO, Yu et al., 2022). A device whose choice
    /// moved less than ε still learns while another device's ratio is clipped.
    case perChoice = "per_choice"
}

/// Proximal policy optimisation (Schulman et al., 2017) with a clipped surrogate, GAE(λ),
/// separate actor and critic MLPs and action masking, following Stable-Baselines3's `PPO`
/// (see ``PPOConfig`` and ``PPOLoss`` for the exact definitions).
///
/// Generic over the env type: the rollout loop calls the ``VectorEnv`` and the networks
/// directly and writes into buffers allocated at construction, so collecting a rollout
/// allocates nothing per step (finished episodes are appended to a reserved array).
///
/// **Training in chunks.** ``train(untilStep:callback:)`` runs whole updates (a rollout of
/// `numEnvs × numSteps` steps, then `numEpochs` passes of minibatch Adam steps) until the
/// global step reaches the target, and reports each update through the callback. Between
/// calls, ``saveState()`` / ``loadState(_:)`` checkpoint everything (networks, Adam moments
/// and step counts, the generator, counters, the vector env and its buffers, the episode
/// accumulators) so a restored agent continues bit for bit.
///
/// **Autoreset.** With same-step autoreset (the default) every step is a transition and a
/// truncated episode bootstraps from the critic's value of the final observation. With
/// next-step autoreset, the step after an episode end is a reset step: it is recorded (its
/// observation is the final observation, whose value bootstraps a truncation) but excluded
/// from GAE, the loss and the episode statistics; it still counts towards the global step,
/// as it cost an env call.
///
/// Determinism: identical seeds give identical results bit for bit on one machine with a
/// fixed OpenBLAS thread count (``BLAS/setThreadCount(_:)``; 1 is also the fastest for
/// these small matrices).
public final class PPO<E: VectorizableEnv>: GreedyPolicy {
    /// The hyperparameters.
    public let config: PPOConfig
    /// The training envs.
    public let env: VectorEnv<E>
    /// The training envs' buffers (current observations and masks).
    public let buffers: VectorBuffers
    /// Actor and critic.
    public let networks: ActorCritic
    /// Runs the networks on rollout and minibatch batches.
    public let workspace: PolicyWorkspace
    /// The actor (observation → logits), for export.
    public var policyNetwork: MLP { networks.actor }
    /// The critic (observation → value).
    public var valueNetwork: MLP { networks.critic }
    /// Env steps taken (sub-envs × vector steps).
    public private(set) var globalStep = 0
    /// Updates completed.
    public private(set) var updateCount = 0

    private var generator: SeededGenerator
    private var tracker: EpisodeTracker
    private let actorOptimizer: Adam
    private let criticOptimizer: Adam
    let rollout: RolloutBuffer
    /// The class-level codec of a ``PolicyArchitecture/moves`` policy (saved with it).
    let moves: FleetMoves?
    private let n: Int, dim: Int
    private let layout: ActionLayout
    private let maskWidth: Int, components: Int

    // Minibatch scratch, sized for `batchSize` rows.
    private let mbObservations: UnsafeMutablePointer<Float>
    private let mbMasks: UnsafeMutablePointer<Bool>
    private let mbActions: UnsafeMutablePointer<Int32>
    private let stepLogProbabilities: UnsafeMutablePointer<Float>
    private let mbOldLogProbabilities: UnsafeMutablePointer<Float>
    /// Per-component log-probabilities of the step's choices (`n × components`) and of the
    /// minibatch's old choices (`batch × components`), for ``PPORatio/perChoice``.
    private let stepChoiceLogProbabilities: UnsafeMutablePointer<Float>
    private let mbOldChoiceLogProbabilities: UnsafeMutablePointer<Float>
    private let mbAdvantages: UnsafeMutablePointer<Float>
    private let mbReturns: UnsafeMutablePointer<Float>
    private let mbOldValues: UnsafeMutablePointer<Float>
    private let logProbabilityScratch: UnsafeMutablePointer<Float>
    private let logitGradient: UnsafeMutablePointer<Float>
    private let valueGradient: UnsafeMutablePointer<Float>
    private let indices: UnsafeMutablePointer<Int>
    private let envActions: UnsafeMutableBufferPointer<Int>

    /// An agent training on `env` (reset here with `config.seed`).
    /// - Throws: ``AgentError`` if the config is invalid or disagrees with the env
    ///   (sub-env count, disabled autoreset).
    public init(config: PPOConfig, env: VectorEnv<E>) throws {
        try config.validate()
        guard env.count == config.numEnvs else {
            throw AgentError("PPO: the env has \(env.count) sub-envs, the config says n_envs = \(config.numEnvs).")
        }
        guard env.autoreset != .disabled else { throw AgentError("PPO: the env's autoreset must not be disabled.") }
        self.config = config
        self.env = env
        n = env.count
        dim = env.observationDimension
        layout = env.actionLayout
        maskWidth = layout.maskWidth
        components = layout.components
        buffers = env.makeBuffers()
        let perRow = env.observationDimension + layout.maskWidth + 2 * layout.components + 6
        try ConfigBounds.checkStorage(
            "rollout and minibatch values ((n_steps x n_envs + batch_size) x (observation, mask and \(2 * layout.components + 6) more per step: \(perRow)))",
            count: Checked.sum([config.numSteps * env.count, config.batchSize]).flatMap { Checked.product($0, perRow) },
            knob: "lower n_steps, n_envs or batch_size")
        var initGenerator = SeededGenerator.substream(seed: config.seed, index: 0)
        if config.policy == .moves {
            guard let codec = env.withSubEnv(0, { ($0 as? FleetMovesEnv)?.moves }) else {
                throw AgentError("policy = moves drives a serving fleet through class-level moves (FleetMovesEnv); this env is \(E.self). Train it through Training.run (switchgym train) on a scenario spec.")
            }
            moves = codec
        } else {
            moves = nil
        }
        networks = try ActorCritic(observationDimension: dim, actionLayout: layout, familyLayout: env.familyLayout, stayBias: Float(config.stayBias),
                                   architecture: config.policy, hiddenSizes: config.hiddenSizes,
                                   activation: config.activation, using: &initGenerator)
        generator = SeededGenerator.substream(seed: config.seed, index: 1)
        tracker = EpisodeTracker(count: n)
        let eps = Float(config.adamEpsilon)
        actorOptimizer = Adam(parameterCount: networks.actor.parameterCount, learningRate: Float(config.learningRate), epsilon: eps)
        criticOptimizer = Adam(parameterCount: networks.critic.parameterCount, learningRate: Float(config.learningRate), epsilon: eps)
        rollout = RolloutBuffer(steps: config.numSteps, envs: n, observationDimension: dim, actionLayout: layout)
        let maxBatch = max(config.batchSize, n)
        workspace = PolicyWorkspace(networks: networks, maxBatch: maxBatch)
        let b = config.batchSize
        func make<T>(_ count: Int, _ zero: T) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: count)
            p.initialize(repeating: zero, count: count)
            return p
        }
        mbObservations = make(b * dim, 0)
        mbMasks = make(b * maskWidth, true)
        mbActions = make(b * components, 0)
        stepLogProbabilities = make(n, 0)
        mbOldLogProbabilities = make(b, 0)
        stepChoiceLogProbabilities = make(n * layout.components, 0)
        mbOldChoiceLogProbabilities = make(b * layout.components, 0)
        mbAdvantages = make(b, 0)
        mbReturns = make(b, 0)
        mbOldValues = make(b, 0)
        logProbabilityScratch = make(maxBatch * maskWidth, 0)
        logitGradient = make(b * maskWidth, 0)
        valueGradient = make(b, 0)
        indices = make(rollout.capacity, 0)
        envActions = .allocate(capacity: n * components)
        envActions.initialize(repeating: 0)
        try env.reset(seed: config.seed, into: buffers)
    }

    /// An agent on a new vector env of `config.numEnvs` copies made by `makeEnv(i)`, with
    /// `config.autoreset`.
    public convenience init(config: PPOConfig, makeEnv: (Int) throws -> E) throws {
        try config.validate()
        try self.init(config: config, env: VectorEnv(count: config.numEnvs, autoreset: config.autoreset, make: makeEnv))
    }

    deinit {
        mbObservations.deallocate(); mbMasks.deallocate(); mbActions.deallocate()
        mbOldLogProbabilities.deallocate(); mbAdvantages.deallocate(); mbReturns.deallocate()
        mbOldValues.deallocate(); logProbabilityScratch.deallocate(); logitGradient.deallocate()
        valueGradient.deallocate(); indices.deallocate(); envActions.deallocate()
        stepLogProbabilities.deallocate()
        stepChoiceLogProbabilities.deallocate(); mbOldChoiceLogProbabilities.deallocate()
    }

    /// `1 - globalStep / totalTimesteps`, clamped to `[0, 1]` (SB3's `progress_remaining`,
    /// which it lets go slightly negative on the last rollout).
    public var progressRemaining: Double { max(0, 1 - Double(globalStep) / Double(config.totalTimesteps)) }
    /// The learning rate the next update uses.
    public var currentLearningRate: Double { config.annealLearningRate ? config.learningRate * progressRemaining : config.learningRate }
    /// The clip range the next update uses.
    public var currentClipRange: Double { config.annealClipRange ? config.clipRange * progressRemaining : config.clipRange }

    // MARK: - Acting

    /// The greedy choice row (per component the allowed value with the largest logit; for a
    /// family policy, device after device) for one observation. Uses the batch-1 forward pass.
    public func act(observation: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, into choices: UnsafeMutablePointer<Int>) {
        workspace.greedy(observation, mask: mask, into: choices)
    }

    // MARK: - Training

    /// Runs updates until ``globalStep`` reaches `untilStep` (default ``PPOConfig/totalTimesteps``),
    /// calling `callback` after each. Each update adds `numEnvs × numSteps` steps, so the
    /// global step may pass the target by less than one rollout.
    public func train(untilStep: Int? = nil, callback: (TrainingEvent) throws -> Void = { _ in }) throws {
        let target = untilStep ?? config.totalTimesteps
        while globalStep < target {
            let t0 = monotonicNow(), s0 = globalStep
            try collectRollout()
            let losses = optimise()
            updateCount += 1
            try Divergence.check("ppo", update: updateCount, losses: losses,
                                 networks: [("actor", networks.actor), ("critic", networks.critic)])
            let dt = monotonicNow() - t0
            try callback(TrainingEvent(algorithm: "ppo", update: updateCount, globalStep: globalStep,
                                       episodes: tracker.drain(), stepsPerSecond: Double(globalStep - s0) / max(dt, 1e-9),
                                       losses: losses, scheduleKeys: ["learning_rate", "clip_range"]))
        }
    }

    private func collectRollout() throws {
        let nextStepMode = env.autoreset == .nextStep
        let a = maskWidth, k1 = components
        for t in 0..<config.numSteps {
            let base = t * n
            let obs = rollout.observations.baseAddress! + base * dim
            obs.update(from: buffers.observations.baseAddress!, count: n * dim)
            let masks = rollout.actionMasks.baseAddress! + base * a
            masks.update(from: buffers.actionMasks.baseAddress!, count: n * a)
            let chosen = rollout.actions.baseAddress! + base * k1
            workspace.sample(obs, masks: masks, batch: n, using: &generator, choices: chosen,
                             logProbabilities: stepLogProbabilities, choiceLogProbabilities: stepChoiceLogProbabilities)
            let values = workspace.values(obs, batch: n)
            for i in 0..<n {
                let k = base + i
                rollout.valid[k] = !(nextStepMode && (buffers.terminations[i] || buffers.truncations[i]))
                rollout.logProbabilities[k] = stepLogProbabilities[i]
                (rollout.choiceLogProbabilities.baseAddress! + k * k1).update(from: stepChoiceLogProbabilities + i * k1, count: k1)
                rollout.values[k] = values[i]
                for c in 0..<k1 { envActions[i * k1 + c] = Int(chosen[i * k1 + c]) }
            }
            try env.step(UnsafeBufferPointer(envActions), into: buffers)
            for i in 0..<n {
                let k = base + i
                let r = buffers.rewards[i], term = buffers.terminations[i], trunc = buffers.truncations[i]
                rollout.rewards[k] = r
                rollout.terminations[k] = term
                rollout.truncations[k] = trunc
                rollout.truncationValues[k] = 0
                if rollout.valid[k] { tracker.record(i, reward: Double(r), done: term || trunc) }
                if !nextStepMode && trunc && !term && buffers.hasFinalObservation[i] {
                    rollout.truncationValues[k] = workspace.value(buffers.finalObservations.baseAddress! + i * dim)
                }
            }
            globalStep += n
        }
        let last = workspace.values(buffers.observations.baseAddress!, batch: n)
        rollout.lastValues.baseAddress!.update(from: last, count: n)
        if nextStepMode { rollout.fillNextStepTruncationValues() }
        rollout.computeAdvantages(gamma: Float(config.gamma), lambda: Float(config.gaeLambda))
    }

    private func optimise() -> [String: Double] {
        let lr = currentLearningRate, clip = currentClipRange
        actorOptimizer.learningRate = Float(lr)
        criticOptimizer.learningRate = Float(lr)
        let coefficients = PPOLoss.Coefficients(
            clipRange: Float(clip), clipRangeVF: config.clipRangeVF.map { Float($0) },
            entropyCoefficient: Float(config.entCoef), valueCoefficient: Float(config.vfCoef),
            normalizeAdvantage: config.normalizeAdvantage)
        var count = 0
        for k in 0..<rollout.capacity where rollout.valid[k] {
            indices[count] = k
            count += 1
        }
        let a = maskWidth, k1 = components, b = config.batchSize
        let actor = networks.actor, critic = networks.critic
        var sums = PPOLossStatistics(), minibatches = 0, gradNorm = 0.0, lastLoss = 0.0
        var stop = false
        if count > 0 {
            for _ in 0..<config.numEpochs where !stop {
                // Fisher–Yates shuffle of the valid rows.
                var j = count - 1
                while j > 0 {
                    let r = uniformIndex(j + 1, &generator)
                    let tmp = indices[j]; indices[j] = indices[r]; indices[r] = tmp
                    j -= 1
                }
                var start = 0
                while start < count {
                    let m = min(b, count - start)
                    for row in 0..<m {
                        let k = indices[start + row]
                        (mbObservations + row * dim).update(from: rollout.observations.baseAddress! + k * dim, count: dim)
                        (mbMasks + row * a).update(from: rollout.actionMasks.baseAddress! + k * a, count: a)
                        (mbActions + row * k1).update(from: rollout.actions.baseAddress! + k * k1, count: k1)
                        mbOldLogProbabilities[row] = rollout.logProbabilities[k]
                        (mbOldChoiceLogProbabilities + row * k1).update(from: rollout.choiceLogProbabilities.baseAddress! + k * k1, count: k1)
                        mbAdvantages[row] = rollout.advantages[k]
                        mbReturns[row] = rollout.returns[k]
                        mbOldValues[row] = rollout.values[k]
                    }
                    let logits = workspace.logits(mbObservations, choices: mbActions, batch: m)
                    let values = workspace.values(mbObservations, batch: m)
                    let s = PPOLoss.evaluate(
                        batch: m, layout: layout, logits: logits, masks: mbMasks, actions: mbActions,
                        oldLogProbabilities: mbOldLogProbabilities,
                        oldChoiceLogProbabilities: config.ratio == .perChoice ? UnsafePointer(mbOldChoiceLogProbabilities) : nil,
                        advantages: mbAdvantages, values: values,
                        oldValues: mbOldValues, returns: mbReturns, coefficients: coefficients,
                        scratch: logProbabilityScratch, logitGradient: logitGradient, valueGradient: valueGradient)
                    sums.approxKL += s.approxKL
                    if let kl = config.targetKL, s.approxKL > 1.5 * kl {
                        minibatches += 1
                        sums.policyLoss += s.policyLoss; sums.valueLoss += s.valueLoss
                        sums.entropy += s.entropy; sums.clipFraction += s.clipFraction
                        stop = true
                        break
                    }
                    actor.zeroGradients()
                    critic.zeroGradients()
                    workspace.actorBackward(logitGradient, batch: m)
                    workspace.criticBackward(valueGradient, batch: m)
                    gradNorm += Double(GradientClipping.clipGlobalNorm(actor, critic, maxNorm: Float(config.maxGradNorm)))
                    actorOptimizer.step(actor)
                    criticOptimizer.step(critic)
                    minibatches += 1
                    sums.policyLoss += s.policyLoss; sums.valueLoss += s.valueLoss
                    sums.entropy += s.entropy; sums.clipFraction += s.clipFraction
                    lastLoss = s.loss
                    start += m
                }
            }
        }
        let mb = Double(max(minibatches, 1))
        // Explained variance of the values on the valid rows.
        var meanR = 0.0, meanD = 0.0
        for q in 0..<count {
            let k = indices[q]
            meanR += Double(rollout.returns[k]); meanD += Double(rollout.returns[k] - rollout.values[k])
        }
        let c = Double(max(count, 1))
        meanR /= c; meanD /= c
        var varR = 0.0, varD = 0.0
        for q in 0..<count {
            let k = indices[q]
            let r = Double(rollout.returns[k]) - meanR
            let d = Double(rollout.returns[k] - rollout.values[k]) - meanD
            varR += r * r; varD += d * d
        }
        let explained = varR == 0 ? Double.nan : 1 - varD / varR
        return [
            "policy_loss": sums.policyLoss / mb, "value_loss": sums.valueLoss / mb, "entropy": sums.entropy / mb,
            "approx_kl": sums.approxKL / mb, "clip_fraction": sums.clipFraction / mb, "learning_rate": lr,
            "clip_range": clip, "explained_variance": explained, "grad_norm": gradNorm / mb, "loss": lastLoss,
        ]
    }
}

extension PPO: StateCheckpointable where E: StateCheckpointable {
    /// Everything a resumed agent needs to continue bit for bit: `actor/`, `critic/`,
    /// `actor_optimizer/`, `critic_optimizer/`, `generator`, `counters` (global step, updates),
    /// `episodes/` (the per-sub-env accumulators), `env/` (the vector env and every sub-env),
    /// `buffers/` (current observations, masks and last-step flags), plus `algorithm` and the
    /// config as JSON (`config`, informational) and `progress_remaining` (informational; it
    /// follows from the global step).
    public func saveState() -> StateDict {
        var s = StateDict()
        s.strings["algorithm"] = "ppo"
        s.strings["config"] = config.json()
        s.strings["policy"] = networks.architecture.rawValue
        if let fam = networks.family {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            s.strings["family_signature"] = String(decoding: (try? e.encode(fam.signature)) ?? Data(), as: UTF8.self)
        }
        if let moves {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            s.strings["family_signature"] = String(decoding: (try? e.encode(FamilyEncoder(layout: moves.layout).signature)) ?? Data(), as: UTF8.self)
            s.setInt(moves.levels, at: "moves_levels")
        }
        s.merge(networks.actor.saveState(), prefix: "actor")
        s.merge(networks.critic.saveState(), prefix: "critic")
        s.merge(actorOptimizer.saveState(), prefix: "actor_optimizer")
        s.merge(criticOptimizer.saveState(), prefix: "critic_optimizer")
        s.setGenerator(generator, at: "generator")
        s.setInts([globalStep, updateCount], at: "counters")
        s.doubles["progress_remaining"] = [progressRemaining]
        s.merge(tracker.saveState(), prefix: "episodes")
        s.merge(env.saveState(), prefix: "env")
        s.merge(buffers.saveState(), prefix: "buffers")
        return s
    }

    /// Restores a state saved by an agent built with the same config and env construction.
    /// Throws ``AgentError`` or ``StateDictError`` naming what does not fit; after a throw the
    /// agent may be partly restored (build a fresh one).
    public func loadState(_ s: StateDict) throws {
        let algorithm = try s.string("algorithm")
        guard algorithm == "ppo" else { throw AgentError("PPO.loadState: the state is from '\(algorithm)', not PPO.") }
        let counters = try s.ints("counters", count: 2)
        let g = try s.generator("generator")
        var t = tracker
        try t.loadState(s.subset("episodes"))
        try networks.actor.loadState(s.subset("actor"))
        try networks.critic.loadState(s.subset("critic"))
        try actorOptimizer.loadState(s.subset("actor_optimizer"))
        try criticOptimizer.loadState(s.subset("critic_optimizer"))
        try env.loadState(s.subset("env"))
        try buffers.loadState(s.subset("buffers"))
        generator = g
        tracker = t
        globalStep = counters[0]
        updateCount = counters[1]
    }
}
