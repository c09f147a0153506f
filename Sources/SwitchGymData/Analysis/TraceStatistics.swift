import Foundation

/// Burstiness of request counts in fixed windows of one width.
///
/// Windows of width `w` cover `[0, duration)` in `ceil(duration / w)` windows,
/// empty windows included (the last one may be partial and is counted like the
/// others). With per-window counts `c_i` over `n` windows:
/// `meanCount = Σ c_i / n`, `peakToMean = max c_i / meanCount`, and
/// `cv = σ / meanCount` where σ is the **population** standard deviation
/// `sqrt(Σ (c_i − mean)² / n)`. (Population, not sample, statistics reproduce
/// the figures published for the Azure LLM trace: CV 2.27 / 1.67 / 1.03 at
/// 1 / 10 / 60 s.) When no request falls in any window, `peakToMean` and `cv` are 0.
public struct WindowStatistics: Codable, Sendable, Equatable {
    /// The window width in seconds.
    public var windowSeconds: Double
    /// The number of windows, `ceil(duration / w)`.
    public var windows: Int
    /// Mean requests per window.
    public var meanCount: Double
    /// The largest number of requests in one window.
    public var peakCount: Int
    /// `peakCount / meanCount` (0 when there are no requests).
    public var peakToMean: Double
    /// Population coefficient of variation of the per-window counts (0 when there are no requests).
    public var cv: Double

    /// Makes window statistics from their fields.
    public init(windowSeconds: Double, windows: Int, meanCount: Double, peakCount: Int, peakToMean: Double, cv: Double) {
        self.windowSeconds = windowSeconds
        self.windows = windows
        self.meanCount = meanCount
        self.peakCount = peakCount
        self.peakToMean = peakToMean
        self.cv = cv
    }

    /// Statistics from the window count, the sum and sum of squares of the counts, and the peak.
    init(windowSeconds: Double, windows n: Int, sum: Int, sumSquares: Int, peak: Int) {
        let mean = n > 0 ? Double(sum) / Double(n) : 0
        var cv = 0.0, ptm = 0.0
        if mean > 0 {
            let variance = max(0, (Double(sumSquares) - Double(sum) * mean) / Double(n))
            cv = variance.squareRoot() / mean
            ptm = Double(peak) / mean
        }
        self.init(windowSeconds: windowSeconds, windows: n, meanCount: mean, peakCount: peak, peakToMean: ptm, cv: cv)
    }
}

/// Token-count summary of requests (LLM traces): mean, median, 99th percentile
/// and maximum of input and output tokens. Percentiles are nearest-rank
/// (`sorted[ceil(p · n) − 1]`). A column the trace lacks is reported as zeros.
public struct TokenSummary: Codable, Sendable, Equatable {
    /// Mean input tokens.
    public var meanIn: Double
    /// Median (nearest-rank) input tokens.
    public var p50In: Int
    /// 99th percentile (nearest-rank) input tokens.
    public var p99In: Int
    /// Largest input.
    public var maxIn: Int
    /// Mean output tokens.
    public var meanOut: Double
    /// Median (nearest-rank) output tokens.
    public var p50Out: Int
    /// 99th percentile (nearest-rank) output tokens.
    public var p99Out: Int
    /// Largest output.
    public var maxOut: Int

    /// Makes a token summary from its fields.
    public init(meanIn: Double, p50In: Int, p99In: Int, maxIn: Int, meanOut: Double, p50Out: Int, p99Out: Int, maxOut: Int) {
        self.meanIn = meanIn; self.p50In = p50In; self.p99In = p99In; self.maxIn = maxIn
        self.meanOut = meanOut; self.p50Out = p50Out; self.p99Out = p99Out; self.maxOut = maxOut
    }
}

