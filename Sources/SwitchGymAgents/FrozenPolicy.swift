import Foundation
import SwitchGymCore
import SwitchGymEnvs
import SwitchGymNN

/// A trained policy restored from a checkpoint, acting greedily: the one way every client
/// (`eval`, `envs simulate|fidelity|rollout --policy`, the quickstart, and later the serving
/// daemon and the Python binding) turns a checkpoint into decisions.
///
/// Load it with ``load(path:)`` (a checkpoint file or a run folder, whose latest checkpoint
/// is taken), then ``bind(observationDimension:actionLayout:familyLayout:)`` it to the env it
/// should act in. Binding checks that the env fits the network:
/// - an `mlp` policy (and DQN's Q-network) needs the same observation size and action layout
///   it was trained with;
/// - a `family` policy needs the same device classes, variants, streams and observation
///   features in the same order (``FamilyEncoder/Signature``), **any number of devices per
///   class**: a policy trained on 8 devices runs on 32 of the same classes. It acts with the
///   most probable joint action a beam search finds;
/// - a `moves` policy needs the same (``FamilyEncoder/Signature``), any number of devices,
///   and acts through its ``FleetMoves`` codec (block sizes as trained).
public final class FrozenPolicy {
    /// `ppo` or `dqn`.
    public let algorithm: String
    /// The actor's architecture (DQN: ``PolicyArchitecture/mlp``).
    public let architecture: PolicyArchitecture
    /// The checkpoint file it was read from.
    public let source: String
    /// The family a `family` policy was trained on.
    public let signature: FamilyEncoder.Signature?
    /// The actor (PPO) or Q-network (DQN).
    public let network: MLP
    /// The family policy's bonus on the held variant's logit (``PPOConfig/stayBias``).
    public let stayBias: Float
    /// A ``PolicyArchitecture/moves`` policy's block-size levels (``FleetMoves/levels``).
    public let movesLevels: Int?
    /// The observation normalisation of the env it was trained in (serving envs; `nil` for
    /// other envs and for checkpoints written before it was recorded). Evaluate and serve with
    /// it (``ServingModel/normalized(_:)``).
    public let normalization: ObservationNormalization?

    /// Checkpoint keys of ``normalization``.
    static let billScaleKey = "observation/bill_scale", episodeIntervalsKey = "observation/episode_intervals"

    /// Records a training env's normalisation in a checkpoint's state.
    public static func record(_ n: ObservationNormalization, in state: inout StateDict) {
        state.doubles[billScaleKey] = [n.billScale]
        state.integers[episodeIntervalsKey] = [UInt64(n.episodeIntervals)]
    }

    init(algorithm: String, architecture: PolicyArchitecture, source: String, signature: FamilyEncoder.Signature?, network: MLP,
         stayBias: Float = 0, movesLevels: Int? = nil, normalization: ObservationNormalization? = nil) {
        self.normalization = normalization
        self.stayBias = stayBias
        self.movesLevels = movesLevels
        self.algorithm = algorithm
        self.architecture = architecture
        self.source = source
        self.signature = signature
        self.network = network
    }

