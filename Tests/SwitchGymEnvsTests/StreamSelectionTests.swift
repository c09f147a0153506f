import Foundation
import Testing
import SwitchGymCore
import SwitchGymData
@testable import SwitchGymEnvs

/// Streams that select their requests by origin (`trace_kinds`, `min_tokens_in`,
/// `max_tokens_in`) instead of splitting every interval by fixed shares.
@Suite struct StreamSelectionTests {
    static let vision = ScenarioFixtures.packageRoot + "/envs/vision-zoo.toml"

    /// The vision spec with the interactive stream taking `http` and `event` requests and the
    /// quality stream the rest.
    func byTriggerText() throws -> String {
        try String(contentsOfFile: Self.vision, encoding: .utf8)
            .replacingOccurrences(of: "share = 0.7\n", with: "trace_kinds = [\"http\", \"event\"]\n")
            .replacingOccurrences(of: "share = 0.3\n", with: "")
    }

    func parse(_ text: String) throws -> ServingScenario { try ScenarioFixtures.parseSpec(text) }

    func expectError(_ text: String, key: String, contains: String, sourceLocation: SourceLocation = #_sourceLocation) {
        ScenarioFixtures.expectSpecError(text, key: key, contains: contains, sourceLocation: sourceLocation)
    }

    /// Six requests in three 1 s intervals from trace streams of kinds event, queue and http,
    /// with input sizes.
    static let trace = Trace(
        arrivals: [100_000, 200_000, 1_100_000, 1_500_000, 2_000_000, 2_900_000],
        streamIDs: [0, 1, 2, 1, 0, 1], tokensIn: [10, 5_000, 300, 9_000, 4_000, 20],
        streams: [TraceStream(name: "f0", kind: "event"), TraceStream(name: "f1", kind: "queue"),
                  TraceStream(name: "f2", kind: "http")],
        duration: 3_000_000, metadata: TraceMetadata(sourceFile: "test", sourceFormat: "synthetic:test"))

    @Test func aSpecSelectsByTraceKindAndTheRestStreamTakesTheOthers() throws {
        let sc = try parse(try byTriggerText())
        #expect(sc.selectsByOrigin)
        #expect(sc.streams.map(\.share) == [0, 0])
        #expect(sc.streams[0].select == StreamSelector(kinds: ["http", "event"]))
        #expect(sc.streams[1].select?.isRest == true)
        #expect(try sc.streamOfEachRequest(Self.trace) == [0, 1, 0, 1, 0, 1])
        // The shipped specs keep their fixed shares.
        #expect(!(try ScenarioSpec.load(path: Self.vision)).selectsByOrigin)
    }

    @Test func theFirstMatchingStreamWinsWhereverTheRestStreamStands() throws {
        // Rest first, then long prompts (>= 4,000 tokens), then queue requests of any size.
        let streams = [
            SLOStream(name: "rest", deadlineMs: 100, share: 0, select: StreamSelector()),
            SLOStream(name: "long", deadlineMs: 100, share: 0, select: StreamSelector(minTokensIn: 4_000)),
            SLOStream(name: "queue", deadlineMs: 100, share: 0, select: StreamSelector(kinds: ["queue"])),
        ]
        let sc = DESFixtures.scenario(variants: [DESFixtures.variant("a")], streams: streams)
        try sc.validate()
        // Request 1 (queue, 5,000 tokens) is long before it is queue; request 5 (queue, 20) is queue.
        #expect(try sc.streamOfEachRequest(Self.trace) == [0, 1, 0, 1, 1, 2])
        var bounded = sc
        bounded.streams[1].select = StreamSelector(minTokensIn: 4_000, maxTokensIn: 6_000)
        #expect(try bounded.streamOfEachRequest(Self.trace) == [0, 1, 0, 2, 1, 2])
    }

    @Test func selectedArrivalsKeepTheTracesMixPerInterval() throws {
        let sc = try parse(try byTriggerText())
        let streams = try sc.streamOfEachRequest(Self.trace)
        let a = ScenarioArrivals(arrivalTimes: Self.trace.arrivals, arrivalStreams: streams, streams: 2,
                                 duration: Self.trace.duration, interval: 1, rateScale: 2)
        // Interval 0: event, queue; 1: http, queue; 2: event, queue — each counted twice (scale 2).
        #expect(a.rows == [[2, 2], [2, 2], [2, 2]])
        #expect(a.shares == [0.5, 0.5])
        #expect(a.arrivalStreams == streams)
        // Fixed shares split every interval the same way, whatever the origin.
        let byShare = ScenarioArrivals(arrivalTimes: Self.trace.arrivals, duration: Self.trace.duration, interval: 1.5,
                                       rateScale: 1, shares: [0.75, 0.25])
        #expect(byShare.rows == [[2.25, 0.75], [2.25, 0.75]])
        #expect(byShare.arrivalStreams.isEmpty && byShare.shares == [0.75, 0.25])
        // A stream that selects nothing names itself and the kinds the trace has.
        var typo = sc
        typo.streams[0].select = StreamSelector(kinds: ["htpp"])
        do {
            _ = try typo.streamOfEachRequest(Self.trace)
            Issue.record("expected an error")
        } catch let e as ScenarioError {
            #expect(e.key == "streams[0] (interactive)" && e.description.contains("event, http, queue"), "\(e)")
        }
    }

