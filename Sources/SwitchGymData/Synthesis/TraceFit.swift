import Foundation
import SwitchGymCore

/// Target-versus-achieved burstiness at one window width.
public struct FitWindowReport: Codable, Sendable, Equatable {
    /// Window width in seconds.
    public var windowSeconds: Double
    /// The trace's CV of per-window counts.
    public var targetCV: Double
    /// The CV of the trace generated from the fitted spec.
    public var achievedCV: Double
    /// The trace's peak/mean.
    public var targetPeakToMean: Double
    /// The generated trace's peak/mean.
    public var achievedPeakToMean: Double
}

/// The fitted sinusoid of a diurnal fit and how well it describes the trace.
public struct DiurnalFitReport: Codable, Sendable, Equatable {
    /// The chosen period in seconds.
    public var periodS: Double
    /// Relative amplitude (clamped to [0, 1]).
    public var amplitude: Double
    /// Phase in radians (peak at `phase · period / 2π`).
    public var phase: Double
    /// Width of the windows of the rate profiles compared, seconds.
    public var profileWindowSeconds: Double
    /// RMS difference between the trace's rate profile and the fitted sinusoid, divided by the mean rate.
    public var shapeErrorTrace: Double
    /// RMS difference between the generated trace's rate profile and the fitted sinusoid, divided by the mean rate.
    public var shapeErrorSynthetic: Double
}

/// How well a fitted ``SyntheticTraceSpec`` reproduces the trace it was fitted to:
/// figures of the trace (target) against those of the trace the fitted spec generates
/// (achieved), computed with ``TraceStatistics``.
public struct FitReport: Codable, Sendable, Equatable {
    /// The synthetic kind fitted.
    public var kind: String
    /// The seed the achieved figures were generated with.
    public var seed: UInt64
    /// Requests in the trace.
    public var targetRequests: Int
    /// Requests in the generated trace.
    public var achievedRequests: Int
    /// The trace's mean rate (req/s).
    public var targetMeanRate: Double
    /// The generated trace's mean rate (req/s).
    public var achievedMeanRate: Double
    /// CV and peak/mean at each window width.
    public var windows: [FitWindowReport]
    /// The sinusoid, for diurnal fits.
    public var diurnal: DiurnalFitReport?
    /// Traces generated during the fit's search (0 when the fit is closed-form).
    public var evaluations: Int
    /// How the fit was made.
    public var notes: [String]

    /// A column-aligned table of target against achieved figures with relative errors.
    public func render() -> String {
        func err(_ t: Double, _ a: Double) -> String { t != 0 ? (a >= t ? "+" : "") + fixed(100 * (a - t) / t, 1) + "%" : "" }
        var rows = [["", "target", "achieved", "error"],
                    ["requests", "\(targetRequests)", "\(achievedRequests)", err(Double(targetRequests), Double(achievedRequests))],
                    ["mean rate (req/s)", fixed(targetMeanRate, 4), fixed(achievedMeanRate, 4), err(targetMeanRate, achievedMeanRate)]]
        for w in windows {
            rows.append(["CV@\(windowLabel(w.windowSeconds))", fixed(w.targetCV, 3), fixed(w.achievedCV, 3), err(w.targetCV, w.achievedCV)])
        }
        for w in windows {
            rows.append(["peak/mean@\(windowLabel(w.windowSeconds))", fixed(w.targetPeakToMean, 2), fixed(w.achievedPeakToMean, 2),
                         err(w.targetPeakToMean, w.achievedPeakToMean)])
        }
        if let d = diurnal {
            rows.append(["shape error (\(windowLabel(d.profileWindowSeconds)) profile vs sinusoid)", fixed(d.shapeErrorTrace, 3),
                         fixed(d.shapeErrorSynthetic, 3), ""])
        }
        var out = ["fit \(kind) (seed \(seed), \(evaluations) search evaluations)"]
        out += alignedTable(rows, rightAligned: [false, true, true, true], separatorAfterRow: 1)
        if let d = diurnal {
            out.append("sinusoid: period \(fixed(d.periodS, 0)) s, amplitude \(fixed(d.amplitude, 3)), phase \(fixed(d.phase, 3)) rad")
        }
        out += notes.map { "note: " + $0 }
        return out.joined(separator: "\n") + "\n"
    }

    /// The report as pretty JSON with sorted snake_case keys.
    public func jsonString() throws -> String { try snakeCaseJSON(self) }
}