    /// Why a policy could not be loaded or bound.
    public struct LoadError: Error, CustomStringConvertible, Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case notFound, corrupt, incompatible }
        public var kind: Kind
        public var message: String
        public var description: String { message }
    }

    /// Reads the policy of a checkpoint file, or of a run folder's latest checkpoint.
    /// - Throws: ``LoadError`` (no checkpoint, a checkpoint without a policy network),
    ///   or the checkpoint reader's error.
    public static func load(path: String) throws -> FrozenPolicy {
        var isDir: ObjCBool = false
        var file = path
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            guard let latest = try CheckpointStore(directory: URL(fileURLWithPath: path), keepLast: 1_000_000).latest() else {
                throw LoadError(kind: .notFound, message: "\(path): no checkpoint (ckpt-*.h5) in this run folder.")
            }
            file = latest.path
        }
        let state = try CheckpointFile.read(file).state
        let algorithm = try state.string("algorithm")
        let config = Data(try state.string("config").utf8)
        let prefix: String, hidden: [Int], activation: Activation
        var architecture = PolicyArchitecture.mlp
        var signature: FamilyEncoder.Signature?
        var stayBias: Float = 0
        var movesLevels: Int?
        switch algorithm {
        case "ppo":
            let c = try JSONDecoder().decode(PPOConfig.self, from: config)
            stayBias = Float(c.stayBias)
            (prefix, hidden, activation) = ("actor", c.hiddenSizes, c.activation)
            if let a = state.strings["policy"] {
                guard let parsed = PolicyArchitecture(rawValue: a), parsed != .auto else {
                    throw LoadError(kind: .corrupt, message: "\(file): unknown policy architecture '\(a)'.")
                }
                architecture = parsed
            }
            if architecture == .moves {
                guard let levels = try? state.int("moves_levels"), (1...30).contains(levels) else {
                    throw LoadError(kind: .corrupt, message: "\(file): a moves policy without a valid moves_levels entry.")
                }
                movesLevels = levels
            }
            if architecture == .family || architecture == .moves {
                guard let text = state.strings["family_signature"],
                      let sig = try? JSONDecoder().decode(FamilyEncoder.Signature.self, from: Data(text.utf8)) else {
                    throw LoadError(kind: .corrupt, message: "\(file): a family policy without its family_signature entry.")
                }
                signature = sig
            }
        case "dqn":
            let c = try JSONDecoder().decode(DQNConfig.self, from: config)
            (prefix, hidden, activation) = ("q_network", c.hiddenSizes, c.activation)
        default:
            throw LoadError(kind: .corrupt, message: "\(file): unknown algorithm '\(algorithm)' in the checkpoint.")
        }
        let sub = state.subset(prefix)
        guard let sizes = try? sub.ints("sizes") else {
            throw LoadError(kind: .corrupt, message: "\(file): the checkpoint has no \(prefix)/sizes entry.")
        }
        guard sizes.count == hidden.count + 2, sizes.allSatisfy({ $0 > 0 }) else {
            throw LoadError(kind: .corrupt, message: "\(file): \(prefix)/sizes \(sizes) does not match net_arch \(hidden).")
        }
        let network = MLP(sizes: sizes, hiddenActivation: activation)
        do { try network.loadState(sub) } catch {
            throw LoadError(kind: .corrupt, message: "\(file): \(error)")
        }
        var normalization: ObservationNormalization?
        if let b = state.doubles[billScaleKey], let e = state.integers[episodeIntervalsKey] {
            let n = ObservationNormalization(billScale: b.first ?? .nan, episodeIntervals: Int(clamping: e.first ?? 0))
            guard b.count == 1, e.count == 1, n.isValid else {
                throw LoadError(kind: .corrupt, message: "\(file): the checkpoint's observation normalisation (\(b), \(e)) is not a positive bill scale and episode length.")
            }
            normalization = n
        }
        return FrozenPolicy(algorithm: algorithm, architecture: architecture, source: file, signature: signature, network: network,
                            stayBias: architecture == .family ? stayBias : 0, movesLevels: movesLevels, normalization: normalization)
    }

    /// Beams of the search for a family policy's most probable joint action
    /// (``PolicyWorkspace/mostProbable(_:mask:into:)``) when binding.
    public static let defaultBeamWidth = 8

    /// The policy bound to an env's layouts, ready to act. A family policy acts with the most
    /// probable joint action a beam search of `beamWidth` beams finds (1: each device's argmax
    /// in turn); an mlp policy's per-component argmax is its mode already.
    /// - Throws: ``LoadError`` (``LoadError/Kind/incompatible``) saying what differs.
    public func bind(observationDimension: Int, actionLayout: ActionLayout,
                     familyLayout: FamilyObservationLayout?, beamWidth: Int = defaultBeamWidth) throws -> BoundPolicy {
        precondition(beamWidth >= 1, "FrozenPolicy.bind: beamWidth must be >= 1, got \(beamWidth)")
        func incompatible(_ m: String) -> LoadError { LoadError(kind: .incompatible, message: "\(source): \(m)") }
        switch architecture {
        case .family:
            guard let fl = familyLayout else {
                throw incompatible("a family policy (trained on a serving fleet) cannot act in an env without devices.")
            }
            let enc = FamilyEncoder(layout: fl)
            guard let sig = signature, sig == enc.signature else {
                let want = signature.map { "classes \($0.classes), variants \($0.jobs), \($0.streams) streams, \($0.historyWindows) history windows, forecast \($0.forecast)" } ?? "?"
                let have = "classes \(enc.signature.classes), variants \(enc.signature.jobs), \(fl.streams) streams, \(fl.historyWindows) history windows, forecast \(fl.forecast)"
                throw incompatible("the policy was trained on \(want); this scenario has \(have). A family policy runs on any number of devices of the same classes and variants, with the same streams and observation features.")
            }
            guard network.inputSize == enc.actorInputSize, network.outputSize == fl.jobs else {
                throw incompatible("the actor takes \(network.inputSize) inputs and gives \(network.outputSize) logits; this scenario's family rows need \(enc.actorInputSize) and \(fl.jobs).")
            }
            let critic = MLP(sizes: [enc.criticInputSize, 1])
            let nets = ActorCritic(actor: network, critic: critic, architecture: .family, actionLayout: actionLayout,
                                   observationDimension: observationDimension, family: enc, stayBias: stayBias)
            return BoundPolicy(workspace: PolicyWorkspace(networks: nets, maxBatch: 1, beamWidth: beamWidth))
        case .moves:
            guard let fl = familyLayout, let levels = movesLevels else {
                throw incompatible("a moves policy (trained on a serving fleet) cannot act in an env without devices.")
            }
            let enc = FamilyEncoder(layout: fl)
            guard let sig = signature, sig == enc.signature else {
                throw incompatible("the moves policy was trained on classes \(signature?.classes ?? []), variants \(signature?.jobs ?? []); this scenario has classes \(enc.signature.classes), variants \(enc.signature.jobs) (or other streams or observation features). It runs on any number of devices of the same classes and variants.")
            }
            let codec = FleetMoves(layout: fl, levels: levels)
            guard network.inputSize == codec.observationDimension, network.outputSize == codec.actionLayout.maskWidth else {
                throw incompatible("the moves policy takes \(network.inputSize) inputs and gives \(network.outputSize) outputs; this fleet's class-level moves need \(codec.observationDimension) and \(codec.actionLayout.maskWidth).")
            }
            let nets = ActorCritic(actor: network, critic: MLP(sizes: [codec.observationDimension, 1]), architecture: .mlp,
                                   actionLayout: codec.actionLayout, observationDimension: codec.observationDimension, family: nil)
            return BoundPolicy(workspace: PolicyWorkspace(networks: nets, maxBatch: 1), moves: codec, fleetMaskWidth: actionLayout.maskWidth)
        case .mlp, .auto:
            guard network.inputSize == observationDimension, network.outputSize == actionLayout.maskWidth else {
                throw incompatible("the policy takes \(network.inputSize) observations and \(network.outputSize) action outputs; this env has \(observationDimension) and \(actionLayout.maskWidth) (\(actionLayout)). An mlp policy runs only on the scenario (and fleet size) it was trained on; train with policy = family to move between fleet sizes.")
            }
            let critic = MLP(sizes: [observationDimension, 1])
            let nets = ActorCritic(actor: network, critic: critic, architecture: .mlp, actionLayout: actionLayout,
                                   observationDimension: observationDimension, family: nil)
            return BoundPolicy(workspace: PolicyWorkspace(networks: nets, maxBatch: 1))
        }
    }

    /// ``bind(observationDimension:actionLayout:familyLayout:)`` to an env's layouts.
    public func bind<E: VectorizableEnv>(to env: E, beamWidth: Int = defaultBeamWidth) throws -> BoundPolicy {
        try bind(observationDimension: env.observationDimension, actionLayout: env.actionLayout, familyLayout: env.familyLayout,
                 beamWidth: beamWidth)
    }
}