    @Test func loadArrivalsReadsTheDatasetsKindsAndScalesToTheMeanRate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sg-select-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.h5").path
        try TraceDataset.write(Self.trace, to: path)
        var sc = try parse(try byTriggerText())
        sc.decisionInterval = 1
        sc.targetMeanRate = 20   // 2 requests/s in the trace: scale 10
        let a = try sc.loadArrivals(overridePath: path)
        #expect(a.intervals == 3 && a.rows == [[10, 10], [10, 10], [10, 10]])
        // A token selector on a trace without token counts names the stream.
        var noTokens = Self.trace
        noTokens.tokensIn = nil
        let bare = dir.appendingPathComponent("bare.h5").path
        try TraceDataset.write(noTokens, to: bare)
        var long = sc
        long.streams[0].select = StreamSelector(minTokensIn: 1_000)
        do {
            _ = try long.loadArrivals(overridePath: bare)
            Issue.record("expected an error")
        } catch let e as ScenarioError {
            #expect(e.key == "streams[0] (interactive)", "\(e)")
            #expect(e.description.contains("no per-request token counts") && e.description.contains("bare.h5"), "\(e)")
        }
    }

    @Test func badSelectionsAreNamedErrors() throws {
        let text = try byTriggerText()
        // A share next to a selection.
        expectError(text.replacingOccurrences(of: "min_accuracy = 0.80", with: "min_accuracy = 0.80\nshare = 0.3"),
                    key: "streams[1].share", contains: "remove share")
        // No rest stream, then two.
        expectError(text.replacingOccurrences(of: "min_accuracy = 0.80", with: "min_accuracy = 0.80\nmin_tokens_in = 5"),
                    key: "streams", contains: "found 0")
        expectError(text + "\n[[streams]]\nname = \"third\"\ndeadline_ms = 100.0\n",
                    key: "streams", contains: "found 2")
        expectError(text.replacingOccurrences(of: "[\"http\", \"event\"]", with: "[\"http\", 3]"),
                    key: "streams[0].trace_kinds[1]", contains: "expected a string")
        expectError(text.replacingOccurrences(of: "[\"http\", \"event\"]", with: "[]"),
                    key: "streams[0] (interactive).trace_kinds", contains: "at least one kind")
        expectError(text.replacingOccurrences(of: "trace_kinds = [\"http\", \"event\"]", with: "min_tokens_in = 10\nmax_tokens_in = 5"),
                    key: "streams[0] (interactive).max_tokens_in", contains: "min_tokens_in")
    }

    @Test func theDiscreteEventEnvGivesEveryReplayedRequestItsOwnStream() throws {
        // Stream 1 needs accuracy 0.9 that the only variant lacks: its queries are all dropped,
        // so the drops count exactly the trace's stream-1 requests (thinning at scale 1).
        let streams = [
            SLOStream(name: "event", deadlineMs: 100, share: 0, penalty: .stepwise(amount: 1),
                      dropAfterIntervals: 1, dropPenalty: 1, select: StreamSelector(kinds: ["event", "http"])),
            SLOStream(name: "other", deadlineMs: 100, share: 0, minAccuracy: 0.9, penalty: .stepwise(amount: 1),
                      dropAfterIntervals: 1, dropPenalty: 1, select: StreamSelector()),
        ]
        var sc = DESFixtures.scenario(variants: [DESFixtures.variant("a", accuracy: 0.8), DESFixtures.variant("b", accuracy: 0.95)],
                                      streams: streams)
        // 200 intervals of 1 s, 40 requests each from six trace streams of three kinds.
        var g = SeededGenerator(seed: 7)
        var times: [Int64] = [], ids: [UInt32] = []
        for t in 0..<200 { for k in 0..<40 { times.append(Int64(t) * 1_000_000 + Int64(k) * 25_000); ids.append(UInt32(g.next() % 6)) } }
        let kinds = ["event", "queue", "http", "timer", "event", "queue"]
        let trace = Trace(arrivals: times, streamIDs: ids, streams: kinds.enumerated().map { TraceStream(name: "f\($0.offset)", kind: $0.element) },
                          duration: 200_000_000, metadata: TraceMetadata(sourceFile: "test", sourceFormat: "synthetic:test"))
        sc.targetMeanRate = trace.meanRate
        let routed = try sc.streamOfEachRequest(trace)
        let arrivals = ScenarioArrivals(arrivalTimes: times, arrivalStreams: routed, streams: 2, duration: trace.duration,
                                        interval: 1, rateScale: 1)
        let model = try DiscreteEventModel(scenario: sc, arrivals: arrivals)
        #expect(model.arrivalMode == .thinning && model.scale == 1)
        var env = DiscreteEventServingEnv(model: model)
        env.resetState(seed: 3)
        for _ in 0..<200 { _ = env.step(everyDevice: 0) }
        let other = routed.filter { $0 == 1 }.count
        #expect(other > 2_000 && other < 6_000)
        #expect(env.totals.arrived == times.count)
        // Everything of stream 1 that had passed its drop window is dropped; nothing of stream 0 is.
        #expect(env.totals.dropped + env.totals.queued == other, "\(env.totals.dropped) dropped + \(env.totals.queued) queued vs \(other)")
        #expect(env.totals.served == times.count - other)
    }
}
