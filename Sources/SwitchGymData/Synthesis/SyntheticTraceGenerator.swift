import Foundation
import SwitchGymCore

/// Generates synthetic traces from a ``SyntheticTraceSpec``.
///
/// Deterministic for a seed: each kind of randomness has its own xoshiro256**
/// sub-stream of the seed (0: arrival clock, 1: modulation — mmpp states or
/// flash-crowd spikes, 2: stream marks, 3/4: input/output tokens, 5: diurnal
/// thinning), so for example adding streams does not move any arrival.
///
/// `poisson`, `mmpp` and `flash-crowd` are made by a time change: with a
/// piecewise-constant relative intensity `m(t)` and cumulative `M(t) = ∫₀ᵗ m`,
/// arrival `i` is at `M⁻¹(S_i / rate)`, where `S_i` are the partial sums of unit
/// exponentials from sub-stream 0. So, for a fixed seed, the arrivals move
/// continuously as the modulation parameters change, and the count depends on
/// `rate` monotonically (which ``SyntheticTraceSpec/fit(kind:to:seed:windows:)`` uses).
/// `diurnal` is made by thinning a homogeneous process at the peak rate.
/// Times are floored to whole microseconds, sorted, within `[0, duration)`.
public enum SyntheticTraceGenerator {
    /// Generates the trace `spec` describes.
    ///
    /// Metadata: `sourceFile` `synthetic`, `sourceFormat` `synthetic:KIND`, `seed`, and
    /// `parameters` = the resolved spec (defaults filled in) as JSON.
    /// - Parameter createdAt: the `createdAt` metadata (ISO 8601), empty by default.
    /// - Throws: ``TraceAnalysisError`` if the spec is invalid.
    public static func generate(_ spec: SyntheticTraceSpec, createdAt: String = "") throws -> Trace {
        try spec.validate()
        let r = spec.resolved()
        let seed = r.seed!
        let durationUS = Int64((r.durationS! * 1e6).rounded())
        let T = Double(durationUS) / 1e6
        let rate = r.rate!
        var times: [Double]
        switch r.kind {
        case "diurnal":
            times = diurnalTimes(rate: rate, period: r.diurnalPeriodS!, amplitude: r.diurnalAmplitude!,
                                 phase: r.diurnalPhase!, T: T, seed: seed)
        default:
            let m = modulation(r, T: T)
            times = timeChange(m, rate: rate, T: T, seed: seed)
        }
        let arrivals = micros(times, durationUS: durationUS)
        times = []
        let n = arrivals.count

        // Streams by Zipf shares.
        let s = r.streams!
        var ids = [UInt32](repeating: 0, count: n)
        if s > 1 {
            let z = r.zipfS!
            var cdf = [Double](repeating: 0, count: s)
            var acc = 0.0
            for k in 0..<s { acc += pow(Double(k + 1), -z); cdf[k] = acc }
            var g = SeededGenerator.substream(seed: seed, index: 2)
            for i in 0..<n {
                let u = g.nextUnit() * acc
                var lo = 0, hi = s - 1
                while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] > u { hi = mid } else { lo = mid + 1 } }
                ids[i] = UInt32(lo)
            }
        }
        let width = String(s - 1).count
        let streams = (0..<s).map { k in
            TraceStream(name: s == 1 ? "synthetic" : "stream-" + String(repeating: "0", count: width - String(k).count) + String(k),
                        kind: "synthetic")
        }
        var tin: [Int32]?, tout: [Int32]?
        if let mi = r.tokensInMedian, let mo = r.tokensOutMedian {
            tin = lognormalTokens(n, median: mi, sigma: r.tokensInSigma!, seed: seed, index: 3)
            tout = lognormalTokens(n, median: mo, sigma: r.tokensOutSigma!, seed: seed, index: 4)
        }
        let meta = TraceMetadata(sourceFile: "synthetic", sourceFormat: "synthetic:\(r.kind)", createdAt: createdAt,
                                 seed: seed, parameters: try r.jsonString())
        return Trace(arrivals: arrivals, streamIDs: ids, tokensIn: tin, tokensOut: tout, streams: streams,
                     duration: durationUS, metadata: meta)
    }

    // MARK: - Intensity

    /// A piecewise-constant relative intensity: `level[j]` on `[start[j], start[j+1])`
    /// (the last piece runs to the end of the trace).
    struct Modulation {
        var start: [Double] = [0]
        var level: [Double] = [1]

        /// `∫₀ᵀ m(t) dt`.
        func integral(to T: Double) -> Double {
            var total = 0.0
            for j in 0..<start.count where start[j] < T {
                let end = j + 1 < start.count ? min(start[j + 1], T) : T
                total += level[j] * (end - start[j])
            }
            return total
        }
    }

    static func modulation(_ r: SyntheticTraceSpec, T: Double) -> Modulation {
        switch r.kind {
        case "mmpp":
            let ratio = r.mmppRatio!, dH = r.mmppHighDwellS!, dL = r.mmppLowDwellS!
            let low = (dH + dL) / (ratio * dH + dL), high = ratio * low
            var g = SeededGenerator.substream(seed: r.seed!, index: 1)
            var highState = g.nextUnit() < dH / (dH + dL)
            var m = Modulation(start: [], level: [])
            var t = 0.0
            while t < T {
                m.start.append(t); m.level.append(highState ? high : low)
                t += (highState ? dH : dL) * Sample.exponential(rate: 1, using: &g)
                highState.toggle()
            }
            return m
        case "flash-crowd":
            let mult = r.flashMultiplier!, D = r.flashDurationS!
            var g = SeededGenerator.substream(seed: r.seed!, index: 1)
            let expected: Double
            let count: Int
            if let perHour = r.flashSpikeRatePerHour {
                expected = perHour * T / 3600
                count = Sample.poisson(mean: expected, using: &g)
            } else {
                count = r.flashSpikes!; expected = Double(count)
            }
            let starts = (0..<count).map { _ in g.nextUnit() * T }.sorted()
            // Expected time inside spikes, with spikes clipped at the end of the trace.
            let meanInside = D <= T ? D - D * D / (2 * T) : T / 2
            let base = 1 / (1 + (mult - 1) * expected * meanInside / T)
            var events: [(Double, Int)] = starts.map { ($0, 1) } + starts.map { ($0 + D, -1) }
            events.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            var m = Modulation(start: [0], level: [base])
            var active = 0
            for (t, delta) in events where t < T {
                active += delta
                let level = base * (1 + (mult - 1) * Double(active))
                if m.start.last == t { m.level[m.level.count - 1] = level } else { m.start.append(t); m.level.append(level) }
            }
            return m
        default:
            return Modulation()
        }
    }

    /// Partial sums of unit exponentials from sub-stream 0, as far as `limit`
    /// (the first sum at or above `limit` included).
    static func unitClock(seed: UInt64, upTo limit: Double, reserve: Int) -> [Double] {
        var g = SeededGenerator.substream(seed: seed, index: 0)
        var sums: [Double] = []
        sums.reserveCapacity(reserve)
        var s = 0.0
        repeat {
            s += Sample.exponential(rate: 1, using: &g)
            sums.append(s)
        } while s < limit
        return sums
    }

    /// Times in seconds floored to whole microseconds within `[0, durationUS)`.
    static func micros(_ times: [Double], durationUS: Int64) -> [Int64] {
        var arrivals = [Int64](repeating: 0, count: times.count)
        for (i, t) in times.enumerated() { arrivals[i] = min(max(0, Int64((t * 1e6).rounded(.down))), durationUS - 1) }
        return arrivals
    }

    /// Arrival times (seconds) by the time change `M⁻¹(S_i / rate)`.
    static func timeChange(_ m: Modulation, rate: Double, T: Double, seed: UInt64) -> [Double] {
        let total = rate * m.integral(to: T)
        let sums = unitClock(seed: seed, upTo: total, reserve: Int(total * 1.01) + 16)
        return timeChange(m, rate: rate, T: T, sums: sums)
    }

    /// The time change with given unit-clock partial sums (arrivals stop at the first
    /// sum at or above `rate · M(T)`; pass enough sums).
    static func timeChange(_ m: Modulation, rate: Double, T: Double, sums: [Double]) -> [Double] {
        let total = rate * m.integral(to: T)
        var out: [Double] = []
        out.reserveCapacity(sums.count)
        var j = 0
        var cumStart = 0.0   // rate · M(start[j])
        func end(_ j: Int) -> Double { j + 1 < m.start.count ? min(m.start[j + 1], T) : T }
        for s in sums where s < total {
            while j < m.start.count {
                let segRate = rate * m.level[j]
                let cumEnd = cumStart + segRate * (end(j) - m.start[j])
                if s < cumEnd && segRate > 0 {
                    out.append(min(m.start[j] + (s - cumStart) / segRate, T))
                    break
                }
                cumStart = cumEnd
                j += 1
            }
            if j >= m.start.count { break }
        }
        return out
    }

    /// Rate `rate · (1 + a cos(2π t / P − φ))` on `[0, T)` by thinning.
    static func diurnalTimes(rate: Double, period: Double, amplitude a: Double, phase: Double, T: Double, seed: UInt64) -> [Double] {
        let peak = rate * (1 + a)
        var clock = SeededGenerator.substream(seed: seed, index: 0)
        var accept = SeededGenerator.substream(seed: seed, index: 5)
        var out: [Double] = []
        out.reserveCapacity(Int(rate * T * 1.01) + 16)
        var t = 0.0
        let w = 2 * Double.pi / period
        while true {
            t += Sample.exponential(rate: peak, using: &clock)
            if t >= T { break }
            let u = accept.nextUnit()
            if u * (1 + a) < 1 + a * cos(w * t - phase) { out.append(t) }
        }
        return out
    }

    static func lognormalTokens(_ n: Int, median: Double, sigma: Double, seed: UInt64, index: UInt64) -> [Int32] {
        var g = SeededGenerator.substream(seed: seed, index: index)
        let mu = log(median)
        return (0..<n).map { _ in
            let x = exp(mu + sigma * Sample.normal(using: &g)).rounded()
            return Int32(min(max(x, 1), Double(Int32.max)))
        }
    }
}
