#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Multiplies every reward by a constant (Gymnasium's `TransformReward(lambda r: scale * r)`).
public struct ScaleReward<Base: Env>: Env {
    public typealias Observation = Base.Observation
    public typealias Action = Base.Action
    public typealias Info = Base.Info
    public typealias ResetOptions = Base.ResetOptions

    /// The wrapped env.
    public var base: Base
    /// The factor applied to rewards.
    public let scale: Double

    /// Wraps `base`, multiplying rewards by `scale`.
    public init(_ base: Base, scale: Double) {
        self.base = base
        self.scale = scale
    }

    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public var actionSpace: Base.ActionSpace { base.actionSpace }

    public mutating func reset(seed: UInt64?, options: Base.ResetOptions?) throws -> ResetResult<Base.Observation, Base.Info> {
        try base.reset(seed: seed, options: options)
    }

    public mutating func step(_ action: Base.Action) throws -> StepResult<Base.Observation, Base.Info> {
        var r = try base.step(action)
        r.reward *= scale
        return r
    }

    public mutating func close() { base.close() }
}

extension ScaleReward: Sendable where Base: Sendable {}

extension ScaleReward: VectorizableEnv where Base: VectorizableEnv {
    public var observationDimension: Int { base.observationDimension }
    public mutating func resetState(seed: UInt64?) { base.resetState(seed: seed) }
    public func writeObservation(into destination: UnsafeMutablePointer<Float>) { base.writeObservation(into: destination) }
    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) { base.writeActionMask(into: destination) }
    public var actionLayout: ActionLayout { base.actionLayout }
    public var familyLayout: FamilyObservationLayout? { base.familyLayout }
    public mutating func step(choices: UnsafePointer<Int>) -> Transition {
        var t = base.step(choices: choices)
        t.reward *= scale
        return t
    }
    public mutating func setState(_ values: [Double]) throws { try base.setState(values) }
}

extension ScaleReward: DiscreteVectorizableEnv where Base: DiscreteVectorizableEnv {
    public mutating func step(discrete action: Int) -> Transition {
        var t = base.step(discrete: action)
        t.reward *= scale
        return t
    }
}

/// Scales rewards so the discounted return has roughly unit variance (Gymnasium's
/// `NormalizeReward`): keeps `G ← γ·G·(1 − terminated) + r`, tracks its running variance,
/// and returns `r / sqrt(var(G) + epsilon)`. Rewards are not centred.
public struct NormalizeReward<Base: Env>: Env {
    public typealias Observation = Base.Observation
    public typealias Action = Base.Action
    public typealias Info = Base.Info
    public typealias ResetOptions = Base.ResetOptions

    /// The wrapped env.
    public var base: Base
    /// The discount of the tracked return.
    public let gamma: Double
    /// Added to the variance before the square root.
    public let epsilon: Double
    /// Running statistics of the discounted return (one element); Codable for checkpoints.
    public var statistics = RunningMeanStd(dimension: 1)
    /// Whether rewards update ``statistics``; false freezes them.
    public var isUpdating = true
    /// The discounted return accumulated so far.
    public private(set) var discountedReturn = 0.0

    /// Wraps `base` with discount `gamma`.
    public init(_ base: Base, gamma: Double = 0.99, epsilon: Double = 1e-8) {
        self.base = base
        self.gamma = gamma
        self.epsilon = epsilon
    }

    public var observationSpace: Base.ObservationSpace { base.observationSpace }
    public var actionSpace: Base.ActionSpace { base.actionSpace }

    public mutating func reset(seed: UInt64?, options: Base.ResetOptions?) throws -> ResetResult<Base.Observation, Base.Info> {
        try base.reset(seed: seed, options: options)
    }

    public mutating func step(_ action: Base.Action) throws -> StepResult<Base.Observation, Base.Info> {
        var r = try base.step(action)
        discountedReturn = discountedReturn * gamma * (r.terminated ? 0 : 1) + r.reward
        if isUpdating { statistics.update([Float(discountedReturn)]) }
        r.reward /= sqrt(statistics.variance[0] + epsilon)
        return r
    }

    public mutating func close() { base.close() }
}

extension NormalizeReward: Sendable where Base: Sendable {}
