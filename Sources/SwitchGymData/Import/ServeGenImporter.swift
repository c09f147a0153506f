#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchGymCore

/// The `servegen` format: one client's rate descriptors from ServeGen
/// (alibaba/ServeGen, `data/<category>/<model>/chunk-<client>-trace.csv`), one
/// header-less line per 600 s window:
/// `window_start_s,rate_req_per_s,iat_cv,fitted_iat_dist,param1,param2`,
/// for example `1800,0.15,4.068,Gamma,0.0604,103.65` or `600,0,0,,0,0`.
///
/// Arrivals are generated, not read (see `datasets/FORMAT.md`, "ServeGen generation"):
/// in each window, a stationary renewal process whose gaps follow the fitted family
/// with shape `param1`, rescaled so that the mean gap is `1 / rate` (the stated rate
/// is kept exactly in expectation; the fitted scale `param2` is checked, not used).
/// `Exponential` has no shape; an empty distribution means no fit: such a window
/// has no arrivals when its rate is 0 and Poisson arrivals otherwise (counted as
/// `unfitted_windows` in the parameters). `iat_cv` is checked, not used (the shape
/// fixes the coefficient of variation). Window `w` draws from
/// `SeededGenerator.substream(seed: seed, index: UInt64(window_start_s))`, so a
/// window's arrivals depend only on its own line and the seed.
///
/// The file is one client: one stream `client`, kind `servegen`. Arrival 0 is the
/// first window's start (`first_window_s` in the parameters); the duration runs to
/// the end of the last window. A first line equal to the column names is accepted
/// as a header.
enum ServeGenImporter {
    static let csvHeader = CSVHeader(
        format: .serveGen,
        columns: ["window_start_s", "rate_req_per_s", "iat_cv", "fitted_iat_dist", "param1", "param2"])
    static let window: Int64 = 600
    static let windowMicros: Int64 = window * 1_000_000
    static let distributions = ["Weibull", "Gamma", "Exponential"]
    /// The smallest positive rate (one request in about 32 years): keeps every scale finite.
    static let minRate = 1e-9

    /// The fitted inter-arrival family of one window, with the scale set by the rate.
    enum Gaps: Equatable {
        /// No arrivals (rate 0).
        case none
        /// Gamma with this shape and scale (seconds); Exponential is shape 1.
        case gamma(shape: Double, scale: Double)
        /// Weibull with this shape and scale (seconds).
        case weibull(shape: Double, scale: Double)

        /// The family with `shape` whose mean gap is `1 / rate` seconds.
        init(family: String, shape: Double, rate: Double) {
            if rate == 0 {
                self = .none
            } else if family == "Weibull" {
                self = .weibull(shape: shape, scale: 1 / (rate * tgamma(1 + 1 / shape)))
            } else if family == "Gamma" {
                self = .gamma(shape: shape, scale: 1 / (rate * shape))
            } else {
                self = .gamma(shape: 1, scale: 1 / rate)
            }
        }

        /// One gap, in seconds.
        func next(_ g: inout SeededGenerator) -> Double {
            switch self {
            case .none: return .infinity
            case .gamma(let k, let theta): return Sample.gamma(shape: k, scale: theta, using: &g)
            case .weibull(let k, let lambda): return Sample.weibull(shape: k, scale: lambda, using: &g)
            }
        }

        /// The time from an arbitrary instant to the next arrival of the stationary
        /// process: `U * X~`, where `X~` is the length-biased gap (Gamma(k + 1, theta) for
        /// Gamma(k, theta); `lambda * Y^(1/k)` with `Y ~ Gamma(1 + 1/k, 1)` for Weibull).
        func firstGap(_ g: inout SeededGenerator) -> Double {
            switch self {
            case .none: return .infinity
            case .gamma(let k, let theta):
                return g.nextUnit() * Sample.gamma(shape: k + 1, scale: theta, using: &g)
            case .weibull(let k, let lambda):
                let u = g.nextUnit()
                return u * lambda * pow(Sample.gamma(shape: 1 + 1 / k, scale: 1, using: &g), 1 / k)
            }
        }
    }

    /// Shape bounds: below them almost every gap rounds to 0 µs (and for Weibull
    /// Γ(1 + 1/k) overflows); above them the gaps are practically constant.
    static let shapeRange: [String: ClosedRange<Double>] = ["Weibull": 0.02...1000, "Gamma": 0.001...1e6]

    /// Whether the line looks like a ServeGen window (detection): six fields, the first
    /// an integer, the second a number.
    static func isWindowLine(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var commas = [Int]()
        var i = s
        while i < e {
            if p[i] == 0x2C {
                commas.append(i)
                if commas.count > 5 { return false }
            }
            i += 1
        }
        guard commas.count == 5, commas[0] > s else { return false }
        return parseInteger(p, s, commas[0]) != nil
            && parseDecimalMicros(p, commas[0] + 1, commas[1], unitMicros: 1) != nil
    }

