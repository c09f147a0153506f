import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymNN

/// Everything ``ONNXPolicyExport`` needs to write a frozen policy (docs/policy-format.md) as an
/// ONNX graph, as plain values: the network, the action's layout and, for fleet policies, the
/// fleet's layout. ``init(policyFile:)`` makes one from a ``PolicyFile``.
public struct ONNXPolicySpec: Sendable {
    /// What the policy computes (docs/policy-format.md, "What a policy computes").
    public enum Kind: String, Sendable { case mlp, family, moves }
    /// The hidden layers' nonlinearity (the last layer is linear).
    public enum HiddenActivation: String, Sendable { case tanh, relu }

    /// One layer `y = act(W x + b)`: `weights` is `outputSize × inputSize`, row-major.
    public struct Layer: Sendable, Equatable {
        public var inputSize: Int
        public var outputSize: Int
        public var weights: [Float]
        public var bias: [Float]

        public init(inputSize: Int, outputSize: Int, weights: [Float], bias: [Float]) {
            self.inputSize = inputSize
            self.outputSize = outputSize
            self.weights = weights
            self.bias = bias
        }
    }

    /// A serving fleet's layout (family and moves policies): `workers` devices `D`, `jobs`
    /// variants `J`, device `w`'s block of `J + 1` floats at `w × (J + 1)`.
    public struct Fleet: Sendable, Equatable {
        public var workers: Int
        public var jobs: Int
        /// Each device's class, `0 ..< classCount`.
        public var workerClass: [Int]
        public var classCount: Int
        public var sharedOffset: Int
        public var sharedCount: Int

        public init(workers: Int, jobs: Int, workerClass: [Int], classCount: Int, sharedOffset: Int, sharedCount: Int) {
            self.workers = workers
            self.jobs = jobs
            self.workerClass = workerClass
            self.classCount = classCount
            self.sharedOffset = sharedOffset
            self.sharedCount = sharedCount
        }
    }

    public var kind: Kind
    public var layers: [Layer]
    public var hiddenActivation: HiddenActivation
    /// Values per action component (the graph's `action` has one int64 per component).
    public var components: [Int]
    /// Floats per observation.
    public var observationDimension: Int
    /// Family and moves policies.
    public var fleet: Fleet?
    /// Added to the held variant's score (family).
    public var stayBias: Float
    /// Beams of a family policy's decoding (1: greedy).
    public var beamWidth: Int
    /// A moves policy's block-size levels.
    public var movesLevels: Int?
    /// Written to the model's `metadata_props`, in order.
    public var metadata: [(key: String, value: String)]

    public init(kind: Kind, layers: [Layer], hiddenActivation: HiddenActivation, components: [Int], observationDimension: Int,
                fleet: Fleet? = nil, stayBias: Float = 0, beamWidth: Int = 1, movesLevels: Int? = nil,
                metadata: [(key: String, value: String)] = []) {
        self.kind = kind
        self.layers = layers
        self.hiddenActivation = hiddenActivation
        self.components = components
        self.observationDimension = observationDimension
        self.fleet = fleet
        self.stayBias = stayBias
        self.beamWidth = beamWidth
        self.movesLevels = movesLevels
        self.metadata = metadata
    }

    /// Booleans per mask: the sum of ``components``.
    public var maskWidth: Int { components.reduce(0, +) }
}

extension ONNXPolicySpec {
    /// The spec of an exported policy file: its network, layouts and, as `metadata_props`,
    /// `format`, `format_version` and the policy document (`policy`, JSON as in the
    /// safetensors file), plus `producer` notes.
    public init(policyFile file: PolicyFile) throws {
        let d = file.document
        let kind: Kind
        switch d.policy.kind {
        case .mlp: kind = .mlp
        case .family: kind = .family
        case .moves: kind = .moves
        case .auto: throw ONNXPolicyExport.ExportError("policy.kind 'auto' is not a frozen policy kind")
        }
        let net = file.network
        var layers = [Layer]()
        for (l, dense) in net.layers.enumerated() {
            layers.append(Layer(inputSize: dense.inputSize, outputSize: dense.outputSize,
                                weights: Array(net.weights(l)), bias: Array(net.bias(l))))
        }
        let act: HiddenActivation
        switch d.policy.network.hiddenActivation {
        case .tanh: act = .tanh
        case .relu: act = .relu
        case .identity: throw ONNXPolicyExport.ExportError("hidden activation 'identity' is not in the policy format")
        }
        let fleet = d.observation.family.map {
            Fleet(workers: $0.workers, jobs: $0.jobs, workerClass: $0.workerClass, classCount: $0.classNames.count,
                  sharedOffset: $0.sharedOffset, sharedCount: $0.sharedCount)
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(d), as: UTF8.self)
        var metadata: [(key: String, value: String)] = [
            ("format", PolicyDocument.formatName),
            ("format_version", String(PolicyDocument.currentFormatVersion)),
            ("policy", text),
            ("kind", d.policy.kind.rawValue),
            ("beam_width", String(d.policy.beamWidth)),
            ("switchgym_version", SwitchGymVersion.string),
        ]
        if let s = d.scenario {
            metadata.append(("scenario", s.name))
            metadata.append(("scenario_fingerprint", s.fingerprint))
        }
        metadata.append(("checkpoint_sha256", d.source.checkpointSha256))
        self.init(kind: kind, layers: layers, hiddenActivation: act, components: d.action.components,
                  observationDimension: d.observation.dimension, fleet: fleet, stayBias: d.policy.stayBias,
                  beamWidth: kind == .family ? d.policy.beamWidth : 1, movesLevels: d.policy.movesLevels, metadata: metadata)
    }
}
