/// Code that needs an env's concrete type (to specialise its hot loops on it, such as
/// training): ``EnvSpec/visit(_:)`` calls ``visit(id:make:)`` with the env's factory.
public protocol EnvVisitor {
    /// Called once with the spec's id and a factory of its concrete env type.
    func visit<E: VectorizableEnv & StateCheckpointable & Sendable>(id: String, make: @escaping @Sendable (UInt64) -> E) throws
}

/// How to build one registered env: its id, a factory for the scalar env and one for a
/// specialised ``VectorEnv`` of it (Gymnasium's `EnvSpec`).
public struct EnvSpec: Sendable {
    /// The id, `Name-vN`; the version is bumped whenever behaviour changes.
    public let id: String
    /// One line on what the env tests or models.
    public let summary: String
    /// The ``TimeLimit`` the factory applies, if any.
    public let maxEpisodeSteps: Int?
    /// The observation space of the env.
    public let observationSpace: Box
    /// The env's action codec.
    public let actionLayout: ActionLayout
    /// The action space, as text (`Discrete(2)`, `MultiDiscrete([4, 4, 4])`).
    public let actionDescription: String
    /// The env's family layout when it is a family of workers (``VectorizableEnv/familyLayout``).
    public let familyLayout: FamilyObservationLayout?

    private let factory: @Sendable (UInt64) -> any VectorizableEnv
    private let vectorFactory: @Sendable (Int, AutoresetMode) -> AnyVectorEnv
    private let visitor: @Sendable (any EnvVisitor) throws -> Void

    /// Registers an env built by `make(seed)` (the seed seeds resets without a seed).
    public init<E: VectorizableEnv & StateCheckpointable & Sendable>(id: String, summary: String, maxEpisodeSteps: Int? = nil,
                                    make: @escaping @Sendable (UInt64) -> E) {
        self.id = id
        self.summary = summary
        self.maxEpisodeSteps = maxEpisodeSteps
        let sample = make(0)
        self.observationSpace = sample.observationSpace
        self.actionLayout = sample.actionLayout
        self.actionDescription = sample.actionSpace.description
        self.familyLayout = sample.familyLayout
        self.factory = { make($0) }
        self.vectorFactory = { count, mode in
            AnyVectorEnv(VectorEnv(count: count, autoreset: mode) { make(UInt64($0)) })
        }
        self.visitor = { [id] v in try v.visit(id: id, make: make) }
    }

    /// A new scalar env (with its wrappers, such as ``TimeLimit``).
    public func make(seed: UInt64 = 0) -> any VectorizableEnv { factory(seed) }

    /// Calls `visitor` with this env's concrete type (one specialisation per env type, no
    /// existential in the visitor's loops).
    public func visit(_ visitor: some EnvVisitor) throws { try self.visitor(visitor) }

    /// A new vector env of `count` copies (copy `i` constructed with seed `i`).
    public func makeVector(count: Int, autoreset: AutoresetMode = .nextStep) -> AnyVectorEnv {
        vectorFactory(count, autoreset)
    }
}

/// The registered vectorisable envs, by id.
public enum EnvRegistry {
    /// Every registered env, in listing order.
    public static let all: [EnvSpec] = [
        EnvSpec(id: "CartPole-v1",
                summary: "Gymnasium's cart-pole balancing task (identical dynamics), truncated at 500 steps.",
                maxEpisodeSteps: 500) { TimeLimit(CartPole(seed: $0), maxEpisodeSteps: 500) },
        EnvSpec(id: "Bandit-v0",
                summary: "Sanity: a 4-armed bandit with one best arm; one-step episodes.") { Bandit(seed: $0) },
        EnvSpec(id: "DelayedReward-v0",
                summary: "Sanity: the reward for the first action arrives 3 steps later.") { DelayedReward(seed: $0) },
        EnvSpec(id: "SwitchCost-v0",
                summary: "Sanity: hold the better of two options; switching costs; the better one drifts.",
                maxEpisodeSteps: 200) { TimeLimit(SwitchCost(seed: $0), maxEpisodeSteps: 200) },
    ]

    /// The registered ids.
    public static var ids: [String] { all.map(\.id) }

    /// The spec registered under `id`.
    /// - Throws: ``EnvError/Code/invalidArgument`` naming the known ids.
    public static func spec(_ id: String) throws -> EnvSpec {
        guard let s = all.first(where: { $0.id == id }) else {
            throw EnvError(.invalidArgument,
                           "unknown env id '\(id)'. - help: known ids are \(ids.joined(separator: ", ")) (see `switchgym envs list`).")
        }
        return s
    }
}