/// Statistics of one stream of a trace (or of all requests together).
public struct StreamStatistics: Codable, Sendable, Equatable {
    /// The stream's name (`(all)` for the whole trace).
    public var name: String
    /// The stream's kind (empty for the whole trace).
    public var kind: String
    /// Requests in the stream.
    public var requests: Int
    /// The stream's fraction of all requests (1 for the whole trace; 0 for an empty trace).
    public var share: Double
    /// Requests per second over the trace duration.
    public var meanRate: Double
    /// Burstiness at each window width asked for, in the order asked.
    public var windows: [WindowStatistics]
    /// Token summary when the trace has token columns.
    public var tokens: TokenSummary?

    /// Makes stream statistics from their fields.
    public init(name: String, kind: String, requests: Int, share: Double, meanRate: Double,
                windows: [WindowStatistics], tokens: TokenSummary? = nil) {
        self.name = name; self.kind = kind; self.requests = requests; self.share = share
        self.meanRate = meanRate; self.windows = windows; self.tokens = tokens
    }
}

/// Summary statistics of a trace: request count, mean rate, burstiness
/// (peak/mean and CV of per-window counts, see ``WindowStatistics``) at several
/// window widths, overall and per stream, and token sizes when present.
public struct TraceStatistics: Codable, Sendable, Equatable {
    /// Number of requests.
    public var requests: Int
    /// Trace duration in seconds.
    public var durationSeconds: Double
    /// Requests per second over the duration.
    public var meanRate: Double
    /// Wall-clock time of t = 0 (from the trace metadata; may be empty).
    public var startTime: String
    /// The trace's source format (from its metadata).
    public var sourceFormat: String
    /// All requests together.
    public var overall: StreamStatistics
    /// Every stream, sorted by request count (descending; ties by stream index).
    public var streams: [StreamStatistics]

    /// The window widths (seconds) used when none are given: 1, 10 and 60 s.
    public static let defaultWindows: [Double] = [1, 10, 60]

    /// Computes the statistics of `trace` at each window width in `windows` (seconds).
    ///
    /// One O(N) pass over the arrivals per window width, with integer bucket
    /// indexes and O(streams) memory (per-stream running count, sum of squares and
    /// peak; empty windows contribute zeros).
    ///
    /// - Throws: ``TraceAnalysisError`` if a window width is not finite, not positive
    ///   or under 1 µs, if `windows` is empty, or if the trace is invalid.
    public static func compute(_ trace: Trace, windows: [Double] = defaultWindows) throws -> TraceStatistics {
        guard !windows.isEmpty else { throw TraceAnalysisError("at least one window width is needed") }
        let widths = try windows.map(windowMicroseconds)
        do { try trace.validate() } catch let e as TraceError { throw TraceAnalysisError(e.message) }

        let n = trace.count
        let s = trace.streams.count
        let seconds = Double(trace.duration) / 1e6
        var perStreamRequests = [Int](repeating: 0, count: s)
        for id in trace.streamIDs { perStreamRequests[Int(id)] += 1 }

        var overallWindows: [WindowStatistics] = []
        var streamWindows: [[WindowStatistics]] = Array(repeating: [], count: s)
        for (wi, w) in widths.enumerated() {
            let (all, per) = windowMoments(trace, width: w, streams: s)
            let nw = windowCount(duration: trace.duration, width: w)
            overallWindows.append(WindowStatistics(windowSeconds: windows[wi], windows: nw, sum: n,
                                                   sumSquares: all.sumSquares, peak: all.peak))
            for j in 0..<s {
                streamWindows[j].append(WindowStatistics(windowSeconds: windows[wi], windows: nw, sum: perStreamRequests[j],
                                                         sumSquares: per[j].sumSquares, peak: per[j].peak))
            }
        }

        let tokens = tokenSummaries(trace, streams: s)
        let overall = StreamStatistics(name: "(all)", kind: "", requests: n, share: n > 0 ? 1 : 0,
                                       meanRate: Double(n) / seconds, windows: overallWindows, tokens: tokens?.overall)
        var streams: [StreamStatistics] = []
        streams.reserveCapacity(s)
        for j in 0..<s {
            let r = perStreamRequests[j]
            streams.append(StreamStatistics(name: trace.streams[j].name, kind: trace.streams[j].kind, requests: r,
                                            share: n > 0 ? Double(r) / Double(n) : 0, meanRate: Double(r) / seconds,
                                            windows: streamWindows[j], tokens: tokens?.perStream[j]))
        }
        let order = (0..<s).sorted { a, b in
            perStreamRequests[a] != perStreamRequests[b] ? perStreamRequests[a] > perStreamRequests[b] : a < b
        }
        return TraceStatistics(requests: n, durationSeconds: seconds, meanRate: Double(n) / seconds,
                               startTime: trace.metadata.startTime, sourceFormat: trace.metadata.sourceFormat,
                               overall: overall, streams: order.map { streams[$0] })
    }

