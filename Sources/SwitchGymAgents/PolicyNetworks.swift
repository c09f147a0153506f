#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore
import SwitchGymNN

/// How PPO's actor and critic read the observation.
public enum PolicyArchitecture: String, Codable, Sendable, CaseIterable {
    /// ``family`` when the env is a family of workers (a serving fleet: it has a
    /// ``FamilyObservationLayout``), else ``mlp``; the training recipe (``Training/run(_:in:options:)``)
    /// picks ``moves`` for a fleet of more than ``autoMovesAbove`` devices.
    case auto
    /// MLPs over the whole observation; the actor outputs one logit per value of every
    /// action component (``ActionLayout/maskWidth``). Its size grows with the fleet.
    case mlp
    /// Networks shared by the workers of a family (``FamilyEncoder``): the actor scores one
    /// worker's jobs from its own state, its class, the plan so far and the shared block; the
    /// critic reads class-level summaries. Its size does not depend on the number of workers.
    case family
    /// One move per device class and interval (``FleetMoves``: switch 1, 2, 4, … idle devices
    /// of the class from one variant to another), MLPs over the class-level observation. Its
    /// size does not depend on the number of devices. Training wraps the fleet in
    /// ``FleetMovesEnv``; to the networks it is an `mlp` over that env.
    case moves

    /// Fleets larger than this train a ``moves`` policy under ``auto`` in the training recipe.
    /// Measured (held-out, against static-best): on 64 and 128 GPUs moves policies came within
    /// 2% of it or beat it where family policies trailed by 34-47%; on 3 and 4 GPUs family
    /// policies did as well or better.
    public static let autoMovesAbove = 16

    /// What ``auto`` means for a serving fleet of `devices` devices in the training recipe.
    public func resolved(fleetDevices devices: Int) -> PolicyArchitecture {
        self == .auto ? (devices > Self.autoMovesAbove ? .moves : .family) : self
    }
}

/// PPO's networks: separate actor and critic MLPs, initialised as Stable-Baselines3's
/// `ActorCriticPolicy` with `ortho_init`: orthogonal weights with gain √2 on hidden layers,
/// 0.01 on the policy output and 1 on the value output, zero biases.
///
/// With ``PolicyArchitecture/mlp`` the actor maps the observation to `maskWidth` logits (one
/// categorical per action component) and the critic maps it to a value. With
/// ``PolicyArchitecture/family`` they read ``FamilyEncoder`` rows instead.
public final class ActorCritic {
    /// Observation (or family row) → logits.
    public let actor: MLP
    /// Observation (or family summary) → value (one output).
    public let critic: MLP
    /// The resolved architecture (never ``PolicyArchitecture/auto``).
    public let architecture: PolicyArchitecture
    /// The env's action codec.
    public let actionLayout: ActionLayout
    /// `Float`s per env observation.
    public let observationDimension: Int
    /// The family encoder (``PolicyArchitecture/family`` only).
    public let family: FamilyEncoder?
    /// Added to the logit of the variant a device holds (``PPOConfig/stayBias``; family only).
    public let stayBias: Float