extension SyntheticTraceSpec {
    /// Fits a synthetic spec of `kind` to `trace` and reports target against achieved figures.
    ///
    /// Common to all kinds: the duration is the trace's, the stream count is the number of
    /// streams with requests and `zipf_s` the maximum-likelihood Zipf exponent of the
    /// requests' stream ranks (in [0, 10]), and token medians and log-space sigmas are fitted when the trace has tokens.
    /// - `poisson`: `rate` = the trace's mean rate.
    /// - `mmpp`: the two-state parameters are fitted so the CVs at `windows` match the
    ///   trace's: first by moment matching on a grid (the CV² of an MMPP's window counts is
    ///   `1/(λ̄w) + A·g(w/τ)` with `A` the relative variance of the modulated rate, `τ` the
    ///   state correlation time and `g(x) = 2(x − 1 + e^{−x})/x²`), then by a Nelder-Mead
    ///   search on the CVs of traces actually generated with `seed` (as many evaluations as
    ///   about 4·10⁷ generated arrivals allow, at most 300). The nominal `rate` is then
    ///   calibrated so that the realisation for `seed` has exactly the trace's request count
    ///   (an MMPP's realised mean over an hour can be far from its stationary mean).
    /// - `diurnal`: a least-squares sinusoid `a + b cos ωt + c sin ωt` fitted to the rate
    ///   profile at the widest window, for each candidate period among 1 h, 6 h, 12 h, 1 day
    ///   and 1 week within [duration/50, 2·duration] (else the duration itself), keeping the
    ///   best; `rate` = the trace's mean.
    /// - `flash-crowd`: at the window closest to 10 s, the base is the median window rate (at
    ///   least 10% of the mean), spikes are runs of windows well above it; their number, mean
    ///   length and mean rate / base give the spike parameters; the nominal `rate` is
    ///   calibrated like mmpp's.
    ///
    /// - Returns: the fitted spec (with `seed`) and the report, whose achieved figures come
    ///   from generating the returned spec.
    /// - Throws: ``TraceAnalysisError`` for an unknown kind, bad windows, or a trace with no requests.
    public static func fit(kind: String, to trace: Trace, seed: UInt64,
                           windows: [Double] = TraceStatistics.defaultWindows) throws -> (SyntheticTraceSpec, FitReport) {
        guard kinds.contains(kind) else {
            throw TraceAnalysisError("unknown synthetic trace kind \"\(kind)\"; expected one of \(kinds.joined(separator: ", "))")
        }
        let target = try TraceStatistics.compute(trace, windows: windows)
        guard target.requests > 0 else { throw TraceAnalysisError("cannot fit a synthetic trace to a trace with no requests") }
        let T = Double(trace.duration) / 1e6
        let K = target.requests
        var spec = SyntheticTraceSpec(kind: kind, durationS: T, seed: seed, rate: target.meanRate)
        var notes: [String] = []
        var evaluations = 0
        var diurnal: DiurnalFitReport?

        // Streams and tokens.
        let active = target.streams.filter { $0.requests > 0 }
        if active.count > 1 {
            spec.streams = active.count
            spec.zipfS = fitZipfExponent(active.map(\.requests))
            notes.append("streams: \(active.count) with Zipf exponent \(fixed(spec.zipfS!, 3)) fitted by maximum likelihood to the stream sizes")
        }
        if let tin = trace.tokensIn, let tout = trace.tokensOut, !tin.isEmpty {
            func logMoments(_ v: [Int32]) -> (Double, Double) {
                var s = 0.0, ss = 0.0
                for x in v { let l = log(Double(max(x, 1))); s += l; ss += l * l }
                let mu = s / Double(v.count)
                return (exp(mu), min(max(ss / Double(v.count) - mu * mu, 0).squareRoot(), 20))
            }
            (spec.tokensInMedian, spec.tokensInSigma) = logMoments(tin)
            (spec.tokensOutMedian, spec.tokensOutSigma) = logMoments(tout)
            spec.tokensInMedian = max(1, spec.tokensInMedian!); spec.tokensOutMedian = max(1, spec.tokensOutMedian!)
            notes.append("tokens: lognormal fitted to the log-moments of the trace's token counts")
        }

        let targetCV = target.overall.windows.map(\.cv)
        let widths = try windows.map { Double(try windowMicroseconds($0)) / 1e6 }
        switch kind {
        case "poisson":
            notes.append("poisson: rate is the trace's mean rate; the CV at w is 1/sqrt(rate·w) whatever the trace's burstiness")
        case "mmpp":
            let (best, evals, analytic) = fitMMPP(targetCV: targetCV, widths: widths, meanRate: target.meanRate, T: T,
                                                  K: K, seed: seed, durationUS: trace.duration)
            evaluations = evals
            spec.mmppRatio = best.ratio; spec.mmppHighDwellS = best.dH; spec.mmppLowDwellS = best.dL
            spec.rate = calibratedRate(spec, K: K)
            notes.append("mmpp: moment matching on a grid gave ratio \(fixed(analytic.ratio, 2)), high dwell \(fixed(analytic.dH, 2)) s, low dwell \(fixed(analytic.dL, 2)) s; Nelder-Mead on realised CVs (seed \(seed), \(evals) traces) gave ratio \(fixed(best.ratio, 2)), dwells \(fixed(best.dH, 2)) s / \(fixed(best.dL, 2)) s")
            notes.append("mmpp: nominal rate \(fixed(spec.rate!, 4)) req/s calibrated so this seed's realisation has the trace's \(K) requests (stationary mean rate of the spec; other seeds' realisations vary around it)")
        case "diurnal":
            let d = fitDiurnal(trace, profileWidth: widths.max()!, T: T)
            spec.diurnalPeriodS = d.period; spec.diurnalAmplitude = d.amplitude; spec.diurnalPhase = d.phase
            diurnal = DiurnalFitReport(periodS: d.period, amplitude: d.amplitude, phase: d.phase,
                                       profileWindowSeconds: widths.max()!, shapeErrorTrace: d.error, shapeErrorSynthetic: 0)
            notes.append("diurnal: least-squares sinusoid on the \(windowLabel(widths.max()!)) rate profile; candidate periods tried: \(d.candidates.map { fixed($0, 0) }.joined(separator: ", ")) s")
        case "flash-crowd":
            let wi = widths.indices.min { abs(log(widths[$0] / 10)) < abs(log(widths[$1] / 10)) }!
            let f = fitFlash(trace, width: widths[wi], T: T)
            spec.flashMultiplier = f.multiplier; spec.flashSpikes = f.spikes; spec.flashDurationS = f.duration
            spec.rate = calibratedRate(spec, K: K)
            notes.append("flash-crowd: \(f.spikes) spikes of \(fixed(f.duration, 1)) s at \(fixed(f.multiplier, 2))× a base of \(fixed(f.base, 3)) req/s found in the \(windowLabel(widths[wi])) profile; spike times are random (not the trace's); nominal rate calibrated to this seed's realisation")
        default: break
        }

        let generated = try SyntheticTraceGenerator.generate(spec)
        let achieved = try TraceStatistics.compute(generated, windows: windows)
        if var d = diurnal {
            d.shapeErrorSynthetic = sinusoidError(generated, width: d.profileWindowSeconds, period: d.periodS,
                                                  amplitude: d.amplitude, phase: d.phase, mean: target.meanRate)
            diurnal = d
        }
        let report = FitReport(
            kind: kind, seed: seed, targetRequests: K, achievedRequests: achieved.requests,
            targetMeanRate: target.meanRate, achievedMeanRate: achieved.meanRate,
            windows: zip(target.overall.windows, achieved.overall.windows).map {
                FitWindowReport(windowSeconds: $0.windowSeconds, targetCV: $0.cv, achievedCV: $1.cv,
                                targetPeakToMean: $0.peakToMean, achievedPeakToMean: $1.peakToMean)
            },
            diurnal: diurnal, evaluations: evaluations, notes: notes)
        return (spec, report)
    }
}