    /// The statistics as pretty-printed JSON with sorted, snake_case keys
    /// (`mean_rate`, `peak_to_mean`, `window_seconds`, ...).
    public func jsonString() throws -> String {
        try snakeCaseJSON(self)
    }

    /// The median over streams with at least one request of the CV at window `index`
    /// (nil when no stream has requests).
    func medianStreamCV(at index: Int) -> Double? {
        let cvs = streams.filter { $0.requests > 0 && index < $0.windows.count }.map { $0.windows[index].cv }.sorted()
        guard !cvs.isEmpty else { return nil }
        let m = cvs.count / 2
        return cvs.count % 2 == 1 ? cvs[m] : (cvs[m - 1] + cvs[m]) / 2
    }

    /// A human-readable, column-aligned report: a header, the whole trace, then the
    /// `maxStreams` busiest streams (saying how many are omitted) and, when several
    /// streams have requests, the median per-stream CV at each window width.
    public func render(maxStreams: Int = 10) -> String {
        var out: [String] = []
        let fmt = sourceFormat.isEmpty ? "unknown format" : sourceFormat
        out.append("trace: \(fmt)" + (startTime.isEmpty ? "" : ", starts \(startTime)"))
        out.append("requests: \(requests) over \(humanDuration(durationSeconds)), mean rate \(fixed(meanRate, 3)) req/s, \(streams.count) stream\(streams.count == 1 ? "" : "s")")
        out.append("per-window request counts over [0, duration), empty windows included; CV = population std / mean")
        out.append("")
        var header = ["stream", "kind", "requests", "share", "req/s"]
        var align: [Bool] = [false, false, true, true, true]  // true = right-aligned
        for w in overall.windows {
            header += ["peak/mean@\(windowLabel(w.windowSeconds))", "CV@\(windowLabel(w.windowSeconds))"]
            align += [true, true]
        }
        func row(_ s: StreamStatistics) -> [String] {
            var r = [shorten(s.name, 40), s.kind, "\(s.requests)", fixed(100 * s.share, 1) + "%", fixed(s.meanRate, 3)]
            for w in s.windows { r += [fixed(w.peakToMean, 2), fixed(w.cv, 2)] }
            return r
        }
        var rows = [header, row(overall)]
        let shown = streams.count > 1 ? Array(streams.prefix(max(0, maxStreams))) : []
        rows += shown.map(row)
        out += alignedTable(rows, rightAligned: align, separatorAfterRow: 1)
        if streams.count > 1 {
            let omitted = streams.count - shown.count
            if omitted > 0 { out.append("(\(omitted) more stream\(omitted == 1 ? "" : "s") not shown)") }
            let active = streams.filter { $0.requests > 0 }.count
            if active >= 2 {
                let parts = overall.windows.indices.compactMap { i -> String? in
                    medianStreamCV(at: i).map { "\(windowLabel(overall.windows[i].windowSeconds)) \(fixed($0, 2))" }
                }
                out.append("median per-stream CV (\(active) streams with requests): " + parts.joined(separator: ", "))
            }
        }
        if let t = overall.tokens {
            out.append("")
            out.append("tokens in:  mean \(fixed(t.meanIn, 1)), p50 \(t.p50In), p99 \(t.p99In), max \(t.maxIn)")
            out.append("tokens out: mean \(fixed(t.meanOut, 1)), p50 \(t.p50Out), p99 \(t.p99Out), max \(t.maxOut)")
        }
        return out.joined(separator: "\n") + "\n"
    }
}

