import SwitchGymCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ground truth for co-location interference: batches sharing one GPU slow each other, and a
/// batch's latency is its isolated latency inflated linearly in the co-location features,
///
///     latency = base × max(minimumFactor, 1 + Σ_k θ_k f_k) × ε,   ε = exp(σ z − σ²/2), z ~ N(0, 1)
///
/// where `base` is the isolated latency of the variant at its batch size (seconds, or any time
/// unit — the output has the same unit), `f_k` are co-location features (e.g. co-located batch
/// sizes or utilisation of the other variants on the GPU, suitably scaled), `θ_k` their
/// sensitivities (dimensionless), and `ε` mean-one log-normal noise of log-sd ``noise``. This is
/// the linear interference model of Zhao and Georgantas, "ML Inference Scheduling with
/// Predictable Latency" (MAIoT 2025, arXiv:2512.18725), after GPUlet's static linear
/// regression. ``coefficients`` may be changed between calls to model workload drift.
///
/// Used by the discrete-event serving env to draw batch latencies; deterministic given `seed`.
public struct InterferenceModel: Sendable {
    /// True sensitivities `θ_k` (one per feature).
    public var coefficients: [Double]
    /// Log-sd `σ` of the multiplicative noise (0 for none).
    public var noise: Double
    /// Floor on the inflation factor (keeps latencies positive if features or θ are negative).
    public var minimumFactor: Double
    private var generator: SeededGenerator

    /// - Precondition: `coefficients` not empty, `noise >= 0`, `minimumFactor > 0`.
    public init(coefficients: [Double], noise: Double = 0.02, minimumFactor: Double = 0.05, seed: UInt64) {
        precondition(!coefficients.isEmpty, "need at least one interference feature")
        precondition(noise >= 0 && noise.isFinite, "noise must be non-negative")
        precondition(minimumFactor > 0, "minimum factor must be positive")
        self.coefficients = coefficients
        self.noise = noise
        self.minimumFactor = minimumFactor
        generator = SeededGenerator(seed: seed)
    }

    /// The inflation factor `max(minimumFactor, 1 + θ · f)`.
    /// - Precondition: `features.count == coefficients.count`.
    @inline(__always)
    public func inflation(features: UnsafeBufferPointer<Double>) -> Double {
        precondition(features.count == coefficients.count, "feature vector has the wrong length")
        var s = 1.0
        for k in 0..<features.count { s += coefficients[k] * features[k] }
        return max(minimumFactor, s)
    }

    /// Noise-free latency `base × inflation`.
    public func expectedLatency(base: Double, features: [Double]) -> Double {
        features.withUnsafeBufferPointer { base * inflation(features: $0) }
    }

    /// One noisy latency draw (advances the internal generator).
    /// - Precondition: `base > 0`; `features.count == coefficients.count`.
    public mutating func latency(base: Double, features: UnsafeBufferPointer<Double>) -> Double {
        precondition(base > 0, "base latency must be positive")
        let factor = inflation(features: features)
        guard noise > 0 else { return base * factor }
        let z = Sample.normal(using: &generator)
        return base * factor * exp(noise * z - noise * noise / 2)
    }

    /// One noisy latency draw (array convenience).
    public mutating func latency(base: Double, features: [Double]) -> Double {
        features.withUnsafeBufferPointer { latency(base: base, features: $0) }
    }
}
