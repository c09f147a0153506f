/// A reinforcement-learning environment with Gymnasium's semantics (`gymnasium.Env`), typed.
///
/// The life cycle is `reset` → `step`* → (`reset` → `step`*)* → `close`.
/// - `reset(seed:options:)` starts an episode; a seed re-seeds the env's generator, `nil`
///   continues its stream (Gymnasium: "seed only once, at the first reset").
/// - `step(_:)` returns the next observation, the reward, and two separate flags:
///   `terminated` (the MDP reached a terminal state) and `truncated` (an outside limit, such
///   as ``TimeLimit``, ended the episode).
/// - Calling `step` before the first `reset` throws ``EnvError/Code/stepBeforeReset``.
/// - `close()` releases resources and can be called any number of times.
///
/// Conform with a struct for value semantics; wrappers are generic structs (`TimeLimit<E>`),
/// so a stack of wrappers is specialised and inlined without existential dispatch.
public protocol Env {
    /// What the agent observes.
    associatedtype Observation
    /// What the agent chooses.
    associatedtype Action
    /// Typed auxiliary information returned by `reset` and `step` (Gymnasium's `info` dict).
    associatedtype Info = EmptyInfo
    /// Typed reset options (Gymnasium's `options` dict).
    associatedtype ResetOptions = NoResetOptions
    /// The space observations lie in.
    associatedtype ObservationSpace: Space where ObservationSpace.Element == Observation
    /// The space actions lie in.
    associatedtype ActionSpace: Space where ActionSpace.Element == Action

    /// The space every observation lies in.
    var observationSpace: ObservationSpace { get }
    /// The space of valid actions.
    var actionSpace: ActionSpace { get }

    /// Starts an episode.
    /// - Parameters:
    ///   - seed: re-seeds the env's generator; `nil` continues the current stream.
    ///   - options: env-specific options.
    /// - Returns: the first observation and info.
    mutating func reset(seed: UInt64?, options: ResetOptions?) throws -> ResetResult<Observation, Info>

    /// Advances the env by one step.
    /// - Throws: ``EnvError/Code/stepBeforeReset`` before the first reset;
    ///   ``EnvError/Code/invalidAction`` if `action` is outside ``actionSpace``.
    mutating func step(_ action: Action) throws -> StepResult<Observation, Info>

    /// Releases resources. Idempotent; a closed env must be reset before stepping again.
    mutating func close()
}

extension Env {
    /// Starts an episode with default options.
    public mutating func reset(seed: UInt64? = nil) throws -> ResetResult<Observation, Info> {
        try reset(seed: seed, options: nil)
    }
}

/// What `reset` returns: the first observation and its info.
public struct ResetResult<Observation, Info> {
    /// The first observation of the episode.
    public var observation: Observation
    /// Auxiliary information.
    public var info: Info

    public init(observation: Observation, info: Info) {
        self.observation = observation
        self.info = info
    }
}

extension ResetResult: Sendable where Observation: Sendable, Info: Sendable {}
extension ResetResult: Equatable where Observation: Equatable, Info: Equatable {}

/// What `step` returns (Gymnasium's 5-tuple).
public struct StepResult<Observation, Info> {
    /// The observation after the action.
    public var observation: Observation
    /// The reward for the transition.
    public var reward: Double
    /// The MDP reached a terminal state; bootstrapping must stop.
    public var terminated: Bool
    /// The episode was cut short by a condition outside the MDP (a time limit).
    public var truncated: Bool
    /// Auxiliary information.
    public var info: Info

    public init(observation: Observation, reward: Double, terminated: Bool, truncated: Bool, info: Info) {
        self.observation = observation
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
        self.info = info
    }
}

extension StepResult: Sendable where Observation: Sendable, Info: Sendable {}
extension StepResult: Equatable where Observation: Equatable, Info: Equatable {}

/// The info of envs that report nothing extra.
public struct EmptyInfo: Sendable, Equatable, Codable {
    public init() {}
}

/// The reset options of envs that take none.
public struct NoResetOptions: Sendable, Equatable {
    public init() {}
}
