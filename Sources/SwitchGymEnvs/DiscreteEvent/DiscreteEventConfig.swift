import Foundation

/// The ground truth of co-location interference in the discrete-event fidelity: a batch of a
/// variant whose largest profiled batch is `B`, started while other batches of total size `c`
/// run on the same device, takes
///
///     latency(batch) × (1 + θ(t) · c / B) × ε
///
/// where `θ(t) = max(0, theta + thetaDriftPerHour · t/3600 + thetaAmplitude · sin(2π t / thetaPeriodSeconds))`
/// (t in seconds of trace time, so the drift is the same whatever the episode start) and `ε` is
/// log-normal noise with log-standard deviation `noise` and mean 1 (none when `noise` is 0).
/// The co-located set is taken when the batch starts; the latency is fixed from then on.
///
/// Interference matters only on devices with ``Device/concurrency`` > 1 (with one batch at a
/// time `c` is always 0). The predictor that should learn θ online sees
/// ``BatchObservation``s, never this struct. Source: the co-location model of the
/// interference paper in DESIGN.md (a linear model over co-located batch features).
public struct CoLocationInterference: Sendable, Equatable, Codable {
    /// θ at trace time 0.
    public var theta: Double
    /// Linear drift of θ per hour of trace time.
    public var thetaDriftPerHour: Double
    /// Amplitude of a sinusoidal drift of θ.
    public var thetaAmplitude: Double
    /// Period of the sinusoidal drift, in seconds.
    public var thetaPeriodSeconds: Double
    /// Log-standard deviation of the multiplicative latency noise (0: deterministic).
    public var noise: Double

    public init(theta: Double = 0.5, thetaDriftPerHour: Double = 0, thetaAmplitude: Double = 0,
                thetaPeriodSeconds: Double = 3600, noise: Double = 0) {
        self.theta = theta
        self.thetaDriftPerHour = thetaDriftPerHour
        self.thetaAmplitude = thetaAmplitude
        self.thetaPeriodSeconds = thetaPeriodSeconds
        self.noise = noise
    }

    /// θ at trace time `t` seconds.
    @inline(__always)
    public func theta(at t: Double) -> Double {
        var x = theta + thetaDriftPerHour * t / 3600
        if thetaAmplitude != 0 { x += thetaAmplitude * sin(2 * Double.pi * t / thetaPeriodSeconds) }
        return max(0, x)
    }
}

/// What the router does with queries already waiting on a device when a decision comes: the
/// discrete-event fidelity's ``DiscreteEventConfig/queuedDispatch`` and the fluid env's
/// ``ServingModel/dispatch`` (``FluidServingEnv/pinBacklog()``) take the same values.
public enum QueuedDispatch: String, Sendable, Equatable, Codable, CaseIterable {
    /// A query waits on the device it was dispatched to on arrival (join-shortest-expected-wait);
    /// only a device that switches sends its waiting queries back to dispatch, with the central
    /// queue. A router in front of vLLM engines works this way: a request sits in the waiting
    /// queue of the engine it was sent to. The default.
    case pinned
    /// At a decision where any device switches, every device's waiting queries and the central
    /// queue are dispatched again (in arrival order, by the same rule): a router that re-balances
    /// its waiting requests whenever the fleet's assignment changes. A static assignment runs
    /// exactly as with ``pinned``. The fluid env keeps its queue pooled under this router: work
    /// queued before a switch may be served by the variant the switch brings.
    case rebalanced
}

/// Settings of the discrete-event fidelity that a scenario spec does not carry.
public struct DiscreteEventConfig: Sendable, Equatable, Codable {
    /// Width of the fine bins in which a scaled-up trace (rate scale > 1) is replayed as a
    /// non-homogeneous Poisson process, in seconds; rounded so a whole number of bins fills a
    /// decision interval. `nil`: a tenth of the decision interval.
    public var fineBinSeconds: Double?
    /// Ground-truth co-location interference.
    public var interference: CoLocationInterference
    /// Smoothing factor of the EWMA of co-location features in ``BatchObservation``.
    public var ewmaAlpha: Double
    /// Record a ``BatchObservation`` for every finished batch (see
    /// ``DiscreteEventServingEnv/batchLog``).
    public var recordBatches: Bool
    /// What happens to waiting queries at a decision (``QueuedDispatch``).
    public var queuedDispatch: QueuedDispatch

    public init(fineBinSeconds: Double? = nil, interference: CoLocationInterference = CoLocationInterference(),
                ewmaAlpha: Double = 0.2, recordBatches: Bool = false, queuedDispatch: QueuedDispatch = .pinned) {
        self.fineBinSeconds = fineBinSeconds
        self.interference = interference
        self.ewmaAlpha = ewmaAlpha
        self.recordBatches = recordBatches
        self.queuedDispatch = queuedDispatch
    }
}

/// One finished batch, with the features an online interference predictor (RLS over
/// co-location features) learns from and the latency it should predict.
public struct BatchObservation: Sendable, Equatable, Codable {
    /// Start of the batch, seconds since the episode start.
    public var startTime: Double
    public var device: Int
    public var variant: Int
    /// Queries in the batch.
    public var batchSize: Int
    /// Other batches running on the device when it started.
    public var colocatedBatches: Int
    /// Their total size.
    public var colocatedQueries: Int
    /// `colocatedQueries / largest profiled batch of the variant` (what θ multiplies).
    public var colocatedLoad: Double
    /// EWMA (per device, over batch starts, ``DiscreteEventConfig/ewmaAlpha``) of `colocatedBatches`.
    public var ewmaColocatedBatches: Double
    /// EWMA of `colocatedLoad`.
    public var ewmaColocatedLoad: Double
    /// Profiled latency of the batch alone, ms.
    public var baseLatencyMs: Double
    /// Latency it took, ms.
    public var observedLatencyMs: Double
    /// The ground-truth θ when it started (for evaluating predictors; not a feature).
    public var theta: Double

    public init(startTime: Double, device: Int, variant: Int, batchSize: Int, colocatedBatches: Int,
                colocatedQueries: Int, colocatedLoad: Double, ewmaColocatedBatches: Double,
                ewmaColocatedLoad: Double, baseLatencyMs: Double, observedLatencyMs: Double, theta: Double) {
        self.startTime = startTime
        self.device = device
        self.variant = variant
        self.batchSize = batchSize
        self.colocatedBatches = colocatedBatches
        self.colocatedQueries = colocatedQueries
        self.colocatedLoad = colocatedLoad
        self.ewmaColocatedBatches = ewmaColocatedBatches
        self.ewmaColocatedLoad = ewmaColocatedLoad
        self.baseLatencyMs = baseLatencyMs
        self.observedLatencyMs = observedLatencyMs
        self.theta = theta
    }
}