    /// Builds and initialises both networks (actor first, from the same generator).
    /// - Throws: ``AgentError`` when `family` is asked for and the env is not a family whose
    ///   action is one job per worker.
    public init(observationDimension: Int, actionLayout: ActionLayout, familyLayout: FamilyObservationLayout?,
                stayBias: Float = 0, architecture: PolicyArchitecture, hiddenSizes: [Int], activation: Activation,
                using generator: inout SeededGenerator) throws {
        var resolved = architecture
        if resolved == .auto { resolved = familyLayout != nil ? .family : .mlp }
        // A moves policy's env is the class-level FleetMovesEnv: plain MLPs over it.
        let moves = resolved == .moves
        if moves { resolved = .mlp }
        guard stayBias == 0 || resolved == .family else {
            throw AgentError("stay_bias applies to family policies (a serving fleet with policy = family or auto); this policy is \(resolved.rawValue).")
        }
        self.stayBias = stayBias
        self.architecture = moves ? .moves : resolved
        self.actionLayout = actionLayout
        self.observationDimension = observationDimension
        let actorSizes: [Int], criticSizes: [Int]
        if resolved == .family {
            guard let fl = familyLayout else {
                throw AgentError("policy = family needs an env that is a family of workers (a serving scenario); this env has no family layout. Use policy = mlp.")
            }
            guard fl.dimension == observationDimension, actionLayout == ActionLayout(repeating: fl.jobs, count: fl.workers) else {
                throw AgentError("policy = family: the env's observation (\(observationDimension)) or action (\(actionLayout)) does not follow its family layout (\(fl.workers) workers x \(fl.jobs) jobs).")
            }
            let enc = FamilyEncoder(layout: fl)
            family = enc
            actorSizes = [enc.actorInputSize] + hiddenSizes + [fl.jobs]
            criticSizes = [enc.criticInputSize] + hiddenSizes + [1]
        } else {
            family = nil
            actorSizes = [observationDimension] + hiddenSizes + [actionLayout.maskWidth]
            criticSizes = [observationDimension] + hiddenSizes + [1]
        }
        try ConfigBounds.checkNetworks([actorSizes, criticSizes])
        actor = MLP(sizes: actorSizes, hiddenActivation: activation)
        critic = MLP(sizes: criticSizes, hiddenActivation: activation)
        actor.initializeOrthogonal(hiddenGain: Float(2).squareRoot(), outputGain: 0.01, using: &generator)
        critic.initializeOrthogonal(hiddenGain: Float(2).squareRoot(), outputGain: 1, using: &generator)
    }

    /// Networks restored elsewhere (a frozen policy), for ``PolicyWorkspace``.
    init(actor: MLP, critic: MLP, architecture: PolicyArchitecture, actionLayout: ActionLayout,
         observationDimension: Int, family: FamilyEncoder?, stayBias: Float = 0) {
        self.stayBias = stayBias
        self.actor = actor
        self.critic = critic
        self.architecture = architecture
        self.actionLayout = actionLayout
        self.observationDimension = observationDimension
        self.family = family
    }

    /// The plain MLP networks of a ``Discrete`` env with `actionCount` actions.
    public convenience init(observationDimension: Int, actionCount: Int, hiddenSizes: [Int], activation: Activation,
                            using generator: inout SeededGenerator) {
        // An mlp architecture never throws.
        try! self.init(observationDimension: observationDimension, actionLayout: .discrete(actionCount), familyLayout: nil,
                       architecture: .mlp, hiddenSizes: hiddenSizes, activation: activation, using: &generator)
    }
}

/// Scratch space to run an ``ActorCritic`` on batches of up to `maxBatch` observations:
/// sampling and greedy actions, values, and the actor's logits of known choices (with their
/// backward pass) for the PPO loss. Allocated once; no method allocates.
public final class PolicyWorkspace {
    public let networks: ActorCritic
    public let maxBatch: Int
    let actorWorkspace: MLPWorkspace
    let criticWorkspace: MLPWorkspace
    /// Encoded rows (family): actor rows for a batch of decisions × workers, critic rows.
    let actorRows: UnsafeMutablePointer<Float>
    let criticRows: UnsafeMutablePointer<Float>
    let plans: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    let single: UnsafeMutablePointer<Float>
    let workers: Int

    /// Beams of ``mostProbable(_:mask:into:)`` (family policies).
    public let beamWidth: Int
    /// When set, ``greedy(_:mask:into:)`` and ``mostProbable(_:mask:into:)`` record in
    /// ``lastMargin`` how far the decision was from changing: the smallest gap between a chosen
    /// score and the best one not chosen (per component, or per beam step). Golden cases of an
    /// exported policy keep only decisions with a clear margin, so that runtimes whose float
    /// arithmetic differs in the last bits still reproduce them (``PolicyFile``).
    public var measuresMargin = false
    /// The margin of the last decision (``measuresMargin``); `+∞` when every choice was forced.
    public private(set) var lastMargin = Float.infinity
    /// Beam state, two generations: plans, choices, scores; candidate scores.
    let beamPlans: UnsafeMutablePointer<Float>
    let beamChoices: UnsafeMutablePointer<Int32>
    let beamScores: UnsafeMutablePointer<Float>
    let candidateScores: UnsafeMutablePointer<Float>

