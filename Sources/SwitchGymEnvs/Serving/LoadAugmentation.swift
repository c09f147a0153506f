import Foundation
import SwitchGymCore

/// Load augmentation for training: each training episode replays its arrivals multiplied by
/// one factor, drawn log-uniformly from ``low`` ... ``high`` when the episode resets (from the
/// env's seeded generator, so every run is reproducible from its seed).
///
/// A policy trained on one part of a trace sees only that part's load levels; a held-out part
/// scaled to the same mean rate from a sparser trace has larger bursts than any in training.
/// Scaling whole episodes covers those levels, and the observation (arrivals over the training
/// trace's mean) shows a scaled episode as what it is: more load than usual. The spec key is
/// `[training] load_scale = [low, high]`; it applies to training envs only
/// (``EnvResolver/scenarioSpec(path:trace:training:queueing:)``), never to evaluation.
public struct LoadAugmentation: Codable, Sendable, Equatable {
    /// The smallest and the largest factor.
    public var low: Double, high: Double

    /// The accepted range of each factor.
    public static let bounds = InputBounds.above(0, upTo: 100)

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    /// `nil` when both factors are in ``bounds`` and `low <= high`, else what is wrong.
    public var violation: String? {
        if let m = Self.bounds.violation(low) { return "low factor: \(m)" }
        if let m = Self.bounds.violation(high) { return "high factor: \(m)" }
        if low > high { return "expected low <= high, got [\(low), \(high)]" }
        return nil
    }

    /// A factor drawn log-uniformly from `low ... high` (`low` itself when they are equal).
    public func draw(using generator: inout SeededGenerator) -> Double {
        let u = Double.random(in: 0..<1, using: &generator)
        return low * exp(u * log(high / low))
    }
}