// MARK: - Streams

/// The maximum-likelihood exponent `s` in [0, 10] of a Zipf law over ranks `1...S` given
/// the request counts of the streams (sorted in descending order here), by golden-section
/// search on the concave log-likelihood `−s Σ n_k log k − N log Σ k^−s`.
func fitZipfExponent(_ counts: [Int]) -> Double {
    let n = counts.sorted(by: >)
    let total = Double(n.reduce(0, +))
    var weighted = 0.0
    for (k, c) in n.enumerated() { weighted += Double(c) * log(Double(k + 1)) }
    let logs = (0..<n.count).map { log(Double($0 + 1)) }
    func ll(_ s: Double) -> Double {
        var z = 0.0
        for l in logs { z += exp(-s * l) }
        return -s * weighted - total * log(z)
    }
    var a = 0.0, b = 10.0
    let g = (5.0.squareRoot() - 1) / 2
    var c = b - g * (b - a), d = a + g * (b - a)
    var fc = ll(c), fd = ll(d)
    for _ in 0..<60 {
        if fc > fd { b = d; d = c; fd = fc; c = b - g * (b - a); fc = ll(c) } else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = ll(d) }
    }
    return (a + b) / 2
}

// MARK: - Rate calibration

/// The nominal rate at which the time-change realisation of `spec` (poisson, mmpp or
/// flash-crowd) for its seed has exactly `K` arrivals: the rate putting `rate · M(T)`
/// midway between the K-th and (K+1)-th partial sums of the unit clock.
func calibratedRate(_ spec: SyntheticTraceSpec, K: Int) -> Double {
    let r = spec.resolved()
    let T = Double(Int64((r.durationS! * 1e6).rounded())) / 1e6
    let m = SyntheticTraceGenerator.modulation(r, T: T)
    let sums = unitClockSums(seed: r.seed!, count: K + 1)
    return calibratedRate(m, T: T, sums: sums, K: K)
}