    /// Workspace for batches of up to `maxBatch` decisions, and for a beam search of
    /// `beamWidth` beams (``mostProbable(_:mask:into:)``).
    public init(networks: ActorCritic, maxBatch: Int, beamWidth: Int = 1) {
        precondition(beamWidth >= 1, "PolicyWorkspace: beamWidth must be >= 1, got \(beamWidth)")
        self.networks = networks
        self.maxBatch = maxBatch
        self.beamWidth = beamWidth
        let fam = networks.family
        let workers = fam?.layout.workers ?? 1
        self.workers = workers
        let rows = max(maxBatch * workers, fam == nil ? 0 : beamWidth)
        actorWorkspace = networks.actor.makeWorkspace(maxBatch: rows)
        criticWorkspace = networks.critic.makeWorkspace(maxBatch: maxBatch)
        func make(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        actorRows = make(fam.map { rows * $0.actorInputSize } ?? 0)
        let beams = fam == nil ? 1 : beamWidth
        beamPlans = make(fam.map { 2 * beams * $0.planSize } ?? 0)
        beamChoices = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * beams * workers)
        beamChoices.initialize(repeating: 0, count: 2 * beams * workers)
        beamScores = make(2 * beams)
        candidateScores = make(beams * max(1, fam?.layout.jobs ?? 1))
        criticRows = make(fam.map { maxBatch * $0.criticInputSize } ?? 0)
        plans = make(fam.map { maxBatch * $0.planSize } ?? 0)
        scratch = make(maxBatch * networks.actionLayout.maskWidth)
        single = make(max(networks.actor.outputSize, networks.actionLayout.maskWidth))
    }

    deinit {
        actorRows.deallocate(); criticRows.deallocate(); plans.deallocate(); scratch.deallocate(); single.deallocate()
        beamPlans.deallocate(); beamChoices.deallocate(); beamScores.deallocate(); candidateScores.deallocate()
    }

    /// The critic's values of `batch` observations (valid until the workspace's next critic use).
    public func values(_ obs: UnsafePointer<Float>, batch n: Int) -> UnsafePointer<Float> {
        precondition(n <= maxBatch, "PolicyWorkspace.values: batch \(n) exceeds \(maxBatch)")
        guard let fam = networks.family else {
            return UnsafePointer(networks.critic.forward(obs, batch: n, workspace: criticWorkspace))
        }
        let c = fam.criticInputSize, dim = networks.observationDimension
        for i in 0..<n { fam.writeCritic(obs + i * dim, into: criticRows + i * c) }
        return UnsafePointer(networks.critic.forward(criticRows, batch: n, workspace: criticWorkspace))
    }

    /// The critic's value of one observation (batch-1 path).
    public func value(_ obs: UnsafePointer<Float>) -> Float {
        var v: Float = 0
        if let fam = networks.family {
            fam.writeCritic(obs, into: criticRows)
            networks.critic.forwardSingle(criticRows, into: &v)
        } else {
            networks.critic.forwardSingle(obs, into: &v)
        }
        return v
    }

    /// Back-propagates ∂L/∂values of the last ``values(_:batch:)`` into the critic's gradients.
    public func criticBackward(_ valueGradient: UnsafePointer<Float>, batch n: Int) {
        networks.critic.backward(outputGradient: valueGradient, batch: n, workspace: criticWorkspace)
    }