// MARK: - The counting pass

struct WindowMoments {
    var sumSquares = 0
    var peak = 0
}

/// Per-window count moments at width `w` µs for the whole trace and every stream,
/// in one pass over the (sorted) arrivals, without a division per arrival.
func windowMoments(_ trace: Trace, width w: Int64, streams s: Int) -> (WindowMoments, [WindowMoments]) {
    struct Acc { var last: Int64 = -1; var cur = 0; var sq = 0; var peak = 0 }
    var all = Acc()
    var acc = [Acc](repeating: Acc(), count: s)
    trace.arrivals.withUnsafeBufferPointer { a in
        trace.streamIDs.withUnsafeBufferPointer { ids in
            acc.withUnsafeMutableBufferPointer { p in
                // Arrivals are sorted, so the window index only moves forward: track the
                // next boundary instead of dividing (a jump over empty windows divides once).
                var k: Int64 = 0
                var boundary = w
                for i in 0..<a.count {
                    let t = a[i]
                    if t >= boundary {
                        if t - boundary < w { k += 1; boundary += w } else { k = t / w; boundary = (k + 1) * w }
                    }
                    if k == all.last { all.cur += 1 } else {
                        all.sq += all.cur * all.cur
                        if all.cur > all.peak { all.peak = all.cur }
                        all.last = k; all.cur = 1
                    }
                    let j = Int(ids[i])
                    if p[j].last == k { p[j].cur += 1 } else {
                        let c = p[j].cur
                        p[j].sq += c * c
                        if c > p[j].peak { p[j].peak = c }
                        p[j].last = k; p[j].cur = 1
                    }
                }
            }
        }
    }
    func finish(_ x: Acc) -> WindowMoments {
        WindowMoments(sumSquares: x.sq + x.cur * x.cur, peak: max(x.peak, x.cur))
    }
    return (finish(all), acc.map(finish))
}

/// Per-window request counts at width `w` µs (dense; one element per window).
func windowCounts(_ arrivals: [Int64], duration: Int64, width w: Int64) -> [Int] {
    var c = [Int](repeating: 0, count: windowCount(duration: duration, width: w))
    c.withUnsafeMutableBufferPointer { p in
        for t in arrivals { p[Int(t / w)] += 1 }
    }
    return c
}

// MARK: - Tokens