func calibratedRate(_ m: SyntheticTraceGenerator.Modulation, T: Double, sums: [Double], K: Int) -> Double {
    let mid = K > 0 ? (sums[K - 1] + sums[K]) / 2 : sums[0] / 2
    return mid / m.integral(to: T)
}

func unitClockSums(seed: UInt64, count: Int) -> [Double] {
    var g = SeededGenerator.substream(seed: seed, index: 0)
    var s = 0.0
    return (0..<count).map { _ in s += Sample.exponential(rate: 1, using: &g); return s }
}

// MARK: - MMPP

struct MMPPParams { var ratio: Double; var dH: Double; var dL: Double }

/// CV of window counts of a stationary two-state MMPP with mean rate `lambda`.
func mmppModelCV(_ p: MMPPParams, lambda: Double, width w: Double) -> Double {
    let piH = p.dH / (p.dH + p.dL), piL = 1 - piH
    let low = (p.dH + p.dL) / (p.ratio * p.dH + p.dL)
    let a = piH * piL * low * low * (p.ratio - 1) * (p.ratio - 1)
    let tau = p.dH * p.dL / (p.dH + p.dL)
    let x = w / tau
    let g = x < 1e-4 ? 1 - x / 3 : 2 * (x - 1 + exp(-x)) / (x * x)
    return (1 / (lambda * w) + a * g).squareRoot()
}

