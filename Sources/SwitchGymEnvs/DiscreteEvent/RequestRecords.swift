import Foundation
import SwitchGymCore

// Per-request records of a discrete-event run: what `switchgym envs simulate --fidelity des
// --requests-out FILE` writes, and what a comparison with another simulator (Vidur,
// Scripts/compare_vidur.sh) reads.

/// One request the discrete-event fidelity dropped (recorded when
/// ``DiscreteEventConfig/recordBatches`` is set): waited past its stream's drop window, or
/// rejected by a token-level variant because it can never fit.
public struct DroppedRequestObservation: Sendable, Equatable, Codable {
    /// Arrival, seconds since the episode's start.
    public var arrival: Double
    public var stream: Int
}

/// One request of a discrete-event run: answered by a token-level (LLM) variant, or dropped.
public struct RequestRecord: Sendable, Equatable, Codable {
    /// Arrival, seconds since the trace's start.
    public var arrival: Double
    public var stream: Int
    /// The device that answered it (-1 when dropped).
    public var device: Int
    /// Prompt and output tokens (the lengths the engine gave it; 0 when dropped by a variant
    /// without a step model).
    public var promptTokens: Int, outputTokens: Int
    /// Time to first token, time per output token after the first (`(e2e - ttft) / (output - 1)`,
    /// NaN for one output token) and end-to-end latency, seconds; NaN when dropped.
    public var ttft: Double, tpot: Double, e2e: Double
    /// KV preemptions (recomputes) it went through.
    public var preemptions: Int
    public var dropped: Bool

    /// The CSV header of ``csvRow(streams:)``.
    public static let csvHeader = "arrival_s,stream,device,prompt_tokens,output_tokens,ttft_s,tpot_s,e2e_s,preemptions,dropped"

    /// The record as a CSV row: times in seconds, shortest round-tripping decimals, an empty field
    /// for NaN; `stream` by the name in `streams`.
    public func csvRow(streams: [String]) -> String {
        func num(_ x: Double) -> String { x.isNaN ? "" : "\(x)" }
        return "\(num(arrival)),\(streams[stream]),\(device),\(promptTokens),\(outputTokens),\(num(ttft)),\(num(tpot)),\(num(e2e)),\(preemptions),\(dropped ? 1 : 0)"
    }
}

/// A discrete-event replay of fixed decisions with a record per request.
public struct RequestRecordRun: Sendable {
    /// Answered (by token-level variants) and dropped requests, by arrival.
    public var records: [RequestRecord]
    /// The run's totals (``DiscreteEventServingEnv/episodeMetrics()``).
    public var totals: DiscreteEventMetrics
    /// Intervals simulated, drain intervals included.
    public var intervals: Int
    /// Requests still queued or running after the last interval (no record).
    public var unfinished: Int
    /// Stream names, for ``csv``.
    public var streams: [String]

    /// Header and one row per record.
    public var csv: String {
        var out = RequestRecord.csvHeader + "\n"
        for r in records { out += r.csvRow(streams: streams) + "\n" }
        return out
    }

    /// Replays `assignments` (a variant per device per interval; the last repeats) over the whole
    /// of `arrivals` on the discrete-event fidelity of `scenario`, then `drainIntervals` empty
    /// intervals so that requests in flight can finish, and records every request answered by a
    /// token-level variant and every request dropped. Requests answered by variants without a
    /// step model have no record (their latencies are per batch: ``BatchObservation``).
    ///
    /// - Throws: ``ScenarioError`` if the scenario is inconsistent.
    public static func run(scenario: ServingScenario, arrivals: ScenarioArrivals, assignments: [[Int]],
                           drainIntervals: Int = 0, seed: UInt64 = 0,
                           queuedDispatch: QueuedDispatch = .pinned) throws -> RequestRecordRun {
        precondition(!assignments.isEmpty, "RequestRecordRun needs at least one assignment")
        precondition(drainIntervals >= 0, "drainIntervals must be >= 0")
        var sc = scenario
        sc.episodeIntervals = nil
        // A record per request of the whole run.
        try sc.checkDiscreteEventRequests(arrivals, wholeTrace: true)
        let model = try DiscreteEventModel(scenario: sc, arrivals: arrivals.padded(intervals: drainIntervals),
                                           randomStart: false, config: DiscreteEventConfig(recordBatches: true, queuedDispatch: queuedDispatch))
        var env = DiscreteEventServingEnv(model: model, seed: seed)
        env.resetState(seed: seed)
        var records: [RequestRecord] = []
        var k = 0
        while true {
            let a = assignments[min(k, assignments.count - 1)]
            let t = a.withUnsafeBufferPointer { env.step(choices: $0.baseAddress!) }
            for r in env.tokenLog {
                let tpot = r.outputTokens > 1 ? (r.e2e - r.ttft) / Double(r.outputTokens - 1) : .nan
                records.append(RequestRecord(arrival: r.arrival, stream: r.stream, device: r.device, promptTokens: r.promptTokens,
                                             outputTokens: r.outputTokens, ttft: r.ttft, tpot: tpot, e2e: r.e2e,
                                             preemptions: r.preemptions, dropped: false))
            }
            for r in env.dropLog {
                let (p, o) = env.requestLengths(stream: r.stream, arrival: r.arrival)
                records.append(RequestRecord(arrival: r.arrival, stream: r.stream, device: -1, promptTokens: p, outputTokens: o,
                                             ttft: .nan, tpot: .nan, e2e: .nan, preemptions: 0, dropped: true))
            }
            k += 1
            if t.truncated || t.terminated { break }
        }
        records.sort { ($0.arrival, $0.stream) < ($1.arrival, $1.stream) }
        return RequestRecordRun(records: records, totals: env.episodeMetrics(), intervals: k, unfinished: env.last.queued,
                                streams: sc.streams.map(\.name))
    }
}

extension ScenarioArrivals {
    /// The same arrivals followed by `extra` empty intervals.
    public func padded(intervals extra: Int) -> ScenarioArrivals {
        guard extra > 0 else { return self }
        var p = ScenarioArrivals(intervals: intervals + extra, streams: streams,
                                 counts: counts + [Double](repeating: 0, count: extra * streams),
                                 arrivalTimes: arrivalTimes, arrivalStreams: arrivalStreams)
        p.tokensIn = tokensIn
        p.tokensOut = tokensOut
        return p
    }
}
