import Foundation
import SwitchGymCore
import SwitchGymEnvs

/// The spaces of a C ABI handle as data: what `sg_env_spaces` returns, encoded as JSON by
/// `JSONEncoder` (sorted keys) rather than assembled by hand.
///
/// The JSON (ABI version ``switchGymCABIVersion``):
/// `{"abi", "id", "summary", "num_envs", "autoreset", "max_episode_steps" (null: none),
///   "observation": {"dtype": "float32", "shape", "low", "high"} (an unbounded limit is null),
///   "action": {"kind": "Discrete" | "MultiDiscrete", "n" (Discrete only), "start", "nvec", "offsets"},
///   "action_components", "mask_width"}`.
public struct EnvSpaces: Codable, Equatable, Sendable {
    /// A float32 box; `nil` limits are unbounded (±infinity, which strict JSON cannot hold).
    public struct Observation: Codable, Equatable, Sendable {
        public var dtype = "float32"
        public var shape: [Int]
        public var low: [Float?]
        public var high: [Float?]
    }

    /// A discrete action (Gymnasium `Discrete(n, start)`) or one discrete choice per component
    /// (`MultiDiscrete(nvec)`); `offsets` are each component's first column in the action mask.
    public struct Action: Codable, Equatable, Sendable {
        public enum Kind: String, Codable, Sendable { case discrete = "Discrete", multiDiscrete = "MultiDiscrete" }
        public var kind: Kind
        public var n: Int?
        public var start: Int
        public var nvec: [Int]
        public var offsets: [Int]
    }

    public var abi: Int32
    public var id: String
    public var summary: String
    public var numEnvs: Int
    public var autoreset: String
    public var maxEpisodeSteps: Int?
    public var observation: Observation
    public var action: Action
    public var actionComponents: Int
    public var maskWidth: Int

    enum CodingKeys: String, CodingKey {
        case abi, id, summary, autoreset, observation, action
        case numEnvs = "num_envs", maxEpisodeSteps = "max_episode_steps"
        case actionComponents = "action_components", maskWidth = "mask_width"
    }

    /// The spaces of `env`, built from `spec`.
    public init(_ env: AnyVectorEnv, spec: EnvSpec) {
        let box = env.singleObservationSpace
        let layout = env.actionLayout
        func bound(_ xs: [Float]) -> [Float?] { xs.map { $0.isFinite ? $0 : nil } }
        abi = switchGymCABIVersion
        id = spec.id
        summary = spec.summary
        numEnvs = env.count
        autoreset = env.autoreset.rawValue
        maxEpisodeSteps = spec.maxEpisodeSteps
        observation = Observation(shape: box.shape, low: bound(box.low), high: bound(box.high))
        action = env.actionIsScalar
            ? Action(kind: .discrete, n: layout.sizes[0], start: env.actionChoiceOffset, nvec: layout.sizes, offsets: layout.offsets)
            : Action(kind: .multiDiscrete, n: nil, start: 0, nvec: layout.sizes, offsets: layout.offsets)
        actionComponents = layout.components
        maskWidth = layout.maskWidth
    }

    /// Absent optionals are written as `null` (the Python side reads every key).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(abi, forKey: .abi)
        try c.encode(id, forKey: .id)
        try c.encode(summary, forKey: .summary)
        try c.encode(numEnvs, forKey: .numEnvs)
        try c.encode(autoreset, forKey: .autoreset)
        try c.encode(maxEpisodeSteps, forKey: .maxEpisodeSteps)
        try c.encode(observation, forKey: .observation)
        try c.encode(action, forKey: .action)
        try c.encode(actionComponents, forKey: .actionComponents)
        try c.encode(maskWidth, forKey: .maskWidth)
    }

    /// The JSON text (sorted keys).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, integers and finite floats cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}