func fitMMPP(targetCV: [Double], widths: [Double], meanRate: Double, T: Double, K: Int, seed: UInt64,
             durationUS: Int64) -> (MMPPParams, Int, MMPPParams) {
    let idx = targetCV.indices.filter { targetCV[$0] > 0 }
    func loss(_ cvs: [Double]) -> Double {
        idx.reduce(0) { acc, i in
            let c = max(cvs[i], 1e-9)
            return acc + pow(log(c / targetCV[i]), 2)
        }
    }
    let lo = [0.0, log(min(widths.min()!, T) / 20), log(min(widths.min()!, T) / 20)]
    let hi = [log(5000.0), log(2 * T), log(2 * T)]
    func params(_ x: [Double]) -> MMPPParams {
        let c = (0..<3).map { min(max(x[$0], lo[$0]), hi[$0]) }
        return MMPPParams(ratio: max(1, exp(c[0])), dH: exp(c[1]), dL: exp(c[2]))
    }
    // 1. Moment matching on a grid.
    var bestX = [log(10.0), log(10.0), log(90.0)]
    var bestLoss = Double.infinity
    let steps = 24
    for i in 0...steps {
        for j in 0...steps {
            for k in 0...steps {
                let x = [lo[0] + (hi[0] - lo[0]) * Double(i) / Double(steps),
                         lo[1] + (hi[1] - lo[1]) * Double(j) / Double(steps),
                         lo[2] + (hi[2] - lo[2]) * Double(k) / Double(steps)]
                let p = params(x)
                let l = loss(widths.map { mmppModelCV(p, lambda: meanRate, width: $0) })
                if l < bestLoss { bestLoss = l; bestX = x }
            }
        }
    }
    let analytic = params(bestX)
    // Refine the analytic optimum.
    bestX = nelderMead(start: bestX, step: 0.3, maxEvaluations: 400) { x in
        loss(widths.map { mmppModelCV(params(x), lambda: meanRate, width: $0) })
    }.x
    let analyticRefined = params(bestX)

    // 2. Nelder-Mead on realised CVs for this seed.
    let budget = min(300, Int(4e7 / Double(max(K, 1))))
    guard budget >= 10 else { return (analyticRefined, 0, analyticRefined) }
    let sums = unitClockSums(seed: seed, count: K + 1)
    let widthsUS = widths.map { Int64(($0 * 1e6).rounded()) }
    var evals = 0
    func simulated(_ x: [Double]) -> Double {
        evals += 1
        let p = params(x)
        let spec = SyntheticTraceSpec(kind: "mmpp", durationS: T, seed: seed, rate: meanRate,
                                      mmppRatio: p.ratio, mmppHighDwellS: p.dH, mmppLowDwellS: p.dL)
        let m = SyntheticTraceGenerator.modulation(spec.resolved(), T: T)
        let rate = calibratedRate(m, T: T, sums: sums, K: K)
        let times = SyntheticTraceGenerator.timeChange(m, rate: rate, T: T, sums: sums)
        let arr = SyntheticTraceGenerator.micros(times, durationUS: durationUS)
        let cvs = widthsUS.map { w -> Double in
            let c = windowCounts(arr, duration: durationUS, width: w)
            let mean = Double(arr.count) / Double(c.count)
            guard mean > 0 else { return 0 }
            var ss = 0.0
            for v in c { ss += (Double(v) - mean) * (Double(v) - mean) }
            return (ss / Double(c.count)).squareRoot() / mean
        }
        return loss(cvs)
    }
    var result = nelderMead(start: bestX, step: 0.25, maxEvaluations: budget * 2 / 3, simulated)
    if evals < budget {
        result = nelderMead(start: result.x, step: 0.1, maxEvaluations: budget - evals, simulated)
    }
    return (params(result.x), evals, analytic)
}

/// A plain Nelder-Mead minimiser (deterministic).
func nelderMead(start: [Double], step: Double, maxEvaluations: Int, _ f: ([Double]) -> Double) -> (x: [Double], f: Double) {
    let n = start.count
    var simplex = [start]
    for i in 0..<n { var v = start; v[i] += step; simplex.append(v) }
    var values = simplex.map(f)
    var evals = simplex.count
    while evals < maxEvaluations {
        let order = values.indices.sorted { values[$0] < values[$1] }
        simplex = order.map { simplex[$0] }; values = order.map { values[$0] }
        if values[n] - values[0] < 1e-12 { break }
        var centroid = [Double](repeating: 0, count: n)
        for v in simplex.dropLast() { for i in 0..<n { centroid[i] += v[i] / Double(n) } }
        func along(_ t: Double) -> [Double] { (0..<n).map { centroid[$0] + t * (simplex[n][$0] - centroid[$0]) } }
        let xr = along(-1); let fr = f(xr); evals += 1
        if fr < values[0] {
            let xe = along(-2); let fe = f(xe); evals += 1
            if fe < fr { simplex[n] = xe; values[n] = fe } else { simplex[n] = xr; values[n] = fr }
        } else if fr < values[n - 1] {
            simplex[n] = xr; values[n] = fr
        } else {
            let xc = fr < values[n] ? along(-0.5) : along(0.5)
            let fc = f(xc); evals += 1
            if fc < min(fr, values[n]) {
                simplex[n] = xc; values[n] = fc
            } else {
                for j in 1...n {
                    simplex[j] = (0..<n).map { simplex[0][$0] + 0.5 * (simplex[j][$0] - simplex[0][$0]) }
                    values[j] = f(simplex[j]); evals += 1
                }
            }
        }
    }
    let b = values.indices.min { values[$0] < values[$1] }!
    return (simplex[b], values[b])
}

// MARK: - Diurnal

struct DiurnalFit { var period: Double; var amplitude: Double; var phase: Double; var error: Double; var candidates: [Double] }

/// Window midpoints (s) and rates (req/s) of the trace at width `width` seconds.
func rateProfile(_ trace: Trace, width: Double) -> ([Double], [Double]) {
    let w = Int64((width * 1e6).rounded())
    let c = windowCounts(trace.arrivals, duration: trace.duration, width: w)
    var mids: [Double] = [], rates: [Double] = []
    for (i, n) in c.enumerated() {
        let len = Double(min(w, trace.duration - Int64(i) * w)) / 1e6
        mids.append(Double(i) * width + len / 2); rates.append(Double(n) / len)
    }
    return (mids, rates)
}

