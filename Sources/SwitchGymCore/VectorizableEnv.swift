/// An env that ``VectorEnv`` can batch: flat `Float` observations in a ``Box``, factored
/// discrete actions (``Discrete`` or ``MultiDiscrete``, laid out by ``ActionLayout``), and
/// allocation-free primitives that write straight into the vector env's buffers.
///
/// The primitives skip the checks of the scalar API (`reset`/`step`): ``VectorEnv``
/// guarantees that `resetState` comes before `step(choices:)` and that every choice is in
/// range. Envs with a ``Discrete`` action conform through ``DiscreteVectorizableEnv`` and
/// implement `step(discrete:)` instead.
public protocol VectorizableEnv: Env
where Observation == [Float], ObservationSpace == Box, ActionSpace: FactoredActionSpace {
    /// The number of `Float`s in an observation (``Box/count`` of ``observationSpace``).
    var observationDimension: Int { get }

    /// Starts an episode without allocating; `seed` as in ``Env/reset(seed:options:)``.
    mutating func resetState(seed: UInt64?)

    /// Writes the current observation to `destination[0 ..< observationDimension]`.
    func writeObservation(into destination: UnsafeMutablePointer<Float>)

    /// The action codec (``ActionLayout``); the default is the action space's.
    var actionLayout: ActionLayout { get }

    /// When the env is a family of workers choosing one job each (a serving fleet: one
    /// variant per device), where everything is in its observation, so that a policy can share
    /// its parameters across workers; `nil` (the default) otherwise.
    var familyLayout: FamilyObservationLayout? { get }

    /// Writes which choices are allowed now: a mask row of ``ActionLayout/maskWidth``
    /// entries (per component, one flag per value). The default allows every choice.
    func writeActionMask(into destination: UnsafeMutablePointer<Bool>)

    /// Advances one step without allocating.
    /// - Parameter choices: one choice per component (``ActionLayout/components``), 0-based.
    /// - Precondition: `resetState` was called and every choice is in range.
    mutating func step(choices: UnsafePointer<Int>) -> Transition

    /// Overwrites the env's physical state after a reset (used by parity checks such as
    /// `Scripts/check_cartpole_parity.py`). The default throws ``EnvError/Code/unsupported``.
    mutating func setState(_ values: [Double]) throws
}

/// The scalar part of a step: reward and the two end-of-episode flags.
public struct Transition: Sendable, Equatable {
    /// The reward for the transition.
    public var reward: Double
    /// The MDP reached a terminal state.
    public var terminated: Bool
    /// An outside limit ended the episode.
    public var truncated: Bool

    @inline(__always)
    public init(reward: Double, terminated: Bool, truncated: Bool) {
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }
}

extension VectorizableEnv {
    public var actionLayout: ActionLayout { actionSpace.layout }

    public var familyLayout: FamilyObservationLayout? { nil }

    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        destination.update(repeating: true, count: actionSpace.maskWidth)
    }

    public mutating func setState(_ values: [Double]) throws {
        throw EnvError(.unsupported, "\(Self.self) does not support setting its state.")
    }

    /// The current observation as an array (allocates; for the scalar API and tests).
    public func currentObservation() -> [Float] {
        [Float](unsafeUninitializedCapacity: observationDimension) { buffer, count in
            writeObservation(into: buffer.baseAddress!)
            count = observationDimension
        }
    }

    /// The current action mask as an array (allocates).
    public func currentActionMask() -> [Bool] {
        let width = actionLayout.maskWidth
        return [Bool](unsafeUninitializedCapacity: width) { buffer, count in
            writeActionMask(into: buffer.baseAddress!)
            count = width
        }
    }

    /// Steps with the choices of `action` (allocation-free for ``Discrete``; for tests and
    /// tools that hold typed actions).
    public mutating func step(unchecked action: Action) -> Transition {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: actionLayout.components) { b in
            actionSpace.writeChoices(of: action, into: b.baseAddress!)
            return step(choices: b.baseAddress!)
        }
    }
}

/// A ``VectorizableEnv`` whose action is one ``Discrete`` choice: it implements
/// `step(discrete:)` (the action offset by the space's `start`), and `step(choices:)` follows.
public protocol DiscreteVectorizableEnv: VectorizableEnv where Action == Int, ActionSpace == Discrete {
    /// Advances one step without allocating.
    /// - Precondition: `resetState` was called and `actionSpace.contains(action)`.
    mutating func step(discrete action: Int) -> Transition
}

extension DiscreteVectorizableEnv {
    @inline(__always)
    public mutating func step(choices: UnsafePointer<Int>) -> Transition {
        step(discrete: actionSpace.start + choices[0])
    }
}

/// The scalar API for the plain envs (no info, no options), built on the primitives.
/// Conformers keep an `isReady` flag so stepping before reset is a thrown error.
public protocol SimpleVectorizableEnv: DiscreteVectorizableEnv where Info == EmptyInfo, ResetOptions == NoResetOptions {
    /// Whether the env has been reset since it was created or closed.
    var isReady: Bool { get set }
}

extension SimpleVectorizableEnv {
    public mutating func reset(seed: UInt64?, options: NoResetOptions?) throws -> ResetResult<[Float], EmptyInfo> {
        resetState(seed: seed)
        isReady = true
        return ResetResult(observation: currentObservation(), info: EmptyInfo())
    }

    public mutating func step(_ action: Int) throws -> StepResult<[Float], EmptyInfo> {
        guard isReady else { throw EnvError.stepBeforeReset("\(Self.self)") }
        guard actionSpace.contains(action) else {
            throw EnvError(.invalidAction, "\(Self.self): action \(action) is not in \(actionSpace).")
        }
        let t = step(discrete: action)
        return StepResult(observation: currentObservation(), reward: t.reward,
                          terminated: t.terminated, truncated: t.truncated, info: EmptyInfo())
    }

    public mutating func close() { isReady = false }
}