private func tokenSummaries(_ trace: Trace, streams s: Int) -> (overall: TokenSummary, perStream: [TokenSummary?])? {
    guard trace.tokensIn != nil || trace.tokensOut != nil else { return nil }
    struct Part { var mean = 0.0; var p50 = 0; var p99 = 0; var max = 0 }
    func summarize(_ v: inout [Int32]) -> Part {
        guard !v.isEmpty else { return Part() }
        v.sort()
        var sum = 0
        for x in v { sum += Int(x) }
        func rank(_ p: Double) -> Int { Int(v[max(0, Int((p * Double(v.count)).rounded(.up)) - 1)]) }
        return Part(mean: Double(sum) / Double(v.count), p50: rank(0.5), p99: rank(0.99), max: Int(v[v.count - 1]))
    }
    func combine(_ i: Part, _ o: Part) -> TokenSummary {
        TokenSummary(meanIn: i.mean, p50In: i.p50, p99In: i.p99, maxIn: i.max, meanOut: o.mean, p50Out: o.p50, p99Out: o.p99, maxOut: o.max)
    }
    // Group a column by stream with a counting sort, then summarise each group.
    func grouped(_ col: [Int32]?) -> (Part, [Part]) {
        guard let col else { return (Part(), Array(repeating: Part(), count: s)) }
        var all = col
        let overall = summarize(&all)
        if s == 1 { return (overall, [overall]) }
        var start = [Int](repeating: 0, count: s + 1)
        for id in trace.streamIDs { start[Int(id) + 1] += 1 }
        for j in 0..<s { start[j + 1] += start[j] }
        var fill = start
        var byStream = [Int32](repeating: 0, count: col.count)
        for (i, id) in trace.streamIDs.enumerated() {
            byStream[fill[Int(id)]] = col[i]
            fill[Int(id)] += 1
        }
        var parts: [Part] = []
        parts.reserveCapacity(s)
        for j in 0..<s {
            var slice = Array(byStream[start[j]..<start[j + 1]])
            parts.append(summarize(&slice))
        }
        return (overall, parts)
    }
    let (inAll, inParts) = grouped(trace.tokensIn)
    let (outAll, outParts) = grouped(trace.tokensOut)
    var counts = [Int](repeating: 0, count: s)
    for id in trace.streamIDs { counts[Int(id)] += 1 }
    let per: [TokenSummary?] = (0..<s).map { j in counts[j] > 0 ? combine(inParts[j], outParts[j]) : nil }
    return (combine(inAll, outAll), per)
}

// MARK: - Formatting helpers

/// Pretty, sorted-key, snake_case JSON.
func snakeCaseJSON<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    e.keyEncodingStrategy = .convertToSnakeCase
    do {
        return String(decoding: try e.encode(value), as: UTF8.self)
    } catch {
        throw TraceAnalysisError("cannot encode as JSON: \(error)")
    }
}

func fixed(_ x: Double, _ digits: Int) -> String {
    x.isFinite ? String(format: "%.\(digits)f", x) : "\(x)"
}

/// `1s`, `10s`, `0.5s`, `60s`, `1h` style window labels.
func windowLabel(_ seconds: Double) -> String {
    func num(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? "\(Int(x))" : String(format: "%g", x) }
    if seconds >= 3600, (seconds / 3600) == (seconds / 3600).rounded() { return num(seconds / 3600) + "h" }
    return num(seconds) + "s"
}

func humanDuration(_ s: Double) -> String {
    if s >= 2 * 3600 { return "\(fixed(s, 1)) s (\(fixed(s / 3600, 2)) h)" }
    if s >= 120 { return "\(fixed(s, 1)) s (\(fixed(s / 60, 1)) min)" }
    return "\(fixed(s, 3)) s"
}

/// Shortens long names in the middle: `abcdef…uvwxyz`.
func shorten(_ s: String, _ limit: Int) -> String {
    guard s.count > limit, limit >= 5 else { return s }
    let head = (limit - 1) / 2, tail = limit - 1 - head
    return String(s.prefix(head)) + "…" + String(s.suffix(tail))
}

func alignedTable(_ rows: [[String]], rightAligned: [Bool], separatorAfterRow: Int? = nil) -> [String] {
    guard let cols = rows.map(\.count).max() else { return [] }
    var width = [Int](repeating: 0, count: cols)
    for r in rows { for (i, c) in r.enumerated() { width[i] = max(width[i], c.count) } }
    var lines: [String] = []
    for (ri, r) in rows.enumerated() {
        var cells: [String] = []
        for i in 0..<cols {
            let c = i < r.count ? r[i] : ""
            let pad = String(repeating: " ", count: width[i] - c.count)
            cells.append(i < rightAligned.count && rightAligned[i] ? pad + c : c + pad)
        }
        var line = cells.joined(separator: "  ")
        while line.hasSuffix(" ") { line.removeLast() }
        lines.append(line)
        if ri == 0, separatorAfterRow != nil {
            lines.append(String(repeating: "-", count: width.reduce(0, +) + 2 * (cols - 1)))
        }
    }
    return lines
}
