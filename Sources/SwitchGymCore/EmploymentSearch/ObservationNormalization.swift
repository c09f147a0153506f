/// How a serving env scales its observation (``FamilyObservationLayout``): the bill features
/// are divided by ``billScale`` and the elapsed fraction is the step over ``episodeIntervals``.
///
/// A policy learns under its training env's values, so they are **frozen** with it: `train`
/// records them in every checkpoint, `export` in the policy file, and `eval` and the serving
/// daemon scale the observation with the policy's values rather than with those of the trace
/// they replay (which would need the whole future trace's mean: a skew, and a peek ahead).
public struct ObservationNormalization: Codable, Sendable, Equatable {
    /// Mean queries per interval and stream of the training trace.
    public var billScale: Double
    /// The training episode's length in intervals (the elapsed fraction's denominator).
    public var episodeIntervals: Int

    public init(billScale: Double, episodeIntervals: Int) {
        self.billScale = billScale
        self.episodeIntervals = episodeIntervals
    }

    /// Whether both are usable (positive and finite).
    public var isValid: Bool { billScale.isFinite && billScale > 0 && episodeIntervals >= 1 }
}
