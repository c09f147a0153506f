import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// Per-request records of a discrete-event run (`envs simulate --fidelity des --requests-out`).
struct RequestRecordTests {
    @Test(arguments: [false, true])
    func aSingleRequestRecordsTheClosedFormLatencies(chunked: Bool) throws {
        let m = TokenFixtures.model(maxTokens: chunked ? 256 : 8192, chunked: chunked)
        let sc = TokenFixtures.scenario(m, lengths: TokenFixtures.constant(prompt: 1000, output: 50))
        let run = try RequestRecordRun.run(scenario: sc, arrivals: TokenFixtures.at([500_000]), assignments: [[0]])
        try #require(run.records.count == 1)
        let r = run.records[0]
        let (ttft, e2e) = m.soloLatency(prompt: 1000, output: 50)
        #expect(!r.dropped && r.device == 0 && r.promptTokens == 1000 && r.outputTokens == 50 && r.preemptions == 0)
        #expect(abs(r.arrival - 0.5) < 1e-12)
        #expect(abs(r.ttft - ttft) < 1e-9, "TTFT \(r.ttft) vs \(ttft)")
        #expect(abs(r.e2e - e2e) < 1e-9, "E2E \(r.e2e) vs \(e2e)")
        // Every token after the first is one decode step of a batch of one: b0 + b2.
        #expect(abs(r.tpot - 5010e-6) < 1e-9, "TPOT \(r.tpot)")
        #expect(run.unfinished == 0 && run.intervals == 1)
    }

    /// A loaded device with drops (a short deadline and window) and rejections (prompts longer
    /// than the KV cache): the rows are exactly the engine's counts, and their mean TTFT and
    /// TPOT are the engine's.
    @Test func theRowsMatchTheEngineCounters() throws {
        let m = TokenFixtures.model(b0: 5000, b1: 20, b2: 10, kvBlocks: 400, maxRunning: 32, maxTokens: 4096, chunked: true)
        let lengths = TokenLengthDistribution(promptMedian: 1200, promptSigma: 1.0, outputMedian: 30, outputSigma: 1.0)
        let sc = TokenFixtures.scenario(m, deadlineMs: 4000, interval: 10, dropAfter: 1, lengths: lengths)
        let arrivals = DESFixtures.constant(sc, perInterval: 250, intervals: 8)
        let run = try RequestRecordRun.run(scenario: sc, arrivals: arrivals, assignments: [[0]], seed: 3)
        let t = run.totals
        let answered = run.records.filter { !$0.dropped }, dropped = run.records.filter(\.dropped)
        #expect(answered.count == t.served && dropped.count == t.dropped)
        #expect(run.records.count + run.unfinished == t.arrived)
        #expect(t.dropped > t.rejected && t.rejected > 0 && t.preemptions > 0, "\(t)")
        #expect(run.unfinished > 0)
        let meanTTFT = answered.map(\.ttft).reduce(0, +) / Double(answered.count)
        #expect(abs(meanTTFT * 1000 - t.meanTTFTMs) < 1e-6 * t.meanTTFTMs, "\(meanTTFT * 1000) vs \(t.meanTTFTMs)")
        let multi = answered.filter { $0.outputTokens > 1 }
        let meanTPOT = multi.map(\.tpot).reduce(0, +) / Double(multi.count)
        #expect(abs(meanTPOT * 1000 - t.meanTPOTMs) < 1e-6 * t.meanTPOTMs, "\(meanTPOT * 1000) vs \(t.meanTPOTMs)")
        #expect(answered.allSatisfy { $0.ttft > 0 && $0.e2e >= $0.ttft && $0.promptTokens > 0 })
        // Rejected requests carry the lengths that made them unfit (prompt + output over 400 blocks).
        #expect(dropped.contains { $0.promptTokens + $0.outputTokens > 400 * 16 })
        #expect(run.records.map(\.arrival) == run.records.map(\.arrival).sorted())
        #expect(run.records.allSatisfy { $0.arrival >= 0 && $0.arrival < 80 })
    }

    /// Empty intervals after the trace let the requests in flight finish: then every arrival has
    /// a row, and the rows of the requests finished before the trace's end are the same.
    @Test func drainIntervalsFinishTheRequestsInFlight() throws {
        let m = TokenFixtures.model(kvBlocks: 2000, maxRunning: 16, maxTokens: 4096, chunked: true)
        let lengths = TokenLengthDistribution(promptMedian: 800, promptSigma: 0.5, outputMedian: 60, outputSigma: 0.5)
        let sc = TokenFixtures.scenario(m, interval: 10, lengths: lengths)
        let arrivals = DESFixtures.constant(sc, perInterval: 120, intervals: 4)
        let cut = try RequestRecordRun.run(scenario: sc, arrivals: arrivals, assignments: [[0]], seed: 1)
        let full = try RequestRecordRun.run(scenario: sc, arrivals: arrivals, assignments: [[0]], drainIntervals: 20, seed: 1)
        #expect(cut.unfinished > 0 && full.unfinished == 0)
        #expect(full.records.count == full.totals.arrived && full.totals.arrived == cut.totals.arrived)
        #expect(full.records.allSatisfy { !$0.dropped })
        let done = Set(cut.records.map(\.arrival))
        #expect(full.records.filter { done.contains($0.arrival) } == cut.records)
    }

    @Test func theCSVHasAHeaderAndOneRoundTrippingRowPerRequest() throws {
        let m = TokenFixtures.model()
        let sc = TokenFixtures.scenario(m, lengths: TokenFixtures.constant(prompt: 300, output: 1))
        let run = try RequestRecordRun.run(scenario: sc, arrivals: TokenFixtures.at([0, 250_000, 1_000_000]), assignments: [[0]])
        let lines = run.csv.split(separator: "\n").map(String.init)
        #expect(lines.first == RequestRecord.csvHeader)
        try #require(lines.count == 4)
        let f = lines[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        try #require(f.count == 10)
        let r = run.records[1]
        #expect(Double(f[0]) == r.arrival && f[1] == "s" && Int(f[3]) == 300 && Int(f[4]) == 1)
        #expect(Double(f[5]) == r.ttft && Double(f[7]) == r.e2e && f[9] == "0")
        #expect(f[6].isEmpty, "one output token: no TPOT")
    }
}

/// The specs of the Vidur cross-check (Scripts/vidur, README "Cross-check with Vidur").
struct VidurComparisonSpecTests {
    @Test(arguments: [("llama31-8b-h100", 5752.7, 17.25, 6.00), ("llama31-8b-a100", 16441.5, 47.84, 18.21)])
    func oneDeviceOneTokenLevelVariantWithTheSourcedStepModel(name: String, b0: Double, b1: Double, b2: Double) throws {
        let sc = try ScenarioSpec.load(path: ScenarioFixtures.packageRoot + "/Scripts/vidur/\(name).toml")
        #expect(sc.fleet.count == 1 && sc.variants.count == 1 && sc.streams.count == 1)
        let m = try #require(sc.variants[0].llm)
        #expect(m.stepBaseUs == b0 && m.prefillUsPerToken == b1 && m.decodeUsPerToken == b2)
        // Vidur's vLLM scheduler settings, and no drops within an hour.
        #expect(m.kvBlocks == 29_205 && m.kvBlockTokens == 16 && m.maxRunning == 128 && m.maxBatchedTokens == 8192 && !m.chunkedPrefill)
        #expect(sc.streams[0].deadlineMs >= 3_600_000)
    }
}
