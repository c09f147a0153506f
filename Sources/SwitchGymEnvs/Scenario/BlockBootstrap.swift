import Foundation
import SwitchGymCore

/// Block-bootstrap resampling of a training trace: the stationary bootstrap of Politis and
/// Romano (1994, "The Stationary Bootstrap", JASA 89(428)), applied to whole decision intervals.
///
/// A policy trained on one short trace sees one sequence of load levels, and random episode
/// starts only shift it: it can fit which interval follows which (llm-code: 81 training
/// intervals, where a burst is followed by quiet intervals, so draining the batch backlog on
/// 70B variants after a burst pays; on the held-out part bursts alternate with empty
/// intervals and the same move leaves the next burst of chat queries late). The resampled
/// series keeps every interval as it is (its arrivals, their times inside the interval,
/// streams and token counts) and the trace's local structure inside each block, but joins
/// blocks drawn at random: each next interval continues the block (the source's next
/// interval, circularly) with probability `1 - 1/meanBlock`, or starts a new block at a
/// uniformly drawn interval. Block lengths are geometric with mean ``meanBlock``, so the
/// resampled series is stationary when the source is.
///
/// Optionally each copy also gets more empty intervals (``emptyFraction``): a copy draws a
/// target fraction of empty intervals from the range and, when its own fraction is lower,
/// empties randomly chosen non-empty intervals until it reaches it, then scales its remaining
/// arrivals so that its total is unchanged. That is what the trace's normalisation to a mean
/// rate (`[trace] mean_rate`) does to a part with more gaps: the same mean in higher bursts
/// (llm-code: 28% of the training part's intervals are empty, 10% to 50% of its 20-interval
/// windows; 54% of the held-out part's, whose bursts are 1.6 times the training part's).
///
/// The spec keys are `[training] block_bootstrap = MEAN_BLOCK` (intervals) and
/// `[training] empty_fraction = [LOW, HIGH]` (without `block_bootstrap`, the copies are the
/// trace rotated, blocks of the whole trace). They apply to
/// training envs only (``EnvResolver/scenarioSpec(path:trace:training:seed:queueing:)``): the
/// training model replays ``replicas`` resampled copies of the trace end to end, drawn from
/// the run's seed, with the observation normalised and episodes cut as on the trace itself.
public struct BlockBootstrap: Codable, Sendable, Equatable {
    /// The mean block length in intervals (1: every interval drawn on its own).
    public var meanBlock: Double
    /// Resampled copies of the trace the training model replays end to end.
    public var replicas: Int
    /// When set, the range each copy draws its target fraction of empty intervals from.
    public var emptyFraction: ClosedRange<Double>?

    /// The accepted mean block lengths.
    public static let bounds = InputBounds.closed(1, 1_000_000, unit: "intervals")
    /// The accepted target fractions of empty intervals.
    public static let emptyBounds = InputBounds.closed(0, 0.95)
    /// The mean block length when only ``emptyFraction`` is asked for: whole-trace blocks.
    public static let wholeTrace = 1_000_000.0
    /// The default number of copies: enough that 8 training envs rarely replay one stretch
    /// (a 60-interval episode of an 81-interval trace starts in one of 1,237 places).
    public static let defaultReplicas = 16

    /// The sub-stream of the run's seed the resample is drawn from
    /// (``SeededGenerator/substream(seed:index:)``), apart from the envs' own streams.
    public static let substream: UInt64 = 0xB007

    public init(meanBlock: Double, replicas: Int = BlockBootstrap.defaultReplicas, emptyFraction: ClosedRange<Double>? = nil) {
        self.meanBlock = meanBlock
        self.replicas = replicas
        self.emptyFraction = emptyFraction
    }

    /// `nil` when the mean block length is in ``bounds`` and ``replicas`` is 1 to 1,024,
    /// else what is wrong.
    public var violation: String? {
        if let m = Self.bounds.violation(meanBlock) { return "mean block length: \(m)" }
        if replicas < 1 || replicas > 1024 { return "replicas: expected 1 to 1024, got \(replicas)" }
        if let e = emptyFraction {
            if let m = Self.emptyBounds.violation(e.lowerBound) ?? Self.emptyBounds.violation(e.upperBound) { return "empty fraction: \(m)" }
        }
        return nil
    }