    /// Samples an action for each of `batch` observations under their masks: writes the
    /// choice rows (`batch × components`), each action's log-probability and, when given,
    /// each choice's (`batch × components`; they sum to the action's). A family policy
    /// samples worker after worker (one batched forward pass per worker).
    public func sample(_ obs: UnsafePointer<Float>, masks: UnsafePointer<Bool>, batch n: Int,
                       using generator: inout SeededGenerator, choices: UnsafeMutablePointer<Int32>,
                       logProbabilities: UnsafeMutablePointer<Float>,
                       choiceLogProbabilities: UnsafeMutablePointer<Float>? = nil) {
        precondition(n <= maxBatch, "PolicyWorkspace.sample: batch \(n) exceeds \(maxBatch)")
        let layout = networks.actionLayout, dim = networks.observationDimension
        let W = layout.maskWidth, K1 = layout.components
        guard let fam = networks.family else {
            let logits = networks.actor.forward(obs, batch: n, workspace: actorWorkspace)
            for i in 0..<n {
                logProbabilities[i] = FactoredCategorical.sample(logits + i * W, mask: masks + i * W, layout: layout,
                                                                 using: &generator, into: choices + i * K1, scratch: scratch)
                if let out = choiceLogProbabilities {
                    for c in 0..<K1 { out[i * K1 + c] = scratch[layout.offsets[c] + Int(choices[i * K1 + c])] }
                }
            }
            return
        }
        let J = fam.layout.jobs, a = fam.actorInputSize, ps = fam.planSize
        let bias = networks.stayBias, stay = bias != 0
        for i in 0..<n {
            fam.startPlan(obs + i * dim, plan: plans + i * ps)
            logProbabilities[i] = 0
        }
        for w in 0..<workers {
            for i in 0..<n { fam.writeActorRow(obs + i * dim, worker: w, plan: plans + i * ps, into: actorRows + i * a) }
            let logits = networks.actor.forward(actorRows, batch: n, workspace: actorWorkspace)
            for i in 0..<n {
                if stay { logits[i * J + fam.layout.job(ofWorker: w, in: obs + i * dim)] += bias }
                Categorical.logSoftmax(logits + i * J, mask: masks + i * W + w * J, count: J, into: scratch)
                let c = Categorical.sample(scratch, count: J, using: &generator)
                choices[i * K1 + w] = Int32(c)
                logProbabilities[i] += scratch[c]
                choiceLogProbabilities?[i * K1 + w] = scratch[c]
                fam.advancePlan(obs + i * dim, worker: w, job: c, plan: plans + i * ps)
            }
        }
    }

    /// The actor's logits for `batch` decisions whose choices are known, laid out as the
    /// action (`batch × maskWidth`; valid until the workspace's next actor use), ready for
    /// ``PPOLoss`` and ``actorBackward(_:batch:)``.
    public func logits(_ obs: UnsafePointer<Float>, choices: UnsafePointer<Int32>, batch m: Int) -> UnsafePointer<Float> {
        precondition(m <= maxBatch, "PolicyWorkspace.logits: batch \(m) exceeds \(maxBatch)")
        guard let fam = networks.family else {
            return UnsafePointer(networks.actor.forward(obs, batch: m, workspace: actorWorkspace))
        }
        let dim = networks.observationDimension, K1 = networks.actionLayout.components
        let rowsPerDecision = workers * fam.actorInputSize
        for k in 0..<m {
            fam.writeActorRows(obs + k * dim, choices: choices + k * K1, plan: plans, into: actorRows + k * rowsPerDecision)
        }
        // Rows of J logits, worker after worker: decision k's block is its maskWidth logits.
        let logits = networks.actor.forward(actorRows, batch: m * workers, workspace: actorWorkspace)
        let bias = networks.stayBias, J = fam.layout.jobs
        if bias != 0 {
            for k in 0..<m {
                for w in 0..<workers { logits[(k * workers + w) * J + fam.layout.job(ofWorker: w, in: obs + k * dim)] += bias }
            }
        }
        return UnsafePointer(logits)
    }

    /// Back-propagates ∂L/∂logits (`batch × maskWidth`) of the last ``logits(_:choices:batch:)``.
    public func actorBackward(_ logitGradient: UnsafePointer<Float>, batch m: Int) {
        networks.actor.backward(outputGradient: logitGradient, batch: m * workers, workspace: actorWorkspace)
    }

    /// Lowers ``lastMargin`` to the gap between `scores[chosen]` and the best other allowed score.
    func noteMargin(_ scores: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, count n: Int, chosen: Int) {
        guard chosen >= 0 else { return }
        for i in 0..<n where i != chosen && (mask?[i] ?? true) { lastMargin = min(lastMargin, scores[chosen] - scores[i]) }
    }

