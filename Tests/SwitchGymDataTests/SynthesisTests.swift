import Foundation
import Testing
@testable import SwitchGymData

@Suite struct SynthesisTests {
    func stats(_ t: Trace, _ w: [Double] = [1, 10, 60]) throws -> TraceStatistics { try TraceStatistics.compute(t, windows: w) }

    @Test(arguments: SyntheticTraceSpec.kinds)
    func validSortedDeterministic(kind: String) throws {
        let spec = SyntheticTraceSpec(kind: kind, durationS: 900, seed: 42, rate: 30, streams: 5,
                                      tokensInMedian: 500)
        let a = try SyntheticTraceGenerator.generate(spec)
        let b = try SyntheticTraceGenerator.generate(spec)
        try a.validate()
        #expect(a == b)
        #expect(a.count > 1000)
        #expect(a.duration == 900_000_000)
        #expect(a.metadata.sourceFormat == "synthetic:\(kind)" && a.metadata.sourceFile == "synthetic" && a.metadata.seed == 42)
        #expect(a.tokensIn?.count == a.count && a.tokensOut?.count == a.count)
        #expect(try SyntheticTraceSpec.decode(json: a.metadata.parameters) == spec.resolved())
        var other = spec
        other.seed = 43
        #expect(try SyntheticTraceGenerator.generate(other).arrivals != a.arrivals)
    }

    @Test func poissonRateAndCV() throws {
        let t = try SyntheticTraceGenerator.generate(SyntheticTraceSpec(kind: "poisson", durationS: 2000, seed: 1, rate: 50))
        let expected = 100_000.0
        #expect(abs(Double(t.count) - expected) < 5 * expected.squareRoot())
        let st = try stats(t)
        #expect(abs(st.overall.windows[0].cv - 1 / 50.0.squareRoot()) / (1 / 50.0.squareRoot()) < 0.06)
    }

    @Test func mmppIsBurstierThanPoisson() throws {
        let p = try stats(SyntheticTraceGenerator.generate(SyntheticTraceSpec(kind: "poisson", durationS: 3600, seed: 3, rate: 10)))
        let m = try stats(SyntheticTraceGenerator.generate(SyntheticTraceSpec(kind: "mmpp", durationS: 3600, seed: 3, rate: 10,
                                                                               mmppRatio: 20, mmppHighDwellS: 10, mmppLowDwellS: 60)))
        #expect(abs(m.meanRate - 10) / 10 < 0.25)
        for i in 0..<3 { #expect(m.overall.windows[i].cv > 2 * p.overall.windows[i].cv) }
        #expect(m.overall.windows[1].peakToMean > p.overall.windows[1].peakToMean)
    }

    @Test func diurnalFollowsTheSinusoid() throws {
        let P = 1200.0, A = 0.8, phi = 1.0, rate = 20.0
        let t = try SyntheticTraceGenerator.generate(SyntheticTraceSpec(kind: "diurnal", durationS: 6000, seed: 9, rate: rate,
                                                                        diurnalPeriodS: P, diurnalAmplitude: A, diurnalPhase: phi))
        let counts = windowCounts(t.arrivals, duration: t.duration, width: 60_000_000)
        var sq = 0.0
        for (i, c) in counts.enumerated() {
            let mid = (Double(i) + 0.5) * 60
            // mean of the rate over the window (analytic)
            let w = 2 * Double.pi / P
            let avg = rate * (1 + A * (sin(w * (mid + 30) - phi) - sin(w * (mid - 30) - phi)) / (w * 60))
            sq += pow(Double(c) / 60 - avg, 2)
        }
        let rms = (sq / Double(counts.count)).squareRoot() / rate
        #expect(rms < 0.06)  // Poisson noise alone is about 1/sqrt(20·60) ≈ 0.03
        #expect(abs(t.meanRate - rate) / rate < 0.03)
    }

    @Test func flashCrowdHasHigherPeaks() throws {
        let p = try stats(SyntheticTraceGenerator.generate(SyntheticTraceSpec(kind: "poisson", durationS: 3600, seed: 5, rate: 10)))
        let f = try stats(SyntheticTraceGenerator.generate(SyntheticTraceSpec(kind: "flash-crowd", durationS: 3600, seed: 5, rate: 10,
                                                                               flashMultiplier: 15, flashSpikes: 2, flashDurationS: 60)))
        #expect(f.overall.windows[1].peakToMean > 3 * p.overall.windows[1].peakToMean)
        #expect(abs(f.meanRate - 10) / 10 < 0.2)
    }

    @Test func zipfSharesAndTokens() throws {
        let t = try SyntheticTraceGenerator.generate(SyntheticTraceSpec(kind: "poisson", durationS: 1000, seed: 2, rate: 200, streams: 4, zipfS: 1,
                                                                        tokensInMedian: 800, tokensInSigma: 0.5, tokensOutMedian: 50))
        let st = try stats(t)
        let h = 1 + 1 / 2.0 + 1 / 3.0 + 1 / 4.0
        for (k, s) in st.streams.enumerated() {
            #expect(s.name == "stream-\(k)")
            #expect(abs(s.share - 1 / (Double(k + 1) * h)) < 0.01)
        }
        let tok = try #require(st.overall.tokens)
        #expect(abs(Double(tok.p50In) - 800) < 25 && abs(Double(tok.p50Out) - 50) < 3)
    }

    @Test func unknownKeyIsNamed() throws {
        do {
            _ = try SyntheticTraceSpec.decode(json: #"{"kind": "poisson", "rat": 5}"#)
            Issue.record("expected an error")
        } catch let e as TraceAnalysisError {
            #expect(e.message.contains("\"rat\"") && e.message.contains("did you mean \"rate\""))
        }
        #expect(throws: TraceAnalysisError.self) { try SyntheticTraceSpec.decode(json: #"{"rate": 5}"#) }
        #expect(throws: TraceAnalysisError.self) { try SyntheticTraceSpec.decode(json: #"{"kind": "poisson", "rate": "fast"}"#) }
        let ok = try SyntheticTraceSpec.decode(json: #"{"kind": "mmpp", "duration_s": 60, "mmpp_high_dwell_s": 2, "zipf_s": 1.2}"#)
        #expect(ok.mmppHighDwellS == 2 && ok.durationS == 60 && ok.zipfS == 1.2)
        #expect(try ok.jsonString().contains("\"mmpp_high_dwell_s\":2"))
    }

    @Test func badSpecsThrow() {
        let bad: [SyntheticTraceSpec] = [
            SyntheticTraceSpec(kind: "gaussian"),
            SyntheticTraceSpec(kind: "poisson", rate: 0),
            SyntheticTraceSpec(kind: "poisson", durationS: -1),
            SyntheticTraceSpec(kind: "poisson", streams: 0),
            SyntheticTraceSpec(kind: "poisson", mmppRatio: 3),
            SyntheticTraceSpec(kind: "mmpp", mmppRatio: 0.5),
            SyntheticTraceSpec(kind: "diurnal", diurnalAmplitude: 1.5),
            SyntheticTraceSpec(kind: "flash-crowd", flashSpikes: 2, flashSpikeRatePerHour: 1),
            SyntheticTraceSpec(kind: "poisson", durationS: 1e6, rate: 1e6),
        ]
        for s in bad {
            #expect(throws: TraceAnalysisError.self, "\(s)") { try SyntheticTraceGenerator.generate(s) }
        }
    }
}
