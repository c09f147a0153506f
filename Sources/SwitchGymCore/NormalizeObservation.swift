#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Normalises observations to roughly zero mean and unit variance with running statistics
/// (Gymnasium's `NormalizeObservation`): `(obs - mean) / sqrt(var + epsilon)`.
///
/// Statistics are updated with every reset and step observation while ``isUpdating``
/// is true; set it to false to freeze them (for evaluation). ``statistics`` can be exported
/// and imported for checkpoints.
public struct NormalizeObservation<Base: Env>: Env where Base.Observation == [Float] {
    public typealias Observation = [Float]
    public typealias Action = Base.Action
    public typealias Info = Base.Info
    public typealias ResetOptions = Base.ResetOptions

    /// The wrapped env.
    public var base: Base
    /// The running statistics (export for a checkpoint; assign to restore).
    public var statistics: RunningMeanStd
    /// Whether observations update ``statistics``; false freezes them.
    public var isUpdating = true
    /// Added to the variance before the square root.
    public let epsilon: Double

    /// Wraps `base`; `dimension` defaults to the observation space's element count.
    public init(_ base: Base, epsilon: Double = 1e-8) where Base.ObservationSpace == Box {
        self.base = base
        self.epsilon = epsilon
        self.statistics = RunningMeanStd(dimension: base.observationSpace.count)
    }

    /// Normalised observations are unbounded.
    public var observationSpace: Box {
        Box(low: -.infinity, high: .infinity, shape: [statistics.mean.count])
    }
    public var actionSpace: Base.ActionSpace { base.actionSpace }

    public mutating func reset(seed: UInt64?, options: Base.ResetOptions?) throws -> ResetResult<[Float], Base.Info> {
        let r = try base.reset(seed: seed, options: options)
        return ResetResult(observation: normalize(r.observation), info: r.info)
    }

    public mutating func step(_ action: Base.Action) throws -> StepResult<[Float], Base.Info> {
        var r = try base.step(action)
        r.observation = normalize(r.observation)
        return r
    }

    public mutating func close() { base.close() }

    /// Updates the statistics (unless frozen) and normalises `observation`.
    private mutating func normalize(_ observation: [Float]) -> [Float] {
        if isUpdating { statistics.update(observation) }
        var out = observation
        for i in 0..<out.count {
            out[i] = Float((Double(observation[i]) - statistics.mean[i]) / sqrt(statistics.variance[i] + epsilon))
        }
        return out
    }
}

extension NormalizeObservation: Sendable where Base: Sendable {}
