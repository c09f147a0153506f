import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymData

@Suite struct StatisticsTests {
    /// Hand-built: 3 streams, an empty middle stretch, a last partial window.
    func handTrace() -> Trace {
        // duration 25.5 s: 1 s windows -> 26 (last partial), 10 s -> 3 (last partial, 5.5 s)
        let arrivals: [Int64] = [0, 100, 999_999, 1_000_000, 1_500_000, 2_000_000, 2_000_000, 2_000_001,
                                 9_999_999, 21_000_000, 25_000_000, 25_499_999]
        let ids: [UInt32] = [0, 1, 0, 0, 2, 0, 1, 1, 0, 2, 0, 0]
        return analysisTrace(arrivals, ids: ids, streams: 4, duration: 25_500_000,
                         tokensIn: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120],
                         tokensOut: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    }

    @Test func matchesReferenceLoop() throws {
        let t = handTrace()
        let windows: [Double] = [0.5, 1, 2.5, 10, 60]
        let st = try TraceStatistics.compute(t, windows: windows)
        #expect(st.requests == 12)
        #expect(analysisApprox(st.durationSeconds, 25.5))
        #expect(analysisApprox(st.meanRate, 12 / 25.5))
        for (i, w) in windows.enumerated() {
            let ref = analysisReferenceWindowStats(t.arrivals, duration: t.duration, windowSeconds: w)
            let got = st.overall.windows[i]
            #expect(got.windowSeconds == w)
            #expect(got.windows == ref.n)
            #expect(got.peakCount == ref.peak)
            #expect(analysisApprox(got.meanCount, ref.mean))
            #expect(analysisApprox(got.peakToMean, ref.ptm))
            #expect(analysisApprox(got.cv, ref.cv))
            for s in st.streams {
                let j = Int(s.name.dropFirst())!
                let sub = zip(t.arrivals, t.streamIDs).filter { $0.1 == UInt32(j) }.map(\.0)
                let r = analysisReferenceWindowStats(sub, duration: t.duration, windowSeconds: w)
                #expect(s.windows[i].windows == r.n)
                #expect(s.windows[i].peakCount == r.peak)
                #expect(analysisApprox(s.windows[i].meanCount, r.mean))
                #expect(analysisApprox(s.windows[i].cv, r.cv))
                #expect(analysisApprox(s.windows[i].peakToMean, r.ptm))
            }
        }
        // exact values at 10 s: counts [9, 0, 3] over 3 windows (last one partial)
        let w10 = st.overall.windows[3]
        #expect(w10.windows == 3 && w10.peakCount == 9)
        #expect(analysisApprox(w10.meanCount, 4))
        #expect(analysisApprox(w10.cv, (((25.0 + 16 + 1) / 3).squareRoot()) / 4))
        #expect(st.overall.windows[1].windows == 26)
    }

    @Test func streamsSortedSharesSumToOne() throws {
        let st = try TraceStatistics.compute(handTrace())
        #expect(st.streams.map(\.requests) == [7, 3, 2, 0])
        #expect(st.streams.map(\.name) == ["s0", "s1", "s2", "s3"])
        #expect(analysisApprox(st.streams.map(\.share).reduce(0, +), 1))
        #expect(st.streams[3].windows[0].cv == 0 && st.streams[3].windows[0].peakToMean == 0)
        #expect(st.streams[3].tokens == nil)
        let tok = try #require(st.overall.tokens)
        #expect(tok.p50In == 60 && tok.maxIn == 120 && tok.p99In == 120 && analysisApprox(tok.meanIn, 65))
        #expect(tok.p50Out == 6 && tok.maxOut == 12)
        let s2 = try #require(st.streams[2].tokens)  // stream s2: tokens 50, 100
        #expect(s2.p50In == 50 && s2.maxIn == 100 && analysisApprox(s2.meanOut, 7.5))
    }

    @Test func badWindowsThrow() {
        let t = handTrace()
        for w in [0.0, -1, .nan, .infinity, 1e-9] {
            #expect(throws: TraceAnalysisError.self) { try TraceStatistics.compute(t, windows: [w]) }
        }
        #expect(throws: TraceAnalysisError.self) { try TraceStatistics.compute(t, windows: []) }
    }

    @Test func emptyTraceAndOneStream() throws {
        let empty = analysisTrace([], duration: 5_000_000)
        let st = try TraceStatistics.compute(empty)
        #expect(st.requests == 0 && st.overall.windows[0].windows == 5 && st.overall.windows[0].cv == 0)
        _ = st.render()
        _ = try st.jsonString()
    }

