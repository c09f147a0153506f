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
    /// Per raw arrival, its stream, when the streams select requests by origin; empty when
    /// every interval is split by the streams' shares.
    public let arrivalStreams: [UInt8]
    /// Per raw arrival, its prompt (input) tokens, when the trace has them; else empty.
    public var tokensIn: [Int32] = []
    /// Per raw arrival, its output (generated) tokens, when the trace has them; else empty.
    public var tokensOut: [Int32] = []

    public init(intervals: Int, streams: Int, counts: [Double], arrivalTimes: [Int64] = [], arrivalStreams: [UInt8] = []) {
        precondition(counts.count == intervals * streams, "ScenarioArrivals: counts must hold intervals × streams values")
        precondition(arrivalStreams.isEmpty || arrivalStreams.count == arrivalTimes.count,
                     "ScenarioArrivals: one stream per arrival, or none")
        self.intervals = intervals
        self.streams = streams
        self.counts = counts
        self.arrivalTimes = arrivalTimes
        self.arrivalStreams = arrivalStreams
    }

    /// Bins arrival times (µs) of known streams into `interval`-second bins over `duration` µs
    /// and scales them by `rateScale`: the mix of every interval is the trace's own.
    public init(arrivalTimes: [Int64], arrivalStreams: [UInt8], streams: Int, duration: Int64, interval: Double,
                rateScale: Double) {
        let width = interval * 1e6
        let n = max(1, Int((Double(duration) / width).rounded(.up)))
        var counts = [Double](repeating: 0, count: n * streams)
        for (a, s) in zip(arrivalTimes, arrivalStreams) {
            let i = min(n - 1, max(0, Int(Double(a) / width)))
            counts[i * streams + Int(s)] += rateScale
        }
        self.init(intervals: n, streams: streams, counts: counts, arrivalTimes: arrivalTimes, arrivalStreams: arrivalStreams)
    }

    /// Each stream's part of all arrivals (the configured shares when split by share; the
    /// trace's mix when streams select by origin). Equal parts when there are no arrivals.
    public var shares: [Double] {
        var tot = [Double](repeating: 0, count: streams)
        for t in 0..<intervals { for s in 0..<streams { tot[s] += counts[t * streams + s] } }
        let sum = tot.reduce(0, +)
        return sum > 0 ? tot.map { $0 / sum } : [Double](repeating: 1 / Double(max(streams, 1)), count: streams)
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
        var traceName = overridePath ?? ""
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
                traceName = p
            case .defaultSynthetic:
                trace = try DefaultDataset.generate()
                traceName = "the default synthetic trace"
            }
        }
        // The interval tables are sized by the trace's duration: refuse before allocating.
        try checkIntervalTables(duration: trace.duration, trace: traceName)
        var scale = rateScale
        if let target = targetMeanRate {
            guard trace.meanRate > 0 else {
                throw ScenarioError(file: sourcePath, key: "trace.mean_rate", message: "the trace has no arrivals to scale")
            }
            scale = target / trace.meanRate
        }
        var out: ScenarioArrivals
        if selectsByOrigin {
            out = ScenarioArrivals(arrivalTimes: trace.arrivals, arrivalStreams: try streamOfEachRequest(trace, file: overridePath),
                                   streams: streams.count, duration: trace.duration, interval: decisionInterval, rateScale: scale)
        } else {
            out = ScenarioArrivals(arrivalTimes: trace.arrivals, duration: trace.duration,
                                   interval: decisionInterval, rateScale: scale, shares: streams.map(\.share))
        }
        if let i = trace.tokensIn, let o = trace.tokensOut {
            out.tokensIn = i
            out.tokensOut = o
        } else if tokenLengths == nil, let v = variants.firstIndex(where: { $0.llm != nil }) {
            throw ScenarioError(file: sourcePath, key: "trace.lengths", message:
                "variants[\(v)] (\(variants[v].name)) is token-level ([variants.llm]) but the trace \(traceName) has no per-request prompt and output tokens; import an LLM trace or state the lengths in [trace.lengths]")
        }
        return out
    }

    /// The stream of each of `trace`'s requests under the streams' selectors: the first stream
    /// (in spec order) whose selector matches, else the rest stream.
    /// - Throws: ``ScenarioError`` when a selector asks for input tokens the trace lacks.
    public func streamOfEachRequest(_ trace: Trace, file: String? = nil) throws -> [UInt8] {
        precondition(streams.count <= Int(UInt8.max), "at most 255 streams")
        let selectors = streams.map { $0.select ?? StreamSelector() }
        let rest = UInt8(selectors.firstIndex(where: \.isRest) ?? streams.count - 1)
        let specific = selectors.indices.filter { !selectors[$0].isRest }
        if let i = specific.first(where: { selectors[$0].needsTokens }), trace.tokensIn == nil {
            throw ScenarioError(file: sourcePath, key: "streams[\(i)] (\(streams[i].name))",
                                message: "selects by input tokens, but the trace \(file ?? trace.metadata.sourceFile) has no per-request token counts (import an LLM trace such as azure-llm)")
        }
        let kinds = trace.streams.map(\.kind)
        let tokens = trace.tokensIn
        var out = [UInt8](repeating: rest, count: trace.count)
        var selected = [Int](repeating: 0, count: streams.count)
        for r in 0..<trace.count {
            let kind = kinds[Int(trace.streamIDs[r])]
            let tok = tokens?[r] ?? 0
            for i in specific where selectors[i].matches(kind: kind, tokensIn: tok) {
                out[r] = UInt8(i)
                selected[i] += 1
                break
            }
        }
        // A stream that selects nothing is almost always a typo or the wrong trace.
        if trace.count > 0, let i = specific.first(where: { selected[$0] == 0 }) {
            let present = Array(Set(kinds)).sorted().prefix(12).joined(separator: ", ")
            throw ScenarioError(file: sourcePath, key: "streams[\(i)] (\(streams[i].name))",
                                message: "selects none of the \(trace.count) requests of the trace \(file ?? trace.metadata.sourceFile) (its stream kinds: \(present.isEmpty ? "none" : present))")
        }
        return out
    }
}
