import Foundation
import SwitchGymCore

/// Load augmentation for training: each training episode replays its arrivals multiplied by
/// one factor, drawn log-uniformly from ``low`` ... ``high`` when the episode resets (from the
/// env's seeded generator, so every run is reproducible from its seed).
///
/// A policy trained on one part of a trace sees only that part's sequence of load levels and
/// can fit it (llm-code: 81 training intervals); a held-out part with the same mean arrives in
/// another sequence. Scaling whole episodes varies the levels the policy sees, and the
/// observation (arrivals over the training trace's mean) shows a scaled episode as what it is:
/// more (or less) load than usual. The spec key is
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