    /// The greedy action for one observation: per component (worker) the allowed value with
    /// the largest logit, workers in order for a family policy (each seeing the plan so far).
    public func greedy(_ obs: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, into choices: UnsafeMutablePointer<Int>) {
        let layout = networks.actionLayout
        if measuresMargin { lastMargin = .infinity }
        guard let fam = networks.family else {
            networks.actor.forwardSingle(obs, into: single)
            FactoredCategorical.argmax(single, mask: mask, layout: layout, into: choices)
            if measuresMargin {
                for c in 0..<layout.components {
                    let o = layout.offsets[c]
                    noteMargin(single + o, mask: mask.map { $0 + o }, count: layout.sizes[c], chosen: choices[c])
                }
            }
            return
        }
        let J = fam.layout.jobs
        fam.startPlan(obs, plan: plans)
        for w in 0..<workers {
            fam.writeActorRow(obs, worker: w, plan: plans, into: actorRows)
            networks.actor.forwardSingle(actorRows, into: single)
            single[fam.layout.job(ofWorker: w, in: obs)] += networks.stayBias
            let c = Categorical.argmax(single, mask: mask.map { $0 + w * J }, count: J)
            choices[w] = c
            if measuresMargin { noteMargin(single, mask: mask.map { $0 + w * J }, count: J, chosen: c) }
            fam.advancePlan(obs, worker: w, job: c, plan: plans)
        }
    }
}

extension PolicyWorkspace {
    /// The most probable joint action found by a beam search of ``beamWidth`` beams over the
    /// workers of a family policy: worker after worker, every beam is extended by every
    /// allowed job and the ``beamWidth`` most probable partial assignments (summed
    /// log-probabilities, each worker's conditional on the plan of its beam) go on. One beam is
    /// ``greedy(_:mask:into:)``. A family policy's per-worker argmax is not the mode of the
    /// joint distribution; a wider beam comes closer to it. Plain (mlp) policies are
    /// factorised independently, so their greedy row is the mode already.
    public func mostProbable(_ obs: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, into choices: UnsafeMutablePointer<Int>) {
        guard let fam = networks.family, beamWidth > 1 else {
            greedy(obs, mask: mask, into: choices)
            return
        }
        let J = fam.layout.jobs, a = fam.actorInputSize, ps = fam.planSize, D = workers, B = beamWidth
        let bias = networks.stayBias
        if measuresMargin { lastMargin = .infinity }
        // Generation g lives at offset g × B; `live` beams are in use.
        var current = 0, live = 1
        fam.startPlan(obs, plan: beamPlans)
        beamScores[0] = 0
        for w in 0..<D {
            let plans = beamPlans + current * B * ps, picks = beamChoices + current * B * D
            for b in 0..<live { fam.writeActorRow(obs, worker: w, plan: plans + b * ps, into: actorRows + b * a) }
            let logits = networks.actor.forward(actorRows, batch: live, workspace: actorWorkspace)
            let held = fam.layout.job(ofWorker: w, in: obs)
            let rowMask = mask.map { $0 + w * J }
            for b in 0..<live {
                let row = logits + b * J
                row[held] += bias
                Categorical.logSoftmax(row, mask: rowMask, count: J, into: scratch)
                for j in 0..<J {
                    let allowed = rowMask.map { $0[j] } ?? true
                    candidateScores[b * J + j] = allowed ? beamScores[current * B + b] + scratch[j] : -.infinity
                }
            }
            // The B best candidates, first index first on ties (one beam: the greedy choice).
            let next = 1 - current
            let nextPlans = beamPlans + next * B * ps, nextPicks = beamChoices + next * B * D
            var kept = 0, previous = Float.infinity
            while kept < B {
                var best = -1, bestScore = -Float.infinity
                for c in 0..<(live * J) where candidateScores[c] > bestScore { best = c; bestScore = candidateScores[c] }
                if measuresMargin && bestScore > -.infinity { lastMargin = min(lastMargin, previous - bestScore) }
                previous = bestScore
                if best < 0 { break }
                candidateScores[best] = -.infinity
                let b = best / J, j = best % J
                (nextPlans + kept * ps).update(from: plans + b * ps, count: ps)
                fam.advancePlan(obs, worker: w, job: j, plan: nextPlans + kept * ps)
                (nextPicks + kept * D).update(from: picks + b * D, count: w)
                nextPicks[kept * D + w] = Int32(j)
                beamScores[next * B + kept] = bestScore
                kept += 1
            }
            guard kept > 0 else { greedy(obs, mask: mask, into: choices); return }   // a worker with no allowed job
            if measuresMargin && kept == B {   // the best candidate left out
                var next = -Float.infinity
                for c in 0..<(live * J) { next = max(next, candidateScores[c]) }
                if next > -.infinity { lastMargin = min(lastMargin, previous - next) }
            }
            live = kept
            current = next
        }
        let picks = beamChoices + current * B * D
        for w in 0..<D { choices[w] = Int(picks[w]) }
    }
}