/// A ``FrozenPolicy`` bound to one env's layouts: the most probable choice row for each
/// observation (a family policy's by beam search, ``FrozenPolicy/bind(to:beamWidth:)``).
public final class BoundPolicy: GreedyPolicy {
    let workspace: PolicyWorkspace
    /// A moves policy's codec and scratch: its observation, mask and choices, and an
    /// all-allowed fleet mask for callers that pass none.
    let moves: FleetMoves?
    let movesObservation: UnsafeMutablePointer<Float>
    let movesMask: UnsafeMutablePointer<Bool>
    let movesChoices: UnsafeMutablePointer<Int>
    let allowAll: UnsafeMutablePointer<Bool>
    /// The env's action codec.
    public let actionLayout: ActionLayout

    init(workspace: PolicyWorkspace, moves: FleetMoves? = nil, fleetMaskWidth: Int = 0) {
        self.workspace = workspace
        self.moves = moves
        actionLayout = moves.map { ActionLayout(repeating: $0.variantCount, count: $0.layout.workers) } ?? workspace.networks.actionLayout
        movesObservation = .allocate(capacity: max(1, moves?.observationDimension ?? 1))
        movesMask = .allocate(capacity: max(1, moves?.actionLayout.maskWidth ?? 1))
        movesChoices = .allocate(capacity: max(1, moves?.classCount ?? 1))
        allowAll = .allocate(capacity: max(1, fleetMaskWidth))
        allowAll.initialize(repeating: true, count: max(1, fleetMaskWidth))
    }