    /// The source interval of each of `count` resampled intervals, for a source of
    /// `intervals` intervals: a uniform start, then each next one continues the block
    /// (`previous + 1`, circularly) with probability `1 - 1/meanBlock` or starts anew.
    /// - Complexity: O(`count`).
    public func sourceIntervals(count: Int, of intervals: Int, using generator: inout SeededGenerator) -> [Int] {
        precondition(intervals >= 1 && count >= 0, "BlockBootstrap: expected a source of >= 1 interval")
        let restart = 1 / meanBlock
        var out = [Int](repeating: 0, count: count)
        var i = Int.random(in: 0..<intervals, using: &generator)
        for j in 0..<count {
            if j > 0 {
                i = Double.random(in: 0..<1, using: &generator) < restart
                    ? Int.random(in: 0..<intervals, using: &generator) : (i + 1) % intervals
            }
            out[j] = i
        }
        return out
    }

    /// `arrivals` resampled: ``replicas`` times its interval count, drawn from `generator`
    /// (``sourceIntervals(count:of:using:)``). Each resampled interval holds its source
    /// interval's counts and raw arrivals (times moved to the new interval, same offsets inside
    /// it; streams and token counts kept), so every table the fluid model derives from the
    /// arrivals (sub-interval spread, token-level rates) follows.
    /// - Parameter interval: the decision interval in seconds (the bins of the arrivals).
    public func resample(_ arrivals: ScenarioArrivals, interval: Double, using generator: inout SeededGenerator) -> ScenarioArrivals {
        let T = arrivals.intervals, S = arrivals.streams, n = T * replicas
        let map = sourceIntervals(count: n, of: T, using: &generator)
        var counts = [Double](repeating: 0, count: n * S)
        for (j, i) in map.enumerated() {
            for s in 0..<S { counts[j * S + s] = arrivals.counts[i * S + s] }
        }
        var emptied = [Bool](repeating: false, count: n)
        if let range = emptyFraction {
            for r in 0..<replicas { injectEmptyIntervals(copy: r * T..<(r + 1) * T, range: range, streams: S, counts: &counts, emptied: &emptied, using: &generator) }
        }
        // Raw arrivals per source interval (binned as ScenarioArrivals bins them), in order.
        let width = interval * 1e6, raw = arrivals.arrivalTimes
        var members = [[Int]](repeating: [], count: T)
        for (k, x) in raw.enumerated() { members[min(T - 1, max(0, Int(Double(x) / width)))].append(k) }
        let byStream = !arrivals.arrivalStreams.isEmpty, tokens = !arrivals.tokensIn.isEmpty && !arrivals.tokensOut.isEmpty
        var times: [Int64] = [], streams: [UInt8] = [], tin: [Int32] = [], tout: [Int32] = []
        var total = 0
        for (j, i) in map.enumerated() where !emptied[j] { total += members[i].count }
        times.reserveCapacity(total)
        if byStream { streams.reserveCapacity(total) }
        if tokens { tin.reserveCapacity(total); tout.reserveCapacity(total) }
        let last = max(Int64(width.rounded(.down)) - 1, 0)
        for (j, i) in map.enumerated() where !emptied[j] {
            let from = Int64((Double(i) * width).rounded(.down)), to = Int64((Double(j) * width).rounded(.down))
            for k in members[i] {
                times.append(to + min(max(raw[k] - from, 0), last))
                if byStream { streams.append(arrivals.arrivalStreams[k]) }
                if tokens { tin.append(arrivals.tokensIn[k]); tout.append(arrivals.tokensOut[k]) }
            }
        }
        var out = ScenarioArrivals(intervals: n, streams: S, counts: counts, arrivalTimes: times, arrivalStreams: streams)
        out.tokensIn = tin
        out.tokensOut = tout
        return out
    }

    /// Empties intervals of one copy (`rows` of `counts`) until its fraction of empty
    /// intervals reaches a target drawn from `range` (nothing when it is already there), and
    /// scales the rest so that the copy's total is unchanged; marks them in `emptied`.
    func injectEmptyIntervals(copy rows: Range<Int>, range: ClosedRange<Double>, streams S: Int, counts: inout [Double],
                              emptied: inout [Bool], using generator: inout SeededGenerator) {
        let target = Double.random(in: range, using: &generator)
        var busy = rows.filter { j in (0..<S).contains { counts[j * S + $0] > 0 } }
        let empty = rows.count - busy.count
        let more = min(busy.count - 1, Int((target * Double(rows.count)).rounded()) - empty)
        guard more > 0 else { return }
        busy.shuffle(using: &generator)
        var before = 0.0, after = 0.0
        for j in rows { for s in 0..<S { before += counts[j * S + s] } }
        for j in busy.prefix(more) {
            emptied[j] = true
            for s in 0..<S { counts[j * S + s] = 0 }
        }
        for j in rows { for s in 0..<S { after += counts[j * S + s] } }
        let scale = after > 0 ? before / after : 1
        for j in rows { for s in 0..<S { counts[j * S + s] *= scale } }
    }
}