    @Test func jsonHasSnakeCaseKeys() throws {
        let json = try TraceStatistics.compute(handTrace()).jsonString()
        for key in ["\"mean_rate\"", "\"peak_to_mean\"", "\"window_seconds\"", "\"duration_seconds\"", "\"peak_count\"",
                    "\"mean_count\"", "\"source_format\"", "\"start_time\"", "\"streams\"", "\"overall\"", "\"cv\"",
                    "\"share\"", "\"p99_in\"", "\"mean_out\""] {
            #expect(json.contains(key), "missing \(key)")
        }
        #expect(!json.contains("meanRate"))
        let back = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(back?["requests"] as? Int == 12)
    }

    @Test func renderShowsTopStreamsAndOmitted() throws {
        // 30 streams, round-robin-ish
        var arr: [Int64] = [], ids: [UInt32] = []
        for i in 0..<600 { arr.append(Int64(i) * 50_000); ids.append(UInt32(i % 30 < 10 ? 0 : i % 30)) }
        let st = try TraceStatistics.compute(analysisTrace(arr, ids: ids, streams: 30, duration: 30_000_000))
        let text = st.render(maxStreams: 5)
        #expect(text.contains("25 more streams not shown"))
        #expect(text.contains("median per-stream CV"))
        #expect(text.contains("peak/mean@1s") && text.contains("CV@60s"))
        #expect(text.contains("(all)"))
    }

    @Test func realAzureLLMTraceMatchesPublishedFigures() throws {
        guard let path = azureLLMCodeTracePath() else { return }
        let t = try loadAzureLLMForTests(path)
        let st = try TraceStatistics.compute(t)
        print(st.render())
        #expect(st.requests == 8819)
        #expect(abs(st.meanRate - 2.57) < 0.005)
        let w = st.overall.windows
        #expect(abs(w[0].peakToMean - 26.1) < 0.05)
        #expect(abs(w[2].peakToMean - 4.16) < 0.005)
        #expect(abs(w[0].cv - 2.27) < 0.005)
        #expect(abs(w[1].cv - 1.67) < 0.005)
        #expect(abs(w[2].cv - 1.03) < 0.005)
    }

    @Test func manyStreamsLargeTraceIsConsistent() throws {
        // 200k arrivals x 500 streams, checked against the reference for the overall and two streams.
        var g = SeededGenerator(seed: 7)
        var arr: [Int64] = [], ids: [UInt32] = []
        var t = 0.0
        while arr.count < 200_000 { t += Sample.exponential(rate: 100, using: &g); arr.append(Int64(t * 1e6)); ids.append(UInt32(g.next() % 500)) }
        let trace = analysisTrace(arr, ids: ids, streams: 500, duration: arr.last! + 1)
        let clock = ContinuousClock()
        var st: TraceStatistics?
        let elapsed = try clock.measure { st = try TraceStatistics.compute(trace) }
        print("compute on 200k arrivals x 500 streams : \(elapsed)")
        let stats = try #require(st)
        for (i, w) in TraceStatistics.defaultWindows.enumerated() {
            let ref = analysisReferenceWindowStats(arr, duration: trace.duration, windowSeconds: w)
            #expect(analysisApprox(stats.overall.windows[i].cv, ref.cv, rel: 1e-9))
            for s in stats.streams.prefix(2) {
                let j = UInt32(s.name.dropFirst())!
                let r = analysisReferenceWindowStats(zip(arr, ids).filter { $0.1 == j }.map(\.0), duration: trace.duration, windowSeconds: w)
                #expect(analysisApprox(s.windows[i].cv, r.cv, rel: 1e-9))
                #expect(s.windows[i].peakCount == r.peak)
            }
        }
    }
}

@Suite struct RealFunctionsStatisticsTests {
    @Test func azureFunctionsSampleMatchesPublishedFigures() throws {
        guard let path = azureFunctionsSamplePath() else { return }
        let t = try loadAzureFunctionsForTests(path)
        try t.validate()
        let clock = ContinuousClock()
        var result: TraceStatistics?
        var best = Duration.seconds(1000)
        for _ in 0..<3 {
            let d = try clock.measure { result = try TraceStatistics.compute(t) }
            best = min(best, d)
        }
        let st = try #require(result)
        print("TraceStatistics.compute on \(t.count) arrivals x \(t.streams.count) streams, windows 1/10/60 s: best of 3 \(best)")
        print(st.render(maxStreams: 5))
        #expect(t.count == 3_037_902)
        #expect(abs(st.meanRate - 105.5) < 0.05)
        #expect(abs(st.overall.windows[2].peakToMean - 1.20) < 0.005)
        #expect(abs(st.overall.windows[2].cv - 0.10) < 0.005)
        #expect(abs(st.streams[0].share - 0.63) < 0.005)
        #expect(abs(try #require(st.medianStreamCV(at: 2)) - 3.7) < 0.05)
        #expect(st.render().contains("490 more streams not shown"))
    }
}
