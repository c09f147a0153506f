/// Truncates episodes after a fixed number of steps (Gymnasium's `TimeLimit` wrapper).
///
/// `truncated` becomes true on the step whose count reaches ``maxEpisodeSteps``; the
/// counter restarts at every reset. `terminated` is passed through, so both can be true.
public struct TimeLimit<Base: Env>: Env {
    public typealias Observation = Base.Observation
    public typealias Action = Base.Action
    public typealias Info = Base.Info
    public typealias ResetOptions = Base.ResetOptions

    /// The wrapped env.
    public var base: Base
    /// The step count at which episodes are truncated.
    public let maxEpisodeSteps: Int
    /// Steps taken in the current episode.
    public private(set) var elapsedSteps = 0

    /// Wraps `base`, truncating after `maxEpisodeSteps` steps.
    /// - Precondition: `maxEpisodeSteps > 0`.
    public init(_ base: Base, maxEpisodeSteps: Int) {
        precondition(maxEpisodeSteps > 0, "TimeLimit: maxEpisodeSteps must be positive, got \(maxEpisodeSteps)")
        self.base = base
        self.maxEpisodeSteps = maxEpisodeSteps
    }

    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public var actionSpace: Base.ActionSpace { base.actionSpace }

    public mutating func reset(seed: UInt64?, options: Base.ResetOptions?) throws -> ResetResult<Base.Observation, Base.Info> {
        elapsedSteps = 0
        return try base.reset(seed: seed, options: options)
    }

    public mutating func step(_ action: Base.Action) throws -> StepResult<Base.Observation, Base.Info> {
        var result = try base.step(action)
        elapsedSteps += 1
        if elapsedSteps >= maxEpisodeSteps { result.truncated = true }
        return result
    }

    public mutating func close() { base.close() }
}

extension TimeLimit: Sendable where Base: Sendable {}

extension TimeLimit: VectorizableEnv where Base: VectorizableEnv {
    public var observationDimension: Int { base.observationDimension }

    @inline(__always)
    public mutating func resetState(seed: UInt64?) {
        elapsedSteps = 0
        base.resetState(seed: seed)
    }

    @inline(__always)
    public func writeObservation(into destination: UnsafeMutablePointer<Float>) {
        base.writeObservation(into: destination)
    }

    @inline(__always)
    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        base.writeActionMask(into: destination)
    }

    public var actionLayout: ActionLayout { base.actionLayout }
    public var familyLayout: FamilyObservationLayout? { base.familyLayout }

    @inline(__always)
    public mutating func step(choices: UnsafePointer<Int>) -> Transition {
        var t = base.step(choices: choices)
        elapsedSteps += 1
        if elapsedSteps >= maxEpisodeSteps { t.truncated = true }
        return t
    }

    public mutating func setState(_ values: [Double]) throws { try base.setState(values) }
}

extension TimeLimit: DiscreteVectorizableEnv where Base: DiscreteVectorizableEnv {
    @inline(__always)
    public mutating func step(discrete action: Int) -> Transition {
        var t = base.step(discrete: action)
        elapsedSteps += 1
        if elapsedSteps >= maxEpisodeSteps { t.truncated = true }
        return t
    }
}

extension TimeLimit: StateCheckpointable where Base: StateCheckpointable {
    /// The wrapped env under `base/` and the elapsed steps.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.merge(base.saveState(), prefix: "base")
        s.setInt(elapsedSteps, at: "elapsed_steps")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let n = try s.int("elapsed_steps")
        try base.loadState(s.subset("base"))
        elapsedSteps = n
    }
}