/// PyTorch's default `nn.Linear` initialisation (what Stable-Baselines3's DQN uses):
/// weights and biases uniform in `±1/√fan_in` (`kaiming_uniform_(a=√5)` reduces to this).
public enum FanInUniform {
    /// Initialises every layer of `network`.
    public static func initialize(_ network: MLP, using generator: inout SeededGenerator) {
        for (l, d) in network.layers.enumerated() {
            let bound = 1 / Double(d.inputSize).squareRoot()
            let w = network.weights(l), b = network.bias(l)
            for i in w.indices { w[i] = Float((2 * generator.nextUnit() - 1) * bound) }
            for i in b.indices { b[i] = Float((2 * generator.nextUnit() - 1) * bound) }
        }
    }
}

/// A greedy (deterministic) policy: per action component, the allowed value with the largest output.
public protocol GreedyPolicy {
    /// Writes the greedy choice row (0-based per component; not offset by a ``Discrete``
    /// space's `start`) for one observation.
    /// - Parameter mask: allowed choices (a mask row of the env's ``ActionLayout``), or `nil` for all.
    func act(observation: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, into choices: UnsafeMutablePointer<Int>)
}

extension GreedyPolicy {
    /// ``act(observation:mask:into:)`` on arrays, for a one-component (``Discrete``) action:
    /// the chosen index (0-based).
    public func act(observation: [Float], mask: [Bool]? = nil) -> Int {
        var choice = 0
        observation.withUnsafeBufferPointer { o in
            if let mask {
                mask.withUnsafeBufferPointer { act(observation: o.baseAddress!, mask: $0.baseAddress!, into: &choice) }
            } else {
                act(observation: o.baseAddress!, mask: nil, into: &choice)
            }
        }
        return choice
    }
}

/// Runs a policy on a single env for evaluation (Stable-Baselines3's `evaluate_policy`).
public enum Evaluation {
    /// Plays `episodes` full episodes of `env` with `policy` and returns their statistics.
    ///
    /// The first episode resets with `seed` (if given), later ones continue the env's stream.
    /// An episode is cut (and reported) after `maxSteps` steps, so an env without a time
    /// limit cannot hang the caller. Allocates only the result and three small rows.
    public static func run<E: VectorizableEnv>(
        _ policy: some GreedyPolicy, env: inout E, episodes: Int, seed: UInt64?, maxSteps: Int = 1_000_000
    ) -> [EpisodeStatistics] {
        var out: [EpisodeStatistics] = []
        out.reserveCapacity(episodes)
        let layout = env.actionLayout
        let obs = UnsafeMutablePointer<Float>.allocate(capacity: env.observationDimension)
        let mask = UnsafeMutablePointer<Bool>.allocate(capacity: layout.maskWidth)
        let choices = UnsafeMutablePointer<Int>.allocate(capacity: layout.components)
        defer { obs.deallocate(); mask.deallocate(); choices.deallocate() }
        for e in 0..<episodes {
            env.resetState(seed: e == 0 ? seed : nil)
            var ret = 0.0, len = 0
            while len < maxSteps {
                env.writeObservation(into: obs)
                env.writeActionMask(into: mask)
                policy.act(observation: obs, mask: mask, into: choices)
                let t = env.step(choices: choices)
                ret += t.reward
                len += 1
                if t.terminated || t.truncated { break }
            }
            out.append(EpisodeStatistics(episodeReturn: ret, length: len))
        }
        return out
    }

    /// The mean return of `episodes`.
    public static func meanReturn(_ episodes: [EpisodeStatistics]) -> Double {
        episodes.isEmpty ? 0 : episodes.reduce(0) { $0 + $1.episodeReturn } / Double(episodes.count)
    }
}
