import Foundation
import SwitchGymCore
import SwitchGymData

/// A scenario's arrivals binned per decision interval and split across its SLO streams: the
/// *bills* of the reduction.
public struct ScenarioArrivals: Sendable, Equatable {
    /// Intervals.
    public let intervals: Int
    /// Streams.
    public let streams: Int
    /// `counts[t * streams + s]`: queries of stream `s` arriving in interval `t` (fractional
    /// in the fluid model: the trace count times the rate scale times the stream's share).
    public let counts: [Double]
    /// The raw arrival times in microseconds from the trace start (kept for the
    /// discrete-event fidelity; empty when built from counts).
    public let arrivalTimes: [Int64]

    public init(intervals: Int, streams: Int, counts: [Double], arrivalTimes: [Int64] = []) {
        precondition(counts.count == intervals * streams, "ScenarioArrivals: counts must hold intervals × streams values")
        self.intervals = intervals
        self.streams = streams
        self.counts = counts
        self.arrivalTimes = arrivalTimes
    }

    /// Bins arrival times (µs) into `interval`-second bins over `duration` µs, scales them by
    /// `rateScale` and splits each bin across `shares`.
    public init(arrivalTimes: [Int64], duration: Int64, interval: Double, rateScale: Double, shares: [Double]) {
        let width = interval * 1e6
        let n = max(1, Int((Double(duration) / width).rounded(.up)))
        var bins = [Double](repeating: 0, count: n)
        for a in arrivalTimes {
            let i = min(n - 1, max(0, Int(Double(a) / width)))
            bins[i] += 1
        }
        var counts = [Double](repeating: 0, count: n * shares.count)
        for t in 0..<n {
            for (s, share) in shares.enumerated() { counts[t * shares.count + s] = bins[t] * rateScale * share }
        }
        self.init(intervals: n, streams: shares.count, counts: counts, arrivalTimes: arrivalTimes)
    }

    /// Per interval, per stream, as nested arrays (the EmploymentSearch bill series).
    public var rows: [[Double]] {
        (0..<intervals).map { t in Array(counts[(t * streams)..<((t + 1) * streams)]) }
    }

    /// Intervals `range` only (a split for training and evaluation).
    public func slice(_ range: Range<Int>) -> ScenarioArrivals {
        ScenarioArrivals(intervals: range.count, streams: streams,
                         counts: Array(counts[(range.lowerBound * streams)..<(range.upperBound * streams)]))
    }
}

extension ServingScenario {
    /// Loads the scenario's trace (or `overridePath`, a trace dataset) and bins it.
    /// - Throws: the dataset reader's error (naming the file) or ``ScenarioError``.
    public func loadArrivals(overridePath: String? = nil) throws -> ScenarioArrivals {
        let trace: Trace
        if let p = overridePath {
            trace = try TraceDataset.read(p)
        } else {
            switch self.trace {
            case .dataset(let p):
                guard FileManager.default.fileExists(atPath: p) else {
                    throw ScenarioError(file: sourcePath, key: "trace.dataset",
                                        message: "dataset \(p) does not exist (import one with `switchgym traces import`, or use synthetic = \"default\")")
                }
                trace = try TraceDataset.read(p)
            case .defaultSynthetic:
                trace = try DefaultDataset.generate()
            }
        }
        var scale = rateScale
        if let target = targetMeanRate {
            guard trace.meanRate > 0 else {
                throw ScenarioError(file: sourcePath, key: "trace.mean_rate", message: "the trace has no arrivals to scale")
            }
            scale = target / trace.meanRate
        }
        return ScenarioArrivals(arrivalTimes: trace.arrivals, duration: trace.duration,
                                interval: decisionInterval, rateScale: scale, shares: streams.map(\.share))
    }
}