func fitDiurnal(_ trace: Trace, profileWidth: Double, T: Double) -> DiurnalFit {
    let (t, r) = rateProfile(trace, width: profileWidth)
    let mean = trace.meanRate
    var candidates = [3600.0, 21600, 43200, 86400, 604800].filter { $0 >= T / 50 && $0 <= 2 * T }
    if candidates.isEmpty { candidates = [T] }
    var best = DiurnalFit(period: candidates[0], amplitude: 0, phase: 0, error: .infinity, candidates: candidates)
    for P in candidates {
        let w = 2 * Double.pi / P
        // Normal equations for r ≈ a + b cos wt + c sin wt.
        var m = [[Double]](repeating: [0, 0, 0, 0], count: 3)
        for (ti, ri) in zip(t, r) {
            let basis = [1, cos(w * ti), sin(w * ti)]
            for i in 0..<3 { for j in 0..<3 { m[i][j] += basis[i] * basis[j] }; m[i][3] += basis[i] * ri }
        }
        guard let sol = solve3(m) else { continue }
        let amp = min(1, (sol[1] * sol[1] + sol[2] * sol[2]).squareRoot() / max(mean, 1e-300))
        var phase = atan2(sol[2], sol[1])
        if phase < 0 { phase += 2 * .pi }
        let err = sinusoidError(t, r, period: P, amplitude: amp, phase: phase, mean: mean)
        if err < best.error { best = DiurnalFit(period: P, amplitude: amp, phase: phase, error: err, candidates: candidates) }
    }
    if !best.error.isFinite { best.error = 0 }
    return best
}

func sinusoidError(_ t: [Double], _ r: [Double], period: Double, amplitude: Double, phase: Double, mean: Double) -> Double {
    guard !t.isEmpty, mean > 0 else { return 0 }
    var ss = 0.0
    for (ti, ri) in zip(t, r) {
        let f = mean * (1 + amplitude * cos(2 * .pi * ti / period - phase))
        ss += (ri - f) * (ri - f)
    }
    return (ss / Double(t.count)).squareRoot() / mean
}

func sinusoidError(_ trace: Trace, width: Double, period: Double, amplitude: Double, phase: Double, mean: Double) -> Double {
    let (t, r) = rateProfile(trace, width: width)
    return sinusoidError(t, r, period: period, amplitude: amplitude, phase: phase, mean: mean)
}

/// Gaussian elimination with partial pivoting on a 3×4 augmented matrix.
func solve3(_ a0: [[Double]]) -> [Double]? {
    var a = a0
    for c in 0..<3 {
        let p = (c..<3).max { abs(a[$0][c]) < abs(a[$1][c]) }!
        guard abs(a[p][c]) > 1e-12 * max(1, abs(a[0][0])) else { return nil }
        a.swapAt(c, p)
        for r in 0..<3 where r != c {
            let f = a[r][c] / a[c][c]
            for k in c..<4 { a[r][k] -= f * a[c][k] }
        }
    }
    return (0..<3).map { a[$0][3] / a[$0][$0] }
}

// MARK: - Flash crowd

struct FlashFit { var base: Double; var multiplier: Double; var spikes: Int; var duration: Double }

func fitFlash(_ trace: Trace, width: Double, T: Double) -> FlashFit {
    let (_, r) = rateProfile(trace, width: width)
    let mean = trace.meanRate
    let sorted = r.sorted()
    let base = max(sorted[sorted.count / 2], 0.1 * mean)
    let threshold = max(3 * base, base + 3 * (base / width).squareRoot() + 1 / width)
    var runs: [Int] = []
    var inside: [Double] = []
    var run = 0
    for x in r {
        if x > threshold { run += 1; inside.append(x) } else if run > 0 { runs.append(run); run = 0 }
    }
    if run > 0 { runs.append(run) }
    guard !runs.isEmpty else { return FlashFit(base: mean, multiplier: 1, spikes: 0, duration: width) }
    let duration = Double(runs.reduce(0, +)) / Double(runs.count) * width
    let multiplier = max(1, inside.reduce(0, +) / Double(inside.count) / base)
    return FlashFit(base: base, multiplier: multiplier, spikes: runs.count, duration: duration)
}
