/// Running per-element mean and variance, merged batch by batch with the parallel
/// algorithm of Chan, Golub and LeVeque (1979), as Gymnasium's `RunningMeanStd`.
///
/// Like Gymnasium, it starts at mean 0, variance 1 and a pseudo-count of `1e-4`, so the
/// first real batch dominates at once. Codable: save it with a checkpoint and restore it
/// with ``NormalizeObservation/statistics`` to resume bit-exactly.
public struct RunningMeanStd: Sendable, Equatable, Codable {
    /// Per-element mean.
    public var mean: [Double]
    /// Per-element (population) variance.
    public var variance: [Double]
    /// Number of samples merged so far (plus the initial pseudo-count).
    public var count: Double

    /// Starts statistics for vectors of `dimension` elements.
    public init(dimension: Int, initialCount: Double = 1e-4) {
        mean = Array(repeating: 0, count: dimension)
        variance = Array(repeating: 1, count: dimension)
        count = initialCount
    }

    /// Merges one sample.
    public mutating func update(_ sample: [Float]) {
        precondition(sample.count == mean.count, "RunningMeanStd: expected \(mean.count) elements, got \(sample.count)")
        // Merging a batch of one: batch mean = sample, batch variance = 0.
        let total = count + 1
        for i in 0..<mean.count {
            let delta = Double(sample[i]) - mean[i]
            let m2 = variance[i] * count + delta * delta * count / total
            mean[i] += delta / total
            variance[i] = m2 / total
        }
        count = total
    }

    /// Merges a batch summarised by its mean, variance and size (the parallel update).
    public mutating func update(batchMean: [Double], batchVariance: [Double], batchCount: Double) {
        precondition(batchMean.count == mean.count && batchVariance.count == mean.count)
        let total = count + batchCount
        for i in 0..<mean.count {
            let delta = batchMean[i] - mean[i]
            let m2 = variance[i] * count + batchVariance[i] * batchCount + delta * delta * count * batchCount / total
            mean[i] += delta * batchCount / total
            variance[i] = m2 / total
        }
        count = total
    }
}