    deinit {
        movesObservation.deallocate(); movesMask.deallocate(); movesChoices.deallocate(); allowAll.deallocate()
    }

    public func act(observation: UnsafePointer<Float>, mask: UnsafePointer<Bool>?, into choices: UnsafeMutablePointer<Int>) {
        guard let moves else {
            workspace.mostProbable(observation, mask: mask, into: choices)
            return
        }
        let fleetMask = mask ?? UnsafePointer(allowAll)
        moves.writeObservation(fleet: observation, into: movesObservation)
        moves.writeMask(fleet: observation, fleetMask: fleetMask, into: movesMask)
        workspace.greedy(movesObservation, mask: movesMask, into: movesChoices)
        moves.apply(movesChoices, fleet: observation, fleetMask: fleetMask, into: choices)
    }

    /// The margin of the last decision, when measured (``PolicyWorkspace/measuresMargin``).
    public var lastMargin: Float { workspace.lastMargin }

    /// The choice row for one observation, after checking it: `observationDimension` finite
    /// floats and a mask of ``ActionLayout/maskWidth`` that allows at least one value of every
    /// component (allocates; for servers and tools that take outside input).
    /// - Throws: ``FrozenPolicy/LoadError`` (``FrozenPolicy/LoadError/Kind/incompatible``) naming what is wrong.
    public func decide(observation: [Float], mask: [Bool]?) throws -> [Int] {
        func bad(_ m: String) -> FrozenPolicy.LoadError { FrozenPolicy.LoadError(kind: .incompatible, message: m) }
        let dim = workspace.networks.observationDimension
        guard observation.count == (moves.map { $0.layout.dimension } ?? dim) else {
            throw bad("an observation of \(observation.count) floats; the policy reads \(moves.map { $0.layout.dimension } ?? dim)")
        }
        if let i = observation.firstIndex(where: { !$0.isFinite }) { throw bad("observation[\(i)] is \(observation[i]); expected a finite number") }
        if let mask {
            guard mask.count == actionLayout.maskWidth else {
                throw bad("a mask of \(mask.count) entries; the policy's action needs \(actionLayout.maskWidth) (\(actionLayout))")
            }
            for c in 0..<actionLayout.components {
                let o = actionLayout.offsets[c]
                guard mask[o..<(o + actionLayout.sizes[c])].contains(true) else {
                    throw bad("the mask allows no value of action component \(c)")
                }
            }
        }
        return act(observation: observation, mask: mask)
    }

    /// The choice row for one observation (allocates; for tools).
    public func act(observation: [Float], mask: [Bool]?) -> [Int] {
        var out = [Int](repeating: 0, count: actionLayout.components)
        observation.withUnsafeBufferPointer { o in
            out.withUnsafeMutableBufferPointer { c in
                if let mask {
                    mask.withUnsafeBufferPointer { act(observation: o.baseAddress!, mask: $0.baseAddress!, into: c.baseAddress!) }
                } else {
                    act(observation: o.baseAddress!, mask: nil, into: c.baseAddress!)
                }
            }
        }
        return out
    }
}