    static func parse(_ cur: inout LineCursor, header h: (start: Int, end: Int), ctx: ImportContext) throws -> Trace {
        let p = cur.base
        if csvHeader.matches(p, h.start, h.end) >= 2 {
            try csvHeader.check(cur, h, ctx: ctx)
        } else {
            cur.rereadLastLine()  // header-less: the first line is data
        }
        let maxRequests = ctx.options.maxRequests
        let columns = csvHeader.columns
        var arrivals = [Int64]()
        var fields = [(Int, Int)]()
        var first: Int64?
        var prevStart = Int64.min
        var windows = 0
        var unfitted = 0

        while let (s, e) = try cur.next() {
            if s == e {
                if try cur.restIsBlank() { break }
                throw ctx.emptyLine(line: cur.line)
            }
            splitFields(p, s, e, into: &fields)
            guard fields.count == columns.count else {
                throw ctx.error(line: cur.line, expected: "\(columns.count) columns (\(csvHeader.line))",
                                found: "\(fields.count) column\(fields.count == 1 ? "" : "s")")
            }
            func number(_ c: Int, _ expected: String, _ ok: (Double) -> Bool) throws -> Double {
                let (fs, fe) = fields[c]
                guard fe - fs <= 64, let v = Double(cur.string(fs, fe)), v.isFinite, ok(v) else {
                    throw ctx.error(line: cur.line, column: columns[c], expected: expected, found: cur.shown(fs, fe))
                }
                return v
            }
            let (ws, we) = fields[0]
            guard let start = parseInteger(p, ws, we), start >= 0, start <= Int64.max / 1_000_000 - window else {
                throw ctx.error(line: cur.line, column: columns[0], expected: "a non-negative integer number of seconds",
                                found: cur.shown(ws, we))
            }
            guard prevStart == .min || start >= prevStart + window else {
                throw ctx.error(line: cur.line, column: columns[0],
                                expected: "a window start at least \(window) s after the previous line's (\(prevStart))",
                                found: cur.shown(ws, we), hint: "windows are \(window) s long, in time order, not overlapping")
            }
            prevStart = start
            let rate = try number(1, "0 or a rate of at least \(minRate) requests per second") { $0 == 0 || $0 >= minRate }
            _ = try number(2, "a non-negative finite coefficient of variation") { $0 >= 0 }
            let (ds, de) = fields[3]
            let family = cur.string(ds, de)
            guard family.isEmpty || distributions.contains(family) else {
                throw ctx.error(line: cur.line, column: columns[3],
                                expected: "one of \(distributions.joined(separator: ", ")) or an empty field",
                                found: "unknown distribution " + cur.shown(ds, de))
            }
            let range = shapeRange[family]
            let shape = try number(4, range.map { "a shape in \($0.lowerBound)...\($0.upperBound)" } ?? "a finite number") {
                range?.contains($0) ?? true
            }
            _ = try number(5, range == nil ? "a finite number" : "a positive finite scale") { range == nil || $0 > 0 }
            if family.isEmpty && rate > 0 { unfitted += 1 }
            // Memory: the expected count is rate * 600; refuse it before drawing when it alone is too many.
            guard rate * Double(window) <= Double(maxRequests - arrivals.count) else { throw ctx.tooMany(line: cur.line) }
            let gaps = Gaps(family: family, shape: shape, rate: rate)

            let base = start * 1_000_000
            if first == nil { first = base }
            let offset = base - first!
            var g = SeededGenerator.substream(seed: ctx.options.seed, index: UInt64(start))
            var t = gaps.firstGap(&g)
            while t < Double(window) {
                if arrivals.count == maxRequests { throw ctx.tooMany(line: cur.line) }
                arrivals.append(offset + min(Int64(t * 1e6), windowMicros - 1))
                t += gaps.next(&g)
            }
            windows += 1
        }
        guard let first else {
            throw ctx.error(line: nil, expected: "at least one window line", found: "none")
        }
        guard !arrivals.isEmpty else {
            throw ctx.error(line: nil, expected: "at least one window with a positive rate",
                            found: "\(windows) window\(windows == 1 ? "" : "s") that generated no arrivals")
        }
        let meta = TraceMetadata(
            sourceFile: "", sourceFormat: TraceFormat.serveGen.rawValue, startTime: "", seed: ctx.options.seed,
            parameters: "{\"first_window_s\":\(first / 1_000_000),\"window_s\":\(window),\"windows\":\(windows),"
                + "\"unfitted_windows\":\(unfitted),\"generation\":\"stationary renewal per window, mean gap 1/rate\","
                + "\"substream_index\":\"window_start_s\"}")
        return Trace(arrivals: arrivals, streamIDs: [UInt32](repeating: 0, count: arrivals.count),
                     streams: [TraceStream(name: "client", kind: "servegen")],
                     duration: prevStart * 1_000_000 + windowMicros - first, metadata: meta)
    }
}
